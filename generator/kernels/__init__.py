"""Backends that compute `generator.dynamics.landscape`, fastest first.

Each backend module exposes `available(device) -> bool` and `landscape(wq, wv, x0, ab,
iterations, threshold)` with the reference's signature and semantics. Its inputs are numpy
arrays or torch tensors on the device it runs on; it returns the (G,) bool labels as either
(`as_numpy` reads both). Devices are named as torch names them ('cpu', 'cuda', 'cuda:1') or
given as `torch.device`s: nothing here imports torch, and the cpu backend never does.
"""

from __future__ import annotations

import importlib
import os

import numpy as np

from generator.errors import SpecError

# name -> module; order is preference when choosing automatically.
_MODULES = {
    "reference": "generator.kernels.reference",
    "cpu": "generator.kernels.cpu",
    "triton": "generator.kernels.triton",
}
PREFERENCE = ["triton", "cpu"]  # fastest first; the reference is always the last resort
# The one device type each fast backend runs on: on another, it is not even imported.
_DEVICE_TYPES = {"triton": "cuda", "cpu": "cpu"}

_threads: int | None = None


def device_type(device) -> str:
    """'cpu' or 'cuda' (etc.) of a device name or `torch.device`."""
    return str(device).split(":")[0]


def threads() -> int:
    """CPU threads the C code (the cpu backend, X(0)) runs on: `set_threads`'s number, or
    every CPU this process may use."""
    if _threads is not None:
        return _threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_threads(count: int) -> None:
    global _threads
    if count < 1:
        raise ValueError(f"threads must be at least 1, got {count}")
    _threads = count


def as_numpy(labels) -> np.ndarray:
    """A backend's labels as a numpy array, wherever they were computed."""
    return labels if isinstance(labels, np.ndarray) else labels.cpu().numpy()


def names() -> list[str]:
    return list(_MODULES)


def load(name: str):
    if name not in _MODULES:
        raise SpecError(f"unknown backend {name!r}; choose one of {', '.join(names())} or auto")
    return importlib.import_module(_MODULES[name])


def _candidates(device) -> list[str]:
    kind = device_type(device)
    return [n for n in PREFERENCE if _DEVICE_TYPES[n] == kind] + ["reference"]


def available(device) -> list[str]:
    """Backends that run on `device`, fastest first, the reference last."""
    return [n for n in _candidates(device) if load(n).available(device)]


def choose(name: str, device):
    """The backend module for `name` ('auto' = fastest available on `device`)."""
    if name == "auto":
        return next(load(n) for n in _candidates(device) if load(n).available(device))
    module = load(name)
    if not module.available(device):
        raise SpecError(f"backend {name!r} cannot run on {device}; "
                        f"available there: {', '.join(available(device))}")
    return module
