"""Fused C kernel on the CPU: the reference's labels, about a hundred times faster.

The kernel (`_cpu.c`, built by setup.py) runs each grid point's n points as distinct points
with multiplicities, merging points that become bit-identical, and stops grid points that
have synchronised or whose state cycles. It runs on torch.get_num_threads() threads with the
GIL released, in O(n) memory per thread. Its float32 rounding differs from torch's, so a few
chaotic pixels on the boundaries of the landscape get the other label (about 0.01 %).
"""

from __future__ import annotations

import torch

try:
    from generator.kernels import _cpu
except ImportError:  # built without a C compiler: the backend is simply unavailable
    _cpu = None


def available(device: torch.device) -> bool:
    return _cpu is not None and torch.device(device).type == "cpu"


def _buffer(t: torch.Tensor):
    return t.detach().to(torch.float32).contiguous().numpy()


def landscape(wq: torch.Tensor, wv: torch.Tensor, x0: torch.Tensor, ab: torch.Tensor,
              iterations: int, threshold: float) -> torch.Tensor:
    """Labels of G grid points, as `generator.dynamics.landscape` computes them."""
    if _cpu is None:
        raise RuntimeError("the cpu backend's C extension was not built")
    for name, t in (("wq", wq), ("wv", wv), ("x0", x0), ("ab", ab)):
        if t.device.type != "cpu":
            raise ValueError(f"{name} is on {t.device}; the cpu backend needs cpu tensors")
    for name, t in (("wq", wq), ("wv", wv)):
        if t.shape != (2, 2):
            raise ValueError(f"{name} must be (2, 2), got {tuple(t.shape)}")
    if ab.dim() != 2 or ab.shape[1] != 2:
        raise ValueError(f"ab must be (G, 2), got {tuple(ab.shape)}")
    G = ab.shape[0]
    if x0.dim() != 3 or x0.shape[0] not in (1, G) or x0.shape[1] < 1 or x0.shape[2] != 2:
        raise ValueError(f"x0 must be ({G}, n, 2) or (1, n, 2) with n >= 1, "
                         f"got {tuple(x0.shape)}")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    if G > 1 and x0.shape[0] == G and x0.stride(0) == 0:
        x0 = x0[:1]  # an expanded view of one state: run it shared rather than copy it G times
    out = torch.empty(G, dtype=torch.bool)
    _cpu.landscape(_buffer(wq), _buffer(wv), _buffer(x0), _buffer(ab), out.numpy(), G,
                   x0.shape[1], x0.shape[0] == 1, int(iterations), float(threshold),
                   torch.get_num_threads())
    return out
