"""Start-up: the commands that need no tensors never import torch, and the CPU render path,
torch-free, writes the very bytes the torch pipeline writes."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import subprocess
import sys

import numpy as np
import pytest
import torch

from generator import kernels, render, rng
from generator.errors import SpecError
from generator.spec import ArtworkSpec

# Runs `attnart ARGS` in a fresh interpreter and fails if torch was imported on the way.
TORCH_FREE = """
import sys
from generator.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:  # --help
    code = e.code
if "torch" in sys.modules:
    sys.exit("torch was imported")
sys.exit(code)
"""


def run_torch_free(*args, cwd):
    return subprocess.run([sys.executable, "-c", TORCH_FREE, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_commands_without_tensors_do_not_import_torch(tmp_path):
    commands = [
        ["--help"], ["render", "--help"],
        ["spec", "1679700"], ["spec", "5", "--json", "--init", "shared"],
        ["render", "1679700", "--resolution", "24", "--device", "cpu", "-o", "a.png"],
        ["score", "a.png"],
        ["sweep", "--seeds", "3-5", "--preview", "32", "--catalog", "c.sqlite",
         "--device", "cpu"],
        ["select", "--catalog", "c.sqlite", "-o", "picks.toml", "--band", "2",
         "--min-white", "0", "--max-white", "1"],
    ]
    if not render.cuda_possible():  # as on this project's CI machine
        commands.append(["render", "7", "--resolution", "16", "--init", "shared", "-o", "b.png"])
    for args in commands:
        done = run_torch_free(*args, cwd=tmp_path)
        assert done.returncode == 0, f"attnart {' '.join(args)}: {done.stderr}"
    assert (tmp_path / "picks.toml").is_file()
    assert "W_Q" in run_torch_free("spec", "1", cwd=tmp_path).stdout


def torch_pipeline_png(spec: ArtworkSpec, monkeypatch) -> bytes:
    """The render as it was made before the C X(0): X(0) by the array operations, normalised
    by torch, the grid by torch, then the cpu kernel."""
    with monkeypatch.context() as m:
        m.setattr(rng, "_initial", None)
        draws = rng.draw(spec)
        total = spec.resolution**2
        x0 = rng.unit_rows(torch.from_numpy(draws.initial(0, total, "cpu")))
    a_vals, b_vals = render.grid_axes(spec)
    g = np.arange(total)
    ab = torch.tensor(np.stack([a_vals[g % spec.resolution], b_vals[g // spec.resolution]], -1),
                      dtype=torch.float32)
    wq, wv = torch.tensor(draws.wq), torch.tensor(draws.wv)
    labels = kernels.load("cpu").landscape(wq, wv, x0, ab, spec.iterations, spec.threshold)
    png = io.BytesIO()
    render.to_image(labels.reshape(spec.resolution, spec.resolution)).save(
        png, format="PNG", pnginfo=render.RENDER_MARK)
    return png.getvalue()


@pytest.mark.parametrize(("args", "fields"), [
    # 25,600 grid points: two chunks; a 1-SM launch grid: rounds of 1,024 values, so the
    # chunk boundary falls inside one.
    (["--resolution", "160", "--cuda-sms", "1", "--cuda-threads-per-sm", "256"],
     dict(seed=1679700, resolution=160, cuda_sms=1, cuda_threads_per_sm=256)),
    (["--resolution", "120", "--cuda-profile", "h100", "--points", "7"],
     dict(seed=8012376, resolution=120, cuda_sms=132, cuda_threads_per_sm=2048, points=7)),
    (["--resolution", "64", "--init", "shared", "--window", "-3,5,-8,1.5"],
     dict(seed=5227590, resolution=64, init="shared", window=(-3.0, 5.0, -8.0, 1.5))),
])
@pytest.mark.skipif(not kernels.load("cpu").available("cpu") or rng._initial is None,
                    reason="the C modules were not built")
def test_torch_free_render_writes_the_torch_pipelines_bytes(tmp_path, monkeypatch, args, fields):
    done = run_torch_free("render", str(fields["seed"]), *args, "--device", "cpu", "-o",
                          "art.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    png = torch_pipeline_png(ArtworkSpec(**fields), monkeypatch)
    assert (tmp_path / "art.png").read_bytes() == png


# --- choosing the device without torch --------------------------------------------------------


def fake_torch(tmp_path, monkeypatch, version: str | None, drivers: bool = False) -> None:
    """A torch installation whose version.py reads `version` (none: no version.py), and a
    machine with or without a GPU driver."""
    package = tmp_path / "torch"
    package.mkdir()
    (package / "__init__.py").write_text("")
    if version is not None:
        (package / "version.py").write_text(version)
    spec = importlib.machinery.ModuleSpec("torch", None, origin=str(package / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    driver = tmp_path / "nvidiactl"
    if drivers:
        driver.write_text("")
    monkeypatch.setattr(render, "GPU_DRIVER_FILES", (str(driver),))


CPU_BUILD = ("from typing import Optional\n__version__ = '2.13.0+cpu'\n"
             "cuda: Optional[str] = None\nhip: Optional[str] = None\n")
CUDA_BUILD = "__version__ = '2.13.0'\ncuda = '12.8'\nhip = None\n"
ROCM_BUILD = "__version__ = '2.13.0+rocm6.4'\ncuda = None\nhip = '6.4.1'\n"


@pytest.mark.parametrize(("version", "drivers", "possible"), [
    (CPU_BUILD, True, False),  # a CPU build never finds a GPU
    (CUDA_BUILD, False, not sys.platform.startswith("linux")),  # no driver: no GPU on Linux
    (CUDA_BUILD, True, True),
    (ROCM_BUILD, True, True),
    (None, False, True),  # no version.py: in doubt, ask torch
    ("cuda = None\n", False, True),  # no word on hip: in doubt
    ("cuda = some_function()\n", False, True),
])
def test_cuda_possible_reads_the_torch_build_and_the_drivers(tmp_path, monkeypatch, version,
                                                             drivers, possible):
    fake_torch(tmp_path, monkeypatch, version, drivers)
    assert render.cuda_possible() is possible


def test_cuda_is_impossible_without_torch(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert render.cuda_possible() is False
    assert render.resolve_device("auto") == "cpu"


def test_resolve_device(monkeypatch):
    assert render.resolve_device("cpu") == "cpu"
    monkeypatch.setattr(render, "cuda_possible", lambda: True)  # then torch decides
    assert render.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(SpecError, match="no CUDA device"):
            render.resolve_device("cuda")
    with pytest.raises(SpecError, match="unknown device"):
        render.resolve_device("tpu")


def test_device_names_and_threads(monkeypatch):
    assert [kernels.device_type(d) for d in ("cpu", "cuda:1", torch.device("cuda", 0))] == \
        ["cpu", "cuda", "cuda"]
    monkeypatch.setattr(kernels, "_threads", None)
    assert kernels.threads() >= 1
    kernels.set_threads(3)
    assert kernels.threads() == 3
    with pytest.raises(ValueError):
        kernels.set_threads(0)
