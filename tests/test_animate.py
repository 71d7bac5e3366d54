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
from generator.render import render_field, render_labels, to_image
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


def test_zoom_video_matches_renders_of_its_first_and_last_windows(tmp_path):
    spec = ArtworkSpec(**SPEC)
    out = tmp_path / "zoom.mp4"
    assert main(["animate", "8012376", "--resolution", "64", "--iterations", "40", "--init",
                 "shared", "--zoom-to", "-2,1.5", "--to-width", "2", "--seconds", "1",
                 "--fps", "8", "--quiet", "-o", str(out)]) == 0
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
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(SpecError, match=r"attention-art\[video\]"):
        animate(ArtworkSpec(**SPEC), Motion(morph=1), tmp_path / "w.mp4", seconds=1, fps=2,
                device="cpu")


# ---- the gallery's videos --------------------------------------------------------------------

GALLERY_SEEDS = """\
[[artwork]]
seed = 8012376
title = "In motion"
video = { zoom_to = [1.0, 2.0], to_width = 4.0, seconds = 0.4, fps = 5, resolution = 32 }

[[artwork]]
seed = 1679700
"""


def test_gallery_shows_the_video_a_seeds_file_asks_for(tmp_path, capsys):
    import json

    seeds = tmp_path / "s.toml"
    seeds.write_text(GALLERY_SEEDS)
    out = tmp_path / "site"
    args = ["build", "--seeds", str(seeds), "--out", str(out), "--resolution", "32",
            "--iterations", "20", "--init", "shared", "--device", "cpu", "--quiet"]
    assert main(args) == 0
    (video,) = (out / "videos").glob("*.mp4")
    frames = decode(video)
    assert len(frames) == 2 and frames[0].shape == (32, 32, 3)
    spec = ArtworkSpec(**SPEC | {"resolution": 32, "iterations": 20, "window": (-1, 3, 0, 4)})
    assert luma_difference(frames[-1], still(spec)) < CODEC_TOLERANCE  # the zoom's end
    moving, still_one = (ArtworkSpec(seed=s, resolution=32, iterations=20, init="shared")
                         for s in (8012376, 1679700))
    page = (out / "artworks" / f"{moving.id}.html").read_text()
    assert f'<video class="artwork-video" src="../videos/{video.name}"' in page
    meta = json.loads((out / "metadata" / f"{moving.id}.json").read_text())
    assert meta["animation_url"] == f"../videos/{video.name}"
    other = json.loads((out / "metadata" / f"{still_one.id}.json").read_text())
    assert "animation_url" not in other
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
