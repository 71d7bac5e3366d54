"""The static gallery: every artwork of a seeds file rendered, scored and published.

Two phases, as mkdocs builds: first every record is gathered (render what is missing, score
what is unscored, derive the web sizes), then the pages come from templates fed by the pure
`build_context()`, which tests assert on without parsing HTML. All links are relative, so the
site works from file://, at a domain root and under a sub-path; `base_url` only makes the
NFT metadata's `image` and `external_url` absolute.

Files the build writes are listed in `MANIFEST`; a rebuild removes only files an earlier build
listed there and this one no longer writes, never anything else in the folder. Pages, metadata,
static files and the manifest are written all at once (`write_files`), so an interrupted build
leaves the previous site as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
import torch
from PIL import Image
from tqdm import tqdm

from generator import rng
from generator.errors import OutputError, SpecError
from generator.files import json_text, write_files
from generator.render import downsample, render, render_labels, to_image
from generator.score import MIN_SIDE, load_labels, score
from generator.spec import MAX_RESOLUTION, ArtworkSpec

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MANIFEST = ".attnart-manifest.json"
THUMB = 400  # pixels a side of the grid thumbnails
LARGE = 1200  # pixels a side of the lightbox / artwork page image
DEFAULT_TITLE = "Attention Dynamics Art"
DEFAULT_TEXT = ("Convergence landscapes of an attention-like dynamical map: each pixel (a, b) "
                "is white where n unit vectors following X ← rownorm(softmax(X W_Qᵀ (X W_Kᵀ)ᵀ) "
                "X W_Vᵀ), W_K = diag(a, b), synchronise.")


def image_path(out: Path, spec: ArtworkSpec) -> Path:
    return out / "images" / f"{spec.id}.png"


def variant_path(out: Path, artwork_id: str, name: str, ext: str) -> Path:
    return out / "images" / f"{artwork_id}-{name}.{ext}"


def score_path(out: Path, artwork_id: str) -> Path:
    return out / "images" / f"{artwork_id}.score.json"


# ---- deep zoom -----------------------------------------------------------------------------
# A pyramid as web maps cut them: level `levels - 1` is the N² render, each level above it
# half the side (2x2 box means: grey where black and white mix), every level cut into 256²
# tiles named deepzoom/<id>-<N>/<z>/<x>/<y>.png. The deepest level is 1-bit, the others
# 8-bit grey. A tile of one colour is not written: the page draws it from the pyramid's
# description, which it carries itself, so that nothing is fetched but images (file:// works).

DEEP_TILE = 256


def pyramid_dir(out: Path, artwork_id: str, side: int) -> Path:
    return out / "deepzoom" / f"{artwork_id}-{side}"


def _pyramid(out: Path, spec: ArtworkSpec, side: int, *, device: torch.device, backend: str,
             progress: bool) -> dict:
    """Render `spec` at side², write its tiles (once), return the pyramid's description."""
    folder = pyramid_dir(out, spec.id, side)
    described = _read_json(folder / "pyramid.json")
    if described is not None:
        return described
    big = dataclasses.replace(spec, resolution=side)
    image = to_image(render_labels(big, rng.draw(big), device=device, backend=backend,
                                   progress=progress))
    levels = 1 + max(0, math.ceil(math.log2(side / DEEP_TILE)))
    blank, files = {}, {}
    for z in reversed(range(levels)):
        for y in range(-(-image.height // DEEP_TILE)):
            for x in range(-(-image.width // DEEP_TILE)):
                tile = image.crop((x * DEEP_TILE, y * DEEP_TILE,
                                   min(image.width, (x + 1) * DEEP_TILE),
                                   min(image.height, (y + 1) * DEEP_TILE)))
                low, high = tile.getextrema()
                if low == high and tile.size == (DEEP_TILE, DEEP_TILE):
                    blank[f"{z}/{x}/{y}"] = low
                    continue
                buf = io.BytesIO()
                if z == levels - 1:
                    tile = tile.convert("1", dither=Image.Dither.NONE)
                tile.save(buf, format="PNG", optimize=True)
                files[folder / str(z) / str(x) / f"{y}.png"] = buf.getvalue()
        image = image.reduce(2)
    described = {"path": folder.relative_to(out).as_posix(), "size": side, "levels": levels,
                 "tile": DEEP_TILE, "blank": blank}
    for path in [*files, folder / "pyramid.json"]:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_files(files)
    write_files({folder / "pyramid.json": json_text(described).encode()})  # last: complete
    return described


@dataclass
class BuildResult:
    records: list[dict]  # {"meta": render sidecar, "score": Score.as_dict()}, in seeds order
    rendered: list[str] = field(default_factory=list)  # ids rendered by this build
    written: list[str] = field(default_factory=list)  # every file of the site, relative to out
    removed: list[str] = field(default_factory=list)  # stale files of earlier builds


# ---- phase 1: records ------------------------------------------------------------------


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _variants(out: Path, artwork_id: str, png: Path, size: int) -> dict[str, int]:
    """Thumbnail and large sizes, WebP and PNG, derived once; returns {name: side}."""
    sides = {"thumb": min(THUMB, size), "large": min(LARGE, size)}
    missing = {}
    with Image.open(png) as full:
        full.load()
        for name, side in sides.items():
            for ext, fmt in (("webp", "WEBP"), ("png", "PNG")):
                path = variant_path(out, artwork_id, name, ext)
                if path.exists():
                    continue
                resized = side != full.width
                image = downsample(full, side)
                # black and white compresses best losslessly; antialiased grey, lossy
                options = ({"quality": 90} if resized else {"lossless": True, "method": 6}
                           ) if fmt == "WEBP" else {"optimize": True}
                buf = io.BytesIO()
                image.save(buf, format=fmt, **options)
                missing[path] = buf.getvalue()
    if missing:
        write_files(missing)
    return sides


def gather(specs: list[ArtworkSpec], out: Path, *, device: torch.device, backend: str = "auto",
           progress: bool = False, deep_zoom: int | None = None
           ) -> tuple[list[dict], list[str]]:
    """Render, score and derive what is missing; return (records, ids rendered now)."""
    records, rendered = [], []
    for spec in tqdm(specs, unit="artwork", disable=not progress, desc="build"):
        png = image_path(out, spec)
        meta = _read_json(png.with_suffix(".json")) if png.exists() else None
        if meta is None:
            meta = render(spec, png, device=device, backend=backend, progress=progress)
            rendered.append(spec.id)
        # the title is display only (not in the id); wq/wv say whether the matrices were given
        meta = meta | {"title": spec.title, "wq": spec.canonical()["wq"],
                       "wv": spec.canonical()["wv"]}
        cached = _read_json(score_path(out, spec.id))
        if cached is None:
            cached = score(load_labels(png)).as_dict()
            write_files({score_path(out, spec.id): json_text(cached).encode()})
        sides = _variants(out, spec.id, png, meta["size"])
        record = {"meta": meta, "score": cached, "sides": sides}
        if deep_zoom is not None:
            record["deepzoom"] = _pyramid(out, spec, deep_zoom, device=device,
                                          backend=backend, progress=progress)
        records.append(record)
    return records, rendered


# ---- the pure context --------------------------------------------------------------------


def _num(value: float) -> str:
    """A number as the command line takes it back exactly: 8 for 8.0, repr otherwise."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _shown(value: float) -> str:
    return f"{value:.4f}".replace("-", "\u2212")


def render_command(meta: dict) -> str:
    """The `attnart render` call that re-creates the artwork's full-resolution PNG."""
    parts = ["attnart", "render", str(meta["seed"]),
             "--resolution", str(meta["resolution"]), "--points", str(meta["points"]),
             "--iterations", str(meta["iterations"]),
             "--window=" + ",".join(_num(v) for v in meta["window"]),
             "--threshold", _num(meta["threshold"]), "--init", meta["init"],
             "--rng", meta["rng"], "--cuda-sms", str(meta["cuda_sms"]),
             "--cuda-threads-per-sm", str(meta["cuda_threads_per_sm"])]
    for key in ("wq", "wv"):
        if meta.get(key) is not None:
            parts.append(f"--{key}=" + ",".join(_num(v) for v in meta[key]))
    parts += ["-o", f"{meta['id']}.png"]
    return " ".join(parts)


def _absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path if base_url else path


def _attributes(meta: dict, sc: dict) -> list[dict]:
    numbers = [("Seed", meta["seed"]), ("Fractal dimension", round(sc["fractal_dimension"], 4)),
               ("White fraction", round(sc["white_fraction"], 4)), ("Points", meta["points"]),
               ("Iterations", meta["iterations"]), ("Resolution", meta["resolution"])]
    words = [("Structure", sc["traits"]["structure"]), ("Tone", sc["traits"]["tone"]),
             ("Init", meta["init"]), ("RNG", meta["rng"])]
    return ([{"trait_type": k, "value": v, "display_type": "number"} for k, v in numbers]
            + [{"trait_type": k, "value": v} for k, v in words])


def _anchors(records: list[dict]) -> list[str]:
    """`seed-<seed>` fragments; a seed that appears twice falls back to `seed-<id>`."""
    seeds = [r["meta"]["seed"] for r in records]
    return [f"seed-{s}" if seeds.count(s) == 1 else f"seed-{r['meta']['id']}"
            for s, r in zip(seeds, records)]


def build_context(records: list[dict], *, title: str = DEFAULT_TITLE, base_url: str = "",
                  text: str = DEFAULT_TEXT) -> dict:
    """Everything the templates show, from the records alone: no files, no computation.

    Paths are relative to the site root; pages prefix them with their own `root`.
    """
    artworks = []
    for record, anchor in zip(records, _anchors(records)):
        meta, sc = record["meta"], record["score"]
        aid = meta["id"]
        sides = record["sides"]
        widths = sorted(set(sides.values()))
        by_width = {w: next(n for n, s in sides.items() if s == w) for w in widths}
        images = {
            "full": f"images/{aid}.png", "size": meta["size"],
            **{f"{n}_{ext}": f"images/{aid}-{n}.{ext}" for n in sides for ext in ("webp", "png")},
            "srcset_webp": [(f"images/{aid}-{by_width[w]}.webp", w) for w in widths],
            "srcset_png": [(f"images/{aid}-{by_width[w]}.png", w) for w in widths],
            "thumb_side": sides["thumb"], "large_side": sides["large"],
        }
        name = meta.get("title") or f"Seed {meta['seed']}"
        page = f"artworks/{aid}.html"
        parameters = [
            ("n (points)", str(meta["points"])), ("d (dimension)", "2"),
            ("T (iterations)", str(meta["iterations"])),
            ("window (a min, a max, b min, b max)", ", ".join(_num(v) for v in meta["window"])),
            ("resolution", f"{meta['resolution']} × {meta['resolution']}"),
            ("init mode", meta["init"]),
            ("rng", f"{meta['rng']} (SMs {meta['cuda_sms']}, threads/SM "
                    f"{meta['cuda_threads_per_sm']})" if meta["rng"] == "cuda" else meta["rng"]),
            ("threshold", _num(meta["threshold"])),
        ]
        scores = [("fractal dimension", f"{sc['fractal_dimension']:.3f}"),
                  ("fit r²", f"{sc['r2']:.3f}"),
                  ("fractal dimension, full resolution", f"{sc['raw_fractal_dimension']:.3f}"),
                  ("white fraction", f"{sc['white_fraction']:.1%}"),
                  ("boundary fraction", f"{sc['boundary_fraction']:.2%}")]
        description = (f"{name}: seed {meta['seed']}, fractal dimension "
                       f"{sc['fractal_dimension']:.3f}, "
                       + ", ".join(sc["traits"].values()) + ".")
        artworks.append({
            "id": aid, "name": name, "seed": meta["seed"], "anchor": anchor, "page": page,
            "deepzoom": record.get("deepzoom"),
            "images": images,
            "matrices": [(label, [[_shown(v) for v in row] for row in meta[key]])
                         for label, key in (("Q", "W_Q"), ("V", "W_V"))],
            "parameters": parameters, "scores": scores, "traits": dict(sc["traits"]),
            "score": round(sc["fractal_dimension"], 3),
            "caption": f"Seed {meta['seed']} · fractal dimension {sc['fractal_dimension']:.3f}",
            "command": render_command(meta), "sidecar": f"images/{aid}.json",
            "metadata_path": f"metadata/{aid}.json",
            "metadata": {
                "name": name, "description": description,
                "image": _absolute(base_url, f"images/{aid}.png"),
                "external_url": _absolute(base_url, page),
                "attributes": _attributes(meta, sc),
            },
        })
        if record.get("deepzoom"):  # the zoomable page is the artwork's interactive form
            artworks[-1]["metadata"]["animation_url"] = _absolute(base_url, page)
    for i, art in enumerate(artworks):
        art["previous"] = artworks[i - 1]["page"] if i > 0 else None
        art["previous_name"] = artworks[i - 1]["name"] if i > 0 else None
        art["next"] = artworks[i + 1]["page"] if i + 1 < len(artworks) else None
        art["next_name"] = artworks[i + 1]["name"] if i + 1 < len(artworks) else None
    collection = {
        "name": title, "description": text,
        "image": _absolute(base_url, artworks[0]["images"]["thumb_png"]) if artworks else "",
        "external_link": _absolute(base_url, "index.html"),
    }
    return {"site": {"title": title, "text": text, "base_url": base_url},
            "artworks": artworks, "collection": collection}


# ---- phase 2: pages ----------------------------------------------------------------------


def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


def site_files(context: dict, templates: Path = TEMPLATES) -> dict[str, bytes]:
    """Every page, metadata file and static file of the site, by path relative to its root."""
    env = environment(templates)
    files = {"index.html": env.get_template("index.html").render(context, root="").encode()}
    page = env.get_template("artwork.html")
    for art in context["artworks"]:
        files[art["page"]] = page.render(context, art=art, root="../").encode()
        files[art["metadata_path"]] = json_text(art["metadata"]).encode()
    files["metadata/collection.json"] = json_text(context["collection"]).encode()
    static = templates / "static"
    for path in sorted(static.rglob("*")):
        if path.is_file():
            files[f"static/{path.relative_to(static).as_posix()}"] = path.read_bytes()
    if any(art["deepzoom"] for art in context["artworks"]):  # the explorer's viewer, shared
        leaflet = resources.files("generator.explore") / "static" / "leaflet"
        for name in ("leaflet.js", "leaflet.css", "LICENSE", "VERSION"):
            files[f"static/leaflet/{name}"] = (leaflet / name).read_bytes()
    return files


def _image_files(records: list[dict]) -> list[str]:
    names = []
    for record in records:
        aid = record["meta"]["id"]
        names += [f"images/{aid}.png", f"images/{aid}.json", f"images/{aid}.score.json"]
        names += [f"images/{aid}-{n}.{ext}" for n in record["sides"] for ext in ("webp", "png")]
        pyramid = record.get("deepzoom")
        if pyramid is not None:
            names.append(f"{pyramid['path']}/pyramid.json")
            for z in range(pyramid["levels"]):
                count = -(-pyramid["size"] // (pyramid["tile"] << (pyramid["levels"] - 1 - z)))
                names += [f"{pyramid['path']}/{z}/{x}/{y}.png" for x in range(count)
                          for y in range(count) if f"{z}/{x}/{y}" not in pyramid["blank"]]
    return names


def build(specs: list[ArtworkSpec], out: Path, *, device: torch.device, backend: str = "auto",
          title: str = DEFAULT_TITLE, base_url: str = "", progress: bool = False,
          deep_zoom: int | None = None) -> BuildResult:
    """Render what is missing (by spec id), score it, and write the gallery into `out`;
    `deep_zoom` N also renders each artwork at N² as a zoomable tile pyramid on its page."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} is a file; give a folder")
    if deep_zoom is not None and not DEEP_TILE <= deep_zoom <= MAX_RESOLUTION:
        raise SpecError(f"--deep-zoom must be in {DEEP_TILE}..{MAX_RESOLUTION} (pixels a side), "
                        f"got {deep_zoom}")
    for spec in specs:  # every artwork is scored, and scores need room for their boxes
        if spec.resolution < MIN_SIDE:
            raise SpecError(f"a gallery needs --resolution {MIN_SIDE} or more (seed "
                            f"{spec.seed} has {spec.resolution})")
    (out / "images").mkdir(parents=True, exist_ok=True)
    records, rendered = gather(specs, out, device=device, backend=backend, progress=progress,
                               deep_zoom=deep_zoom)
    files = site_files(build_context(records, title=title, base_url=base_url))
    written = sorted(set(files) | set(_image_files(records)) | {MANIFEST})
    previous = (_read_json(out / MANIFEST) or {}).get("files", [])
    theirs = sorted(n for n in files if n not in previous and (out / n).exists())
    if theirs:
        more = f" (and {len(theirs) - 1} more files)" if len(theirs) > 1 else ""
        raise OutputError(f"{out / theirs[0]}{more} was not written by attnart build and would "
                          "be overwritten; move it away or build into another folder")
    files[MANIFEST] = json_text({"files": written}).encode()
    for name in files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
    write_files({out / name: data for name, data in files.items()})
    removed = []
    for name in sorted(set(previous) - set(written)):
        path = out / name
        if ".." in Path(name).parts or Path(name).is_absolute() or not path.is_file():
            continue  # a manifest names files inside the site only
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.append(name)
    return BuildResult(records, rendered, written, removed)
