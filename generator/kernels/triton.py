"""Fused Triton kernel for `generator.dynamics.landscape`: one lane per grid point.

Each lane holds its point cloud in registers and runs the whole T loop inside the kernel.
A tile is a pair of (NP, BLOCK) tensors, x1 and x2, the two coordinates of the n points
(rows, padded to NP, the next power of two) of BLOCK grid points (columns). Triton gives such a
tensor a layout with one column per thread, so every reduction over the points stays inside a
thread, and because the loop over queries is unrolled (n <= UNROLL_MAX), picking or writing
row i folds to a register move: each lane runs the scalar code a CUDA thread would.

The per-step arithmetic is Appendix A regrouped, with the same result up to rounding:
    s_ij = q_i . W_K x_j = (a q_i1) x_j1 + (b q_i2) x_j2        scores, prescaled by log2(e)
    x_i <- W_V (sum_j p_ij x_j) / (sum_j p_ij),  p_ij = 2^(s_ij - max_j s_ij)
    x_i <- x_i / (|x_i| + 1e-8)
since the attention weights sum to one, W_V moves out of the sum (n^2 exps, 2n matrix products).

Shortcut (exact): once all n points of a grid point are bit-identical, every query sees the
same scores, the attention is uniform, every row computes the same numbers and the points stay
identical for good, so the label is already 1 (difference 0). Most converging grid points get
there within 5-15 of the 100 steps. Such a lane stores its label and goes idle; once REFILL_AT
lanes of a program are idle they take the next grid points from a global counter, so programs
keep their lanes busy until the work runs out. Refilling costs enough (a dependent atomic and
gather; measured on an H200) that waiting for a quarter of the lanes beats refilling each one.

With SPEED, each lane also keeps the first step of its current synchronised run and the sum
of its spreads (a select and an add per step, on the spread the label needs anyway) and
stores `generator.dynamics`' speed field; the shortcut keeps it exact, as a lane whose points
coincide stays synchronised.
"""

from __future__ import annotations

import contextlib

import torch

from generator import dynamics

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU builds of torch ship without triton; the backend is then unavailable
    triton = None

# Tile and refill threshold measured best on an H200 at 1500^2, n = 20 (benchmarks/gpu_kernel.py).
BLOCK = 128  # grid points (lanes) per program
NUM_WARPS = 4
REFILL_AT = 32  # idle lanes a program waits for before it refills them
UNROLL_MAX = 32  # largest n whose query loop is unrolled (compile time grows ~n^3 past it)
# Programs beyond what the SMs hold at once start late, find the counter spent and return
# after one idle step, so launching as many as could ever be resident (64 warps per SM) costs
# next to nothing and leaves no SM short of work, whatever the kernel's register count.
MAX_WARPS_PER_SM = 64


def available(device) -> bool:
    return torch.device(device).type == "cuda" and torch.cuda.is_available() and triton is not None


if triton is not None:

    # Per-lane values are (1, BLOCK) rows, not (BLOCK,) vectors, and reductions keep their
    # dimension: everything then shares the tile's layout, where 1-D vectors made Triton insert
    # a layout conversion for each query's operands.

    @triton.jit
    def _row(tile, rows, i):
        """Row i (1, BLOCK) of a tile; with -0.0 as filler the sum folds to a register read."""
        return tl.sum(tl.where(rows == i, tile, -0.0), axis=0, keep_dims=True)

    @triton.jit
    def _load_points(x0_ptr, ab_ptr, pix, take, rows, sx_g, sx_n, sx_c, sab_g, sab_c,
                     N: tl.constexpr, NP: tl.constexpr, BLOCK: tl.constexpr):
        """X(0) (NP, BLOCK) x2 and the log2(e)-prescaled a, b (1, BLOCK) of the lanes in `take`."""
        LOG2E: tl.constexpr = 1.4426950408889634
        # One 2-D load per coordinate: Triton lays it out by the memory strides and converts it
        # once (through shared memory) to the tile layout. Loading row by row keeps the tile
        # layout but gives 2n loads, and Triton's coalescing pass took minutes at n = 32.
        ptr = x0_ptr + pix.to(tl.int64) * sx_g + rows * sx_n  # (NP, BLOCK)
        x1 = tl.load(ptr, mask=take & (rows < N), other=0.0)
        x2 = tl.load(ptr + sx_c, mask=take & (rows < N), other=0.0)
        abp = ab_ptr + pix.to(tl.int64) * sab_g
        a = tl.load(abp, mask=take, other=0.0) * LOG2E
        b = tl.load(abp + sab_c, mask=take, other=0.0) * LOG2E
        return x1, x2, a, b

    @triton.jit
    def _query(x1, x2, a, b, rows, i, wq11, wq12, wq21, wq22, wv11, wv12, wv21, wv22,
               N: tl.constexpr):
        """The new point i (1, BLOCK) x2 of a tile (NP, BLOCK) x2."""
        valid = rows < N
        xi1 = _row(x1, rows, i)
        xi2 = _row(x2, rows, i)
        u = a * (wq11 * xi1 + wq12 * xi2)  # a q_i1 log2(e)
        w = b * (wq21 * xi1 + wq22 * xi2)  # b q_i2 log2(e)
        s = tl.where(valid, u * x1 + w * x2, float("-inf"))  # (NP, BLOCK) scores, log2 units
        m = tl.max(s, axis=0, keep_dims=True)
        # Padded keys weigh nothing whatever their rows hold; masking every term (a constant
        # condition per register) lets the compiler drop them.
        p = tl.where(valid, tl.exp2(s - m), -0.0)
        inv = 1.0 / tl.sum(p, axis=0, keep_dims=True)
        y1 = tl.sum(tl.where(valid, p * x1, -0.0), axis=0, keep_dims=True) * inv
        y2 = tl.sum(tl.where(valid, p * x2, -0.0), axis=0, keep_dims=True) * inv
        v1 = wv11 * y1 + wv12 * y2
        v2 = wv21 * y1 + wv22 * y2
        scale = 1.0 / (tl.sqrt(v1 * v1 + v2 * v2) + 1e-8)
        return v1 * scale, v2 * scale

    @triton.jit
    def _step(x1, x2, a, b, rows, wq11, wq12, wq21, wq22, wv11, wv12, wv21, wv22,
              N: tl.constexpr, UNROLL: tl.constexpr):
        """One step of the map for a tile: (NP, BLOCK) x2 -> (NP, BLOCK) x2."""
        n1 = tl.zeros_like(x1)
        n2 = tl.zeros_like(x2)
        if UNROLL:
            # Row i is a compile-time constant: reading and writing it are register moves.
            for i in tl.static_range(N):
                v1, v2 = _query(x1, x2, a, b, rows, i, wq11, wq12, wq21, wq22,
                                wv11, wv12, wv21, wv22, N)
                n1 = tl.where(rows == i, v1, n1)
                n2 = tl.where(rows == i, v2, n2)
        else:
            # Large n: a run-time loop pays 6 selects and adds per query and point to pick and
            # place rows, but compiles in seconds where the unrolled n^2 body takes minutes.
            for i in range(N):
                v1, v2 = _query(x1, x2, a, b, rows, i, wq11, wq12, wq21, wq22,
                                wv11, wv12, wv21, wv22, N)
                n1 = tl.where(rows == i, v1, n1)
                n2 = tl.where(rows == i, v2, n2)
        return n1, n2

    # G varies from chunk to chunk; specialising on it would recompile for the last chunk.
    @triton.jit(do_not_specialize=["G"])
    def _landscape_kernel(x0_ptr, ab_ptr, wq_ptr, wv_ptr, out_ptr, speed_ptr, next_ptr,
                          sx_g, sx_n, sx_c, sab_g, sab_c, G, iterations, threshold, refill_at,
                          N: tl.constexpr, NP: tl.constexpr, BLOCK: tl.constexpr,
                          UNROLL: tl.constexpr, SPEED: tl.constexpr):
        wq11 = tl.load(wq_ptr)
        wq12 = tl.load(wq_ptr + 1)
        wq21 = tl.load(wq_ptr + 2)
        wq22 = tl.load(wq_ptr + 3)
        wv11 = tl.load(wv_ptr)
        wv12 = tl.load(wv_ptr + 1)
        wv21 = tl.load(wv_ptr + 2)
        wv22 = tl.load(wv_ptr + 3)
        rows = tl.arange(0, NP)[:, None]  # (NP, 1) point index
        valid = rows < N
        lane = tl.arange(0, BLOCK)[None, :]  # (1, BLOCK)
        # Padded rows start as the constant 0 and every update keeps them so; the compiler then
        # drops all work on them (which is why the first points come in through the refill).
        x1 = tl.zeros([NP, BLOCK], dtype=tl.float32)
        x2 = tl.zeros([NP, BLOCK], dtype=tl.float32)
        a = tl.zeros([1, BLOCK], dtype=tl.float32)
        b = tl.zeros([1, BLOCK], dtype=tl.float32)
        t = tl.zeros([1, BLOCK], dtype=tl.int32)  # steps taken by each lane's grid point
        start = tl.zeros([1, BLOCK], dtype=tl.int32)  # first step of its synchronised run
        total = tl.zeros([1, BLOCK], dtype=tl.float64)  # its spreads (inf: one was NaN)
        pix = tl.zeros([1, BLOCK], dtype=tl.int32)  # each lane's grid point
        live = lane < 0  # lanes iterating a grid point: none yet
        busy = tl.sum(live.to(tl.int32))  # live lanes
        n_free = BLOCK - busy
        more = busy + 1  # 1 while the counter may still hold grid points
        while busy + more > 0:
            if (n_free >= refill_at) & (more > 0):
                # Free lanes take consecutive grid points from the shared counter.
                free = ~live
                rank = tl.cumsum(free.to(tl.int32), axis=1) - 1
                pix = tl.where(free, tl.atomic_add(next_ptr, n_free, sem="relaxed") + rank, pix)
                take = free & (pix < G)
                f1, f2, fa, fb = _load_points(x0_ptr, ab_ptr, pix, take, rows,
                                              sx_g, sx_n, sx_c, sab_g, sab_c, N, NP, BLOCK)
                x1 = tl.where(valid & take, f1, x1)
                x2 = tl.where(valid & take, f2, x2)
                a = tl.where(take, fa, a)
                b = tl.where(take, fb, b)
                t = tl.where(take, 0, t)
                if SPEED:
                    d0 = tl.where(valid, tl.abs(f1 - _row(f1, rows, 0)), 0.0)
                    d0 = tl.max(tl.where(d0 == d0, d0, float("inf")), axis=0, keep_dims=True)
                    start = tl.where(take, tl.where(d0 < threshold, 0, 1), start)
                    total = tl.where(take, d0.to(tl.float64), total)
                live = live | take
                more = (tl.sum((free & ~take).to(tl.int32)) == 0).to(tl.int32)
            x1, x2 = _step(x1, x2, a, b, rows, wq11, wq12, wq21, wq22,
                           wv11, wv12, wv21, wv22, N, UNROLL)
            t += 1
            first1 = _row(x1, rows, 0)  # x_11
            first2 = _row(x2, rows, 0)
            same = ((x1 == first1) & (x2 == first2)) | ~valid
            synced = tl.min(same.to(tl.int32), axis=0, keep_dims=True) > 0
            done = live & (synced | (t >= iterations))
            # The reference's label; NaN becomes inf so that it fails like torch's max. Stored
            # under a mask, not a branch: with one-warp programs the branch measured 8 % slower
            # on an H200 (likely instruction-cache misses next to the ~70 KB unrolled step).
            diff = tl.where(valid, tl.abs(x1 - first1), 0.0)
            diff = tl.max(tl.where(diff == diff, diff, float("inf")), axis=0, keep_dims=True)
            tl.store(out_ptr + pix, (diff < threshold).to(tl.uint8), mask=done)
            if SPEED:
                start = tl.where(diff < threshold, start, t + 1)
                total += diff.to(tl.float64)
                far = (-total / (iterations + 1)).to(tl.float32)
                far = tl.where(total == float("inf"), float("nan"), far)  # a NaN, as above
                speed = tl.where(diff < threshold, (iterations + 1 - start).to(tl.float32), far)
                tl.store(speed_ptr + pix, speed, mask=done)
            live = live & ~done
            busy = tl.sum(live.to(tl.int32))
            n_free = BLOCK - busy


def _launch(wq, wv, x0, ab, iterations, threshold, block=BLOCK, num_warps=NUM_WARPS,
            refill_at=REFILL_AT, speed=False):
    """The kernel with a chosen tile and refill threshold (the benchmark compares a few):
    labels, and the speed field (or None)."""
    G, n = ab.shape[0], x0.shape[1]
    out = torch.empty(G, dtype=torch.bool, device=ab.device)
    field = torch.empty(G, dtype=torch.float32, device=ab.device) if speed else None
    if G == 0:
        return out, field
    sms = torch.cuda.get_device_properties(ab.device).multi_processor_count \
        if ab.device.type == "cuda" else 1  # the CPU case is Triton's interpreter
    programs = min(triton.cdiv(G, block), sms * MAX_WARPS_PER_SM // num_warps)
    nxt = torch.zeros(1, dtype=torch.int32, device=ab.device)  # next grid point to hand out
    sx_g = 0 if x0.shape[0] == 1 else x0.stride(0)  # shared X(0): every lane reads the same
    # Triton launches on the current device, which need not be the inputs'.
    with torch.cuda.device(ab.device) if ab.device.type == "cuda" else contextlib.nullcontext():
        _landscape_kernel[(programs,)](
            x0, ab, wq.contiguous(), wv.contiguous(), out.view(torch.uint8),
            out if field is None else field, nxt,
            sx_g, x0.stride(1), x0.stride(2), ab.stride(0), ab.stride(1),
            G, iterations, float(threshold), max(1, min(refill_at, block)),
            N=n, NP=triton.next_power_of_2(n), BLOCK=block, UNROLL=n <= UNROLL_MAX,
            SPEED=speed, num_warps=num_warps)
    return out, field


def landscape(wq: torch.Tensor, wv: torch.Tensor, x0: torch.Tensor, ab: torch.Tensor,
              iterations: int, threshold: float) -> torch.Tensor:
    """Labels of G grid points, as `generator.dynamics.landscape` (see there), on ab's device.

    wq, wv: (2, 2) float32; x0: (G, n, 2) unit rows, or (1, n, 2) shared; ab: (G, 2) float32.
    Returns (G,) bool.
    """
    if iterations == 0:  # the kernel steps before it looks; with no steps X(0) decides alone
        return dynamics.landscape(wq, wv, x0, ab, iterations, threshold)
    return _launch(wq, wv, x0, ab, iterations, threshold)[0]


def landscape_and_speed(wq: torch.Tensor, wv: torch.Tensor, x0: torch.Tensor, ab: torch.Tensor,
                        iterations: int, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels and speed field, as `generator.dynamics.landscape_and_speed`, on ab's device."""
    if iterations == 0:
        return dynamics.landscape_and_speed(wq, wv, x0, ab, iterations, threshold)
    return _launch(wq, wv, x0, ab, iterations, threshold, speed=True)
