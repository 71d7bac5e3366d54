"""Turning a seed into W_Q, W_V and X(0), in the paper's order (W_Q, then W_V, then X(0)).

Two streams, each reproducing what ``torch.manual_seed(seed)`` followed by the paper's
``randn(2, 2)``, ``randn(2, 2)`` and ``randn(G, n, 2)`` give on one of torch's generators:

``cuda``
    torch's CUDA generator (Philox4x32-10 through cuRAND), emulated with array operations:
    numpy's on the CPU, torch's on a GPU. Each ``randn`` of ``numel`` float32 values is one
    launch of PyTorch's ``distribution_elementwise_grid_stride_kernel`` (DistributionTemplates.h):
    256-thread blocks, ``min(ceil(numel / 256), SMs * maxThreadsPerSM / 256)`` of them; thread
    ``idx`` calls ``curand_normal4`` ``rounds = ceil(numel / (4 * stride))`` times (``stride``:
    threads in the grid) on a state ``curand_init(seed, idx, offset)``, component ``k`` of call
    ``c`` landing at element ``idx + stride * (4c + k)``, and the generator's offset then grows by
    ``4 * rounds``. Large draws therefore depend on the GPU's SM count and threads per SM.
    On the CPU, X(0) comes from the C module ``generator.kernels._initial`` when it was built:
    the same numbers, bit for bit, six times faster per core and on every core; nothing here
    imports torch.
``cpu``
    torch's CPU generator (mt19937), driven by torch itself so that its vectorised Box-Muller
    is reproduced bit for bit, but a slice at a time (see `_MersenneNormals`).

Arrays on the CPU are numpy arrays; on another device, torch tensors.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from generator import kernels
from generator.spec import ArtworkSpec

try:
    from generator.kernels import _initial
except ImportError:  # built without a C compiler: the array operations draw X(0), slowly
    _initial = None

if TYPE_CHECKING:
    import torch

_MASK32 = 0xFFFFFFFF
PHILOX_M = (0xD2511F53, 0xCD9E8D57)  # round multipliers of counter words 0 and 2
PHILOX_W = (0x9E3779B9, 0xBB67AE85)  # key bumps between rounds (golden ratio, sqrt(3) - 1)
_BLOCK = 256  # threads per block of PyTorch's distribution kernels
_INT32_MAX = 2**31 - 1
# cuRAND's Box-Muller constants, float32: CURAND_2POW32_INV and CURAND_2POW32_INV_2PI, the
# latter 2^-32 times 2*pi rounded to float32 (6.2831855f).
_2POW32_INV = 2.0**-32
_2POW32_INV_2PI = 2.0**-32 * float(np.float32(2 * math.pi))
_INV_2PI = float(np.float32(1 / (2 * math.pi)))  # 0.15915494f
# Philox calls per batch of array operations: on a CPU, few enough that every array stays in
# cache; on a GPU, enough to hide launch overhead.
_CALLS_PER_BATCH = {"cpu": 1 << 14, "cuda": 1 << 21}
# Largest round of calls (4 x stride values) the C path keeps for the next slice: 16 MB.
_KEEP_MAX = 1 << 22

Array = np.ndarray  # or a torch.Tensor off the CPU


@dataclass(frozen=True)
class Draws:
    wq: np.ndarray  # (2, 2) float32
    wv: np.ndarray  # (2, 2) float32
    # initial(start, stop, device): raw normals of X(0) for grid points [start, stop) in the
    # paper's flattening, a (stop - start, n, 2) float32 array on `device` (numpy on the CPU,
    # a torch tensor elsewhere); in shared mode one (1, n, 2) for every point.
    initial: Callable[[int, int, object], Array]
    # slices(starts, count, device), per-point draws of `draw`: initial's grid points
    # [s, s + count) for each s in starts, one slice after another, (len(starts) * count, n,
    # 2); one call for many short slices (an explorer tile's columns of a larger grid).
    slices: Callable[[Sequence[int], int, object], Array] | None = None


def draw(spec: ArtworkSpec) -> Draws:
    """W_Q, W_V and the X(0) source of `spec`, drawn from its seed on its `rng` stream.

    X(0) sits at the same stream position whether or not W_Q, W_V are given explicitly:
    explicit matrices only replace the drawn ones.
    """
    grid = spec.resolution**2
    shape = (1, spec.points, 2) if spec.init == "shared" else (grid, spec.points, 2)
    stream = _cuda_stream if spec.rng == "cuda" else _cpu_stream
    wq, wv, x0 = stream(spec, math.prod(shape))
    if spec.init == "shared":
        initial = partial(_shared_initial, x0(0, math.prod(shape), "cpu").reshape(shape))
        slices = None
    else:
        initial = partial(_per_point_initial, x0, grid, shape[1:])
        slices = partial(_per_point_slices, x0, grid, shape[1:])
    if spec.wq is not None:
        wq = np.array(spec.wq, dtype=np.float32).reshape(2, 2)
    if spec.wv is not None:
        wv = np.array(spec.wv, dtype=np.float32).reshape(2, 2)
    return Draws(wq, wv, initial, slices)


def unit_rows(x0: Array) -> Array:
    """X(0)'s rows scaled to unit vectors, as Appendix A does (`dynamics.normalize_initial`).

    A float32 C-contiguous numpy array is normalised in place by the C module, which rounds
    as torch does on the CPU (the norm is sqrtf(fmaf(y, y, x * x))), so no torch is needed;
    without the module, and for tensors, torch does it.
    """
    if isinstance(x0, np.ndarray) and _initial is not None:
        x0 = np.ascontiguousarray(x0, dtype=np.float32)
        _initial.unit_rows(x0, kernels.threads())
        return x0
    import torch

    from generator.dynamics import normalize_initial

    return _like(normalize_initial(torch.as_tensor(x0)), x0)


def _shared_initial(x0: np.ndarray, start: int, stop: int, device) -> Array:
    return _to_device(x0.copy(), device)  # a copy: callers normalise it in place


def _per_point_initial(x0: Callable, grid: int, point_shape: tuple[int, int],
                       start: int, stop: int, device) -> Array:
    if not 0 <= start <= stop <= grid:
        raise ValueError(f"grid points [{start}, {stop}) outside 0..{grid}")
    per_point = math.prod(point_shape)
    return x0(start * per_point, stop * per_point, device).reshape(stop - start, *point_shape)


def _per_point_slices(x0: Callable, grid: int, point_shape: tuple[int, int],
                      starts: Sequence[int], count: int, device) -> Array:
    starts = np.asarray(starts, dtype=np.int64).reshape(-1)
    if starts.size and not (count >= 0 and starts.min() >= 0 and starts.max() + count <= grid):
        raise ValueError(f"grid point slices of {count} from {starts.min()} to {starts.max()} "
                         f"outside 0..{grid}")
    per_point = math.prod(point_shape)
    slices = getattr(x0, "slices", partial(_each_slice, x0))
    return slices(starts * per_point, count * per_point, device).reshape(
        starts.size * count, *point_shape)


def _each_slice(source: Callable, starts: np.ndarray, length: int, device) -> Array:
    """source's elements [s, s + length) for each s in `starts`, one call per slice."""
    return _concatenate([source(s, s + length, device) for s in starts.tolist()], device)


# --- numpy arrays on the CPU, torch tensors elsewhere ------------------------------------------


def _on_cpu(device) -> bool:
    return kernels.device_type(device) == "cpu"


def _torch():
    import torch

    return torch


def _like(values: torch.Tensor, x) -> Array:
    """`values` (a CPU tensor) as the kind of array x is."""
    return values.numpy() if isinstance(x, np.ndarray) else values


def _to_device(values: np.ndarray, device) -> Array:
    return values if _on_cpu(device) else _torch().from_numpy(values).to(device)


def _empty(numel: int, device) -> Array:
    if _on_cpu(device):
        return np.empty(numel, dtype=np.float32)
    return _torch().empty(numel, dtype=_torch().float32, device=device)


def _arange(lo: int, hi: int, device) -> Array:
    if _on_cpu(device):
        return np.arange(lo, hi, dtype=np.int64)
    return _torch().arange(lo, hi, device=device)


def _concatenate(parts: list[Array], device) -> Array:
    if not parts:
        return _empty(0, device)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if _on_cpu(device) else _torch().cat(parts)


def _cast(x: Array, dtype: str) -> Array:
    return x.astype(dtype) if isinstance(x, np.ndarray) else x.to(getattr(_torch(), dtype))


def _view(x: Array, dtype: str) -> Array:
    """The same bits read as `dtype`."""
    return x.view(dtype) if isinstance(x, np.ndarray) else x.view(getattr(_torch(), dtype))


def _math(name: str, x: Array) -> Array:
    return getattr(np if isinstance(x, np.ndarray) else _torch(), name)(x)


# --- cuda: torch's CUDA generator, emulated ---------------------------------------------------


def _cuda_stream(spec: ArtworkSpec, x_numel: int):
    """W_Q, W_V and X(0)'s slicer on the emulated CUDA stream (offsets 0, 4, then 8)."""
    launch = partial(cuda_launches, sms=spec.cuda_sms, threads_per_sm=spec.cuda_threads_per_sm)
    wq_launches, offset = launch(4, 0)
    wv_launches, offset = launch(4, offset)
    x_launches, _ = launch(x_numel, offset)
    wq = cuda_normals(spec.seed, wq_launches, 0, 4).reshape(2, 2)
    wv = cuda_normals(spec.seed, wv_launches, 0, 4).reshape(2, 2)
    return wq, wv, _CudaNormals(spec.seed, x_launches)


@dataclass(frozen=True)
class CudaLaunch:
    """One kernel launch of a CUDA ``normal_``: elements [start, start + numel) of the draw."""

    start: int
    numel: int
    offset: int  # the generator's Philox offset it reads (a multiple of 4)
    stride: int  # threads in its grid: 256 x blocks


def cuda_launches(numel: int, offset: int, sms: int,
                  threads_per_sm: int) -> tuple[tuple[CudaLaunch, ...], int]:
    """The launches of one float32 ``torch.randn(numel)`` on CUDA, and the offset after it.

    A draw too big for 32-bit indexing (past 2^31 - 1 bytes) is cut by TensorIterator into
    halves until each fits, first half first; PyTorch reserves the whole draw's offset before
    cutting, then each piece reserves its own.
    """

    def policy(n: int) -> tuple[int, int]:
        blocks = min(-(-n // _BLOCK), sms * (threads_per_sm // _BLOCK))
        stride = _BLOCK * blocks
        return stride, 4 * -(-n // (4 * stride))

    def fits(n: int) -> bool:
        return 1 + (n - 1) * 4 <= _INT32_MAX

    def pieces(start: int, n: int) -> Iterator[tuple[int, int]]:
        if fits(n):
            yield start, n
        else:
            yield from pieces(start, n // 2)
            yield from pieces(start + n // 2, n - n // 2)

    if numel == 0:
        return (), offset
    stride, advance = policy(numel)
    if fits(numel):
        return (CudaLaunch(0, numel, offset, stride),), offset + advance
    offset += advance
    launches = []
    for start, n in pieces(0, numel):
        stride, advance = policy(n)
        launches.append(CudaLaunch(start, n, offset, stride))
        offset += advance
    return tuple(launches), offset


def _overlaps(launches: tuple[CudaLaunch, ...], start: int,
              stop: int) -> Iterator[tuple[int, CudaLaunch, int, int]]:
    """(index, launch, a, b) of the launches writing elements [start, stop): their [a, b),
    counted from each launch's first element."""
    for i, launch in enumerate(launches):
        a, b = max(start - launch.start, 0), min(stop - launch.start, launch.numel)
        if a < b:
            yield i, launch, a, b


def cuda_normals(seed: int, launches: tuple[CudaLaunch, ...], start: int, stop: int,
                 device="cpu") -> Array:
    """Elements [start, stop) of the draw made by `launches`, float32 on `device`, computed
    by array operations: the specification that the C module follows."""
    parts = [_launch_normals(seed, launch, a, b, device)
             for _, launch, a, b in _overlaps(launches, start, stop)]
    return _concatenate(parts, device)


class _CudaNormals:
    """Any slice of one emulated CUDA draw; on the CPU by the C module when it was built.

    There the round of calls (4 x stride elements) a slice of at least a round ends inside is
    computed whole and kept, so that a render walking the grid in order computes no round
    twice; a shorter slice (an explorer tile's column of grid points, far from the next) is
    computed alone.
    """

    def __init__(self, seed: int, launches: tuple[CudaLaunch, ...]):
        self._seed, self._launches = seed, launches
        self._kept = (-1, -1, None)  # (launch index, round, its values)
        self._lock = threading.Lock()  # a render may fetch chunks from several threads

    def __call__(self, start: int, stop: int, device) -> Array:
        if _initial is None or not _on_cpu(device):
            return cuda_normals(self._seed, self._launches, start, stop, device)
        out = np.empty(stop - start, dtype=np.float32)
        for i, launch, a, b in _overlaps(self._launches, start, stop):
            first = launch.start + a - start
            self._fill(i, launch, a, b, out[first:first + b - a])
        return out

    def slices(self, starts: np.ndarray, length: int, device) -> Array:
        """Elements [s, s + length) for each s in the int64 array `starts`, one slice after
        another: those inside one launch in one call of the C module, on all threads."""
        if _initial is None or not _on_cpu(device) or length == 0:
            return _each_slice(self, starts, length, device)
        out = np.empty((starts.size, length), dtype=np.float32)
        firsts = np.array([launch.start for launch in self._launches], dtype=np.int64)
        which = np.searchsorted(firsts, starts, side="right") - 1
        ends = firsts[which] + np.array([launch.numel for launch in self._launches])[which]
        inside = starts + length <= ends
        for row in np.flatnonzero(~inside).tolist():  # across a launch boundary: rare
            out[row] = self(int(starts[row]), int(starts[row]) + length, device)
        for i in np.unique(which[inside]).tolist():
            rows = np.flatnonzero(inside & (which == i))
            launch = self._launches[i]
            run = rows[-1] - rows[0] + 1 == rows.size  # one run of rows: written in place
            values = (out[rows[0]:rows[-1] + 1] if run
                      else np.empty((rows.size, length), dtype=np.float32))
            self._compute(launch, starts[rows] - launch.start, length, values)
            if not run:
                out[rows] = values
        return out.reshape(-1)

    def _compute(self, launch: CudaLaunch, starts, length: int, out: np.ndarray) -> None:
        """Elements [s, s + length) of `launch` for each s in `starts`, into `out`."""
        _initial.normals(out, self._seed, launch.offset // 4, launch.stride,
                         np.asarray(starts, dtype=np.int64).reshape(-1), length,
                         kernels.threads())

    def _fill(self, i: int, launch: CudaLaunch, a: int, b: int, out: np.ndarray) -> None:
        row = 4 * launch.stride
        with self._lock:
            kept_launch, kept_round, kept = self._kept
        if kept_launch == i and kept_round == a // row:
            take = min(b, (kept_round + 1) * row) - a
            out[:take] = kept[a - kept_round * row:a - kept_round * row + take]
            a, out = a + take, out[take:]
        last = (b - 1) // row
        if b - a >= row and b % row and b < launch.numel and row <= _KEEP_MAX:
            begin = max(a, last * row)
            values = np.empty(min(row, launch.numel - last * row), dtype=np.float32)
            self._compute(launch, last * row, values.size, values)
            out[begin - a:] = values[begin - last * row:b - last * row]
            with self._lock:
                self._kept = (i, last, values)
            b = begin
        if a < b:
            self._compute(launch, a, b - a, out[:b - a])


def _launch_normals(seed: int, launch: CudaLaunch, a: int, b: int, device) -> Array:
    """Elements [a, b) (counted from the launch's first) of one launch.

    Computes the curand_normal4 calls of every round the range touches; of a round it only
    touches within one component, only the threads writing there. A chunk boundary inside a
    round costs at most one extra round of calls (`stride` calls).
    """
    s = launch.stride
    row = 4 * s  # elements written by one round of calls of the whole grid
    batch = _CALLS_PER_BATCH["cpu" if _on_cpu(device) else "cuda"]
    out = _empty(b - a, device)
    full_lo, full_hi = -(-a // row), b // row
    if full_lo < full_hi:
        # Whole rounds: (round, component, thread) is the kernel's own layout of the elements.
        rounds = out[full_lo * row - a:full_hi * row - a].reshape(full_hi - full_lo, 4, s)
        for r0, r1, t0, t1 in _tiles(full_hi - full_lo, 0, s, batch):
            values = _normal4(seed, launch.offset, full_lo + r0, full_lo + r1, t0, t1, device)
            for k, component in enumerate(values):
                rounds[r0:r1, k, t0:t1] = component
    for c in sorted({a // row, (b - 1) // row} - set(range(full_lo, full_hi))):
        lo, hi = max(a - c * row, 0), min(b - c * row, row)  # element range within the round
        if lo // s == (hi - 1) // s:  # one component: only the threads writing it
            first, last = lo % s, (hi - 1) % s + 1
        else:
            first, last = 0, s
        for _, _, t0, t1 in _tiles(1, first, last, batch):
            values = _normal4(seed, launch.offset, c, c + 1, t0, t1, device)
            for k, component in enumerate(values):
                e0, e1 = max(lo, k * s + t0), min(hi, k * s + t1)
                if e0 < e1:
                    src = component[0, e0 - k * s - t0:e1 - k * s - t0]
                    out[c * row + e0 - a:c * row + e1 - a] = src
    return out


def _tiles(rows: int, first: int, last: int, batch: int) -> Iterator[tuple[int, int, int, int]]:
    """(row0, row1, thread0, thread1) rectangles of about `batch` calls or fewer covering
    rows [0, rows) x threads [first, last)."""
    width = last - first
    if width > batch:
        pieces = -(-width // batch)
        cuts = [first + width * i // pieces for i in range(pieces + 1)]
        for r in range(rows):
            for t0, t1 in zip(cuts, cuts[1:]):
                yield r, r + 1, t0, t1
    else:
        step = batch // width
        for r in range(0, rows, step):
            yield r, min(r + step, rows), first, last


def _normal4(seed: int, offset: int, round0: int, round1: int, thread0: int, thread1: int,
             device) -> tuple[Array, ...]:
    """curand_normal4 of calls [round0, round1) of threads [thread0, thread1) on states
    ``curand_init(seed, thread, offset)``: its 4 components, each (rounds, threads) float32."""
    call = _arange(round0, round1, device).reshape(-1, 1) + offset // 4
    thread = _arange(thread0, thread1, device).reshape(1, -1)
    # curand_init puts the subsequence (thread) in counter words 2-3 and offset / 4 in words
    # 0-1; each curand4 call then steps the counter by one. Threads stay below 2^32.
    x, y, z, w = philox4x32_10(call & _MASK32, call >> 32, thread, 0,
                               seed & _MASK32, seed >> 32)
    return (*_box_muller(x, y), *_box_muller(z, w))  # sine first


def philox4x32_10(c0, c1, c2, c3, k0: int, k1: int) -> tuple[Array, ...]:
    """Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1), as cuRAND computes it.

    Counter words are int64 arrays (numpy, or torch tensors) or ints holding unsigned 32-bit
    values; they broadcast. Returns the four output words as int64 arrays in [0, 2^32).
    """
    arrays = [w for w in (c0, c1, c2, c3) if not isinstance(w, int)]
    shape = np.broadcast_shapes(*(tuple(w.shape) for w in arrays))  # numpy's: torch's is slow
    if arrays and not isinstance(arrays[0], np.ndarray):
        torch = _torch()
        device = arrays[0].device
        a, b, c, d = (torch.as_tensor(w, dtype=torch.int64, device=device).expand(shape).clone()
                      for w in (c0, c1, c2, c3))
    else:
        a, b, c, d = (np.broadcast_to(np.asarray(w, dtype=np.int64), shape).copy()
                      for w in (c0, c1, c2, c3))
    for i in range(10):
        # Products of two 32-bit words fit 64 bits; int64 wraps, keeping them exact mod 2^64.
        a *= PHILOX_M[0]
        c *= PHILOX_M[1]
        # Masking after the xors also clears the high halves that the products leave in the
        # words passed on unmasked (b, d).
        b ^= (c >> 32) ^ ((k0 + i * PHILOX_W[0]) & _MASK32)
        b &= _MASK32
        d ^= (a >> 32) ^ ((k1 + i * PHILOX_W[1]) & _MASK32)
        d &= _MASK32
        a, b, c, d = b, c, d, a  # (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
    return a, b & _MASK32, c, d & _MASK32


def _box_muller(u_word: Array, v_word: Array) -> tuple[Array, Array]:
    """cuRAND's _curand_box_muller in float32: (r sin v, r cos v) of uniforms made from words."""
    u = _cast(u_word, "float32") * _2POW32_INV + _2POW32_INV / 2  # float32 arithmetic
    # logf and sqrtf rounded once each, as on the GPU: the float64 results rounded to float32.
    log_u = _cast(_math("log", _cast(u, "float64")), "float32")
    radius = _cast(_math("sqrt", _cast(log_u, "float64") * -2.0), "float32")
    # nvcc contracts y * C + C/2 into one fused multiply-add: the float64 product is exact.
    v = _cast(_cast(v_word, "float32"), "float64") * _2POW32_INV_2PI + _2POW32_INV_2PI / 2
    # __sincosf runs on the GPU's special function unit, which takes turns, not radians: the
    # angle is first multiplied by float32 1/(2 pi) and rounded toward zero (FMUL.RZ). Doing the
    # same (the float64 product is exact; v > 0, so dropping the low 29 of the 52 fraction bits
    # rounds it toward zero to float32) halves the gap to real GPU draws.
    turns = _view(_cast(_cast(v, "float32"), "float64") * _INV_2PI, "int64") & ~(2**29 - 1)
    angle = _view(turns, "float64") * (2 * math.pi)
    return (_cast(_math("sin", angle), "float32") * radius,
            _cast(_math("cos", angle), "float32") * radius)


# --- cpu: torch's CPU generator ----------------------------------------------------------------


def _cpu_stream(spec: ArtworkSpec, x_numel: int):
    """W_Q, W_V and X(0)'s slicer on torch's CPU generator."""
    torch = _torch()
    gen = torch.Generator().manual_seed(spec.seed)
    wq = torch.randn(2, 2, generator=gen).numpy()
    wv = torch.randn(2, 2, generator=gen).numpy()
    if x_numel < _FILL_BLOCK:
        # Below 16 values torch draws one Box-Muller pair at a time: small, so draw it whole.
        x0 = torch.randn(x_numel, generator=gen)
        return wq, wv, partial(_slice_of, x0)
    return wq, wv, _MersenneNormals(gen.get_state(), x_numel)


def _slice_of(values: torch.Tensor, start: int, stop: int, device) -> Array:
    return _to_device(values[start:stop].numpy().copy(), device)  # callers may change it


_FILL_BLOCK = 16  # torch's CPU normal_fill turns 16 uniforms at a time into normals
_MAX_CHECKPOINTS = 1024  # generator states kept per draw (5 KB each)
_MIN_SPACING = 1 << 22  # words between kept states, at least: ~60 ms of mt19937 to catch up


class _MersenneNormals:
    """Any slice of one float32 ``torch.randn(numel)`` (numel >= 16) on the CPU generator.

    torch's ``normal_fill`` first draws ``numel`` uniforms, one mt19937 word each, then turns
    each aligned block of 16 into 16 normals on its own; when 16 does not divide numel it draws
    16 more uniforms and recomputes the last 16 elements from them. So block b is
    ``torch.randn(16)`` from the generator advanced by 16 b words, and consecutive blocks are one
    ``randn`` of a multiple of 16: torch itself computes every value, bit for bit, while only the
    blocks of the slice are held. Reaching word w needs the generator state there: states are
    kept every `spacing` words and at the end of the last slice (so a render that walks the grid
    in order never replays the stream), and mt19937 is run forward from the nearest one.
    """

    def __init__(self, state: torch.Tensor, numel: int):
        self._numel = numel
        blocks = max(_MIN_SPACING, -(-numel // _MAX_CHECKPOINTS)) // _FILL_BLOCK
        self._spacing = _FILL_BLOCK * blocks
        self._kept = {0: state}
        self._last = (0, state)
        self._lock = threading.Lock()  # a render may fetch chunks from several threads

    def __call__(self, start: int, stop: int, device) -> Array:
        torch = _torch()
        n, parts = self._numel, []
        tail = n - _FILL_BLOCK if n % _FILL_BLOCK else n  # elements from here come from the tail
        if start < min(stop, tail):
            b0, b1 = start // _FILL_BLOCK, -(-min(stop, tail) // _FILL_BLOCK)
            blocks = self._blocks(b0, b1)
            parts.append(blocks[start - _FILL_BLOCK * b0:min(stop, tail) - _FILL_BLOCK * b0])
        if stop > tail:
            last = torch.empty(_FILL_BLOCK).normal_(generator=self._generator_at(n))
            parts.append(last[max(start, tail) - tail:stop - tail])
        values = parts[0] if len(parts) == 1 else torch.cat(parts) if parts else torch.empty(0)
        return _to_device(values.numpy(), device)

    def _blocks(self, b0: int, b1: int) -> torch.Tensor:
        """Normals of blocks [b0, b1), generated in pieces ending at kept positions."""
        start, stop = _FILL_BLOCK * b0, _FILL_BLOCK * b1
        out = _torch().empty(stop - start)
        gen = self._generator_at(start)
        first_kept = (start // self._spacing + 1) * self._spacing
        # Stopping before the last block lets the next slice, which starts in it, resume here.
        cuts = sorted({*range(first_kept, stop, self._spacing), stop - _FILL_BLOCK, stop} - {start})
        at = start
        for cut in cuts:
            out[at - start:cut - start].normal_(generator=gen)
            at = cut
            self._keep(at, gen.get_state())
        return out

    def _keep(self, word: int, state: torch.Tensor) -> None:
        with self._lock:
            if word % self._spacing == 0:
                self._kept[word] = state
            self._last = (word, state)

    def _generator_at(self, word: int) -> torch.Generator:
        """A CPU generator whose next word is word `word` of the draw."""
        with self._lock:
            candidates = [(p, s) for p, s in self._kept.items() if p <= word]
            if self._last[0] <= word:
                candidates.append(self._last)
        at, state = max(candidates, key=lambda c: c[0])
        torch = _torch()
        gen = torch.Generator()
        gen.set_state(state)
        scratch = torch.empty(min(word - at, 1 << 20))
        while at < word:
            step = min(word, (at // self._spacing + 1) * self._spacing) - at
            for i in range(0, step, scratch.numel()):
                scratch[:min(scratch.numel(), step - i)].uniform_(generator=gen)  # one word each
            at += step
            if at % self._spacing == 0:
                self._keep(at, gen.get_state())
        return gen
