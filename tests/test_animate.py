"""`attnart animate`: the video decoded back against `render`, interruption, bad options."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from generator import animate as animation
from generator import rng, shade
from generator.animate import Motion, animate, windows
from generator.cli import main
from generator.errors import ArtError, SpecError
from generator.render import render_field, render_labels, render_points, to_image
from generator.spec import ArtworkSpec

av = pytest.importorskip("av")

# Mean |difference| of luma levels (0..255) after x264 at crf 18; luma, as yuv420p keeps one
# chroma sample per 2x2 pixels, which blurs the colour of these speckled images.
CODEC_TOLERANCE = 6.0


def luma_difference(got: np.ndarray, want: np.ndarray) -> float:
    weights = np.array([0.299, 0.587, 0.114])
    return float(np.abs(got.astype(float) @ weights - want.astype(float) @ weights).mean())
SPEC = dict(seed=8012376, resolution=64, iterations=40, init="shared")


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)]


def still(spec: ArtworkSpec) -> np.ndarray:
    return np.asarray(to_image(render_labels(spec, rng.draw(spec), device="cpu")).convert("RGB"))


def test_exact_zoom_video_matches_renders_of_its_first_and_last_windows(tmp_path):
    spec = ArtworkSpec(**SPEC)
    out = tmp_path / "zoom.mp4"
    assert main(["animate", "8012376", "--resolution", "64", "--iterations", "40", "--init",
                 "shared", "--zoom-to", "-2,1.5", "--to-width", "2", "--seconds", "1",
                 "--fps", "8", "--every-frame", "--quiet", "-o", str(out)]) == 0
    frames = decode(out)
    assert len(frames) == 8 and frames[0].shape == (64, 64, 3)
    last = ArtworkSpec(**SPEC | {"window": (-3.0, -1.0, 0.5, 2.5)})
    for frame, want in ((frames[0], still(spec)), (frames[-1], still(last))):
        assert luma_difference(frame, want) < CODEC_TOLERANCE
    assert luma_difference(frames[0], frames[-1]) > 4 * CODEC_TOLERANCE


def test_zoom_windows_are_exponential_and_end_on_the_target():
    spec = ArtworkSpec(seed=1, window=(-8.0, 8.0, -4.0, 4.0))
    ws = np.array(windows(spec, Motion(target=(1.0, -2.0), width=0.016), 7))
    np.testing.assert_allclose(ws[0], spec.window)
    widths = ws[:, 1] - ws[:, 0]
    np.testing.assert_allclose(widths[1:] / widths[:-1], 0.1 ** 0.5, rtol=1e-9)  # 1000x in 6
    np.testing.assert_allclose(ws[-1], (1 - 0.008, 1 + 0.008, -2 - 0.004, -2 + 0.004))
    np.testing.assert_allclose((ws[:, 3] - ws[:, 2]) / widths, 0.5)  # the window's shape kept


def test_colour_morph_normalised_on_keyframes(tmp_path):
    spec = ArtworkSpec(**SPEC | {"shade": "speed", "palette": "bmy"})
    out = tmp_path / "morph.mp4"
    meta = animate(spec, Motion(morph=6306593), out, seconds=1, fps=5, device="cpu")
    frames = decode(out)
    assert len(frames) == meta["frames"] == 5
    # The last frame is the second seed's matrices with the first seed's X(0).
    other = rng.draw(ArtworkSpec(**SPEC | {"seed": 6306593}))
    end = ArtworkSpec(**SPEC | {"wq": other.wq.ravel().tolist(), "wv": other.wv.ravel().tolist()})
    fields = [render_field(s, rng.draw(s), device="cpu")[1] for s in (spec, end)]
    middle = render_field(*_middle(spec, other), device="cpu")[1]
    equaliser = shade.Equaliser.fit(fields[0], middle, fields[1])
    for frame, field in ((frames[0], fields[0]), (frames[-1], fields[1])):
        want = np.asarray(to_image(shade.colourise(field, "bmy", equaliser)))
        assert luma_difference(frame, want) < CODEC_TOLERANCE
        refitted = np.asarray(to_image(shade.colourise(field, "bmy")))
        assert luma_difference(want, refitted) > 0  # normalised on keyframes, not per frame


def _middle(spec, other):
    draws = rng.draw(spec)
    u = np.float32(0.5)
    return spec, dataclasses.replace(draws, wq=(1 - u) * draws.wq + u * other.wq,
                                     wv=(1 - u) * draws.wv + u * other.wv)


def test_interruption_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return render_labels(*args, **kwargs)

    monkeypatch.setattr(animation, "render_labels", interrupted)
    with pytest.raises(KeyboardInterrupt):
        animate(ArtworkSpec(**SPEC), Motion(morph=1), tmp_path / "v.mp4", seconds=1, fps=6,
                device="cpu")
    assert list(tmp_path.iterdir()) == [] and len(calls) == 3


@pytest.mark.parametrize("args, message", [
    (["--seconds", "0", "--morph", "1"], "seconds must be a positive number"),
    (["--zoom-to", "9,0", "--to-width", "1"], "outside the window"),
    (["--zoom-to", "0,0"], "needs both --zoom-to A,B and --to-width W"),
    (["--zoom-to", "0,0", "--to-width", "20"], "below the window's width"),
    (["--zoom-to", "0.3,0.2", "--to-width", "1e-9"], "give a larger --to-width"),
    (["--shade", "speed", "--palette", "jet", "--morph", "1"], "unknown palette"),
    (["--shade", "speed", "--palette-file", "bad.txt", "--morph", "1"], "is not a colour"),
    (["--resolution", "33", "--morph", "1"], "even size"),
    ([], "nothing moves"),
    (["--fps", "0", "--morph", "1"], "fps must be"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, args, message):
    (tmp_path / "bad.txt").write_text("#000000, #ffffzz")
    result = subprocess.run([sys.executable, "-m", "generator.cli", "animate", "1",
                             "--resolution", "32", "--quiet", *args, "-o", "v.mp4"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]


def test_existing_file_is_kept_and_pyav_missing_says_how_to_install(tmp_path, monkeypatch):
    out = tmp_path / "v.mp4"
    out.write_bytes(b"mine")
    with pytest.raises(ArtError, match="use --force"):
        animate(ArtworkSpec(**SPEC), Motion(morph=1), out, seconds=1, fps=2, device="cpu")
    assert out.read_bytes() == b"mine"
    ours = tmp_path / "ours.mp4"  # a video attnart made is replaced without --force
    for _ in range(2):
        animate(ArtworkSpec(**SPEC), Motion(morph=1), ours, seconds=1, fps=2, device="cpu")
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(SpecError, match=r"attention-art\[video\]"):
        animate(ArtworkSpec(**SPEC), Motion(morph=1), tmp_path / "w.mp4", seconds=1, fps=2,
                device="cpu")


# ---- zooms from keyframes ---------------------------------------------------------------------

def triangle_weights(start: float, stop: float, out: int, size: int) -> np.ndarray:
    """(out, size) weights of a plain triangle filter resampling source pixels [start, stop)
    (pixel j centred at j + 0.5) to `out` pixels: half-width one output pixel (at least one
    source pixel), normalised over the source pixels it reaches."""
    scale = (stop - start) / out
    width = max(scale, 1.0)
    centres = start + (np.arange(out) + 0.5) * scale
    w = np.clip(1 - np.abs(np.arange(size) + 0.5 - centres[:, None]) / width, 0, None)
    return w / w.sum(axis=1, keepdims=True)


def test_resample_is_the_plain_triangle_filter():
    draw = np.random.default_rng(7)
    for _ in range(20):
        key = ArtworkSpec(seed=1, resolution=int(draw.integers(30, 90)),
                          window=(-1.0, 1.0 + draw.random(), -2.0, 0.5))
        source = draw.random((key.resolution, key.resolution), dtype=np.float32)
        h = animation.spacing(key)
        step = h * draw.uniform(1.0, 2.5, size=2)  # (a, b), downsampling as frames do
        extent = np.array(key.window[1::2]) - np.array(key.window[::2])
        counts = [int(draw.integers(3, e // s - 4)) for e, s in zip(extent, step)]
        shape = (counts[1], counts[0])  # (rows, columns)
        room = extent - step * (np.array(counts) + 4)
        lo = np.array(key.window[::2]) + 2 * step + draw.random(2) * room
        got = animation.resample(source, key, lo, step, shape)
        start = (lo - step / 2 - np.array(key.window[::2])) / h + 0.5
        stop = start + np.array(shape[::-1]) * step / h
        wa = triangle_weights(start[0], stop[0], shape[1], key.resolution)
        wb = triangle_weights(start[1], stop[1], shape[0], key.resolution)
        np.testing.assert_allclose(got, wb @ source @ wa.T, atol=2e-5)


@pytest.mark.parametrize("init,stream", [("shared", "cuda"), ("per-point", "cuda"),
                                         ("per-point", "cpu")])
def test_any_points_render_as_in_the_whole_render(init, stream):
    spec = ArtworkSpec(**SPEC | {"init": init, "rng": stream, "resolution": 48,
                                 "window": (-3, 5, 0, 2)})
    draws = rng.draw(spec)
    labels, field = render_field(spec, draws, device="cpu")
    index = np.sort(np.random.default_rng(5).choice(48 * 48, size=700, replace=False))
    for speed, want in ((True, field), (False, labels)):
        got = render_points(spec, draws, index, speed=speed, device="cpu")
        np.testing.assert_array_equal(got, want.ravel()[index].astype(np.float32))


def refined(truth: np.ndarray, skip=(slice(0, 0), slice(0, 0)), rows=None):
    """`refine` over a keyframe whose measured positions are `truth`, band by band:
    (positions, points measured)."""
    side = truth.shape[0]
    places, keep = np.full_like(truth, np.nan), np.ones((side, side), dtype=bool)
    keep[skip] = False
    cost = sum(animation.refine(places, keep, band, lambda index: truth.flat[index])
               for band in animation.bands(side, rows or side, animation.GUESS_STRIDE))
    return places, cost


def test_refine_guesses_only_between_close_neighbours_and_measures_the_rest():
    draw = np.random.default_rng(11)
    for side in (9, 50, 97):
        y, x = np.mgrid[0:side, 0:side] / side
        # rises slowly in both directions: each point lies between its neighbours
        smooth = (0.3 + 0.05 * (x**2 + x * y)).astype(np.float32)
        # no two points within GUESS_SPREAD of each other, in random places
        noise = (draw.permutation(side * side).reshape(side, side)
                 * 2 * animation.GUESS_SPREAD).astype(np.float32)
        skip = (slice(side // 4, side // 2), slice(side // 3, side - 2))
        for truth, rows in ((smooth, 12), (noise, side)):
            places, cost = refined(truth, skip, rows)
            hole = np.zeros((side, side), dtype=bool)
            hole[skip] = True
            assert np.isnan(places[hole]).all() and np.isfinite(places[~hole]).all()
            error = np.abs(places - truth)[~hole]
            assert error.max() <= animation.GUESS_SPREAD
        assert cost == (~hole).sum()  # the noise was measured everywhere, and exactly
        assert error.max() == 0
    places, cost = refined(smooth)
    assert cost < 0.1 * side**2  # the smooth field: its first pass and little more


def test_refine_measures_both_sides_of_an_edge():
    side = 64
    truth = np.zeros((side, side), dtype=np.float32)
    truth[:, 29:] = 1.0  # an edge between two first-pass columns (28 and 32)
    truth[40, 10] = 1.0  # a lone point off the first pass: guessing cannot see it
    places, _ = refined(truth)
    wrong = places != truth
    assert wrong.sum() == 1 and wrong[40, 10]


def test_keyframes_are_never_coarser_than_their_frames_and_cost_few_pixels():
    draw = np.random.default_rng(3)
    for _ in range(25):
        side = 2 * int(draw.integers(16, 400))
        spec = ArtworkSpec(seed=1, resolution=side,
                           window=(-8.0, 8.0, -8.0 + 8 * draw.random(), 8.0))
        amin, amax, bmin, bmax = spec.window
        target = (float(draw.uniform(amin, amax)), float(draw.uniform(bmin, bmax)))
        width = float(16 * 2.0 ** -draw.uniform(0.5, 12))
        specs = animation.frame_specs(spec, Motion(target=target, width=width),
                                      float(draw.uniform(0.5, 12)), 30)
        keys = animation.keyframes(specs)
        assert keys[0].first == 0 and keys[-1].last == len(specs) - 1
        assert all(k.last + 1 == n.first for k, n in zip(keys, keys[1:]))
        for key in keys:
            h = animation.spacing(key.spec)
            for frame in specs[key.first:key.last + 1]:
                f = animation.spacing(frame)
                assert (h <= f * (1 + 1e-9)).all()  # never upsampled
                lo, hi = np.array(frame.window[::2]), np.array(frame.window[1::2])
                assert (np.array(key.spec.window[::2]) <= lo - 1.5 * f).all()
                assert (np.array(key.spec.window[1::2]) >= hi + 1.5 * f).all()
            widths = [s.window[1] - s.window[0] for s in specs[key.first:key.last + 1]]
            assert widths[0] / widths[-1] <= animation.STEP * (1 + 1e-9)
        specs = [k.spec for k in keys]
        pixels = animation.rendered(keys)
        octaves = np.log2(specs[0].window[1] - specs[0].window[0]) - np.log2(width)
        # 2 frames' pixels an octave at STEP √2, and margins; the last keyframe is whole
        assert pixels <= side**2 * (2.4 * octaves + 2.5), (side, octaves, pixels / side**2)


@pytest.mark.parametrize("shade_options", [[], ["--shade", "speed", "--palette", "bmy"]])
def test_keyframed_zoom_matches_the_exact_one_frame_by_frame(tmp_path, shade_options):
    args = ["animate", "1679700", "--init", "shared", "--zoom-to", "2,4", "--to-width", "0.25",
            "--seconds", "2", "--fps", "12", "--resolution", "96", "--iterations", "60",
            "--quiet", *shade_options]
    assert main([*args, "-o", str(tmp_path / "key.mp4")]) == 0
    assert main([*args, "--every-frame", "-o", str(tmp_path / "exact.mp4")]) == 0
    got, want = decode(tmp_path / "key.mp4"), decode(tmp_path / "exact.mp4")
    assert len(got) == len(want) == 24 and got[0].shape == want[0].shape == (96, 96, 3)
    differences = [animation.block_difference(g, w) for g, w in zip(got, want)]
    assert max(differences) < 0.04, differences
    assert min(luma_difference(g, w) for g, w in zip(got, want)) > 0  # resampled, not exact


def test_per_point_zooms_are_not_guessed_and_average_their_speckle_in_colour(tmp_path):
    """Per-point points are independent draws: guessing them from neighbours filled deep
    frames with one colour (0.32 from the exact video), and averaging palette positions
    took a diverging palette's light middle (0.15); averaged in colour they stay close."""
    spec = ArtworkSpec(seed=5227590, init="per-point", resolution=64, shade="speed",
                       palette="coolwarm")
    zoom = Motion(target=(0.7, -1.2), width=0.001)
    made = animate(spec, zoom, tmp_path / "key.mp4", seconds=3, fps=24, device="cpu")
    animate(spec, zoom, tmp_path / "exact.mp4", seconds=3, fps=24, device="cpu",
            every_frame=True)
    got, want = decode(tmp_path / "key.mp4"), decode(tmp_path / "exact.mp4")
    assert made["keyframes"] > 0 and len(got) == len(want) == 72
    differences = [animation.block_difference(g, w) for g, w in zip(got, want)]
    assert max(differences) < 0.05, differences
    # two frames an octave: keyframes, all rendered, would cost as much as the frames
    few = animate(spec, zoom, tmp_path / "few.mp4", seconds=2, fps=12, device="cpu")
    assert few["keyframes"] == 0 and len(decode(tmp_path / "few.mp4")) == 24


def test_per_point_x0_of_a_span_is_drawn_once():
    spec = ArtworkSpec(**SPEC | {"init": "per-point", "resolution": 16})
    drawn = []
    draws = rng.draw(spec)
    counted = dataclasses.replace(draws, initial=lambda *a: drawn.append(a) or draws.initial(*a))
    held = animation.held(counted, spec, 2, 200, "cpu")
    first = held.initial(3, 40, "cpu")
    first *= 0  # as `rng.unit_rows` normalises in place
    np.testing.assert_array_equal(held.initial(3, 40, "cpu"), draws.initial(3, 40, "cpu"))
    np.testing.assert_array_equal(held.initial(150, 210, "cpu"), draws.initial(150, 210, "cpu"))
    assert drawn == [(2, 200, "cpu"), (150, 210, "cpu")]  # the span once; outside it, anew


def test_block_difference_of_grey_levels():
    white, black = np.full((16, 16, 3), 255, np.uint8), np.zeros((16, 16, 3), np.uint8)
    checker = np.where((np.indices((16, 16)).sum(axis=0) % 2)[..., None], white, black)
    assert animation.block_difference(white, black) == pytest.approx(1.0)
    assert animation.block_difference(checker, np.full_like(white, 127.5)) < 0.003
    with pytest.raises(ValueError, match="same"):
        animation.block_difference(white, white[:8])


# ---- the gallery's videos --------------------------------------------------------------------

GALLERY_SEEDS = """\
[[artwork]]
seed = 8012376
title = "In motion"
video = { zoom_to = [1.0, 2.0], to_width = 4.0, seconds = 0.4, fps = 5, resolution = 32 }

[[artwork]]
seed = 1679700
"""


def test_gallery_shows_the_video_a_seeds_file_asks_for(tmp_path, capsys, monkeypatch):
    import json

    planned, plan = [], animation.keyframes
    monkeypatch.setattr(animation, "keyframes", lambda specs: planned.append(specs) or plan(specs))
    seeds = tmp_path / "s.toml"
    seeds.write_text(GALLERY_SEEDS)
    out = tmp_path / "site"
    args = ["build", "--seeds", str(seeds), "--out", str(out), "--resolution", "32",
            "--iterations", "20", "--init", "shared", "--device", "cpu", "--quiet"]
    assert main(args) == 0
    (video,) = (out / "videos").glob("*.mp4")
    frames = decode(video)
    assert len(frames) == 2 and frames[0].shape == (32, 32, 3)
    assert len(planned) == 1  # from keyframes, as `attnart animate` makes it
    spec = ArtworkSpec(**SPEC | {"resolution": 32, "iterations": 20, "window": (-1, 3, 0, 4)})
    assert luma_difference(frames[-1], still(spec)) < CODEC_TOLERANCE  # the zoom's end
    moving, still_one = (ArtworkSpec(seed=s, resolution=32, iterations=20, init="shared")
                         for s in (8012376, 1679700))
    page = (out / "artworks" / f"{moving.id}.html").read_text()
    assert f'<video class="artwork-video" src="../videos/{video.name}"' in page
    meta = json.loads((out / "metadata" / f"{moving.id}.json").read_text())
    assert meta["video_url"] == f"../videos/{video.name}"  # the live page is animation_url
    other = json.loads((out / "metadata" / f"{still_one.id}.json").read_text())
    assert "video_url" not in other
    assert f"videos/{video.name}" in json.loads((out / ".attnart-manifest.json").read_text())[
        "files"]
    before = video.stat().st_mtime_ns
    assert main(args) == 0 and video.stat().st_mtime_ns == before  # made once

    seeds.write_text(GALLERY_SEEDS.replace("to_width = 4.0", "to_width = 40.0"))
    capsys.readouterr()
    assert main(args) == 2  # checked before any render: the bad width, named
    err = capsys.readouterr().err
    assert "seed 8012376: video:" in err and "to-width" in err and err.count("\n") == 1
    seeds.write_text(GALLERY_SEEDS.replace("fps = 5", "fps = 5, speed = 2"))
    assert main(args) == 2
    assert "unknown video option(s) speed" in capsys.readouterr().err
