"""Peak memory: measured in a fresh process for an attack step or a chunked measurement, and, per rule, against the
bound the plan gives it (the rehearsal's memory table)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from diffrob.models.diffusion import build_scheduler
from diffrob.models.hub import cifar10_unet
from diffrob.purify.samplers import Schedule, make_chain
from diffrob.runtime import device as runtime_device
from diffrob.workflow.probes import SCHEDULE, attack_step, subjects


def inception_cost() -> Any:
    """Cost of torchvision's InceptionV3 at 299x299 (the architecture pytorch-fid's FID variant derives from)."""
    import torchvision

    from diffrob.workflow.costs import measure_network

    with torch.device("meta"):
        network = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    return measure_network(network.eval(), (torch.zeros((1, 3, 299, 299), device="meta"),))


BASELINE_IMPORTS = """
import matplotlib.pyplot, pandas, scipy, skimage, snakemake, torch, torchvision, diffusers
from diffrob.models.robustbench import import_robustbench
import_robustbench()
import guided_diffusion.script_util, pytorch_fid.inception, robustbench
import diffrob.attack.evaluate, diffrob.measure.compression, diffrob.measure.features, diffrob.paper.report
"""


REPORT_PEAK = """
import resource, sys
try:  # this process's own high-water mark (ru_maxrss would carry the forking parent's)
    print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) * 1024)
except OSError:  # no /proc (macOS): ru_maxrss, in bytes there
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def interpreter_peak_bytes(code: str) -> int:
    """Peak resident memory of a fresh interpreter that runs ``code`` (its own high-water mark: on Linux a
    child's ``ru_maxrss`` starts from its parent's, so a large parent would inflate it)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code + REPORT_PEAK], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def interpreter_baseline_bytes() -> int:
    """Peak resident memory of a fresh interpreter that imports every library a job of the workflow imports."""
    return interpreter_peak_bytes(BASELINE_IMPORTS)


def read_benchmarks(folder: str | Path) -> Any:
    """Every Snakemake ``benchmark:`` file under ``folder`` as rows (rule, job, seconds, max_rss in MiB).

    The rule is the first path component (``benchmarks/<rule>.tsv`` or ``benchmarks/<rule>/<job>.tsv``).
    """
    import pandas as pd

    root = Path(folder)
    rows = []
    for path in sorted(root.rglob("*.tsv")):
        relative = path.relative_to(root)
        frame = pd.read_csv(path, sep="\t")
        rss = pd.to_numeric(frame["max_rss"], errors="coerce").max()
        rule = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        rows.append({"rule": rule, "job": str(relative.with_suffix("")), "seconds": frame["s"].max(), "max_rss": rss})
    return pd.DataFrame(rows, columns=["rule", "job", "seconds", "max_rss"])


def memory_table(config: Mapping[str, Any], benchmarks: Any, baseline_bytes: int) -> Any:
    """Per rule: jobs, wall seconds, the largest measured peak (MiB), the bound the chunk sizes give
    (:func:`diffrob.workflow.plan.process_peak_bound`, MiB), the setting that bounds it, and whether the peak is
    within."""
    import pandas as pd

    from diffrob.workflow.costs import network_costs
    from diffrob.workflow.plan import bounding_setting, process_peak_bound

    costs = network_costs(config)
    inception = inception_cost() if config["measure"]["fid"]["features"] == "inception" else None
    rows = []
    for rule, group in benchmarks.groupby("rule", sort=False):
        extra = inception if rule == "table1_distances" else None
        bound = process_peak_bound(rule, config, costs, baseline_bytes, extra) / 2**20
        peak = float(group["max_rss"].max())
        rows.append(
            {
                "rule": rule,
                "jobs": len(group),
                "seconds": float(group["seconds"].sum()),
                "peak MiB": peak,
                "bound MiB": bound,
                "bounded by": bounding_setting(rule, config) or "weights and interpreter only",
                "within": bool(peak <= bound),
            }
        )
    return pd.DataFrame(rows).sort_values("rule", kind="stable").reset_index(drop=True)


def memory_probe(subject: str, t_star: int, checkpointed: bool, batch: int) -> int:
    """Peak memory (bytes) of one full-gradient attack step over a full chain of ``t_star`` steps, beyond set-up.

    Run in a fresh process (:func:`peak_memory`): the CPU figure is a process-wide high-water mark.
    """
    device = runtime_device()
    s = subjects(subject)
    s.unet.to(device)
    s.classifier.to(device)
    call = attack_step(s, batch, t_star, checkpointed, device)
    return peak_of(call, device)


def peak_of(call: Callable[[], Any], device: torch.device) -> int:
    """Peak memory (bytes) ``call()`` adds on ``device``: allocator peak on CUDA, resident high-water mark on CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        call()
        return int(torch.cuda.max_memory_allocated() - base)
    base = _reset_peak_rss()
    call()
    return _peak_rss() - base


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        lines = handle.read().splitlines()
    for line in lines:
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> int:
    """Reset the process's peak resident set to the current one (Linux ``clear_refs`` 5); the current RSS (bytes)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return _status_kib("VmRSS") * 1024


def _peak_rss() -> int:
    """The peak resident set (bytes) since the last :func:`_reset_peak_rss`."""
    return _status_kib("VmHWM") * 1024


def peak_memory(subject: str, t_star: int, checkpointed: bool, batch: int, threads: int) -> int:
    """:func:`memory_probe` in a fresh Python process."""
    probe = f"memory_probe({subject!r}, {t_star}, {checkpointed}, {batch})"
    statement = f"from diffrob.workflow.memory import memory_probe; print({probe})"
    return _in_fresh_process(statement, threads)


def chunking_probe(kind: str, size: int, chunk: int) -> int:
    """Peak memory (bytes, beyond set-up) of one chunked job on the CIFAR-10-architecture UNet (random weights).

    ``kind`` and what ``size`` counts:

    * ``jacobian``: D, the dimension of the Jacobian block taken (the first D pixels of one 3x8x8 image, so the
      image stays the same); ``chunk`` rows per backward pass;
    * ``eot``: K, the noise draws of an EOT gradient for one 16x16 image; ``chunk`` (image, draw) pairs per pass;
    * ``trajectory``: N, the images (32x32) whose every state is kept; ``chunk`` images per pass.

    Run it in a fresh process (:func:`chunking_peak`): on the CPU the figure is a process-wide high-water mark.
    """
    from diffrob.measure.compression import jacobian
    from diffrob.purify.noise import NoiseKeys, seeded, uniform
    from diffrob.purify.pipeline import Chunks, DiffusionPurifier

    device = runtime_device()
    with seeded(0):
        unet = cifar10_unet().eval().requires_grad_(False).to(device)
    schedule = Schedule.from_scheduler(build_scheduler(SCHEDULE))
    chain = make_chain("reverse", 2, 1000, 1)
    chunks = Chunks(chain=chunk, jacobian_rows=chunk, trajectory=chunk)
    n_images = size if kind == "trajectory" else 1
    purifier = DiffusionPurifier(unet, schedule, chain, NoiseKeys(tuple(range(n_images))), chunks)
    if kind == "jacobian":
        image = uniform((3, 8, 8), 0.0, 1.0, 1).to(device)

        def call() -> Any:
            def f(batch: torch.Tensor) -> torch.Tensor:
                return purifier.purify(batch, purifier.noise(0, [0] * batch.shape[0], batch.shape[1:]))

            return jacobian(f, image, chunk, entries=range(size))
    elif kind == "eot":
        image = uniform((1, 3, 16, 16), 0.0, 1.0, 1).to(device)

        def call() -> Any:
            x = image.clone().requires_grad_(True)

            def mean_image(z: torch.Tensor, noise: Any, kept: Any) -> tuple[torch.Tensor, None]:
                return purifier.purify(z, noise).flatten(1), None

            purifier.expectation(mean_image, x, [0], list(range(size))).square().sum().backward()
            return x.grad
    elif kind == "trajectory":
        images = uniform((size, 3, 32, 32), 0.0, 1.0, 1).to(device)

        def call() -> Any:
            return list(purifier.trajectory(images, range(size), 0))
    else:
        raise ValueError(f"unknown chunking probe {kind!r}; expected jacobian, eot or trajectory")
    return peak_of(call, device)


def chunking_peak(kind: str, size: int, chunk: int, threads: int = 2) -> int:
    """:func:`chunking_probe` in a fresh Python process."""
    return _in_fresh_process(
        f"from diffrob.workflow.memory import chunking_probe; print(chunking_probe({kind!r}, {size}, {chunk}))", threads
    )


def _in_fresh_process(statement: str, threads: int) -> int:
    """The integer a statement prints, run in a fresh Python process with ``threads`` CPU threads."""
    code = f"import torch; torch.set_num_threads({threads}); {statement}"
    # Large blocks from mmap, returned on free: the resident set then follows live memory, not glibc's heap.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return int(out.stdout.strip().splitlines()[-1])
