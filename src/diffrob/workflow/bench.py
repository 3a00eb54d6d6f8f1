"""Speed and memory of purification and of the full-gradient attack, on whatever device is present.

Measured, not estimated: wall time of real calls (best of a few repeats after a warm-up), FLOPs
counted by ``torch.utils.flop_counter.FlopCounterMode`` on the same call (recomputation under
checkpointing included), peak memory of one attack step in a fresh process (CUDA: peak allocated;
CPU: peak resident set during the step over the resident set before it, large blocks
from mmap so freed memory leaves the resident set). The paper's method is batch 1 without
checkpointing; ours batches images and checkpoints every reverse step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from diffrob.models.diffusion import build_scheduler
from diffrob.models.hub import cifar10_unet
from diffrob.purify.noise import gaussian, generator, integers_from, seeded, uniform
from diffrob.runtime import device as runtime_device
from diffrob.workflow.memory import peak_memory
from diffrob.workflow.probes import SCHEDULE, Subject, attack_step, purification_step, subjects


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
    a = gaussian((size, size), 0).to(device)
    b = gaussian((size, size), 1).to(device)
    seconds = best_time(lambda: a @ b, repeats)
    return 2 * size**3 / seconds / 1e9


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
    full chain of t* reverse steps, l_inf PGD (eps 8/255) through :func:`diffrob.attack.pgd.attack_set`.
    An image-step is one PGD step of one image through the whole chain. Returns the rate, the peak
    device memory and the projected hours of Table 2's fixed-randomness PGD-40 on 1000 images, per seed.
    """
    from diffrob.attack.pgd import AttackSettings, attack_set
    from diffrob.attack.purified import SpeedOptions, XiStream, purified_classifier
    from diffrob.models.robustbench import robustbench_architecture
    from diffrob.purify.pipeline import Chunks, PurifierSpec

    device = runtime_device()
    with seeded(0):
        unet = cifar10_unet().to(device)
        classifier = robustbench_architecture("Standard", "cifar10", "Linf").to(device)
    scheduler = build_scheduler({**SCHEDULE, "variance_type": "fixed_large", "clip_sample": True})
    spec = PurifierSpec("ddpm", t_star, t_star, "sample", batch, Chunks(chain=max(batch, 1)))
    model = purified_classifier(
        unet, scheduler, classifier, spec, range(batch), XiStream(0), speed=SpeedOptions(bf16=bf16)
    )
    images = uniform((batch, 3, 32, 32), 0.0, 1.0, 1).to(device)
    labels = integers_from(generator(2), 10, batch).to(device)
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
