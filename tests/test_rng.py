"""generator.rng: torch's CUDA stream emulated anywhere, torch's CPU stream sliced exactly."""

from __future__ import annotations

import math
import random
import time

import numpy as np
import pytest
import torch

from generator import kernels, rng
from generator.dynamics import normalize_initial
from generator.spec import CUDA_PROFILES, ArtworkSpec

CPU = torch.device("cpu")
SEEDS = (1, 1679700, 2**64 - 1)

# Random123's kat_vectors for philox4x32 10: counter (4 words), key (2 words) -> output.
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]

# Golden values: W_Q and W_V as printed (4 decimals) in Appendix B of the paper
# (the project's shared/seeds/attention-dynamics-art-paper.md), drawn there by Appendix A's
# torch.manual_seed(seed); torch.randn(2, 2, device="cuda") twice, on a Tesla T4.
PAPER_MATRICES = {
    1679700: ([[1.1646, -0.0278], [-0.8054, -0.9405]], [[-1.9675, -2.0948], [0.3671, 1.4580]]),
    5227590: ([[-0.4588, 0.7752], [0.4600, -0.6778]], [[-0.3571, 0.0005], [0.9241, 0.7379]]),
    6306593: ([[-0.4323, -0.6186], [-1.1823, -0.0825]], [[1.7736, -0.0223], [-0.1021, 1.0466]]),
}


def kernel_reference(seed: int, numel: int, offset: int, sms: int, threads_per_sm: int):
    """PyTorch's grid-stride normal kernel transcribed loop for loop (slow; small draws only)."""
    blocks = min(math.ceil(numel / 256), sms * (threads_per_sm // 256))
    stride = 256 * blocks
    rounds = math.ceil(numel / (4 * stride))
    out = np.full(numel, np.nan, dtype=np.float32)
    f32 = np.float32
    for idx in range(stride):
        for call in range(rounds):
            x, y, z, w = (int(v) for v in rng.philox4x32_10(
                offset // 4 + call, 0, idx, 0, seed & 0xFFFFFFFF, seed >> 32))
            rand = []
            for a, b in ((x, y), (z, w)):
                u = f32(f32(a) * f32(2**-32) + f32(2**-33))
                step = 2**-32 * float(f32(2 * math.pi))  # CURAND_2POW32_INV_2PI
                v = f32(float(f32(b)) * step + step / 2)  # fused multiply-add: one rounding
                s = f32(math.sqrt(f32(math.log(u)) * f32(-2)))
                # __sincosf: turns = v * 0.15915494f rounded toward zero, then sin and cos.
                exact = float(v) * float(f32(1 / (2 * math.pi)))
                turns = f32(exact)
                if float(turns) > exact:
                    turns = np.nextafter(turns, f32(0))
                angle = float(turns) * 2 * math.pi
                rand += [f32(f32(math.sin(angle)) * s), f32(f32(math.cos(angle)) * s)]
            for k in range(4):
                li = idx + stride * (4 * call + k)
                if li < numel:
                    out[li] = rand[k]
    return out, offset + 4 * rounds


def torch_sequence(seed: int, x_shape, device="cpu"):
    """Appendix A's draws on torch's own generator of `device`."""
    torch.manual_seed(seed)
    return (torch.randn(2, 2, device=device), torch.randn(2, 2, device=device),
            torch.randn(*x_shape, device=device))


# --- Philox and the CUDA stream -------------------------------------------------------------


@pytest.mark.parametrize(("counter", "key", "expected"), PHILOX_KAT)
def test_philox_known_answers(counter, key, expected):
    assert tuple(int(v) for v in rng.philox4x32_10(*counter, *key)) == expected


@pytest.mark.parametrize("array", [np.array, torch.tensor])
def test_philox_on_arrays_broadcasts_and_matches_scalars(array):
    gen = random.Random(3)
    counters = [[gen.getrandbits(32) for _ in range(4)] for _ in range(64)]
    key = (gen.getrandbits(32), gen.getrandbits(32))
    words = rng.philox4x32_10(*(array(col) for col in zip(*counters)), *key)
    assert type(words[0]) is type(array([0]))
    for i, counter in enumerate(counters):
        assert [int(w[i]) for w in words] == [int(v) for v in rng.philox4x32_10(*counter, *key)]
    rows, columns = array(list(range(3))).reshape(-1, 1), array(list(range(5))).reshape(1, -1)
    column = rng.philox4x32_10(rows, 0, columns, 0, *key)
    assert tuple(column[0].shape) == (3, 5)
    assert int(column[2][2, 4]) == int(rng.philox4x32_10(2, 0, 4, 0, *key)[2])


@pytest.mark.parametrize("seed", sorted(PAPER_MATRICES))
def test_paper_matrices_from_the_seed_alone(seed):
    wq, wv = PAPER_MATRICES[seed]
    for sms, threads in CUDA_PROFILES.values():  # 4 values: one block, whatever the GPU
        draws = rng.draw(ArtworkSpec(seed=seed, resolution=2, points=3, cuda_sms=sms,
                                     cuda_threads_per_sm=threads))
        assert draws.wq.dtype == np.float32 and draws.wq.shape == (2, 2)
        np.testing.assert_allclose(draws.wq, wq, rtol=0, atol=5e-5)
        np.testing.assert_allclose(draws.wv, wv, rtol=0, atol=5e-5)


def test_launch_policy():
    assert rng.cuda_launches(4, 0, 40, 1024) == ((rng.CudaLaunch(0, 4, 0, 256),), 4)
    # T4: 160 blocks of 256; 2,000,000 values take 13 rounds of curand_normal4.
    assert rng.cuda_launches(2_000_000, 8, 40, 1024) == ((rng.CudaLaunch(0, 2_000_000, 8, 40960),),
                                                          8 + 4 * 13)
    assert rng.cuda_launches(2_000_000, 8, 132, 2048)[0][0].stride == 132 * 2048
    # 2^29 float32 values still index in 32 bits; one more is cut in halves, each with its
    # own offset after the whole draw's.
    assert len(rng.cuda_launches(2**29, 0, 40, 1024)[0]) == 1
    launches, after = rng.cuda_launches(2**30 + 6, 0, 40, 1024)
    quarter = 2**28
    assert [(la.start, la.numel) for la in launches] == [
        (0, quarter + 1), (quarter + 1, quarter + 2),
        (2 * quarter + 3, quarter + 1), (3 * quarter + 4, quarter + 2)]
    whole = 4 * math.ceil((2**30 + 6) / (4 * 40960))
    assert launches[0].offset == whole
    assert after == whole + sum(4 * math.ceil(la.numel / (4 * 40960)) for la in launches)


@pytest.mark.parametrize(("seed", "numel", "offset", "sms", "threads"), [
    (1, 4, 0, 40, 1024),
    (2**64 - 1, 40, 8, 40, 1024),
    (12345, 3001, 8, 1, 256),  # 3 rounds per thread
    (99, 2**12 + 17, 4, 3, 768),
])
def test_emulation_follows_the_kernel_loop(seed, numel, offset, sms, threads):
    expected, after = kernel_reference(seed, numel, offset, sms, threads)
    launches, offset_after = rng.cuda_launches(numel, offset, sms, threads)
    assert offset_after == after
    np.testing.assert_array_equal(rng.cuda_normals(seed, launches, 0, numel, CPU), expected)


@pytest.mark.parametrize("init", ["shared", "per-point"])
def test_draw_element_mapping(init):
    # A tiny launch grid (one SM of 256 threads) makes X(0) span several rounds per thread.
    spec = ArtworkSpec(seed=6306593, resolution=5, points=23, init=init, cuda_sms=1,
                       cuda_threads_per_sm=256)
    shape = (1, 23, 2) if init == "shared" else (25, 23, 2)
    wq, after_wq = kernel_reference(spec.seed, 4, 0, 1, 256)
    wv, after_wv = kernel_reference(spec.seed, 4, after_wq, 1, 256)
    x0, _ = kernel_reference(spec.seed, math.prod(shape), after_wv, 1, 256)
    assert (after_wq, after_wv) == (4, 8)
    draws = rng.draw(spec)
    np.testing.assert_array_equal(draws.wq, wq.reshape(2, 2))
    np.testing.assert_array_equal(draws.wv, wv.reshape(2, 2))
    got = draws.initial(0, 25, CPU)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got, x0.reshape(shape))


@pytest.mark.parametrize(("sms", "threads"), [(1, 256), (40, 1024), (132, 2048)])
def test_cuda_chunks_equal_slices_of_the_whole(sms, threads):
    spec = ArtworkSpec(seed=5227590, resolution=31, points=20, cuda_sms=sms,
                       cuda_threads_per_sm=threads)
    draws = rng.draw(spec)
    whole = draws.initial(0, 31**2, CPU)
    gen = random.Random(sms)
    for _ in range(25):
        start = gen.randrange(0, 31**2)
        stop = gen.randrange(start, 31**2 + 1)
        np.testing.assert_array_equal(draws.initial(start, stop, CPU), whole[start:stop])
    pieces = [draws.initial(a, min(a + 37, 31**2), CPU) for a in range(0, 31**2, 37)]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_explicit_matrices_leave_x0_where_it_was():
    drawn = rng.draw(ArtworkSpec(seed=7, resolution=3, points=5))
    given = rng.draw(ArtworkSpec(seed=7, resolution=3, points=5, wq=(1, 2, 3, 4), wv=(0, 1, 1, 0)))
    np.testing.assert_array_equal(given.wq, np.array([[1, 2], [3, 4]], dtype=np.float32))
    np.testing.assert_array_equal(given.wv, np.array([[0, 1], [1, 0]], dtype=np.float32))
    assert given.wq.dtype == np.float32
    np.testing.assert_array_equal(given.initial(0, 9, CPU), drawn.initial(0, 9, CPU))


def test_x0_depends_on_the_launch_grid_only_when_large():
    def x0(resolution, sms):
        spec = ArtworkSpec(seed=3, resolution=resolution, points=20, cuda_sms=sms)
        return rng.draw(spec).initial(0, resolution**2, CPU)

    np.testing.assert_array_equal(x0(1, 1), x0(1, 40))  # 40 values: one block either way
    one_sm, t4 = x0(30, 1), x0(30, 40)  # 36,000 values: grids of 1,024 and 36,096 threads
    np.testing.assert_array_equal(one_sm.flatten()[:1024], t4.flatten()[:1024])
    assert not np.array_equal(one_sm, t4)


def test_torch_operations_compute_the_same_draw(monkeypatch):
    """The GPU's path, torch operations, run on the CPU: the same layout and roundings (torch's
    own float64 sin and cos may differ from the C library's in a last bit, hence a tolerance)."""
    launches, _ = rng.cuda_launches(50_000, 8, 1, 256)
    want = rng.cuda_normals(7, launches, 123, 45_678)
    monkeypatch.setattr(rng, "_on_cpu", lambda device: False)
    got = rng.cuda_normals(7, launches, 123, 45_678, CPU)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-6)
    assert (got.numpy() == want).mean() > 0.999


# --- the C module: the same numbers, fast --------------------------------------------------

needs_c = pytest.mark.skipif(rng._initial is None, reason="the C module _initial was not built")


def _slices(gen: random.Random, numel: int, stride: int) -> list[tuple[int, int]]:
    """In-order cuts (some on round boundaries, some just past them), random slices, and
    slices shorter than a round across a component's edge (an explorer tile's columns)."""
    row = 4 * stride
    cuts = {0, numel, *(gen.randrange(numel + 1) for _ in range(6))}
    cuts |= {min(numel, r * row + d) for r in range(1, 4) for d in (0, 1, -1)}
    cuts = sorted(c for c in cuts if 0 <= c <= numel)
    randoms = [sorted((gen.randrange(numel + 1), gen.randrange(numel + 1))) for _ in range(8)]
    edges = [gen.randrange(numel // row + 1) * row + gen.randrange(1, 4) * stride
             for _ in range(6)]
    short = [(max(e - gen.randrange(1, stride), 0), min(e + gen.randrange(1, stride), numel))
             for e in edges if e < numel]
    return list(zip(cuts, cuts[1:])) + [tuple(r) for r in randoms] + short


@needs_c
@pytest.mark.parametrize("trial", range(8))
def test_c_normals_equal_the_array_operations(monkeypatch, trial):
    gen = random.Random(trial)
    seed = gen.choice([0, 2**64 - 1, gen.getrandbits(64), gen.getrandbits(32)])
    sms, threads = gen.choice([*CUDA_PROFILES.values(), (1, 256), (3, 768)])
    numel = gen.choice([1, 4, 40, 4099, gen.randrange(1, 400_000)])
    offset = 4 * gen.choice([0, 2, gen.getrandbits(40)])  # past 2^34 counter word 1 counts
    monkeypatch.setattr(kernels, "_threads", gen.choice([1, 2, 3]))
    launches, _ = rng.cuda_launches(numel, offset, sms, threads)
    want = rng.cuda_normals(seed, launches, 0, numel)
    source = rng._CudaNormals(seed, launches)
    got = source(0, numel, CPU)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    for a, b in _slices(gen, numel, launches[0].stride):
        np.testing.assert_array_equal(source(a, b, CPU), want[a:b], err_msg=f"[{a}, {b})")
    # Many slices of one length in one call, as an explorer tile asks for its columns.
    for length in {0, 1, gen.randrange(1, numel + 1), min(numel, 4 * launches[0].stride + 1)}:
        starts = np.array([gen.randrange(numel - length + 1) for _ in range(gen.randrange(6))])
        got = source.slices(starts, length, CPU)
        assert got.dtype == np.float32 and got.shape == (starts.size * length,)
        np.testing.assert_array_equal(
            got, np.concatenate([want[s:s + length] for s in starts.tolist()] or [got[:0]]),
            err_msg=f"slices of {length} from {starts}")


@needs_c
def test_c_normals_of_a_draw_split_past_2_31_bytes():
    # 4000² grid points of 20 points: 640 M values, which PyTorch cuts into launches.
    spec = ArtworkSpec(seed=6306593, resolution=4000, points=20)
    launches, _ = rng.cuda_launches(4000**2 * 40, 8, spec.cuda_sms, spec.cuda_threads_per_sm)
    assert len(launches) == 2
    draws = rng.draw(spec)
    for element in (launches[1].start, launches[1].start + 4 * launches[1].stride,
                    launches[1].start + launches[1].numel - 7):
        start = max(element // 40 - 80, 0)
        stop = min(start + 160, 4000**2)
        want = rng.cuda_normals(spec.seed, launches, start * 40, stop * 40)
        np.testing.assert_array_equal(draws.initial(start, stop, CPU).ravel(), want)
        # Slices across the launches' boundary and inside each, in one call.
        starts = [start, stop - 79, min(start + 41, stop - 79), start + 1]
        np.testing.assert_array_equal(
            draws.slices(starts, 79, CPU).ravel(),
            np.concatenate([want[(s - start) * 40:(s + 79 - start) * 40] for s in starts]))


@pytest.mark.parametrize("with_c", [True, False])
def test_unit_rows_round_as_torch_does(monkeypatch, with_c):
    if with_c and rng._initial is None:
        pytest.skip("the C module _initial was not built")
    if not with_c:
        monkeypatch.setattr(rng, "_initial", None)
    gen = torch.Generator().manual_seed(17)
    rows = 1_200_000  # more than a million rows: two threads
    x = torch.randn(rows, 2, generator=gen) * 10.0 ** torch.randint(-15, 15, (rows, 1),
                                                                     generator=gen)
    x[:3] = torch.tensor([[0.0, 0.0], [0.0, -2.0], [3e-30, 0.0]])
    want = normalize_initial(x.view(-1, 3, 2)).numpy()
    got = rng.unit_rows(x.numpy().copy().reshape(-1, 3, 2))
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


# --- the CPU stream ---------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "resolution", "points"), [
    (1, 1, 1), (2, 1, 7), (3, 1, 8), (5, 3, 3), (7, 4, 2), (11, 17, 5), (2**64 - 1, 40, 20),
])
def test_cpu_stream_is_torch_randn(seed, resolution, points):
    grid = resolution**2
    for init, shape in (("shared", (1, points, 2)), ("per-point", (grid, points, 2))):
        wq, wv, x0 = torch_sequence(seed, shape)
        draws = rng.draw(ArtworkSpec(seed=seed, resolution=resolution, points=points,
                                     init=init, rng="cpu"))
        np.testing.assert_array_equal(draws.wq, wq.numpy())
        np.testing.assert_array_equal(draws.wv, wv.numpy())
        np.testing.assert_array_equal(draws.initial(0, grid, CPU), x0.numpy())


@pytest.mark.parametrize(("resolution", "points"), [(23, 3), (24, 4), (9, 13)])
def test_cpu_chunks_in_any_order_are_exact(monkeypatch, resolution, points):
    # Keep a generator state every 48 words, so that slices resume from kept states and catch
    # up from them, in order and out of order.
    monkeypatch.setattr(rng, "_MIN_SPACING", 48)
    grid = resolution**2
    *_, x0 = torch_sequence(99, (grid, points, 2))
    x0 = x0.numpy()
    draws = rng.draw(ArtworkSpec(seed=99, resolution=resolution, points=points, rng="cpu"))
    step = 29
    starts = list(range(0, grid, step))
    pieces = [draws.initial(a, min(a + step, grid), CPU) for a in starts]
    np.testing.assert_array_equal(np.concatenate(pieces), x0)
    gen = random.Random(resolution)
    for _ in range(60):
        start = gen.randrange(0, grid)
        stop = gen.randrange(start, grid + 1)
        np.testing.assert_array_equal(draws.initial(start, stop, CPU), x0[start:stop])


def test_draw_leaves_torch_global_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for mode in ("cuda", "cpu"):
        rng.draw(ArtworkSpec(seed=5, resolution=4, points=3, rng=mode)).initial(0, 16, CPU)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("mode", ["cuda", "cpu"])
def test_initial_shapes_and_bounds(mode):
    per_point = rng.draw(ArtworkSpec(seed=1, resolution=4, points=3, rng=mode))
    assert per_point.initial(3, 3, CPU).shape == (0, 3, 2)
    assert per_point.initial(5, 9, "cpu").shape == (4, 3, 2)
    with pytest.raises(ValueError):
        per_point.initial(10, 17, CPU)
    starts = [9, 0, 12, 9]
    np.testing.assert_array_equal(
        per_point.slices(starts, 4, CPU),
        np.concatenate([per_point.initial(s, s + 4, CPU) for s in starts]))
    assert per_point.slices([], 4, CPU).shape == (0, 3, 2)
    for bad in ([13], [-1]):
        with pytest.raises(ValueError, match="outside"):
            per_point.slices(bad, 4, CPU)
    shared = rng.draw(ArtworkSpec(seed=1, resolution=4, points=3, init="shared", rng=mode))
    assert shared.initial(0, 16, CPU).shape == (1, 3, 2)
    np.testing.assert_array_equal(shared.initial(4, 8, CPU), shared.initial(0, 16, CPU))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cuda", "cpu"])
def test_full_size_grid_is_seconds_not_minutes(mode):
    draws = rng.draw(ArtworkSpec(seed=1679700, resolution=1500, points=20, rng=mode))
    began = time.perf_counter()
    x0 = draws.initial(0, 1500**2, CPU)
    assert time.perf_counter() - began < 60
    assert x0.shape == (1500**2, 20, 2)
    assert np.isfinite(x0[::9973]).all()


# --- against a real GPU -----------------------------------------------------------------------

gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _this_gpu() -> tuple[int, int]:
    props = torch.cuda.get_device_properties(0)
    return props.multi_processor_count, props.max_threads_per_multi_processor


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("seed", SEEDS)
def test_gpu_stream_matches_torch_cuda(seed):
    sms, threads = _this_gpu()
    torch.manual_seed(seed)
    offset = 0
    for numel in (4, 40, 2_000_000, 4):  # the last one checks the offset a large draw leaves
        real = torch.randn(numel, device="cuda")
        launches, after = rng.cuda_launches(numel, offset, sms, threads)
        emulated = rng.cuda_normals(seed, launches, 0, numel, torch.device("cuda"))
        assert (emulated - real).abs().max().item() <= 1e-5
        offset = after


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("init", ["per-point", "shared"])
def test_gpu_draw_matches_the_papers_code(init):
    sms, threads = _this_gpu()
    spec = ArtworkSpec(seed=1679700, resolution=40, points=20, init=init, cuda_sms=sms,
                       cuda_threads_per_sm=threads)
    shape = (1, 20, 2) if init == "shared" else (40**2, 20, 2)
    wq, wv, x0 = torch_sequence(spec.seed, shape, device="cuda")
    draws = rng.draw(spec)
    np.testing.assert_allclose(draws.wq, wq.cpu().numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(draws.wv, wv.cpu().numpy(), rtol=0, atol=1e-5)
    emulated = draws.initial(0, 40**2, torch.device("cuda"))
    assert emulated.device.type == "cuda"
    assert (emulated - x0).abs().max().item() <= 1e-5
