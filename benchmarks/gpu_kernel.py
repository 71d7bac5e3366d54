"""GPU check of the Triton backend: label agreement with the reference, and timings.

Run from the repository root on a CUDA machine (a few minutes at most, Triton's compile included):

    PYTHONPATH=. python3 benchmarks/gpu_kernel.py

For real-seed-like inputs (W_Q, W_V, X(0) drawn as Appendix A draws them, on the GPU) in both
init modes it prints the agreement of generator.kernels.triton with generator.dynamics (the
reference, run on the same GPU) at 256^2, then times both at 1500^2, T=100, n=20, and finally
compares a few tile shapes and refill thresholds. Each case catches its own failure.
"""

from __future__ import annotations

import statistics
import sys
import time
import traceback

import torch

from generator import dynamics
from generator.kernels import triton as tk

SEEDS = [1679700, 8012376, 1234567, 42]  # two of the paper's gallery, two arbitrary
INITS = ["per-point", "shared"]
N_POINTS, ITERATIONS, THRESHOLD, WINDOW = 20, 100, 1e-5, 8.0
SMALL, LARGE = 256, 1500
REFERENCE_CHUNK = 250_000  # grid points per reference call: (chunk, n, n) scores fit easily
# (grid points per program, warps per program, idle lanes before a refill); the first is the
# module's default
CONFIGS = [(tk.BLOCK, tk.NUM_WARPS, tk.REFILL_AT),
           (128, 4, 64), (64, 2, 16), (32, 1, 24), (32, 1, 32)]
DEVICE = torch.device("cuda")


def say(*parts):
    print(*parts, flush=True)


def inputs(seed: int, init: str, res: int):
    """W_Q, W_V, X(0) as Appendix A draws them after torch.manual_seed(seed), and the (a, b) grid
    (a fastest, as np.meshgrid + ravel give it)."""
    torch.manual_seed(seed)
    wq = torch.randn(2, 2, device=DEVICE)
    wv = torch.randn(2, 2, device=DEVICE)
    values = torch.linspace(-WINDOW, WINDOW, res, dtype=torch.float64)
    a, b = torch.meshgrid(values, values, indexing="xy")
    ab = torch.stack([a.ravel(), b.ravel()], dim=-1).to(DEVICE, torch.float32)  # (G, 2)
    count = ab.shape[0] if init == "per-point" else 1
    x0 = dynamics.normalize_initial(torch.randn(count, N_POINTS, 2, device=DEVICE))
    return wq, wv, x0, ab


def reference(wq, wv, x0, ab) -> torch.Tensor:
    parts = []
    for start in range(0, ab.shape[0], REFERENCE_CHUNK):
        stop = start + REFERENCE_CHUNK
        xs = x0 if x0.shape[0] == 1 else x0[start:stop]
        parts.append(dynamics.landscape(wq, wv, xs, ab[start:stop], ITERATIONS, THRESHOLD))
    return torch.cat(parts)


def timed(fn, repeats: int) -> tuple[float, torch.Tensor]:
    """Median seconds of `repeats` synchronised calls, and the last result."""
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    return 100.0 * (a == b).float().mean().item()


def check_small():
    say(f"\n== agreement with the reference at {SMALL}^2, n={N_POINTS}, T={ITERATIONS} ==")
    for seed in SEEDS:
        for init in INITS:
            try:
                wq, wv, x0, ab = inputs(seed, init, SMALL)
                ref = dynamics.landscape(wq, wv, x0, ab, ITERATIONS, THRESHOLD)
                got = tk.landscape(wq, wv, x0, ab, ITERATIONS, THRESHOLD)
                say(f"seed {seed:>8} {init:>9}: agreement {agreement(got, ref):8.4f} % "
                    f"({(got != ref).sum().item()} of {ref.numel()} differ), "
                    f"converged {100 * ref.float().mean().item():5.1f} %")
            except Exception:
                say(f"seed {seed} {init}: FAILED\n{traceback.format_exc()}")


def time_large():
    say(f"\n== {LARGE}^2, n={N_POINTS}, T={ITERATIONS}: triton median of 5, reference once ==")
    rows = []
    pixels = LARGE * LARGE
    for seed in SEEDS:
        for init in INITS:
            try:
                wq, wv, x0, ab = inputs(seed, init, LARGE)
                tk.landscape(wq, wv, x0, ab, ITERATIONS, THRESHOLD)  # warm-up
                fast, got = timed(lambda: tk.landscape(wq, wv, x0, ab, ITERATIONS, THRESHOLD), 5)
                slow, ref = timed(lambda: reference(wq, wv, x0, ab), 1)
                rows.append((f"{seed} {init}", fast, slow, agreement(got, ref)))
                say(f"seed {seed:>8} {init:>9}: triton {fast:.4f} s, reference {slow:.3f} s")
            except Exception:
                say(f"seed {seed} {init}: FAILED\n{traceback.format_exc()}")
    say(f"\n{'case':<20} {'backend':<10} {'seconds':>9} {'Mpix/s':>9} {'speed-up':>9} "
        f"{'agree %':>9}")
    for case, fast, slow, agree in rows:
        say(f"{case:<20} {'reference':<10} {slow:9.4f} {pixels / slow / 1e6:9.1f} {1.0:9.1f} "
            f"{'':>9}")
        say(f"{case:<20} {'triton':<10} {fast:9.4f} {pixels / fast / 1e6:9.1f} "
            f"{slow / fast:9.1f} {agree:9.4f}")


def compare_configs():
    say(f"\n== tile shapes and refill thresholds at {LARGE}^2: median of 5 ==")
    for seed, init in ((SEEDS[0], "per-point"), (SEEDS[1], "shared")):
        wq, wv, x0, ab = inputs(seed, init, LARGE)
        base = None
        for block, warps, refill in CONFIGS:
            try:
                def run():
                    return tk._launch(wq, wv, x0, ab, ITERATIONS, THRESHOLD, block=block,
                                      num_warps=warps, refill_at=refill)[0]

                start = time.perf_counter()
                run()
                torch.cuda.synchronize()
                first = time.perf_counter() - start
                seconds, out = timed(run, 5)
                base = out if base is None else base
                say(f"seed {seed:>8} {init:>9} BLOCK={block:<4} num_warps={warps} "
                    f"refill_at={refill:<3}: {seconds:.4f} s (first call {first:.1f} s), "
                    f"labels equal to the first config: {agreement(out, base):.4f} %")
            except Exception:
                say(f"BLOCK={block} num_warps={warps} refill_at={refill}: FAILED\n"
                    f"{traceback.format_exc()}")


def main():
    if not tk.available(DEVICE):
        say("the triton backend is not available here (needs CUDA and triton)")
        sys.exit(1)
    say(f"{torch.cuda.get_device_name()} | torch {torch.__version__} | "
        f"triton {tk.triton.__version__}")
    start = time.perf_counter()
    check_small()
    time_large()
    compare_configs()
    say(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
