"""The output folder: every artwork of a seeds file rendered into it, cached by spec id.

Until the gallery pages exist, a build is the images and their JSON sidecars.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm

from generator.errors import OutputError
from generator.render import render
from generator.spec import ArtworkSpec


def image_path(out: Path, spec: ArtworkSpec) -> Path:
    return out / "images" / f"{spec.id}.png"


def build(specs: list[ArtworkSpec], out: Path, *, device: torch.device, backend: str = "auto",
          progress: bool = False) -> list[Path]:
    """Render what is missing; an artwork whose files exist (same id) is not rendered again."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} is a file; give a folder")
    (out / "images").mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in tqdm(specs, unit="artwork", disable=not progress, desc="build"):
        path = image_path(out, spec)
        if not (path.exists() and path.with_suffix(".json").exists()):
            render(spec, path, device=device, backend=backend, progress=progress)
        paths.append(path)
    return paths
