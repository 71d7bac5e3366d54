"""Turning a seed into W_Q, W_V and X(0), in the paper's order (W_Q, then W_V, then X(0)).

PLACEHOLDER: torch's CPU generator only; the CUDA Philox emulation replaces it (issue 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from generator.spec import ArtworkSpec


@dataclass(frozen=True)
class Draws:
    wq: np.ndarray  # (2, 2) float32
    wv: np.ndarray  # (2, 2) float32
    # initial(start, stop, device): raw normals of X(0) for grid points [start, stop) in the
    # paper's flattening, a (stop - start, n, 2) float32 tensor on `device`; in shared mode
    # one (1, n, 2) for every point.
    initial: Callable[[int, int, torch.device], torch.Tensor]


def draw(spec: ArtworkSpec) -> Draws:
    gen = torch.Generator().manual_seed(spec.seed)
    wq = torch.randn(2, 2, generator=gen).numpy()
    wv = torch.randn(2, 2, generator=gen).numpy()
    if spec.init == "shared":
        x0 = torch.randn(1, spec.points, 2, generator=gen)
        initial = lambda start, stop, device: x0.to(device)  # noqa: E731
    else:
        full = torch.randn(spec.resolution**2, spec.points, 2, generator=gen)
        initial = lambda start, stop, device: full[start:stop].to(device)  # noqa: E731
    if spec.wq is not None:
        wq = np.array(spec.wq, dtype=np.float32).reshape(2, 2)
    if spec.wv is not None:
        wv = np.array(spec.wv, dtype=np.float32).reshape(2, 2)
    return Draws(wq, wv, initial)
