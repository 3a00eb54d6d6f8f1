"""The build information: versions of the packages and the configuration a run used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def build_info(config: Mapping[str, Any]) -> dict[str, Any]:
    """How the results were made: diffrob and library versions, the configuration, the time."""
    import datetime
    import importlib.metadata as metadata
    import platform

    import diffrob

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    libraries = ["torch", "diffusers", "foolbox", "snakemake", "pandas", "numpy"]
    return {
        "diffrob": diffrob.__version__,
        "python": platform.python_version(),
        "libraries": {name: version(name) for name in libraries},
        "config": dict(config),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
