"""A whole-process `attnart render` against its bound, the cpu kernel alone, in one run.

Prints, per init mode, the seconds of `attnart render SEED` in a fresh interpreter (start-up,
imports, W_Q/W_V/X(0), grid, kernel, PNG and JSON) and of the kernel alone on the same inputs
(the bound): wall time, CPU time of all threads, and their ratios. On a machine shared with
other work wall times wander with the load; CPU times much less.

    .venv/bin/python benchmarks/render_overhead.py [--seed 1679700] [--resolution 1500]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generator import kernels, rng
from generator.render import chunks, matrices
from generator.spec import ArtworkSpec


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def whole(seed: int, resolution: int, init: str) -> tuple[float, float]:
    """Wall and CPU seconds of the whole process."""
    with tempfile.TemporaryDirectory() as folder:
        start, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "generator.cli", "render", str(seed),
                        "--resolution", str(resolution), "--init", init, "--device", "cpu",
                        "--quiet", "-o", str(Path(folder) / "art.png")], check=True)
        return (time.perf_counter() - start,
                cpu_seconds(resource.RUSAGE_CHILDREN) - cpu)


def kernel(spec: ArtworkSpec) -> tuple[float, float]:
    """Wall and CPU seconds of the kernel calls alone."""
    draws = rng.draw(spec)
    wq, wv = matrices(draws, "cpu")
    module = kernels.load("cpu")
    wall = cpu = 0.0
    for _, _, x0, ab in chunks(spec, draws, "cpu"):
        start, used = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
        module.landscape(wq, wv, x0, ab, spec.iterations, spec.threshold)
        wall += time.perf_counter() - start
        cpu += cpu_seconds(resource.RUSAGE_SELF) - used
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1679700)
    parser.add_argument("--resolution", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{kernels.threads()} threads, load average {os.getloadavg()[0]:.2f}")
    for init in ("per-point", "shared"):
        spec = ArtworkSpec(seed=args.seed, resolution=args.resolution, init=init)
        for _ in range(args.repeats):
            (w_wall, w_cpu), (k_wall, k_cpu) = whole(args.seed, args.resolution, init), kernel(spec)
            print(f"{init:9s} whole process {w_wall:6.2f} s ({w_cpu:6.2f} s CPU)  kernel alone "
                  f"{k_wall:6.2f} s ({k_cpu:6.2f} s CPU)  ratio {w_wall / k_wall:5.2f} "
                  f"({w_cpu / k_cpu:5.2f} CPU)")


if __name__ == "__main__":
    main()
