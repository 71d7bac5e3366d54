"""Every fast backend against the reference map, on small random inputs.

Labels near the boundaries of the landscape are chaotic: float32 rounding of any kind (a
different exp, summation order or FMA) flips a few of them, as float64 does. Hence agreement,
not equality, with the reference: at least 99.9 % of pixels, on grids large enough (>= 48²)
for a handful of chaotic pixels to fit under that bound.
"""

import numpy as np
import pytest
import torch

from generator import kernels
from generator.dynamics import landscape as reference
from generator.dynamics import normalize_initial

AGREEMENT = 0.999


def _devices() -> list[torch.device]:
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])


def _fast_backends() -> list:
    params = []
    for name in kernels.names():
        if name == "reference":
            continue
        try:
            module = kernels.load(name)
        except ImportError:  # a backend whose toolkit (or module) is missing here
            continue
        params += [pytest.param(module, device, id=f"{name}-{device.type}",
                                marks=[pytest.mark.gpu] if device.type == "cuda" else [])
                   for device in _devices() if module.available(device)]
    return params


BACKENDS = _fast_backends()
CPU_BACKEND = [p for p in BACKENDS if p.id == "cpu-cpu"]


def make_inputs(seed: int, resolution: int, n: int, mode: str, window="paper",
                device: torch.device = torch.device("cpu")):
    """W_Q, W_V, X(0), ab as the paper draws and lays them out.

    window: ((a_min, a_max), (b_min, b_max)), 'paper' for [-8, 8]², or 'random'.
    """
    gen = torch.Generator().manual_seed(seed)
    wq = torch.randn(2, 2, generator=gen)
    wv = torch.randn(2, 2, generator=gen)
    if window == "paper":
        window = ((-8.0, 8.0), (-8.0, 8.0))
    elif window == "random":  # a sub-window of the paper's, 4 to 8 wide
        centre = (torch.rand(2, generator=gen) * 8 - 4).tolist()
        half = float(torch.rand(1, generator=gen)) * 2 + 2
        window = tuple((c - half, c + half) for c in centre)
    G = resolution * resolution
    x0 = normalize_initial(torch.randn(1 if mode == "shared" else G, n, 2, generator=gen))
    A, B = np.meshgrid(np.linspace(*window[0], resolution), np.linspace(*window[1], resolution))
    ab = torch.tensor(np.stack([A.ravel(), B.ravel()], axis=-1), dtype=torch.float32)
    return tuple(t.to(device) for t in (wq, wv, x0, ab))


def assert_agrees(got, want: torch.Tensor) -> None:
    # On the inputs' device: a tensor there, or a numpy array for CPU inputs.
    assert got.device == want.device if isinstance(got, torch.Tensor) else want.device.type == "cpu"
    got, want = kernels.as_numpy(got), kernels.as_numpy(want)
    assert got.dtype == bool and got.shape == want.shape
    differ = int((got != want).sum())
    assert differ <= (1 - AGREEMENT) * want.size, \
        f"{differ} of {want.size} labels differ from the reference"


# Seeds with a mix of both labels in both init modes (a grid of one label tests little).
@pytest.mark.parametrize("mode", ["shared", "per-point"])
@pytest.mark.parametrize("seed, window", [(103, "paper"), (104, "random")])
@pytest.mark.parametrize("backend, device", BACKENDS)
def test_matches_reference(backend, device, seed, window, mode):
    inputs = make_inputs(seed, 64, 20, mode, window, device)
    assert_agrees(backend.landscape(*inputs, 100, 1e-5), reference(*inputs, 100, 1e-5))


@pytest.mark.parametrize("mode", ["shared", "per-point"])
@pytest.mark.parametrize("seed, n, iterations, threshold", [
    (300, 1, 100, 1e-5), (313, 2, 100, 1e-5), (303, 3, 100, 1e-5), (301, 37, 40, 1e-5),
    (300, 3, 0, 0.5), (301, 20, 1, 0.5),
])
@pytest.mark.parametrize("backend, device", BACKENDS)
def test_edge_sizes(backend, device, seed, n, iterations, threshold, mode):
    inputs = make_inputs(seed, 48, n, mode, "random", device)
    got = backend.landscape(*inputs, iterations, threshold)
    assert_agrees(got, reference(*inputs, iterations, threshold))
    if n == 1:
        assert got.all()


# Scores reach |W_Q| max(|a|, |b|): the cpu kernel skips the softmax's row maximum only below
# a bound (about |a|, |b| < 20 for the paper's W_Q), so wide windows cross it, and huge values
# or keys (W_V scaled by 2^40, W_Q by 30) take the guarded path everywhere.
@pytest.mark.parametrize("window, wq_scale, wv_scale", [
    (((-60.0, 60.0), (-60.0, 60.0)), 1.0, 1.0), (((-8.0, 8.0), (-8.0, 8.0)), 30.0, 1.0),
    (((-8.0, 8.0), (-8.0, 8.0)), 1.0, 2.0**40),
])
@pytest.mark.parametrize("mode", ["shared", "per-point"])
@pytest.mark.parametrize("backend, device", BACKENDS)
def test_large_scores_and_values(backend, device, mode, window, wq_scale, wv_scale):
    wq, wv, x0, ab = make_inputs(105, 64, 20, mode, window, device)
    inputs = (wq * wq_scale, wv * wv_scale, x0, ab)
    assert_agrees(backend.landscape(*inputs, 100, 1e-5), reference(*inputs, 100, 1e-5))


@pytest.mark.parametrize("backend, device", BACKENDS)
def test_converged_region_and_thresholds(backend, device):
    # Near a = b = 0 attention is almost uniform: every point synchronises.
    inputs = make_inputs(7, 24, 20, "per-point", ((-0.1, 0.1), (-0.2, 0.0)), device)
    assert backend.landscape(*inputs, 100, 1e-5).all()
    assert reference(*inputs, 100, 1e-5).all()
    # |x_i1 - x_11| >= 0 always, so a threshold of 0 labels nothing.
    assert not backend.landscape(*inputs, 100, 0.0).any()
    inputs = make_inputs(8, 48, 20, "shared", "paper", device)
    assert_agrees(backend.landscape(*inputs, 100, 0.5), reference(*inputs, 100, 0.5))


@pytest.mark.parametrize("backend, device", BACKENDS)
def test_shared_initial_state_equals_its_copies(backend, device):
    wq, wv, x0, ab = make_inputs(9, 32, 20, "shared", "random", device)
    copies = x0.expand(ab.shape[0], -1, -1).contiguous()
    np.testing.assert_array_equal(kernels.as_numpy(backend.landscape(wq, wv, x0, ab, 60, 1e-5)),
                                  kernels.as_numpy(backend.landscape(wq, wv, copies, ab, 60, 1e-5)))


@pytest.mark.parametrize("backend, device", BACKENDS)
def test_empty_grid(backend, device):
    wq, wv, x0, ab = make_inputs(10, 4, 5, "shared", device=device)
    got = kernels.as_numpy(backend.landscape(wq, wv, x0, ab[:0], 10, 1e-5))
    assert got.shape == (0,) and got.dtype == bool


@pytest.mark.parametrize("backend, device", CPU_BACKEND)
def test_cpu_labels_do_not_depend_on_threads_or_layout(monkeypatch, backend, device):
    wq, wv, x0, ab = make_inputs(11, 40, 20, "per-point", "random")
    both = backend.landscape(wq, wv, x0, ab, 100, 1e-5)
    monkeypatch.setattr(kernels, "_threads", None)
    kernels.set_threads(1)
    alone = backend.landscape(wq, wv, x0, ab, 100, 1e-5)
    np.testing.assert_array_equal(alone, both)
    # numpy arrays, views, float64 and autograd leaves go through the same kernel on float32
    # copies.
    np.testing.assert_array_equal(
        backend.landscape(wq.numpy(), wv.numpy(), x0.numpy(), ab.numpy(), 100, 1e-5), alone)
    wide = torch.cat([ab, ab], dim=1)[:, :2]
    assert not wide.is_contiguous()
    wq64 = wq.double().requires_grad_()
    np.testing.assert_array_equal(backend.landscape(wq64, wv, x0, wide, 100, 1e-5), alone)
    # An expanded view of one initial state runs as the shared mode, without copies.
    one = x0[:1]
    np.testing.assert_array_equal(
        backend.landscape(wq, wv, np.broadcast_to(one.numpy(), x0.shape), ab, 100, 1e-5),
        backend.landscape(wq, wv, one, ab, 100, 1e-5))


@pytest.mark.parametrize("backend, device", CPU_BACKEND)
def test_cpu_non_finite_inputs_label_false_like_the_reference(backend, device):
    wq, wv, x0, ab = make_inputs(13, 8, 6, "per-point")
    x0, ab = x0.clone(), ab.clone()
    x0[5, 2, 0] = x0[6] = float("nan")
    ab[7, 0], ab[9, 1], ab[11, 0] = float("inf"), float("nan"), float("-inf")
    want = reference(wq, wv, x0, ab, 50, 1e-5)
    assert not want[[5, 6, 7, 9, 11]].any()
    np.testing.assert_array_equal(backend.landscape(wq, wv, x0, ab, 50, 1e-5), want.numpy())


@pytest.mark.parametrize("backend, device", CPU_BACKEND)
@pytest.mark.parametrize("change, message", [
    (dict(wq=torch.zeros(3, 2)), "wq"),
    (dict(ab=torch.zeros(16, 3)), "ab"),
    (dict(x0=torch.zeros(5, 4, 2)), "x0"),
    (dict(x0=torch.zeros(1, 0, 2)), "x0"),
    (dict(x0=torch.zeros(16, 4)), "x0"),
    (dict(iterations=-1), "iterations"),
])
def test_cpu_rejects_bad_inputs(backend, device, change, message):
    wq, wv, x0, ab = make_inputs(12, 4, 4, "shared")
    args = dict(wq=wq, wv=wv, x0=x0, ab=ab, iterations=5, threshold=1e-5) | change
    with pytest.raises(ValueError, match=message):
        backend.landscape(**args)
