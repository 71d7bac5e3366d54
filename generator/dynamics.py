"""The reference map, line for line the paper's Appendix A: the definition of truth.

Pure torch, any device (taken from the inputs), one chunk of grid points at a time.
Fast backends in `generator.kernels` must compute the same labels.
"""

from __future__ import annotations

import torch

EPS = 1e-8  # the paper's per-row normalisation: x / (|x| + 1e-8)


def normalize_initial(x0: torch.Tensor) -> torch.Tensor:
    """X(0) rows to unit vectors, as Appendix A does (no epsilon there)."""
    return x0 / x0.norm(dim=-1, keepdim=True)


def landscape(wq: torch.Tensor, wv: torch.Tensor, x0: torch.Tensor, ab: torch.Tensor,
              iterations: int, threshold: float) -> torch.Tensor:
    """Labels of G grid points: True where all points synchronise after `iterations` steps.

    wq, wv: (2, 2) float32; x0: (G, n, 2) unit rows, or (1, n, 2) shared by all points;
    ab: (G, 2) float32 pairs (a, b) with W_K = diag(a, b). Returns (G,) bool.
    """
    G = ab.shape[0]
    X = x0.expand(G, -1, -1)  # (G, n, 2)
    WK = torch.zeros(G, 2, 2, device=ab.device, dtype=ab.dtype)
    WK[:, 0, 0] = ab[:, 0]
    WK[:, 1, 1] = ab[:, 1]
    for _ in range(iterations):
        Q = X @ wq.T  # (G, n, 2)
        K = X @ WK.transpose(1, 2)  # (G, n, 2)
        V = X @ wv.T  # (G, n, 2)
        scores = torch.matmul(Q, K.transpose(1, 2))  # (G, n, n)
        attn = torch.softmax(scores, dim=-1)
        X = torch.matmul(attn, V)
        X = X / (X.norm(dim=-1, keepdim=True) + EPS)
    diff = (X[..., 0] - X[:, 0, 0:1]).abs().max(dim=1).values  # (G,)
    return diff < threshold
