"""Memory is bounded by the chunk sizes, not by the problem: measured on the CIFAR-10-architecture UNet (CPU).

Each figure is the peak resident set of one job in a fresh process beyond its set-up
(:func:`diffrob.workflow.memory.chunking_peak`). With a fixed chunk, doubling the problem (the Jacobian's
dimension D, the EOT draws K, the trajectory images N) leaves the peak flat; the same doubling
with one chunk holding the whole problem grows it, which shows the measurement can tell.
"""

import pytest

from diffrob.workflow.memory import chunking_peak

MIB = 2**20


@pytest.mark.parametrize(("kind", "size", "chunk"), [("jacobian", 48, 8), ("eot", 4, 2), ("trajectory", 8, 2)])
def test_peak_memory_is_flat_when_the_problem_doubles_and_grows_without_chunks(kind, size, chunk):
    chunked = [chunking_peak(kind, n, chunk) for n in (size, 2 * size)]
    whole = [chunking_peak(kind, n, n) for n in (size, 2 * size)]
    summary = f"{kind}: chunked {[m / MIB for m in chunked]} MiB, one chunk {[m / MIB for m in whole]} MiB"
    assert chunked[1] <= 1.15 * chunked[0] + 4 * MIB, summary
    assert whole[1] >= 1.4 * whole[0], summary
    assert whole[1] >= 1.3 * chunked[1], summary
