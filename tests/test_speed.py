"""The speed field (`generator.dynamics`): every fast backend against the reference, and the
labels it encodes against the labels every path renders.

Tolerances: the labels agree as in test_kernels (>= 99.9 %); where both say synchronised, the
step it happened is equal on all but 1 % of the pixels (chaotic pixels near the boundary
synchronise a few steps apart under other float32 rounding; one pixel is always allowed);
where both say not, the mean spread (in 0..2) is within 1e-3 on all but 1 % of them.
"""

import math

import numpy as np
import pytest
import torch
from test_kernels import AGREEMENT, BACKENDS, CPU_BACKEND, make_inputs

from generator import kernels, rng
from generator.dynamics import labels_from_speed
from generator.dynamics import landscape as reference_labels
from generator.dynamics import landscape_and_speed as reference
from generator.render import render_field, render_labels

OTHERS = 0.01  # share of the pixels whose step or spread may differ
SPREAD_TOLERANCE = 1e-3


def assert_mostly(equal: np.ndarray) -> None:
    assert (~equal).sum() <= max(1, OTHERS * equal.size), f"{(~equal).sum()} of {equal.size}"


def assert_field_agrees(got, want) -> None:
    (labels, field), (want_labels, want_field) = ([kernels.as_numpy(t) for t in pair]
                                                  for pair in (got, want))
    assert field.dtype == np.float32 and field.shape == labels.shape == want_labels.shape
    np.testing.assert_array_equal(labels_from_speed(field), labels)
    np.testing.assert_array_equal(labels_from_speed(want_field), want_labels)
    assert (labels == want_labels).mean() >= AGREEMENT
    synced = labels & want_labels
    steps = field[synced]
    assert np.all(steps == np.round(steps)) and np.all(steps >= 1)
    assert_mostly(steps == want_field[synced])
    apart = ~labels & ~want_labels
    assert_mostly(np.abs(field[apart] - want_field[apart]) <= SPREAD_TOLERANCE)
    assert np.all((field[apart] <= 0) & (field[apart] >= -2))


@pytest.mark.parametrize("mode", ["shared", "per-point"])
@pytest.mark.parametrize("seed", [104, 217])
@pytest.mark.parametrize("backend, device", BACKENDS)
def test_field_matches_reference_on_random_inputs(backend, device, seed, mode):
    inputs = make_inputs(seed, 48, 20, mode, "random", device)
    got = backend.landscape_and_speed(*inputs, 100, 1e-5)
    assert_field_agrees(got, reference(*inputs, 100, 1e-5))
    # The same run with the field as without it: the labels do not change by a bit.
    np.testing.assert_array_equal(kernels.as_numpy(got[0]),
                                  kernels.as_numpy(backend.landscape(*inputs, 100, 1e-5)))


@pytest.mark.parametrize("mode", ["shared", "per-point"])
@pytest.mark.parametrize("seed, n, iterations, threshold", [
    (300, 1, 100, 1e-5), (313, 2, 100, 1e-5), (303, 3, 60, 1e-5), (300, 3, 0, 0.5),
    (301, 20, 1, 0.5), (8, 20, 100, 0.5),
])
@pytest.mark.parametrize("backend, device", BACKENDS)
def test_field_edge_sizes(backend, device, seed, n, iterations, threshold, mode):
    inputs = make_inputs(seed, 40, n, mode, "random", device)
    got = backend.landscape_and_speed(*inputs, iterations, threshold)
    assert_field_agrees(got, reference(*inputs, iterations, threshold))
    if n == 1:  # one point is synchronised from X(0) on: the fastest there is
        assert (kernels.as_numpy(got[1]) == iterations + 1).all()


@pytest.mark.parametrize("iterations", [37, 38, 39])
@pytest.mark.parametrize("n", [2, 20])
@pytest.mark.parametrize("backend, device", BACKENDS)
def test_field_through_cycles(backend, device, n, iterations):
    """W_V a rotation by 120°: orbits end in 3-cycles whose states differ in spread, some
    synchronised and some not, so the cpu kernel's cycle shortcut must place step T in its
    cycle to get both the step and the mean spread right."""
    wq, _, x0, ab = make_inputs(5, 32, n, "per-point", "random", device)
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    wv = torch.tensor([[c, -s], [s, c]], device=x0.device)
    got = backend.landscape_and_speed(wq, wv, x0, ab, iterations, 0.9)
    want = reference(wq, wv, x0, ab, iterations, 0.9)
    assert_field_agrees(got, want)
    assert 0.5 < kernels.as_numpy(want[0]).mean() < 1


@pytest.mark.parametrize("backend, device", CPU_BACKEND)
def test_cpu_field_of_non_finite_inputs_is_nan_like_the_reference(backend, device):
    wq, wv, x0, ab = make_inputs(13, 8, 6, "per-point")
    x0 = x0.clone()
    x0[5, 2, 0] = x0[6] = float("nan")
    want_labels, want = reference(wq, wv, x0, ab, 50, 1e-5)
    labels, field = backend.landscape_and_speed(wq, wv, x0, ab, 50, 1e-5)
    assert np.isnan(want[[5, 6]].numpy()).all() and np.isnan(field[[5, 6]]).all()
    np.testing.assert_array_equal(labels, want_labels.numpy())


@pytest.mark.parametrize("backend, device", CPU_BACKEND)
def test_cpu_field_does_not_depend_on_threads(monkeypatch, backend, device):
    inputs = make_inputs(11, 40, 20, "per-point", "random")
    both = backend.landscape_and_speed(*inputs, 100, 1e-5)
    monkeypatch.setattr(kernels, "_threads", None)
    kernels.set_threads(1)
    for got, want in zip(backend.landscape_and_speed(*inputs, 100, 1e-5), both):
        np.testing.assert_array_equal(got, want)


def test_reference_labels_are_the_fields():
    inputs = make_inputs(104, 16, 20, "shared", "random")
    labels, field = reference(*inputs, 100, 1e-5)
    assert torch.equal(labels_from_speed(field), labels)
    assert torch.equal(reference_labels(*inputs, 100, 1e-5), labels)


@pytest.mark.parametrize("init", ["shared", "per-point"])
@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_render_field_labels_equal_render_labels(spec_factory, backend, init):
    spec = spec_factory(seed=8012376, init=init, resolution=40 if backend == "cpu" else 16)
    draws = rng.draw(spec)
    labels, field = render_field(spec, draws, device="cpu", backend=backend)
    want = render_labels(spec, draws, device="cpu", backend=backend)
    assert labels.shape == field.shape == want.shape == (spec.resolution,) * 2
    np.testing.assert_array_equal(labels, want)
    np.testing.assert_array_equal(labels_from_speed(field), want)
    assert 0 < want.mean() < 1
