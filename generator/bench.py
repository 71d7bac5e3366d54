"""Every backend against the reference on the same inputs, in one process."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from generator import kernels, rng
from generator.errors import SpecError
from generator.render import chunk_points, chunks, matrices
from generator.spec import ArtworkSpec


@dataclass(frozen=True)
class BenchRow:
    backend: str
    pixels: int  # how many pixels this backend computed
    seconds: float
    agreement: float | None  # fraction of the reference's pixels with equal labels

    @property
    def mpix_per_s(self) -> float:
        return self.pixels / self.seconds / 1e6


SPEED = "+speed"  # suffix of the rows that time a backend's labels with the speed field


def _timed(module, wq, wv, x0, ab, spec, speed=False) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    args = (wq, wv, x0, ab, spec.iterations, spec.threshold)
    if speed:
        labels, field = module.landscape_and_speed(*args)
        kernels.as_numpy(field)
    else:
        labels = module.landscape(*args)
    labels = kernels.as_numpy(labels)
    return labels, time.perf_counter() - start  # as_numpy waits for the device


def bench(spec: ArtworkSpec, device, *, reference_pixels: int) -> list[BenchRow]:
    """Time every backend available on `device` over the whole grid of `spec`.

    The reference is slow (minutes per megapixel on a CPU), so it computes an evenly spread
    sample of at most `reference_pixels` grid points, in batches as large as a render's
    chunks (its cost per pixel grows with the batch); agreement is measured on that sample.
    The reference is the first row; each fast backend has a second row, NAME+speed, that
    computes the speed field with the labels (alternating with the labels-only run, chunk by
    chunk, so that both see the same load).
    """
    if reference_pixels < 1:
        raise SpecError(f"reference pixels must be at least 1, got {reference_pixels}")
    draws = rng.draw(spec)
    wq, wv = matrices(draws, device)
    total = spec.resolution**2
    sample = np.zeros(total, dtype=bool)
    sample[np.linspace(0, total - 1, min(total, reference_pixels)).astype(np.int64)] = True
    names = [n for n in kernels.available(device) if n != "reference"]
    modules = {name: kernels.load(name) for name in ["reference", *names]}
    runs = [(name, speed) for name in names for speed in (False, True)]
    seconds = dict.fromkeys(runs, 0.0)
    fast_labels = {run: [] for run in runs}
    sampled_x0, sampled_ab = [], []
    for i, (start, stop, x0, ab) in enumerate(chunks(spec, draws, device)):
        pick = torch.from_numpy(sample[start:stop]).to(device)
        x0, ab = torch.as_tensor(x0), torch.as_tensor(ab)  # numpy on the CPU: without a copy
        sampled_x0.append(x0 if x0.shape[0] == 1 else x0[pick])  # shared X(0) stays (1, n, 2)
        sampled_ab.append(ab[pick])
        for name, speed in runs:
            module = modules[name]
            if i == 0:  # compile (Triton's JIT) and warm up outside the timing
                _timed(module, wq, wv, x0, ab, spec, speed)
            labels, dt = _timed(module, wq, wv, x0, ab, spec, speed)
            seconds[name, speed] += dt
            fast_labels[name, speed].append(labels[sample[start:stop]])
    x0_ref = sampled_x0[0] if sampled_x0[0].shape[0] == 1 else torch.cat(sampled_x0)
    ab_ref = torch.cat(sampled_ab)
    truth, reference_seconds = [], 0.0
    step = chunk_points(spec, device)
    for lo in range(0, ab_ref.shape[0], step):
        x0_part = x0_ref if x0_ref.shape[0] == 1 else x0_ref[lo:lo + step]
        labels, dt = _timed(modules["reference"], wq, wv, x0_part, ab_ref[lo:lo + step],
                            spec)
        truth.append(labels)
        reference_seconds += dt
    truth = np.concatenate(truth)
    rows = [BenchRow("reference", truth.size, reference_seconds, 1.0)]
    rows += [BenchRow(name + (SPEED if speed else ""), total, seconds[name, speed],
                      float((np.concatenate(fast_labels[name, speed]) == truth).mean()))
             for name, speed in runs]
    return rows
