"""The explorer's first view in a real browser, against the same tiles made in-process.

    .venv/bin/python benchmarks/explore_page.py [--seed 1679700] [--iterations 100]
        [--window 1280x800] [--wait 0] [--repeat 3]

For each init mode, `attnart explore` is started as a user starts it (a fresh server each
time: nothing cached but the tiles it renders at start), and Debian's chromium opens the page
in a window of the given size `--wait` seconds after the server first answers (0: at once, as
a script would; a person, or the browser `--open` starts, takes a second or more). The page's
own clock (time since it was opened) says when its first view of [-8, 8]² was whole (the
tiles of [-8, 8]² at the coarsest zoom it asked for: the coarse layer's, or the fine one's
under a map too small for a coarse layer), and when every tile had arrived (shared mode also
shows the plane around [-8, 8]²). The ratio is that time over the pipeline time of the same
tiles made in this process (`explore_tiles.pipeline_time`) in the same run: what the page,
the server and HTTP add.
Needs the test extra (Playwright) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from explore_tiles import pipeline_time
from playwright.sync_api import sync_playwright

from generator import rng
from generator.explore import tiles
from generator.spec import ArtworkSpec

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
# Every tile on the page loaded. Polled slowly: polling each frame takes CPU from the server.
LOADED = """() => {
    const imgs = [...document.querySelectorAll('.leaflet-tile-container img')];
    return document.querySelector('.fine img') !== null
        && imgs.every(i => i.classList.contains('leaflet-tile-loaded'));
}"""
# The tiles the page asked for, "z/x/y", and when each had arrived (ms since it was opened).
ARRIVED = """() => performance.getEntriesByType('resource').filter(e => e.name.includes('/tiles/'))
    .map(e => [e.name.split('/tiles/')[1].split('.png')[0], e.responseEnd])"""


def first_view(asked: list) -> list:
    """The tiles of [-8, 8]² at the coarsest zoom asked for."""
    z = min(t[0] for t in asked)
    return [t for t in asked if t[0] == z and 0 <= min(t[1:]) and max(t[1:]) < 1 << z]


def page_times(browser, spec: ArtworkSpec, width: int, height: int, wait: float
               ) -> tuple[float, float, list]:
    """Seconds from opening the page to its first view of [-8, 8]² whole, and to all its tiles
    arrived; and the tiles (z, x, y) it asked for."""
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [sys.executable, "-m", "generator.cli", "explore", str(spec.seed), "--init",
             spec.init, "--iterations", str(spec.iterations), "--port", "0"],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = server.stdout.readline().split()[2]
            page = browser.new_page(viewport={"width": width, "height": height})
            for _ in range(600):  # the socket listens at once; wait until the app answers
                try:
                    page.goto(url + "api/config")
                    break
                except Exception:
                    time.sleep(0.1)
            time.sleep(wait)
            page.goto(url, wait_until="commit")
            page.wait_for_function(LOADED, polling=100, timeout=120_000)
            arrived = {tuple(int(v) for v in t.split("/")): ms / 1000
                       for t, ms in page.evaluate(ARRIVED)}
            page.close()
            first = first_view(list(arrived))
            return max(arrived[t] for t in first), max(arrived.values()), list(arrived)
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1679700)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--window", default="1280x800", help="the browser's, WxH pixels")
    parser.add_argument("--wait", type=float, default=0.0,
                        help="seconds from the server answering to opening the page")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(v) for v in args.window.split("x"))
    print(f"seed {args.seed}, T={args.iterations}, chromium window {width}x{height}, page opened "
          f"{args.wait:g} s after the server answered")
    print(f"{'init':<10} {'layer':<8} {'tiles':>5} {'in-process s':>13} {'page s':>7} "
          f"{'ratio':>6}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for init in ("shared", "per-point"):
            spec = ArtworkSpec(seed=args.seed, init=init, iterations=args.iterations)
            page = [page_times(browser, spec, width, height, args.wait) for _ in range(args.repeat)]
            asked = page[0][2]
            coarse = first_view(asked)
            worlds = {z: rng.draw(tiles.world_spec(spec, z)) if init == "per-point" else None
                      for z in {t[0] for t in asked}}
            inside = [[sum(pipeline_time(spec, *t, worlds[t[0]]) for t in group)
                       for group in (coarse, asked)] for _ in range(args.repeat)]
            for i, (layer, group) in enumerate((("first", coarse), ("all", asked))):
                made = statistics.median(r[i] for r in inside)
                shown = statistics.median(r[i] for r in page)
                print(f"{init:<10} {layer:<8} {len(group):>5} {made:13.3f} {shown:7.3f} "
                      f"{shown / made:6.2f}")
        browser.close()


if __name__ == "__main__":
    main()
