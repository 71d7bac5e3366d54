"""The reference map itself, as a backend: runs on any device torch supports."""

import torch

from generator import dynamics


def available(device) -> bool:
    return True


def landscape(wq, wv, x0, ab, iterations: int, threshold: float) -> torch.Tensor:
    """`generator.dynamics.landscape` of numpy arrays (read without copying) or tensors."""
    wq, wv, x0, ab = (torch.as_tensor(t) for t in (wq, wv, x0, ab))
    return dynamics.landscape(wq, wv, x0, ab, iterations, threshold)


def landscape_and_speed(wq, wv, x0, ab, iterations: int,
                        threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`generator.dynamics.landscape_and_speed`, with inputs as `landscape` takes them."""
    wq, wv, x0, ab = (torch.as_tensor(t) for t in (wq, wv, x0, ab))
    return dynamics.landscape_and_speed(wq, wv, x0, ab, iterations, threshold)
