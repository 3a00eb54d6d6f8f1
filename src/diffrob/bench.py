"""Speed and memory of purification and of the full-gradient attack, on whatever device is present.

Measured, not estimated: wall time of real calls (best of a few repeats after a warm-up), FLOPs
counted by ``torch.utils.flop_counter.FlopCounterMode`` on the same call (recomputation under
checkpointing included), peak memory of one attack step in a fresh process (CUDA: peak allocated;
CPU: peak resident set during the step over the resident set before it, large blocks
from mmap so freed memory leaves the resident set). The paper's method is batch 1 without
checkpointing; ours batches images and checkpoints every reverse step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diffrob.models import SmallCNN, build_scheduler, build_unet
from diffrob.noise import chain_noise
from diffrob.purify import Schedule, make_chain, purify, reverse_step
from diffrob.runtime import device as runtime_device

SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02}
EMBEDDED_UNET = {"block_out_channels": [32, 64], "layers_per_block": 1}


def cifar10_unet() -> nn.Module:
    """A randomly initialised UNet of ``google/ddpm-cifar10-32``'s architecture (35.7 M parameters)."""
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        layers_per_block=2,
        block_out_channels=(128, 256, 256, 256),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        downsample_padding=0,
        flip_sin_to_cos=False,
        freq_shift=1,
        norm_eps=1e-6,
    )


@dataclass(frozen=True)
class Subject:
    """A UNet and classifier at an image shape."""

    name: str
    unet: nn.Module
    classifier: nn.Module
    shape: tuple[int, int, int]


def subjects(which: str) -> Subject:
    """``embedded``: the default's 0.65 M UNet at 8x8x1 and its CNN; ``cifar10``: the CIFAR-10 architectures."""
    torch.manual_seed(0)
    if which == "embedded":
        unet, classifier, shape = build_unet(EMBEDDED_UNET, 8, 1), SmallCNN(1, 8, 10, 32), (1, 8, 8)
    elif which == "cifar10":
        unet, classifier, shape = cifar10_unet(), SmallCNN(3, 32, 10, 32), (3, 32, 32)
    else:
        raise ValueError(f"unknown benchmark subject {which!r}; expected embedded or cifar10")
    for module in (unet, classifier):
        module.eval().requires_grad_(False)
    return Subject(which, unet, classifier, shape)


def best_time(call: Callable[[], Any], repeats: int = 3) -> float:
    """Seconds of the fastest of ``repeats`` calls after one warm-up call."""
    call()
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        call()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def counted_flops(call: Callable[[], Any]) -> int:
    """FLOPs of one call, counted by ``FlopCounterMode`` (forward, backward and recomputation)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        call()
    return int(counter.get_total_flops())


def matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """The device's fp32 matrix-multiply rate (GFLOP/s) on a ``size`` x ``size`` product."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    seconds = best_time(lambda: a @ b, repeats)
    return 2 * size**3 / seconds / 1e9


def purification_step(subject: Subject, batch: int, device: torch.device) -> Callable[[], Any]:
    """One DDPM reverse step at t = 50 for ``batch`` images, without gradients."""
    schedule = Schedule.from_scheduler(build_scheduler(SCHEDULE))
    z = torch.randn(batch, *subject.shape, device=device)
    noise = chain_noise(0, list(range(batch)), subject.shape, (), (50, 49)).to(device)

    def call():
        with torch.no_grad():
            return reverse_step(subject.unet, schedule, "ddpm", 50, 49, z, noise, 0)

    return call


def attack_step(subject: Subject, batch: int, steps: int, checkpointed: bool, device: torch.device) -> Callable:
    """One full-gradient attack step: input gradient of the loss through a DDPM chain of ``steps`` reverse steps."""
    schedule = Schedule.from_scheduler(build_scheduler(SCHEDULE))
    chain = make_chain("ddpm", steps, 1000, steps)
    noise = chain_noise(0, list(range(batch)), subject.shape, chain.forward_timesteps, chain.reverse_timesteps)
    noise = noise.to(device)
    images = torch.rand(batch, *subject.shape, device=device)
    labels = torch.arange(batch, device=device) % 10

    def call():
        x = images.clone().requires_grad_(True)
        logits = subject.classifier(purify(subject.unet, schedule, chain, x, noise, checkpointed))
        nn.functional.cross_entropy(logits, labels).backward()
        return x.grad

    return call


def rate_row(subject: Subject, stage: str, method: str, batch: int, steps: int, call: Callable, matmul: float) -> dict:
    """Images x steps per second and achieved GFLOP/s of one call."""
    flops = counted_flops(call)
    seconds = best_time(call)
    gflops = flops / seconds / 1e9
    return {
        "subject": subject.name,
        "stage": stage,
        "method": method,
        "batch": batch,
        "steps": steps,
        "seconds": seconds,
        "image_steps_per_s": batch * steps / seconds,
        "seconds_per_image_step": seconds / (batch * steps),
        "gflop_per_call": flops / 1e9,
        "achieved_gflops": gflops,
        "fraction_of_matmul": gflops / matmul,
    }


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
    statement = (
        f"from diffrob.bench import memory_probe; print(memory_probe({subject!r}, {t_star}, {checkpointed}, {batch}))"
    )
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
    from diffrob.measure import jacobian
    from diffrob.noise import NoiseKeys
    from diffrob.pipeline import Chunks, DiffusionPurifier

    device = runtime_device()
    torch.manual_seed(0)
    unet = cifar10_unet().eval().requires_grad_(False).to(device)
    schedule = Schedule.from_scheduler(build_scheduler(SCHEDULE))
    chain = make_chain("reverse", 2, 1000, 1)
    chunks = Chunks(chain=chunk, jacobian_rows=chunk, trajectory=chunk)
    n_images = size if kind == "trajectory" else 1
    purifier = DiffusionPurifier(unet, schedule, chain, NoiseKeys(tuple(range(n_images))), chunks)
    if kind == "jacobian":
        image = torch.rand(3, 8, 8, device=device)

        def call() -> Any:
            def f(batch: torch.Tensor) -> torch.Tensor:
                return purifier.purify(batch, purifier.noise(0, [0] * batch.shape[0], batch.shape[1:]))

            return jacobian(f, image, chunk, entries=range(size))
    elif kind == "eot":
        image = torch.rand(1, 3, 16, 16, device=device)

        def call() -> Any:
            x = image.clone().requires_grad_(True)

            def mean_image(z: torch.Tensor, noise: Any, kept: Any) -> tuple[torch.Tensor, None]:
                return purifier.purify(z, noise).flatten(1), None

            purifier.expectation(mean_image, x, [0], list(range(size))).square().sum().backward()
            return x.grad
    elif kind == "trajectory":
        images = torch.rand(size, 3, 32, 32, device=device)

        def call() -> Any:
            return list(purifier.trajectory(images, range(size), 0))
    else:
        raise ValueError(f"unknown chunking probe {kind!r}; expected jacobian, eot or trajectory")
    return peak_of(call, device)


def chunking_peak(kind: str, size: int, chunk: int, threads: int = 2) -> int:
    """:func:`chunking_probe` in a fresh Python process."""
    return _in_fresh_process(
        f"from diffrob.bench import chunking_probe; print(chunking_probe({kind!r}, {size}, {chunk}))", threads
    )


def _in_fresh_process(statement: str, threads: int) -> int:
    """The integer a statement prints, run in a fresh Python process with ``threads`` CPU threads."""
    code = f"import torch; torch.set_num_threads({threads}); {statement}"
    # Large blocks from mmap, returned on free: the resident set then follows live memory, not glibc's heap.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return int(out.stdout.strip().splitlines()[-1])


def run_benchmark(
    device: torch.device,
    threads: int,
    batch: int = 256,
    attack_steps: int = 10,
    cifar_batch: int = 4,
    memory_t: tuple[int, ...] = (30, 100, 300),
    memory_batch: int = 256,
    plain_memory_batch: int = 32,
    progress: Callable[[str], None] = print,
) -> list[dict]:
    """Every row of ``paper/benchmarks.csv``: matmul rate, purification and attack rates, memory in t*."""
    rows: list[dict] = []
    matmul = matmul_gflops(device, 4096 if device.type == "cuda" else 2048)
    progress(f"matmul fp32: {matmul:.1f} GFLOP/s")
    rows.append({"subject": "matmul", "stage": "matmul", "method": "fp32", "achieved_gflops": matmul})
    for name, b in (("embedded", batch), ("cifar10", cifar_batch)):
        s = subjects(name)
        s.unet.to(device)
        s.classifier.to(device)
        steps = attack_steps if name == "embedded" else 2
        cases = [
            ("purification_step", "ours", b, 1, purification_step(s, b, device)),
            ("attack_step", "ours (batched, checkpointed)", b, steps, attack_step(s, b, steps, True, device)),
            ("attack_step", "paper (batch 1, not checkpointed)", 1, steps, attack_step(s, 1, steps, False, device)),
        ]
        for stage, method, n, k, call in cases:
            row = rate_row(s, stage, method, n, k, call, matmul)
            rows.append(row)
            progress(
                f"{name:8s} {stage:17s} {method:34s} {row['image_steps_per_s']:9.1f} image-steps/s "
                f"{row['achieved_gflops']:7.1f} GFLOP/s ({100 * row['fraction_of_matmul']:.0f}% of matmul)"
            )
    for t_star in memory_t:
        for checkpointed, method, n in (
            (True, "ours (batched, checkpointed)", memory_batch),
            (False, "not checkpointed", plain_memory_batch),  # 300 steps x 256 images would not fit in 24 GiB
        ):
            peak = peak_memory("embedded", t_star, checkpointed, n, threads)
            rows.append(
                {
                    "subject": "embedded",
                    "stage": "attack_memory",
                    "method": method,
                    "batch": n,
                    "steps": t_star,
                    "peak_bytes": peak,
                }
            )
            progress(f"memory t*={t_star:3d} {method:30s} {peak / 2**20:8.1f} MiB (batch {n})")
    return rows


def summary(rows: list[dict]) -> dict[str, float]:
    """The acceptance figures: fraction of matmul, per-image speed-up over the paper's method, memory ratios."""

    def pick(subject: str, stage: str, method_prefix: str, steps: int | None = None) -> dict:
        return next(
            r
            for r in rows
            if r["subject"] == subject
            and r["stage"] == stage
            and r["method"].startswith(method_prefix)
            and (steps is None or r.get("steps") == steps)
        )

    ours = pick("embedded", "attack_step", "ours")
    paper = pick("embedded", "attack_step", "paper")
    ts = sorted({r["steps"] for r in rows if r["stage"] == "attack_memory"})
    out = {
        "attack_fraction_of_matmul": ours["fraction_of_matmul"],
        "speedup_per_image": paper["seconds_per_image_step"] / ours["seconds_per_image_step"],
        "paper_fraction_of_matmul": paper["fraction_of_matmul"],
    }
    if ts:
        lo, hi = ts[0], ts[-1]
        out["memory_ratio_ours"] = (
            pick("embedded", "attack_memory", "ours", hi)["peak_bytes"]
            / pick("embedded", "attack_memory", "ours", lo)["peak_bytes"]
        )
        out["memory_ratio_not_checkpointed"] = (
            pick("embedded", "attack_memory", "not", hi)["peak_bytes"]
            / pick("embedded", "attack_memory", "not", lo)["peak_bytes"]
        )
    return out


def projected_minutes(rows: list[dict], n_images: int = 1000, steps: int = 40, t_star: int = 100) -> float:
    """Projected wall time (min) of fixed-randomness PGD-``steps`` on ``n_images`` CIFAR-10 images at t*.

    From the measured CIFAR-10 attack rate (image-steps/s of UNet steps with the classifier; a small
    CNN stands in for WRN-28-10, whose ~10.5 GFLOP per image is under 1% of a 100-step chain's).
    """
    attack = next(
        r for r in rows if r["subject"] == "cifar10" and r["stage"] == "attack_step" and "ours" in r["method"]
    )
    return n_images * steps * t_star / attack["image_steps_per_s"] / 60


def full_shard_rate(batch: int = 100, pgd_steps: int = 3, t_star: int = 100, bf16: bool = False) -> dict[str, Any]:
    """The CIFAR-10 profile's fixed-randomness PGD shard at full size, one batch, through the workflow's own code.

    ``google/ddpm-cifar10-32``'s UNet and RobustBench's WRN-28-10 (random weights), DDPM at t* with the
    full chain of t* reverse steps, l_inf PGD (eps 8/255) through :func:`diffrob.attack.attack_set`.
    An image-step is one PGD step of one image through the whole chain. Returns the rate, the peak
    device memory and the projected hours of Table 2's fixed-randomness PGD-40 on 1000 images, per seed.
    """
    from diffrob.attack import AttackSettings, SpeedOptions, attack_set, purified_classifier
    from diffrob.pipeline import Chunks, PurifierSpec
    from diffrob.sources import robustbench_architecture

    device = runtime_device()
    torch.manual_seed(0)
    unet = cifar10_unet().to(device)
    classifier = robustbench_architecture("Standard", "cifar10", "Linf").to(device)
    scheduler = build_scheduler({**SCHEDULE, "variance_type": "fixed_large", "clip_sample": True})
    spec = PurifierSpec("ddpm", t_star, t_star, "sample", batch, Chunks(chain=max(batch, 1)))
    model = purified_classifier(
        unet, scheduler, classifier, spec, range(batch), 0, "fixed", speed=SpeedOptions(bf16=bf16)
    )
    images = torch.rand(batch, 3, 32, 32, device=device)
    labels = torch.randint(0, 10, (batch,), device=device)
    warm = AttackSettings(8 / 255, 1, 1 / 30, True, batch)
    attack_set(model, images, labels, warm, 0, progress=False)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync()
    start = time.perf_counter()
    attack_set(model, images, labels, AttackSettings(8 / 255, pgd_steps, 1 / 30, True, batch), 0, progress=False)
    sync()
    seconds = time.perf_counter() - start
    rate = batch * pgd_steps / seconds
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "batch": batch,
        "pgd_steps": pgd_steps,
        "t_star": t_star,
        "bf16": bf16,
        "seconds": seconds,
        "image_steps_per_s": rate,
        "peak_gib": None if peak is None else peak / 2**30,
        "projected_table2_fixed_hours_per_seed": 1000 * 40 / rate / 3600,
    }
