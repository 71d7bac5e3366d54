"""Scoring time before and after issue 24's estimator, in one run.

"Before" is generator/score.py as committed before the change (loaded from git: --before,
1885210 by default), "after" the working tree's. Both score the same images: a 1500²
per-point-like landscape (a gallery render's size), a 256² one (a sweep's preview) and a
1500² gasket (crisp), at the default display size; then the 256² one as a sweep scores it
(display halved, as a render). Each time is the best of --repeat runs (the sweep's preview:
ten times as many), before and after taking turns.

    .venv/bin/python benchmarks/score_speed.py
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from generator import score as after


def load_before(commit: str):
    source = subprocess.run(["git", "show", f"{commit}:generator/score.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "score_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("score_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["score_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def landscape(side: int) -> np.ndarray:
    """A per-point-like landscape: a probability with soft bands, drawn once per pixel."""
    y, x = (np.mgrid[:side, :side] + 0.5) / side
    probability = 0.5 + 0.5 * np.sin(9 * x + 4 * np.sin(7 * y)) * np.cos(5 * y)
    return np.random.default_rng(1).random((side, side)) < probability


def best(functions, image, repeat: int) -> list[float]:
    """Each function's least time on `image` over `repeat` rounds, the functions taking
    turns within a round, so that a busy spell of the machine falls on both."""
    times = [[] for _ in functions]
    for _ in range(repeat):
        for function, kept in zip(functions, times):
            start = time.perf_counter()
            function(image)
            kept.append(time.perf_counter() - start)
    return [min(kept) for kept in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="1885210")  # the last commit before issue 24
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    before = load_before(args.before)
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    from shapes import sierpinski_triangle

    images = {"1500² per-point": landscape(1500), "256² preview": landscape(256),
              "1500² gasket": sierpinski_triangle(1500, depth=8)}
    for name, image in images.items():
        old, new = best([before.score, after.score], image, args.repeat)
        print(f"{name}: before {old:.3f} s, after {new:.3f} s, after/before {new / old:.2f}")
    # as a sweep scores its preview (curate.measure): the display halved, and a render
    preview = landscape(256)
    old, new = best([lambda image: before.score(image, display=128),
                     lambda image: after.score(image, display=128, landscape=True)],
                    preview, 10 * args.repeat)
    print(f"256² preview as a sweep scores it: before {old * 1000:.1f} ms, after "
          f"{new * 1000:.1f} ms, after/before {new / old:.2f}")


if __name__ == "__main__":
    main()
