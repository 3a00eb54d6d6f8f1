"""The ranges of fresh draws a base seed's free randomness is counted in (torch-free, so that the
configuration's consistency rules can bound them before any job).

Under free randomness every purifier call takes the next draw d of its base seed s, and
:func:`diffrob.purify.noise.fresh_seed` turns (s, d) into a seed; each use starts at its own first draw, so no two
uses share a xi as long as each stays below the next range's start (:func:`diffrob.workflow.checks.check_draw_ranges`).
"""

DRAWS_PER_SEED = 2**20
"""Draws of one base seed before the next seed's begin."""


ATTACK_DRAWS = 0
"""The attack's calls: draw 1, 2, ... (every PGD step's K draws, then the test)."""


TEST_DRAWS = 2**19
"""First draw of the fresh xi a shard's accuracy is tested under again (``acc_fresh``)."""


ALIGNMENT_DRAWS = 3 * 2**18
"""First draw of the K-draw EOT gradients of Table 5's gradient alignment."""


ALIGNMENT_TEST_DRAWS = 7 * 2**17
"""First draw of the test system's xi in Table 5's gradient alignment."""
