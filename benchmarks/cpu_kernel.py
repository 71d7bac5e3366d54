"""The cpu backend against the reference, in one run on the same inputs.

    .venv/bin/python benchmarks/cpu_kernel.py [--compare 128 256] [--alone 500 1500]

For each seed and init mode: the reference and the kernel on --compare grids (s/Mpix,
speed-up, label agreement), then the kernel alone on --alone grids in chunks of --chunk
points (wall time of the whole grid). Inputs are drawn as the paper's Appendix A draws them:
torch.manual_seed(seed), then W_Q, W_V, X(0) with torch.randn, over [-8, 8]².
Both run on --threads threads (torch's intra-op threads for the reference).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from generator import kernels
from generator.dynamics import landscape as reference
from generator.dynamics import normalize_initial
from generator.kernels import cpu

PAPER_SEEDS = [1679700, 8012376]


def grid(resolution: int, lo: float = -8.0, hi: float = 8.0) -> torch.Tensor:
    values = np.linspace(lo, hi, resolution)
    A, B = np.meshgrid(values, values)
    return torch.tensor(np.stack([A.ravel(), B.ravel()], axis=-1), dtype=torch.float32)


def draw(seed: int, points: int, n: int, mode: str):
    torch.manual_seed(seed)
    wq, wv = torch.randn(2, 2), torch.randn(2, 2)
    x0 = normalize_initial(torch.randn(1 if mode == "shared" else points, n, 2))
    return wq, wv, x0


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def compare(seed: int, mode: str, resolution: int, n: int, iterations: int) -> dict:
    ab = grid(resolution)
    wq, wv, x0 = draw(seed, ab.shape[0], n, mode)
    want, t_ref = timed(reference, wq, wv, x0, ab, iterations, 1e-5)
    got, t_cpu = timed(cpu.landscape, wq, wv, x0, ab, iterations, 1e-5)
    mpix = ab.shape[0] / 1e6
    return {"ref_s_per_mpix": t_ref / mpix, "cpu_s_per_mpix": t_cpu / mpix,
            "speedup": t_ref / t_cpu, "agreement": float((got == want.numpy()).mean())}


def alone(seed: int, mode: str, resolution: int, n: int, iterations: int, chunk: int) -> float:
    """Wall seconds for the whole grid, drawing per-point X(0) chunk by chunk (untimed)."""
    ab = grid(resolution)
    wq, wv, x0 = draw(seed, 1, n, "shared")
    total = 0.0
    for lo in range(0, ab.shape[0], chunk):
        part = ab[lo:lo + chunk]
        if mode != "shared":
            x0 = normalize_initial(torch.randn(part.shape[0], n, 2))
        total += timed(cpu.landscape, wq, wv, x0, part, iterations, 1e-5)[1]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", type=int, nargs="*", default=[128, 256])
    parser.add_argument("--alone", type=int, nargs="*", default=[500, 1500])
    parser.add_argument("--seeds", type=int, nargs="*", default=PAPER_SEEDS)
    parser.add_argument("--modes", nargs="*", default=["shared", "per-point"])
    parser.add_argument("--points", type=int, default=20, help="n")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=1 << 16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not cpu.available(torch.device("cpu")):
        raise SystemExit("the cpu backend's extension is not built (pip install -e .)")
    torch.set_num_threads(args.threads)
    kernels.set_threads(args.threads)
    print(f"threads {args.threads}, kernel ISA {cpu._cpu.isa()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    for res in args.compare:
        for seed in args.seeds:
            for mode in args.modes:
                r = compare(seed, mode, res, args.points, args.iterations)
                print(f"{res:5d}² seed {seed} {mode:9s}  reference {r['ref_s_per_mpix']:7.1f} "
                      f"s/Mpix  cpu {r['cpu_s_per_mpix']:6.2f} s/Mpix  "
                      f"speed-up {r['speedup']:6.1f}x  agreement {100 * r['agreement']:.3f} %")
    for res in args.alone:
        for seed in args.seeds:
            for mode in args.modes:
                wall = alone(seed, mode, res, args.points, args.iterations, args.chunk)
                print(f"{res:5d}² seed {seed} {mode:9s}  cpu alone {wall:7.2f} s  "
                      f"({wall / (res * res / 1e6):.2f} s/Mpix)")


if __name__ == "__main__":
    main()
