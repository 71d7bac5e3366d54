"""The reference map itself, as a backend: runs on any device torch supports."""

import torch

from generator.dynamics import landscape  # noqa: F401  (the backend entry point)


def available(device: torch.device) -> bool:
    return True
