"""Every backend against the reference on the same inputs, in one process."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from generator import kernels, rng
from generator.dynamics import normalize_initial
from generator.render import chunks, grid_points, matrices
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


def _timed(module, wq, wv, x0, ab, spec) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    labels = module.landscape(wq, wv, x0, ab, spec.iterations, spec.threshold).cpu().numpy()
    return labels, time.perf_counter() - start  # .cpu() waits for the device


def bench(spec: ArtworkSpec, device: torch.device, *, reference_pixels: int) -> list[BenchRow]:
    """Time every backend available on `device` over the whole grid of `spec`.

    The reference is slow (minutes per megapixel on a CPU), so it computes an evenly spread
    sample of at most `reference_pixels` grid points; agreement is measured on that sample.
    The reference is the first row.
    """
    draws = rng.draw(spec)
    wq, wv = matrices(draws, device)
    total = spec.resolution**2
    sample = np.zeros(total, dtype=bool)
    sample[np.linspace(0, total - 1, min(total, reference_pixels)).astype(np.int64)] = True
    names = ["reference"] + [n for n in kernels.available(device) if n != "reference"]
    modules = {name: kernels.load(name) for name in names}
    for module in modules.values():  # compile (Triton's JIT) and warm up outside the timing
        _timed(module, wq, wv, normalize_initial(draws.initial(0, 1, device)),
               grid_points(spec, 0, 1, device), spec)
    seconds = dict.fromkeys(names, 0.0)
    agree = dict.fromkeys(names, 0)
    for start, stop, x0, ab in chunks(spec, draws, device):
        picked = sample[start:stop]
        pick = torch.from_numpy(picked).to(device)
        x0_ref = x0 if x0.shape[0] == 1 else x0[pick]  # shared X(0) broadcasts as it is
        truth, dt = _timed(modules["reference"], wq, wv, x0_ref, ab[pick], spec)
        seconds["reference"] += dt
        for name in names[1:]:
            labels, dt = _timed(modules[name], wq, wv, x0, ab, spec)
            seconds[name] += dt
            agree[name] += int((labels[picked] == truth).sum())
    counted = int(sample.sum())
    rows = [BenchRow("reference", counted, seconds["reference"], 1.0)]
    rows += [BenchRow(n, total, seconds[n], agree[n] / counted) for n in names[1:]]
    return rows
