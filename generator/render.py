"""Spec -> labels (backend choice, chunking, progress) -> image (orientation, size) -> files."""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from tqdm import tqdm

from generator import __version__, kernels, rng, shade
from generator.cache import RenderCache
from generator.errors import OutputError, SpecError
from generator.files import check_writable, json_text, write_files
from generator.spec import SIDECAR_KEYS, SOFTWARE, ArtworkSpec

# Working memory for one chunk of grid points: flat in the resolution. The reference
# materialises a few (n, n) score matrices per point; fast backends need far less.
CHUNK_BYTES = {"cpu": 256 * 2**20, "cuda": 2 * 2**30}
# Present on Linux wherever a GPU driver torch could use is loaded: NVIDIA's, AMD's (ROCm),
# and WSL's GPU bridge.
GPU_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg")


def resolve_device(name: str) -> str:
    """The one place the device is chosen: 'auto' means CUDA when there is one.

    Returns 'cpu' or 'cuda', names torch takes anywhere it takes a device. Importing torch
    takes seconds, so 'auto' first asks `cuda_possible` and leaves torch alone when not.
    """
    if name not in ("auto", "cpu", "cuda"):
        raise SpecError(f"unknown device {name!r}; use auto, cpu or cuda")
    if name == "cpu" or (name == "auto" and not cuda_possible()):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if name == "cuda":
        raise SpecError("no CUDA device is available here; use --device cpu (or auto)")
    return "cpu"


def cuda_possible() -> bool:
    """Whether torch could find a GPU, judged without importing it: not when torch is a CPU
    build (its version.py sets neither `cuda` nor `hip`), nor on a Linux machine without a
    GPU driver; in doubt, yes."""
    found = importlib.util.find_spec("torch")
    if found is None or found.origin is None:
        return False
    try:
        tree = ast.parse((Path(found.origin).parent / "version.py").read_text())
    except (OSError, SyntaxError, ValueError):
        return True
    build = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id in ("cuda", "hip"):
            try:
                build[target.id] = ast.literal_eval(node.value)
            except ValueError:
                return True
    if build.keys() != {"cuda", "hip"}:
        return True
    if build["cuda"] is None and build["hip"] is None:
        return False
    return not sys.platform.startswith("linux") or any(Path(p).exists()
                                                       for p in GPU_DRIVER_FILES)


def grid_axes(spec: ArtworkSpec) -> tuple[np.ndarray, np.ndarray]:
    """a and b sample values, float64 as Appendix A's np.linspace makes them."""
    amin, amax, bmin, bmax = spec.window
    return (np.linspace(amin, amax, spec.resolution), np.linspace(bmin, bmax, spec.resolution))


def grid_points(spec: ArtworkSpec, start: int, stop: int) -> np.ndarray:
    """(a, b) of grid points [start, stop) in Appendix A's order, (G, 2) float32."""
    return points_at(spec, np.arange(start, stop))


def points_at(spec: ArtworkSpec, index: np.ndarray) -> np.ndarray:
    """(a, b) of the grid points at flat indices `index`, (G, 2) float32.

    np.meshgrid(a_vals, b_vals) flattened: point g has a = a_vals[g % N], b = b_vals[g // N].
    """
    a_vals, b_vals = grid_axes(spec)
    ab = np.stack([a_vals[index % spec.resolution], b_vals[index // spec.resolution]], axis=-1)
    return ab.astype(np.float32)


def _on(values: np.ndarray, device):
    """A numpy array on `device`: itself on the CPU, a torch tensor elsewhere."""
    if kernels.device_type(device) == "cpu":
        return values
    import torch

    return torch.from_numpy(values).to(device)


def chunk_points(spec: ArtworkSpec, device) -> int:
    per_point = 4 * (8 * spec.points**2 + 16 * spec.points)  # bytes, reference's worst case
    kind = kernels.device_type(device)
    return max(1, CHUNK_BYTES.get(kind, CHUNK_BYTES["cpu"]) // per_point)


def chunks(spec: ArtworkSpec, draws: rng.Draws, device):
    """Yield (start, stop, x0, ab) over the grid, chunk by chunk, inputs ready on `device`:
    numpy arrays on the CPU, torch tensors elsewhere."""
    total = spec.resolution**2
    step = chunk_points(spec, device)
    for start in range(0, total, step):
        stop = min(total, start + step)
        x0 = rng.unit_rows(draws.initial(start, stop, device))  # (G or 1, n, 2)
        yield start, stop, x0, _on(grid_points(spec, start, stop), device)


def render_points(spec: ArtworkSpec, draws: rng.Draws, index: np.ndarray, *, speed: bool,
                  device, backend: str = "auto") -> np.ndarray:
    """The labels (as 0.0 and 1.0) or the speed field of the grid points at the sorted flat
    indices `index` (any subset of the grid), (G,) float32. Per-point X(0) is drawn over
    each piece's span of the grid (streams are drawn in order), so a piece spans at most a
    chunk of grid points; in shared mode a piece is a chunk of the points asked for."""
    module = kernels.choose(backend, device)
    wq, wv = matrices(draws, device)
    out = np.empty(index.size, dtype=np.float32)
    span, start = chunk_points(spec, device), 0
    while start < index.size:
        stop = (start + span if spec.init == "shared"
                else int(np.searchsorted(index, index[start] + span)))
        part = index[start:stop]
        x0 = draws.initial(int(part[0]), int(part[-1]) + 1, device)
        x0 = rng.unit_rows(x0 if x0.shape[0] == 1 else x0[_on(part - part[0], device)])
        args = (wq, wv, x0, _on(points_at(spec, part), device), spec.iterations,
                spec.threshold)
        values = module.landscape_and_speed(*args)[1] if speed else module.landscape(*args)
        out[start:stop] = kernels.as_numpy(values)
        start = stop
    return out


def matrices(draws: rng.Draws, device):
    """W_Q and W_V on `device`, (2, 2) float32 each."""
    return _on(draws.wq, device), _on(draws.wv, device)


def render_labels(spec: ArtworkSpec, draws: rng.Draws, *, device, backend: str = "auto",
                  progress: bool = False) -> np.ndarray:
    """Labels as Appendix A's `labels_grid`: (N, N) bool, [b index, a index]."""
    return _run(spec, draws, device, backend, progress, speed=False)[0]


def render_field(spec: ArtworkSpec, draws: rng.Draws, *, device, backend: str = "auto",
                 progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Labels and speed field (`generator.dynamics`) from the same kernel run, laid out as
    `render_labels`: (N, N) bool and (N, N) float32; the labels are `render_labels`'."""
    return _run(spec, draws, device, backend, progress, speed=True)


def _run(spec, draws, device, backend, progress, *, speed: bool):
    module = kernels.choose(backend, device)
    wq, wv = matrices(draws, device)
    labels = np.empty(spec.resolution**2, dtype=bool)
    field = np.empty(spec.resolution**2, dtype=np.float32) if speed else None
    with tqdm(total=labels.size, unit="px", unit_scale=True, disable=not progress,
              desc=f"seed {spec.seed}", leave=False) as bar:
        for start, stop, x0, ab in chunks(spec, draws, device):
            args = (wq, wv, x0, ab, spec.iterations, spec.threshold)
            if speed:
                out, part = module.landscape_and_speed(*args)
                field[start:stop] = kernels.as_numpy(part)
            else:
                out = module.landscape(*args)
            labels[start:stop] = kernels.as_numpy(out)
            bar.update(stop - start)
    side = (spec.resolution, spec.resolution)
    return labels.reshape(side), None if field is None else field.reshape(side)


def downsample(image: Image.Image, side: int) -> Image.Image:
    """The published look at `side` pixels: a square Lanczos (antialiased) resize, or the
    image itself when it already is that size."""
    if image.width == side and image.height == side:
        return image
    return image.resize((side, side), Image.Resampling.LANCZOS)


def to_image(grid: np.ndarray, size: int | None = None) -> Image.Image:
    """The published orientation: b left to right, a bottom to top; white = converged.

    `grid` is labels (N, N) bool, or their colours (N, N, 3) uint8 (`shade.colourise`).
    Appendix A shows labels.T with origin='lower', so image row 0 (the top) is the largest a.
    `size` downsamples with antialiasing, as the published images are smoothed.
    """
    if grid.ndim == 2:
        image = Image.fromarray(np.where(grid.T[::-1], 255, 0).astype(np.uint8), mode="L")
    else:
        image = Image.fromarray(np.ascontiguousarray(grid.swapaxes(0, 1)[::-1]), mode="RGB")
    if size is not None:
        image = downsample(image, size)
    return image


def _matrix(values: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in values]


def describe(spec: ArtworkSpec, draws: rng.Draws) -> dict:
    """Everything that made the artwork, W_Q and W_V resolved to their float32 values."""
    data = {"id": spec.id, "title": spec.title, "seed": spec.seed,
            "W_Q": _matrix(draws.wq), "W_V": _matrix(draws.wv)}
    data.update({k: v for k, v in spec.canonical().items() if k not in ("seed", "wq", "wv")})
    data["shade"] = spec.shade
    data["version"] = __version__
    return data


def _ours(sidecar: Path) -> bool:
    try:
        data = json.loads(sidecar.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and SIDECAR_KEYS <= data.keys()


def check_output(path: Path, *, force: bool = False) -> None:
    """Fail before any work when `path` could not be written, or would replace a file that
    attnart did not write: an earlier render (a PNG whose sidecar is ours) is replaced, any
    other file only with `force`."""
    if path.suffix.lower() != ".png":
        raise OutputError(f"output {path} must end in .png")
    if path.parent.exists() and not path.parent.is_dir():
        raise OutputError(f"output {path}: {path.parent} is not a folder; give a path in a "
                          "folder")
    if not path.parent.is_dir():
        raise OutputError(f"output folder {path.parent} does not exist; create it first")
    sidecar = path.with_suffix(".json")
    for target in (path, sidecar):
        if target.is_dir():
            raise OutputError(f"{target} is a folder; give an output name whose .png and "
                              ".json files are free")
    check_writable([path, sidecar])
    if force or not (path.exists() or sidecar.exists()):
        return
    if sidecar.exists() and not _ours(sidecar):
        raise OutputError(f"{sidecar} exists and is not a sidecar attnart wrote; render would "
                          "replace it: move it away, choose another name or use --force")
    if path.exists() and not sidecar.exists():
        raise OutputError(f"{path} exists and was not written by attnart render (no sidecar "
                          "beside it); choose another name or use --force to replace it")


def render_image(spec: ArtworkSpec, draws: rng.Draws, *, device, backend: str = "auto",
                 size: int | None = None, progress: bool = False
                 ) -> tuple[np.ndarray, Image.Image]:
    """Labels and the image of `spec` as published: black and white, or its speed field in
    its palette (equalised on this render's own pixels); `size` downsamples the image."""
    if spec.shade == "speed":
        colours = shade.rgb(spec.palette)  # before the work: colorcet may be missing
        labels, field = render_field(spec, draws, device=device, backend=backend,
                                     progress=progress)
        return labels, to_image(shade.colourise(field, colours), size)
    labels = render_labels(spec, draws, device=device, backend=backend, progress=progress)
    return labels, to_image(labels, size)


# A render's PNG says what made it (PNG's own "Software" keyword), so that `attnart score`
# knows a render of the map without its sidecar: a gallery's images, a download.
RENDER_MARK = PngInfo()
RENDER_MARK.add_text("Software", SOFTWARE)


def render(spec: ArtworkSpec, output: Path, *, device, backend: str = "auto",
           size: int | None = None, force: bool = False, progress: bool = False,
           root: Path | None = None) -> dict:
    """Render `spec` to `output` (PNG) and its sidecar `output.json`; return the metadata.

    Both files appear at once at the very end, so an interrupted render leaves nothing.
    Files attnart did not write are replaced only with `force` (see `check_output`), and a
    read-only one never; with `root` (a site's folder) both must lie inside it.
    """
    check_output(output, force=force)
    if size is not None and not 1 <= size <= spec.resolution:
        raise SpecError(f"size must be in 1..{spec.resolution} (the resolution), got {size}")
    draws = rng.draw(spec)
    labels, image = render_image(spec, draws, device=device, backend=backend, size=size,
                                 progress=progress)
    meta = describe(spec, draws) | {"size": image.width, "white_fraction": float(labels.mean())}
    png = io.BytesIO()
    image.save(png, format="PNG", pnginfo=RENDER_MARK)
    write_files({output: png.getvalue(), output.with_suffix(".json"): json_text(meta).encode()},
                root=root)
    return meta


def intact(png: Path) -> bool:
    """Whether `png` decodes whole: a truncated or damaged file does not, nor a FIFO or
    device put in its place (never opened: reading one may never end)."""
    if not png.is_file():
        return False
    try:
        with Image.open(png) as image:
            image.load()
    except (OSError, SyntaxError, ValueError):  # what PIL raises for broken files
        return False
    return True


def cached_render(spec: ArtworkSpec, png: Path, *, device, backend: str = "auto",
                  elsewhere: tuple[Path, ...] = (), root: Path | None = None,
                  cache: RenderCache | None = None) -> tuple[dict, str]:
    """The full-resolution render of `spec` kept at `png` (named by spec id) with its sidecar:
    reused when intact, copied from an intact one in the user's `cache` or at a path of
    `elsewhere`, or rendered (into the cache, then copied, when there is one).
    Returns (metadata, how): how is 'cached', 'copied', 'rendered' or 'repaired' (the file
    was there but damaged, and was copied or rendered again). `root`: the folder it is
    written in."""
    if cache is not None:
        elsewhere = (cache.use(spec.id), *elsewhere)
    damaged = png.exists() and not intact(png)
    # lazily: a copy elsewhere is decoded only when the ones before it could not serve
    usable = (p for p in ((png,) if png.exists() and not damaged else ()) + tuple(elsewhere)
              if p == png or (p.exists() and intact(p)))
    for source in usable:
        try:
            meta = json.loads(source.with_suffix(".json").read_bytes())
        except (OSError, ValueError):
            continue  # a lost or damaged sidecar: render again
        if source != png:  # the same pixels, perhaps under a former id: named anew
            meta = meta | {"id": spec.id}
            write_files({png: source.read_bytes(),
                         png.with_suffix(".json"): json_text(meta).encode()}, root=root)
        return meta, "cached" if source == png else "repaired" if damaged else "copied"
    how = "repaired" if damaged else "rendered"
    if cache is None:
        return render(spec, png, device=device, backend=backend, force=True, root=root), how
    cache.prepare()
    made = cache.path(spec.id)
    meta = render(spec, made, device=device, backend=backend, force=True, root=cache.folder)
    write_files({png: made.read_bytes(), png.with_suffix(".json"): json_text(meta).encode()},
                root=root)
    return meta, how
