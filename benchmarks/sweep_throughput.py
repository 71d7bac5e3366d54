"""`attnart sweep`'s throughput against its bound, the cpu kernel alone, in one run.

For the same seeds (per-point, T = 100, the defaults) at one preview size, prints the kernel
alone on precomputed inputs (every thread, one seed after another: the bound), then whole
sweeps into a fresh catalog (drawing, kernel, scoring, images, inter-process traffic,
catalog writes) with 1, 2, 4 local worker processes and, with --cluster, on a Dask cluster:
seeds/min by wall clock, the share of the bound that is, and CPU seconds per seed (all
processes), which wander far less than wall times on a machine shared with other work.

    .venv/bin/python benchmarks/sweep_throughput.py [--seeds 1-24] [--preview 256]
        [--workers 1,2,4] [--cluster local|tcp://HOST:8786] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from generator import kernels, rng
from generator.curate import parse_seeds, sweep
from generator.render import chunks, matrices, resolve_device
from generator.spec import ArtworkSpec


def cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def kernel_alone(specs: list[ArtworkSpec], device: str) -> tuple[float, float]:
    """Wall and CPU seconds of the kernel calls for `specs` (inputs made outside)."""
    module = kernels.choose("auto", device)
    wall = cpu = 0.0
    for spec in specs:
        draws = rng.draw(spec)
        wq, wv = matrices(draws, device)
        for _, _, x0, ab in chunks(spec, draws, device):
            start, used = time.perf_counter(), cpu_seconds()
            kernels.as_numpy(module.landscape(wq, wv, x0, ab, spec.iterations, spec.threshold))
            wall += time.perf_counter() - start
            cpu += cpu_seconds() - used
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-24")
    parser.add_argument("--preview", type=int, default=256)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--cluster")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = resolve_device(args.device)
    seeds = list(parse_seeds(args.seeds))
    specs = [ArtworkSpec(seed=s, resolution=args.preview) for s in seeds]
    kernel_alone(specs[:1], device)  # warm-up: libraries, compiled code, caches
    wall, cpu = kernel_alone(specs, device)
    bound = len(specs) / wall * 60
    print(f"{len(specs)} seeds at {args.preview}² per-point, T=100, device {device}")
    print(f"{'run':<22} {'seeds/min':>10} {'of bound':>9} {'CPU s/seed':>11}")
    print(f"{'kernel alone (bound)':<22} {bound:10.0f} {1:9.0%} {cpu / len(specs):11.3f}")
    runs = [(f"sweep, {w} worker(s)", {"workers": int(w)}) for w in args.workers.split(",")]
    if args.cluster:
        runs.append((f"sweep --cluster {args.cluster[:8]}", {"cluster": args.cluster}))
    for name, how in runs:
        with tempfile.TemporaryDirectory() as folder:
            start, used = time.perf_counter(), cpu_seconds()
            result = sweep(iter(specs), Path(folder) / "c.sqlite", preview_size=args.preview,
                           device=args.device, **how)
            seconds, cpu = time.perf_counter() - start, cpu_seconds() - used
        assert result.rendered == len(specs)
        rate = len(specs) / seconds * 60
        cpu_note = f"{cpu / len(specs):11.3f}" if "cluster" not in how else f"{'-':>11}"
        print(f"{name:<22} {rate:10.0f} {rate / bound:9.0%} {cpu_note}")


if __name__ == "__main__":
    main()
