"""Themes (the built-in one from the package, a user's overriding it) and honest errors."""

import errno
import os

import jinja2
import pytest

from generator import files, theme
from generator.cli import main

SMALL = ["--resolution", "24", "--iterations", "10", "--init", "shared", "--quiet"]


def seeds_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[artwork]]\nseed = 3\ntitle = "Three"\n')
    return str(path)


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.startswith("attnart: error: ") and err.count("\n") == 1, err
    assert "None" not in err and ".tmp" not in err and "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def test_user_theme_overrides_one_template_and_one_static_file(tmp_path):
    mine = tmp_path / "mine"
    (mine / "partials").mkdir(parents=True)
    (mine / "static").mkdir()
    (mine / "partials" / "_nav.html").write_text('<nav class="my-nav">MY NAV</nav>\n')
    (mine / "static" / "gallery.css").write_text("body { background: papayawhip; }\n")
    (mine / "static" / "extra.txt").write_text("a file of my own\n")
    out = tmp_path / "site"
    assert main(["build", "--seeds", seeds_file(tmp_path), "--out", str(out),
                 "--templates", str(mine), *SMALL]) == 0
    artwork = next((out / "artworks").glob("*.html")).read_text()
    assert "MY NAV" in artwork and "matrix-body" in artwork  # the rest is the built-in theme's
    assert (out / "static" / "gallery.css").read_text() == "body { background: papayawhip; }\n"
    assert (out / "static" / "extra.txt").is_file()
    builtin_js = (theme.builtin() / "static" / "lightbox.js").read_bytes()
    assert (out / "static" / "lightbox.js").read_bytes() == builtin_js


def test_theme_copy_starts_a_theme_that_builds_the_same_site(tmp_path, capsys):
    copy = tmp_path / "copy"
    assert main(["theme", "--copy", str(copy)]) == 0
    names = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert "index.html" in names and "static/lightbox.js" in names
    assert "jekyll/page-v1.md" in names and not any(n.endswith(".py") for n in names)
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["build", "--seeds", seeds_file(tmp_path), "--out", str(a), *SMALL]) == 0
    assert main(["build", "--seeds", seeds_file(tmp_path), "--out", str(b), "--templates",
                 str(copy), *SMALL]) == 0
    for page in ("index.html", "static/gallery.css"):
        assert (a / page).read_bytes() == (b / page).read_bytes()
    capsys.readouterr()
    assert main(["theme", "--copy", str(copy)]) == 2  # never over a folder with files
    one_line_error(capsys, "not an empty folder")


def test_jekyll_page_from_a_user_theme(tmp_path):
    mine = tmp_path / "mine" / "jekyll"
    mine.mkdir(parents=True)
    (mine / "page-plain.md").write_text("---\ntitle: Mine\n---\n{% include '_gallery.html' %}")
    site = tmp_path / "site"
    site.mkdir()
    assert main(["jekyll", "--site-dir", str(site), "--seeds", seeds_file(tmp_path),
                 "--style", "plain", "--templates", str(tmp_path / "mine"), *SMALL]) == 0
    text = (site / "attention-dynamics-art.md").read_text()  # a site with no _pages
    assert text.startswith("---\ntitle: Mine\n") and "art3_Large.png" in text


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "does not exist"),
    (lambda d: d.write_text("x"), "is not a folder"),
    (lambda d: (d / "partials").mkdir(parents=True) or (d / "index.html").write_text(
        '{% include "partials/_missing.html" %}'), "template partials/_missing.html is missing"),
    (lambda d: d.mkdir() or (d / "index.html").write_text("{% if %}"),
     "index.html, line 1"),
    (lambda d: d.mkdir() or (d / "index.html").write_text("{{ no_such_thing.x }}"),
     "index.html uses something the site does not define"),
    (lambda d: (d / "partials").mkdir(parents=True) or (d / "partials" / "_nav.html").write_text(
        "{{ art.nonexistent.attr }}"), "_nav.html uses something the site does not define"),
    (lambda d: d.mkdir() or (d / "feed.xml").write_text("{{ site.nope }}"), "feed.xml uses"),
])
def test_broken_themes_fail_before_any_work(tmp_path, capsys, make, message):
    mine = tmp_path / "mine"
    make(mine)
    out = tmp_path / "site"
    assert main(["build", "--seeds", seeds_file(tmp_path), "--out", str(out),
                 "--templates", str(mine), "--base-url", "https://example.org/", *SMALL]) == 2
    one_line_error(capsys, message)
    assert not out.exists()  # before any render: every page is tried on stand-in records


def test_unreadable_theme_file(tmp_path, capsys, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("mine")

    def refuse(filename, *args, **kwargs):  # what chmod 000 does, for any user, root included
        if str(filename).startswith(str(mine)):
            raise PermissionError(errno.EACCES, "Permission denied", filename)
        return open(filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.loaders, "open", refuse, raising=False)
    assert main(["build", "--seeds", seeds_file(tmp_path), "--out", str(tmp_path / "site"),
                 "--templates", str(mine), *SMALL]) == 2
    one_line_error(capsys, f"{mine / 'index.html'} cannot be read", "Permission denied")


class FullDisk:
    def __init__(self, fd, mode):
        os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failure, message", [
    ("enospc", "No space left on device; free some space"),
    ("eacces", "Permission denied; check the permissions"),
    ("erofs", "Read-only file system; the file system is mounted read-only"),
])
def test_disk_problems_name_the_file_and_leave_nothing(tmp_path, capsys, monkeypatch,
                                                        failure, message):
    if failure == "enospc":
        monkeypatch.setattr(files.os, "fdopen", FullDisk)
    else:
        code = {"eacces": errno.EACCES, "erofs": errno.EROFS}[failure]

        def refuse(dir=None, prefix="", suffix=""):
            name = os.path.join(dir, f"{prefix}x{suffix}")
            raise OSError(code, os.strerror(code), name)

        monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    out = tmp_path / "art.png"
    assert main(["render", "1", *SMALL, "-o", str(out)]) == 2
    one_line_error(capsys, f"cannot write {out}: {message}")
    assert os.listdir(tmp_path) == []


def test_a_bug_is_reported_as_a_bug(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("an internal mistake")

    monkeypatch.setattr("generator.render.to_image", broken)
    assert main(["render", "1", *SMALL, "-o", str(tmp_path / "a.png")]) == 70
    err = capsys.readouterr().err
    assert "internal error: this is a bug" in err and "TypeError" in err
    assert "cannot write" not in err and os.listdir(tmp_path) == []
