"""Fused C kernel on the CPU: the reference's labels, about a hundred times faster.

The kernel (`_cpu.c`, built by setup.py) runs each grid point's n points as distinct points
with multiplicities, merging points that become bit-identical, and stops grid points that
have synchronised or whose state cycles. It runs on `kernels.threads()` threads with the
GIL released, in O(n) memory per thread. Asked for the speed field too, it tracks each grid
point's synchronised run and spread as it steps (see `_cpu.c`). Its float32 rounding differs
from torch's, so a few chaotic pixels on the boundaries of the landscape get the other label
(about 0.01 %).
Inputs are numpy arrays (or CPU tensors, read without copying); torch is never imported.
"""

from __future__ import annotations

import numpy as np

from generator import kernels

try:
    from generator.kernels import _cpu
except ImportError:  # built without a C compiler: the backend is simply unavailable
    _cpu = None


def available(device) -> bool:
    return _cpu is not None and kernels.device_type(device) == "cpu"


def _floats(name: str, values) -> np.ndarray:
    device = getattr(values, "device", "cpu")  # torch tensors and numpy >= 2 arrays have one
    if kernels.device_type(device) != "cpu":
        raise ValueError(f"{name} is on {device}; the cpu backend needs cpu arrays")
    if hasattr(values, "detach"):  # a tensor that may require grad; numpy reads it as it is
        values = values.detach()
    return np.asarray(values, dtype=np.float32)


def landscape(wq, wv, x0, ab, iterations: int, threshold: float) -> np.ndarray:
    """Labels of G grid points, as `generator.dynamics.landscape` computes them: (G,) bool."""
    return _run(wq, wv, x0, ab, iterations, threshold, speed=False)[0]


def landscape_and_speed(wq, wv, x0, ab, iterations: int,
                        threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels (G,) bool and speed field (G,) float32, as `generator.dynamics` defines them."""
    return _run(wq, wv, x0, ab, iterations, threshold, speed=True)


def _run(wq, wv, x0, ab, iterations, threshold, *, speed: bool):
    if _cpu is None:
        raise RuntimeError("the cpu backend's C extension was not built")
    wq, wv, x0, ab = (_floats(n, v) for n, v in (("wq", wq), ("wv", wv), ("x0", x0), ("ab", ab)))
    for name, t in (("wq", wq), ("wv", wv)):
        if t.shape != (2, 2):
            raise ValueError(f"{name} must be (2, 2), got {t.shape}")
    if ab.ndim != 2 or ab.shape[1] != 2:
        raise ValueError(f"ab must be (G, 2), got {ab.shape}")
    G = ab.shape[0]
    if x0.ndim != 3 or x0.shape[0] not in (1, G) or x0.shape[1] < 1 or x0.shape[2] != 2:
        raise ValueError(f"x0 must be ({G}, n, 2) or (1, n, 2) with n >= 1, got {x0.shape}")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    if G > 1 and x0.shape[0] == G and x0.strides[0] == 0:
        x0 = x0[:1]  # an expanded view of one state: run it shared rather than copy it G times
    out = np.empty(G, dtype=bool)
    field = np.empty(G, dtype=np.float32) if speed else None
    _cpu.landscape(*(np.ascontiguousarray(t) for t in (wq, wv, x0, ab)), out, field, G,
                   x0.shape[1], x0.shape[0] == 1, int(iterations), float(threshold),
                   kernels.threads())
    return out, field
