"""Hostile inputs get one line and exit 2: decompression bombs, pipes and devices, videos too
long to hold, and a terminal that cannot show the messages' characters."""

import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from generator import animate
from generator.errors import ArtError, InputError, SpecError
from generator.files import read_input
from generator.score import MAX_PIXELS, load_labels


def cli(*args, env=None, cwd=None, timeout=60):
    """The real entry point in a fresh interpreter; a hang fails the test, never the suite."""
    return subprocess.run([sys.executable, "-m", "generator.cli", *args], capture_output=True,
                          timeout=timeout, env=env, cwd=cwd)


def one_line_error(proc) -> str:
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def claimed_png(side: int) -> bytes:
    """A 1-bit PNG whose header claims side² pixels, with almost no data behind it."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b""))


# Sides around both limits: ours (MAX_PIXELS) and Pillow's bomb warning and error (89M, 179M).
@pytest.mark.parametrize("side", [int(MAX_PIXELS ** 0.5) + 1, 10_000, 12_000, 30_000, 100_000])
def test_score_refuses_a_bomb_from_its_header(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(claimed_png(side))
    with pytest.raises(ArtError, match="over score's limit"):
        load_labels(path)


def test_score_of_a_real_bomb_is_one_line_and_cheap(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(path)  # 81M pixels, a few kilobytes on disk
    assert path.stat().st_size < 100_000
    assert "9000×9000 pixels, over score's limit" in one_line_error(cli("score", str(path)))


def test_score_still_reads_images_under_the_limit(tmp_path):
    path = tmp_path / "ok.png"
    labels = np.random.default_rng(1).random((40, 60)) > 0.5
    Image.fromarray(labels.astype(np.uint8) * 255).save(path)
    assert np.array_equal(load_labels(path), labels)


@pytest.mark.parametrize("dtype,white,grey", [(np.uint16, 65535, 20000), (np.uint16, 40000, 1000),
                                              (np.int32, 255, 100), (np.float32, 1.0, 0.3)])
def test_score_thresholds_deep_images_at_half_their_own_range(tmp_path, dtype, white, grey):
    """16-bit PNGs, 32-bit and float TIFFs: a level below half the range is black, whatever
    8 bits would make of it (Pillow's 8-bit view clips a 16-bit 1000 to white)."""
    labels = np.random.default_rng(2).random((40, 60)) > 0.5
    path = tmp_path / ("deep.png" if dtype == np.uint16 else "deep.tiff")
    Image.fromarray(np.where(labels, white, grey).astype(dtype)).save(path)
    assert np.array_equal(load_labels(path), labels)


@pytest.mark.parametrize("values", [np.array([[-1.0, 2.0]]), np.array([[0, 70000]])])
def test_score_refuses_deep_images_without_a_white(tmp_path, values):
    path = tmp_path / "deep.tiff"
    Image.fromarray(np.tile(values, (20, 10)).astype(np.float32 if values.dtype.kind == "f"
                                                    else np.int32)).save(path)
    assert "white is not defined" in one_line_error(cli("score", str(path)))


def test_score_says_a_file_is_not_an_image_in_words(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    assert "is not an image file Pillow reads" in one_line_error(cli("score", str(path)))


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_inputs_must_be_regular_files(tmp_path, kind):
    path = {"fifo": tmp_path / "pipe.png", "folder": tmp_path, "device": "/dev/zero"}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes: a blocking open would hang here
    with pytest.raises(InputError, match="not a regular file"):
        read_input(path, "image")
    one_line_error(cli("score", str(path), timeout=30))


def test_read_input_stops_at_its_limit(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" * 101)
    assert read_input(path, "seeds file", limit=101) == b"#" * 101
    with pytest.raises(InputError, match="over the limit of 100"):
        read_input(path, "seeds file", limit=100)


@pytest.mark.parametrize("seconds", ["1e9", "1e308", "601"])
def test_animate_bounds_frames_before_any_work(tmp_path, seconds):
    proc = cli("animate", "1", "--zoom-to", "1,1", "--to-width", "1", "--seconds", seconds,
               "-o", str(tmp_path / "v.mp4"), timeout=30)
    assert "frames" in one_line_error(proc)
    assert not list(tmp_path.iterdir())


def test_gallery_video_bounds_frames_and_size(spec_factory):
    with pytest.raises(SpecError, match="18000 frames"):
        animate.gallery_plan(spec_factory(video={"zoom_to": [1, 1], "to_width": 1,
                                                 "seconds": 1e9}))
    with pytest.raises(SpecError, match="at most 4096"):
        animate.gallery_plan(spec_factory(video={"zoom_to": [1, 1], "to_width": 1,
                                                 "resolution": 8192, "seconds": 1}))


ASCII = os.environ | {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0",
                      "PYTHONIOENCODING": ""}


def test_messages_survive_an_ascii_terminal(tmp_path):
    image = tmp_path / "ok.png"
    Image.fromarray((np.random.default_rng(2).random((32, 32)) > 0.5).astype(np.uint8) * 255
                    ).save(image)
    proc = cli("score", str(image), env=ASCII)
    assert proc.returncode == 0 and b"r^2" in proc.stdout, proc.stderr
    proc = cli("sweep", "--help", env=ASCII)
    assert proc.returncode == 0 and b"RES^2" in proc.stdout, proc.stderr
    catalog = tmp_path / "c.sqlite"
    proc = cli("sweep", "--seeds", "1-3", "--preview", "32", "--catalog", str(catalog), env=ASCII)
    assert proc.returncode == 0 and b"at 32^2" in proc.stdout, proc.stderr


def test_data_on_stdout_stays_utf8_under_an_ascii_locale(tmp_path):
    catalog = tmp_path / "c.sqlite"
    assert cli("sweep", "--seeds", "1-3", "--preview", "32", "--catalog", str(catalog)
               ).returncode == 0
    proc = cli("select", "--catalog", str(catalog), "-o", "-", "--top", "2", env=ASCII)
    assert proc.returncode == 0, proc.stderr
    assert "32² previews" in proc.stdout.decode("utf-8")  # the seeds file, as written to disk


def test_a_title_typed_under_an_ascii_locale_is_its_utf8_text(tmp_path):
    out = tmp_path / "site"
    proc = cli("build", "--title", "Été²", "--out", str(out), "--resolution", "24",
               "--iterations", "10", "--quiet", env=ASCII, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "<title>Été²" in (out / "index.html").read_text(encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "generator.cli", "build", b"--title",
                          b"\xff", "--out", str(out)], capture_output=True, env=ASCII, timeout=60)
    assert b"not UTF-8" in bad.stderr and bad.returncode == 2
