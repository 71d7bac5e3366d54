"""The live page's render time in Chromium, and its labels against `attnart render`'s.

    .venv/bin/python benchmarks/live_page.py [--sides 128 256] [--iterations 100]
        [--points 20] [--seed 1679700] [--gpu]

For each init mode and side, the live page of the spec (written by `generator.live.page`) is
opened from file:// with `?resolution=SIDE` in Debian's chromium, and the page's own clock
says how long it took from the start of its script to `data-rendered="true"` (shader compile
and every pass). The same spec is rendered in this process (`render_labels`, the fastest
backend here) in the same run: the ratio is page time over render time, and the agreement is
the share of pixels whose labels are equal. Without `--gpu` chromium renders in software
(SwiftShader, as the tests do); with it, chromium's default GPU path (`--use-angle=vulkan`
on Linux), for a machine that has a GPU. Needs the test extra (Playwright).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from generator import live, rng
from generator.render import render_labels, resolve_device, to_image
from generator.spec import ArtworkSpec

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SOFTWARE = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
GPU = ["--use-angle=vulkan", "--enable-features=Vulkan", "--ignore-gpu-blocklist"]
# performance.now() counts from the page's navigation: the script's start is subtracted
TIMED = """() => new Promise(done => {
    const check = () => document.documentElement.dataset.rendered !== 'false'
        ? done([document.documentElement.dataset.rendered, performance.now()])
        : setTimeout(check, 20);
    check();
})"""


def page_labels(page) -> np.ndarray:
    side, pixels = page.evaluate("""() => {
        const c = document.getElementById('art');
        return [c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width,
                                                                    c.height).data)];
    }""")
    return np.array(pixels, dtype=np.uint8).reshape(side, side, 4)[..., 0] > 127


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1679700)
    parser.add_argument("--gpu", action="store_true", help="chromium on the GPU")
    args = parser.parse_args()
    device = resolve_device("auto")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=ARGS + (GPU if args.gpu else SOFTWARE))
        probe = browser.new_page()
        renderer = probe.evaluate("""() => {
            const gl = document.createElement('canvas').getContext('webgl2');
            const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
            return gl ? gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)
                      : 'no WebGL2';
        }""")
        print(f"chromium WebGL2: {renderer}; attnart render on {device}")
        print(f"{'init':>9} {'side':>5} {'page s':>8} {'render s':>9} {'ratio':>6} "
              f"{'agree':>7}")
        for init in ("shared", "per-point"):
            for side in args.sides:
                spec = ArtworkSpec(seed=args.seed, resolution=side, init=init,
                                   iterations=args.iterations, points=args.points)
                path = Path(folder) / f"{spec.id}.html"
                path.write_bytes(live.page(spec))
                page = browser.new_page()
                page.goto(path.as_uri() + f"?resolution={side}")
                state, took = page.evaluate(TIMED)
                started = page.evaluate("performance.getEntriesByType('navigation')[0]"
                                        ".domInteractive")
                seconds = (took - started) / 1000
                got = page_labels(page)
                page.close()
                begun = time.perf_counter()
                labels = render_labels(spec, rng.draw(spec), device=device)
                render_s = time.perf_counter() - begun
                want = np.asarray(to_image(labels)) > 127
                agree = (got == want).mean() if state == "true" else float("nan")
                print(f"{init:>9} {side:>5} {seconds:8.2f} {render_s:9.3f} "
                      f"{seconds / render_s:6.1f} {agree:7.2%}")
        browser.close()


if __name__ == "__main__":
    main()
