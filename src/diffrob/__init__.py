"""diffrob: how diffusion models improve adversarial robustness, as a reproducible artifact.

Modules follow the flow of the paper: ``data`` -> ``models`` -> ``purify`` (with ``noise``,
the one owner of randomness) -> ``attack`` -> ``evaluate`` -> ``report``.
"""

__version__ = "0.1.0"
