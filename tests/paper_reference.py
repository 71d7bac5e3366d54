"""The paper's Appendix A code, transcribed line for line; the package never imports this.

Changes from the listing, and only these: the random draws (WQ, WV, X_grid) come in as
arguments, since how a seed becomes numbers is the rng module's business; the a and b ranges
may differ; the figure is returned as the pixel rows imshow(labels_grid.T, origin='lower')
shows, top row first, instead of being plotted.
"""

import numpy as np
import torch


def appendix_a(WQ, WV, X_grid, num_samples, num_iterations=100,
               a_range=(-8, 8), b_range=(-8, 8), threshold=1e-5):
    device = WQ.device
    d = 2

    a_vals = np.linspace(a_range[0], a_range[1], num_samples)
    b_vals = np.linspace(b_range[0], b_range[1], num_samples)
    A, B = np.meshgrid(a_vals, b_vals)

    ab_grid = torch.tensor(np.stack([A.ravel(), B.ravel()], axis=-1),
                           device=device, dtype=torch.float32)
    num_grid = ab_grid.shape[0]

    X_grid = X_grid.clone()
    X_grid /= X_grid.norm(dim=-1, keepdim=True)

    WK_grid = torch.zeros(num_grid, d, d, device=device)
    WK_grid[:, 0, 0] = ab_grid[:, 0]
    WK_grid[:, 1, 1] = ab_grid[:, 1]

    for _ in range(num_iterations):
        Q = X_grid @ WQ.T
        K = X_grid @ WK_grid.transpose(1, 2)
        V = X_grid @ WV.T
        scores = torch.matmul(Q, K.transpose(1, 2))
        attn = torch.softmax(scores, dim=-1)
        X_grid = torch.matmul(attn, V)
        X_grid = X_grid / (X_grid.norm(dim=-1, keepdim=True) + 1e-8)

    # Check convergence
    diff_grid = (X_grid[..., 0] - X_grid[:, 0, 0:1]).abs().max(dim=1).values
    labels_grid = (diff_grid < threshold).int().cpu().numpy().reshape(num_samples, num_samples)

    # imshow(labels_grid.T, origin='lower'): row 0 of the array is drawn at the bottom.
    return np.where(labels_grid.T[::-1] == 1, 255, 0).astype(np.uint8)
