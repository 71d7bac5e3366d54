"""The per-user render cache: one render per spec for every site a user builds, kept under a
size limit by evicting the renders used least recently."""

import os

import pytest

from generator.cache import RenderCache, default_dir, parse_size
from generator.cli import main
from generator.errors import ArtError

SMALL = ["--resolution", "32", "--iterations", "20", "--init", "shared", "--quiet"]


def seeds(tmp_path, *numbers):
    path = tmp_path / f"seeds-{'-'.join(map(str, numbers))}.toml"
    path.write_text("".join(f"[[artwork]]\nseed = {n}\n" for n in numbers))
    return str(path)


def test_two_sites_share_one_render(tmp_path, capsys):
    cache = tmp_path / "cache"
    args = ["build", "--seeds", seeds(tmp_path, 1, 2), "--cache", str(cache), *SMALL[:-1]]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert ", 2 rendered," in capsys.readouterr().err
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    assert ", 0 rendered," in capsys.readouterr().err  # copied from the cache
    for site in ("a", "b"):  # each site keeps its own copies
        assert len(list((tmp_path / site / "images").glob("*-????????[0-9a-f][0-9a-f].png"))) == 2
    assert RenderCache(cache).usage().renders == 2


def test_cache_command_shows_limits_and_clears(tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["build", "--seeds", seeds(tmp_path, 1, 2, 3), "--cache", str(cache),
                 "--out", str(tmp_path / "a"), *SMALL]) == 0
    assert main(["cache", "--cache", str(cache)]) == 0
    assert f"{cache}: 3 renders," in capsys.readouterr().out
    renders = RenderCache(cache).renders
    pngs = sorted(renders.glob("*.png"))
    for age, png in enumerate(pngs):  # the first used longest ago
        for path in (png, png.with_suffix(".json")):
            os.utime(path, (1e9 + age, 1e9 + age))
    keep = max(p.stat().st_size + p.with_suffix(".json").stat().st_size
               for p in renders.glob("*.png")) + 1
    assert main(["cache", "--cache", str(cache), "--limit", str(keep)]) == 0
    assert [p.name for p in renders.glob("*.png")] == [pngs[-1].name]  # the newest stays
    assert "removed 2" in capsys.readouterr().out
    assert RenderCache(cache).limit == keep  # kept for later builds
    assert main(["cache", "--cache", str(cache), "--clear"]) == 0
    assert RenderCache(cache).usage().renders == 0


def test_eviction_is_least_recently_used_and_spares_what_a_run_uses(tmp_path):
    cache = RenderCache(tmp_path)
    cache.prepare()
    for age, name in enumerate("abcd"):
        for ext in ("png", "json"):
            path = cache.renders / f"{name}.{ext}"
            path.write_bytes(b"x" * 50)
            os.utime(path, (1e9 + age, 1e9 + age))
    cache.in_use.add("a")  # the oldest, but in use
    assert cache.evict(limit=200) == ["b", "c"]
    assert sorted(p.stem for p in cache.renders.glob("*.png")) == ["a", "d"]


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ATTNART_CACHE", str(tmp_path / "mine"))
    assert default_dir() == tmp_path / "mine"
    monkeypatch.delenv("ATTNART_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "attention-art"


@pytest.mark.parametrize("text, size", [("2G", 2 * 1024**3), ("500m", 500 * 1024**2),
                                        ("1.5GiB", int(1.5 * 1024**3)), ("123", 123)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "x", "-1G", "2X"])
def test_bad_sizes(text):
    with pytest.raises(ArtError, match="give bytes or a number"):
        parse_size(text)


def test_an_artwork_that_leaves_is_named_and_the_gallery_where_to_open(tmp_path, capsys):
    out = tmp_path / "site"
    common = ["build", "--out", str(out), *SMALL[:-1]]
    path = tmp_path / "s.toml"
    path.write_text('[[artwork]]\nseed = 1\ntitle = "One"\n[[artwork]]\nseed = 2\n')
    assert main(common + ["--seeds", str(path)]) == 0
    assert f"open {(out / 'index.html').resolve().as_uri()}" in capsys.readouterr().err
    path.write_text("[[artwork]]\nseed = 2\n")
    assert main(common + ["--seeds", str(path)]) == 0
    assert "removed One (seed 1)" in capsys.readouterr().err


def test_jekyll_takes_its_renders_from_the_same_cache(tmp_path, capsys):
    cache = tmp_path / "cache"
    path = seeds(tmp_path, 1, 2)
    assert main(["build", "--seeds", path, "--cache", str(cache), "--out",
                 str(tmp_path / "a"), *SMALL]) == 0
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "_config.yml").write_text("title: blog\n")
    assert main(["jekyll", "--seeds", path, "--cache", str(cache), "--site-dir",
                 str(tmp_path / "blog"), *SMALL]) == 0
    assert "0 rendered" in capsys.readouterr().out
