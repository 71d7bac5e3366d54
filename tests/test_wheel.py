"""The package as users get it: a wheel installed into a fresh environment, run from an empty
folder, with no checkout and no editable install to hide a missing file.

The fresh environment reaches the dependencies already installed in the test's own
environment through a .pth file, and installs nothing from an index (`--no-index`).
"""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SMALL = ["--resolution", "48", "--iterations", "20"]


def run(cmd, cwd, **kw):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(REPO)],
               cwd=out)
    assert "would be ignored" not in done.stdout + done.stderr  # every data folder declared
    (path,) = out.glob("attention_art-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding the wheel, the dependencies borrowed from this one."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(venv)], cwd=venv)
    python = venv / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
               cwd=venv).stdout.strip()
    (Path(site) / "borrowed-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)], cwd=venv)
    return venv / "bin"


def test_wheel_holds_every_template_static_and_seeds_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "seeds"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                name = f"generator/{path.relative_to(REPO).as_posix()}"
                assert name in names, f"{name} is missing from the wheel"
    explorer = REPO / "generator" / "explore" / "static"  # the page and its vendored viewer
    for path in explorer.rglob("*"):
        if path.is_file():
            assert path.relative_to(REPO).as_posix() in names, f"{path} is missing"
    for module in ("_cpu", "_initial"):
        assert any(n.startswith(f"generator/kernels/{module}.") and n.endswith(".so")
                   for n in names), f"the C extension {module} is missing"


def test_installed_commands_work_from_an_empty_folder(installed, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    attnart = str(installed / "attnart")

    where = run([installed / "python", "-c", "import generator, generator.kernels.cpu as c; "
                 "print(generator.__file__, c.available('cpu'))"], cwd=work, env=env).stdout
    assert where.startswith(str(installed.parent)) and where.split()[1] == "True"

    run([attnart, "render", "1679700", *SMALL, "-o", "art.png"], cwd=work, env=env)
    assert (work / "art.png").is_file() and (work / "art.json").is_file()
    scored = json.loads(run([attnart, "score", "art.png", "--json"], cwd=work, env=env).stdout)
    assert 0 <= scored["white_fraction"] <= 1

    run([attnart, "build", *SMALL, "--out", "site", "--quiet"], cwd=work, env=env)
    site = work / "site"
    assert (site / "index.html").is_file() and (site / "static" / "lightbox.js").is_file()
    assert len(list((site / "artworks").glob("*.html"))) == 6  # the paper's six, built in
    assert len(list((site / "metadata").glob("*.json"))) == 7  # and the collection

    (work / "mysite").mkdir()
    # the author's site: it builds _pages, and its v1 page cites with jekyll-scholar
    (work / "mysite/_config.yml").write_text("include: [_pages]\nplugins: [jekyll-scholar]\n")
    for style, page in (("v1", "_pages/attention-dynamics-art.md"), ("plain", "gallery.md")):
        run([attnart, "jekyll", *SMALL, "--site-dir", "mysite", "--style", style,
             "--page", page, "--quiet"], cwd=work, env=env)
        assert "attnart:gallery:start" in (work / "mysite" / page).read_text()
    assert len(list((work / "mysite/assets/images").glob("art*_Large.png"))) == 6

    run([attnart, "theme", "--copy", "mytheme"], cwd=work, env=env)
    assert (work / "mytheme" / "static" / "gallery.css").is_file()
