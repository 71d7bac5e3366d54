"""Backends that compute `generator.dynamics.landscape`, fastest first.

Each backend module exposes `available(device) -> bool` and `landscape(wq, wv, x0, ab,
iterations, threshold)` with the reference's signature and semantics (device from the inputs).
"""

from __future__ import annotations

import importlib

import torch

from generator.errors import SpecError

# name -> module; order is preference when choosing automatically.
_MODULES = {
    "reference": "generator.kernels.reference",
    "cpu": "generator.kernels.cpu",
    "triton": "generator.kernels.triton",
}
PREFERENCE = ["triton", "cpu"]  # fastest first; the reference is always the last resort


def names() -> list[str]:
    return list(_MODULES)


def load(name: str):
    if name not in _MODULES:
        raise SpecError(f"unknown backend {name!r}; choose one of {', '.join(names())} or auto")
    return importlib.import_module(_MODULES[name])


def available(device: torch.device) -> list[str]:
    """Backends that run on `device`, fastest first, the reference last."""
    return [n for n in PREFERENCE + ["reference"] if load(n).available(device)]


def choose(name: str, device: torch.device):
    """The backend module for `name` ('auto' = fastest available on `device`)."""
    if name == "auto":
        return load(available(device)[0])
    module = load(name)
    if not module.available(device):
        raise SpecError(f"backend {name!r} cannot run on {device}; "
                        f"available there: {', '.join(available(device))}")
    return module
