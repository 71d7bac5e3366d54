"""A zoom made from keyframes against the same zoom rendered frame by frame, in one run.

Each way runs as `attnart animate` in a fresh interpreter (its wall time, CPU time of all
its threads and peak resident memory); on a machine shared with other work wall times
wander with the load, CPU times much less. Both videos are decoded and compared frame by frame with
`animate.block_difference` (mean over 8×8 blocks of |difference| of grey levels, 0..1).
Prints both times, the speed-up, the worst and mean frame's difference, and with --still
writes the worst frame side by side (keyframes left, exact right) as a PNG.

    .venv/bin/python benchmarks/animate_keyframes.py            # the issue's 10 s, 720², 30 fps
    .venv/bin/python benchmarks/animate_keyframes.py --seconds 3 --fps 24 --resolution 256
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from generator.animate import block_difference


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make(path: Path, args, *extra: str) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident MB) of one `attnart animate` in its own
    process."""
    command = [sys.executable, "-c", "import resource, sys; from generator.cli import main; "
               "code = main(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_SELF)"
               ".ru_maxrss, file=sys.stderr); sys.exit(code)",
               "animate", str(args.seed), "--init", args.init, "--zoom-to", args.zoom_to,
               "--to-width", str(args.to_width), "--shade", args.shade, "--seconds",
               str(args.seconds), "--fps", str(args.fps), "--resolution", str(args.resolution),
               "--device", args.device, "--quiet", "-o", str(path), *extra]
    start, cpu = time.perf_counter(), cpu_seconds()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return (time.perf_counter() - start, cpu_seconds() - cpu,
            int(done.stderr.split()[-1]) / 1024)


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1679700)
    parser.add_argument("--init", default="shared")
    parser.add_argument("--zoom-to", default="2,4")
    parser.add_argument("--to-width", type=float, default=0.25)
    parser.add_argument("--shade", default="speed")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--resolution", type=int, default=720)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--still", type=Path, help="write the worst frame, side by side, here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        keyed, exact = Path(folder) / "keyframes.mp4", Path(folder) / "exact.mp4"
        key_s, key_cpu, key_mb = make(keyed, args)
        exact_s, exact_cpu, exact_mb = make(exact, args, "--every-frame")
        got, want = decode(keyed), decode(exact)
    assert len(got) == len(want) and got[0].shape == want[0].shape, "frames differ in number"
    differences = [block_difference(g, w) for g, w in zip(got, want)]
    worst = int(np.argmax(differences))
    print(f"{args.seconds:g} s, {args.resolution}², {args.fps} fps, {args.init}, "
          f"{args.shade}: {len(got)} frames")
    print(f"keyframes: {key_s:7.1f} s wall, {key_cpu:7.1f} s CPU, peak {key_mb:6.0f} MB")
    print(f"exact:     {exact_s:7.1f} s wall, {exact_cpu:7.1f} s CPU, peak {exact_mb:6.0f} MB")
    print(f"speed-up:  {exact_s / key_s:7.1f}x wall, {exact_cpu / key_cpu:5.1f}x CPU")
    print(f"difference (8x8 block means of grey, 0..1): worst {differences[worst]:.4f} "
          f"(frame {worst}), mean {np.mean(differences):.4f}")
    if args.still:
        Image.fromarray(np.concatenate([got[worst], want[worst]], axis=1)).save(args.still)


if __name__ == "__main__":
    main()
