"""`build`, `jekyll` and `render` under a hostile review: links out of the site, two writers
at once, SIGKILLs at each rename, protected files, odd output paths (issue 21, items 1-4, 6,
17, 18). The CLI is driven through its entry point, as a user would."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from generator import cli, files, jekyll
from generator.errors import OutputError
from generator.site import MANIFEST, build
from generator.spec import ArtworkSpec

CPU = torch.device("cpu")
TINY = {"resolution": 32, "iterations": 20, "init": "shared"}
TINY_ARGS = ["--resolution", "32", "--iterations", "20", "--init", "shared", "--device", "cpu",
             "--quiet"]


def specs(*seeds) -> list[ArtworkSpec]:
    return [ArtworkSpec(seed=s, **TINY) for s in seeds]


def seeds_file(path: Path, *seeds) -> Path:
    path.write_text("".join(f"[[artwork]]\nseed = {s}\n" for s in seeds))
    return path


def listing(root: Path) -> dict[str, bytes]:
    """Every entry under `root`, links not followed: a link shows as where it points."""
    return {p.relative_to(root).as_posix(): os.readlink(p).encode() if p.is_symlink()
            else p.read_bytes() for p in sorted(root.rglob("*")) if p.is_symlink() or p.is_file()}


def run_cli(args, capsys) -> tuple[int, str]:
    rc = cli.main([str(a) for a in args])
    return rc, capsys.readouterr().err


# ---- item 1: nothing removed or replaced outside the site ---------------------------------


def test_stale_files_behind_a_linked_folder_or_out_of_the_site_are_kept(tmp_path):
    out, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    (elsewhere / "docs").mkdir(parents=True)
    (elsewhere / "docs" / "thesis.txt").write_text("years of work")
    build(specs(1), out, device=CPU)
    (out / "docs").symlink_to(elsewhere / "docs")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"] += ["docs/thesis.txt", "../elsewhere/docs/thesis.txt",
                          str(elsewhere / "docs" / "thesis.txt")]
    (out / MANIFEST).write_text(json.dumps(manifest))
    result = build(specs(1), out, device=CPU)
    assert (elsewhere / "docs" / "thesis.txt").read_text() == "years of work"
    assert result.removed == []
    assert "docs/thesis.txt" not in json.loads((out / MANIFEST).read_text())["files"]


@pytest.mark.parametrize("where, link", [
    ("index.html", "../elsewhere/evil.html"),  # dangling, out of the site
    ("index.html", "notes.html"),  # the user's file in the site
    ("static", "../elsewhere"),  # a folder of the site, out of it
    (MANIFEST, "../elsewhere/manifest.json"),
])
def test_a_link_where_a_site_file_goes_is_refused_before_any_work(tmp_path, capsys, where,
                                                                  link):
    out, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "manifest.json").write_text('{"files": []}')
    build(specs(1), out, device=CPU)
    (out / "notes.html").write_text("the user's notes")
    shutil.rmtree(out / where) if (out / where).is_dir() else (out / where).unlink()
    (out / where).symlink_to(link)
    before, outside = listing(out), listing(elsewhere)
    rc, err = run_cli(["build", "--out", out, "--seeds", seeds_file(tmp_path / "s.toml", 2),
                       *TINY_ARGS], capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "symbolic link" in err
    assert listing(out) == before and listing(elsewhere) == outside


@pytest.mark.parametrize("where", ["assets/images", ".attnart", "_pages"])
def test_jekyll_never_writes_through_a_linked_folder(tmp_path, where):
    site_dir, elsewhere = tmp_path / "jekyll", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (site_dir / where).parent.mkdir(parents=True)
    (site_dir / where).symlink_to(elsewhere)
    with pytest.raises(OutputError, match="outside .*through a symbolic link"):
        jekyll.export(specs(1), site_dir, size=32, device=CPU)
    assert list(elsewhere.iterdir()) == []


# ---- item 2: one writer per folder ---------------------------------------------------------


def test_a_second_build_or_jekyll_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    with files.locked(out):
        with pytest.raises(OutputError, match=rf"being written by another attnart \(pid "
                                              rf"{os.getpid()}\)"):
            build(specs(1), out, device=CPU)
    assert list(out.iterdir()) == []  # nothing written, the lock file gone with its holder
    site_dir = tmp_path / "jekyll"
    (site_dir / jekyll.CACHE_DIR).mkdir(parents=True)
    with files.locked(site_dir / jekyll.CACHE_DIR):
        with pytest.raises(OutputError, match="being written by another attnart"):
            jekyll.export(specs(1), site_dir, size=32, device=CPU)
    assert [p.name for p in site_dir.rglob("*")] == [".attnart"]


def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / files.LOCK).write_text("4194999\n")  # a pid no process holds the lock for
    build(specs(1), out, device=CPU)
    assert (out / "index.html").is_file() and not (out / files.LOCK).exists()


@pytest.mark.parametrize("make", [
    lambda p: p.symlink_to(p.parent.parent / "thesis.txt"),
    lambda p: os.mkfifo(p),
    lambda p: p.write_text("a user's file of that name, not a pid\n" * 3),
])
def test_a_foreign_file_in_place_of_the_lock_is_refused_untouched(tmp_path, make):
    out = tmp_path / "site"
    out.mkdir()
    (tmp_path / "thesis.txt").write_text("years of work")
    make(out / files.LOCK)
    with pytest.raises(OutputError, match="is not attnart's lock file; move it away"):
        build(specs(1), out, device=CPU)
    assert (tmp_path / "thesis.txt").read_text() == "years of work"
    assert [p.name for p in out.iterdir()] == [files.LOCK]


# ---- items 2, 3, 4: SIGKILL at a rename, then the same command again ------------------------

KILLER = """
import os, signal, sys
from generator import cli
count, replace = [0], os.replace
def killing(*args, **kw):
    count[0] += 1
    if count[0] == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
    return replace(*args, **kw)
os.replace = killing
sys.exit(cli.main(sys.argv[2:]))
"""


def killed_at_rename(n: int, args) -> None:
    done = subprocess.run([sys.executable, "-c", KILLER, str(n), *map(str, args)],
                          capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()


def temporaries(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.name.endswith(".tmp") or p.name == files.LOCK)


# renames of a rebuild that drops seed 1 and adds seed 3: the journal, the new render,
# its score and variants, the pages
@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_build_killed_at_a_rename_leaves_nothing_unlisted_or_orphaned(tmp_path, capsys, n):
    out, user = tmp_path / "site", tmp_path / "site" / "notes.txt"
    build(specs(1, 2), out, device=CPU)
    user.write_text("mine")
    (out / ".notes.txt.abcdefgh.tmp").write_text("the user's, though it looks like ours")
    args = ["build", "--out", out, "--seeds", seeds_file(tmp_path / "s.toml", 3, 2), *TINY_ARGS]
    killed_at_rename(n, args)
    listed = set(json.loads((out / MANIFEST).read_text())["files"])
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written - listed - set(temporaries(out)) == {"notes.txt"}
    assert temporaries(out) != [".notes.txt.abcdefgh.tmp"]  # the kill left some of ours
    rc, err = run_cli(args, capsys)
    assert rc == 0, err
    assert temporaries(out) == [".notes.txt.abcdefgh.tmp"] and user.read_text() == "mine"
    assert not (out / "images" / f"{specs(1)[0].id}.png").exists()  # stale, removed


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_jekyll_killed_at_a_rename_accepts_its_own_images_next(tmp_path, capsys, n):
    site_dir = tmp_path / "jekyll"
    site_dir.mkdir()
    args = ["jekyll", "--site-dir", site_dir, "--size", "32", *TINY_ARGS,
            "--seeds", seeds_file(tmp_path / "s.toml", 1, 2)]
    killed_at_rename(n, args)
    images = {p.relative_to(site_dir).as_posix()
              for p in (site_dir / jekyll.IMAGES_DIR).glob("*.png")} if (
        site_dir / jekyll.IMAGES_DIR).is_dir() else set()
    manifest = site_dir / jekyll.MANIFEST
    listed = json.loads(manifest.read_text())["images"] if manifest.exists() else []
    assert images <= set(listed)
    assert temporaries(site_dir)
    rc, err = run_cli(args, capsys)
    assert rc == 0, err
    assert temporaries(site_dir) == []


# ---- item 6: protected files -----------------------------------------------------------------


def test_read_only_files_are_never_replaced(tmp_path, capsys):
    png = tmp_path / "art.png"
    assert run_cli(["render", "3", "-o", png, *TINY_ARGS], capsys)[0] == 0
    png.chmod(0o444)
    before = png.read_bytes()
    rc, err = run_cli(["render", "5", "-o", png, *TINY_ARGS], capsys)
    assert rc == 2 and err == f"attnart: error: {png} is read-only, so attnart leaves it alone; " \
                              "make it writable (chmod u+w) to replace it, or choose another name\n"
    assert png.read_bytes() == before

    out = tmp_path / "site"
    build(specs(1, 2), out, device=CPU)
    index, stale = out / "index.html", out / "images" / f"{specs(1)[0].id}.png"
    for path in (index, stale):
        path.chmod(0o444)
    before = index.read_bytes()
    rc, err = run_cli(["build", "--out", out, "--seeds", seeds_file(tmp_path / "s.toml", 2),
                       *TINY_ARGS], capsys)
    assert rc == 2 and "index.html is read-only" in err and len(err.splitlines()) == 1
    assert index.read_bytes() == before
    index.chmod(0o644)
    assert run_cli(["build", "--out", out, "--seeds", tmp_path / "s.toml", *TINY_ARGS],
                   capsys)[0] == 0
    assert stale.exists()  # a protected stale file is kept, and no longer attnart's
    assert stale.relative_to(out).as_posix() not in (out / MANIFEST).read_text()


# ---- item 18: an output that is not a folder ------------------------------------------------


@pytest.mark.parametrize("make, out, message", [
    (lambda t: (t / "f").write_text("x"), "f", "output {t}/f is a file; give a folder"),
    (lambda t: (t / "f").write_text("x"), "f/site",
     "output {t}/f/site: {t}/f is a file; give a folder"),
    (lambda t: (t / "f").symlink_to(t / "nothing"), "f",
     "output {t}/f is a symbolic link to nothing; give a folder"),
    (lambda t: os.mkfifo(t / "f"), "f", "output {t}/f is not a folder; give a folder"),
])
def test_build_out_that_cannot_be_a_folder_is_one_line(tmp_path, capsys, make, out, message):
    make(tmp_path)
    rc, err = run_cli(["build", "--out", tmp_path / out, *TINY_ARGS], capsys)
    assert rc == 2 and err == f"attnart: error: {message.format(t=tmp_path)}\n"


def test_render_into_a_file_as_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    rc, err = run_cli(["render", "3", "-o", tmp_path / "f" / "a.png", *TINY_ARGS], capsys)
    assert rc == 2 and err == (f"attnart: error: output {tmp_path}/f/a.png: {tmp_path}/f is not "
                               "a folder; give a path in a folder\n")


# ---- item 17: titles ------------------------------------------------------------------------


@pytest.mark.parametrize("title", ["a\x00b", "a\u202eb", "a\u2066b", "a\u200fb", "a\nb"])
def test_build_title_with_control_or_bidi_characters_is_refused(tmp_path, capsys, title):
    rc, err = run_cli(["build", "--out", tmp_path / "site", "--title", title, *TINY_ARGS], capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "--title" in err
    assert not (tmp_path / "site").exists()
