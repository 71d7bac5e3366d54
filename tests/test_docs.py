"""The documentation site builds with `mkdocs build --strict`: a broken link, a missing page
or an anchor that no heading makes fails the test run."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    reference = (tmp_path / "site" / "reference" / "index.html").read_text()
    for command in ("render", "build", "sweep", "select", "explore", "cache"):
        assert f"attnart {command}" in reference  # generated from the parsers
