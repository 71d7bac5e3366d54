"""The reference map, line for line the paper's Appendix A: the definition of truth.

Pure torch, any device (taken from the inputs), one chunk of grid points at a time.
Fast backends in `generator.kernels` must compute the same labels and speed field.

The speed field says how a pixel got its label, from the same run (`landscape_and_speed`):
- synchronised (label True): T + 1 - s, where s is the first step from which the points stay
  synchronised (max_i |x_i1 - x_11| < threshold at every step s..T); in 1..T+1, larger is
  faster (T + 1: X(0) itself was synchronised).
- not synchronised: minus the mean spread over the run, -(Δ_0 + ... + Δ_T) / (T + 1) <= 0,
  with Δ_t = max_i |x_i1 - x_11| at step t: how far from synchrony the points stayed. (The
  final Δ alone says little: almost every such pixel ends with two antipodal clusters,
  Δ ≈ 2; how soon they parted varies smoothly over the landscape.) NaN where the state
  became NaN.
So the sign is the class, and the labels are exactly `labels_from_speed(speed)` (speed > 0).
"""

from __future__ import annotations

import torch

EPS = 1e-8  # the paper's per-row normalisation: x / (|x| + 1e-8)


def normalize_initial(x0: torch.Tensor) -> torch.Tensor:
    """X(0) rows to unit vectors, as Appendix A does (no epsilon there)."""
    return x0 / x0.norm(dim=-1, keepdim=True)


def spread(X: torch.Tensor) -> torch.Tensor:
    """Δ = max_i |x_i1 - x_11| of each grid point's state (G, n, 2): (G,), NaN propagating."""
    return (X[..., 0] - X[:, 0, 0:1]).abs().max(dim=1).values


def labels_from_speed(speed):
    """The labels a speed field encodes (torch or numpy): True where synchronised."""
    return speed > 0


def landscape(wq: torch.Tensor, wv: torch.Tensor, x0: torch.Tensor, ab: torch.Tensor,
              iterations: int, threshold: float) -> torch.Tensor:
    """Labels of G grid points: True where all points synchronise after `iterations` steps.

    wq, wv: (2, 2) float32; x0: (G, n, 2) unit rows, or (1, n, 2) shared by all points;
    ab: (G, 2) float32 pairs (a, b) with W_K = diag(a, b). Returns (G,) bool.
    """
    return landscape_and_speed(wq, wv, x0, ab, iterations, threshold)[0]


def landscape_and_speed(wq: torch.Tensor, wv: torch.Tensor, x0: torch.Tensor, ab: torch.Tensor,
                        iterations: int, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (G,) bool and speed field (G,) float32 of G grid points (see the module text)."""
    G = ab.shape[0]
    limit = torch.tensor(threshold, dtype=torch.float32)  # the comparison torch makes
    # First step of the synchronised run that reaches the current step (t + 1: none yet).
    diff = spread(x0.expand(G, -1, -1))
    start = torch.where(diff < limit, 0, 1)
    total = diff.double()  # of the spreads; float64, as the kernels add them
    X = x0.expand(G, -1, -1)  # (G, n, 2)
    WK = torch.zeros(G, 2, 2, device=ab.device, dtype=ab.dtype)
    WK[:, 0, 0] = ab[:, 0]
    WK[:, 1, 1] = ab[:, 1]
    for t in range(1, iterations + 1):
        Q = X @ wq.T  # (G, n, 2)
        K = X @ WK.transpose(1, 2)  # (G, n, 2)
        V = X @ wv.T  # (G, n, 2)
        scores = torch.matmul(Q, K.transpose(1, 2))  # (G, n, n)
        attn = torch.softmax(scores, dim=-1)
        X = torch.matmul(attn, V)
        X = X / (X.norm(dim=-1, keepdim=True) + EPS)
        diff = spread(X)  # (G,)
        start = torch.where(diff < limit, start, t + 1)
        total += diff
    labels = diff < threshold
    synced = (iterations + 1 - start).to(torch.float32)
    return labels, torch.where(labels, synced, -(total / (iterations + 1)).to(torch.float32))
