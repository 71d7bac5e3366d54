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
import hashlib
import io
import json
import math
import os
import urllib.parse
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from generator import animate, rng, shade
from generator.errors import OutputError, SpecError
from generator.files import check_ours, json_text, write_files
from generator.render import cached_render, downsample, intact, render_image
from generator.score import FEATURES, MIN_SIDE, load_labels, score
from generator.spec import MAX_RESOLUTION, ArtworkSpec
from generator.theme import Theme

MANIFEST = ".attnart-manifest.json"
THUMB = 400  # pixels a side of the grid thumbnails
LARGE = 1200  # pixels a side of the lightbox / artwork page image
DEFAULT_TITLE = "Attention Dynamics Art"
DEFAULT_TEXT = ("Convergence landscapes of an attention-like dynamical map: each pixel (a, b) "
                "is white where n unit vectors following X ← rownorm(softmax(X W_Qᵀ (X W_Kᵀ)ᵀ) "
                "X W_Vᵀ), W_K = diag(a, b), synchronise.")


VARIANTS = ("thumb", "large")  # derived sizes of each image, WebP and PNG


def artwork_files(aid: str) -> dict[str, str]:
    """The one place the site's files of an artwork are named, relative to the site root."""
    names = {"page": f"artworks/{aid}.html", "metadata": f"metadata/{aid}.json",
             "full": f"images/{aid}.png", "sidecar": f"images/{aid}.json",
             "score": f"images/{aid}.score.json"}
    return names | {f"{n}_{ext}": f"images/{aid}-{n}.{ext}"
                    for n in VARIANTS for ext in ("webp", "png")}


def video_file(spec: ArtworkSpec) -> str | None:
    """Where the gallery keeps the video `spec.video` asks for, named by the artwork and the
    video's options, so a changed video is made anew; None when it asks for none."""
    if not spec.video:
        return None
    options = hashlib.sha256(json.dumps(spec.video).encode()).hexdigest()[:8]
    return f"videos/{spec.id}-{options}.mp4"


def image_path(out: Path, spec: ArtworkSpec) -> Path:
    return out / artwork_files(spec.id)["full"]


def reusable(spec: ArtworkSpec, out: Path, elsewhere: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    """Renders of `spec`'s pixels kept under other names or in other folders: under the ids
    an earlier attnart gave them in `out`, then in the folders of `elsewhere`."""
    return (tuple(out / artwork_files(former)["full"] for former in spec.former_ids())
            + tuple(image_path(folder, spec) for folder in elsewhere))


# ---- deep zoom -----------------------------------------------------------------------------
# A pyramid as web maps cut them: level `levels - 1` is the N² render, each level above it
# half the side (2x2 box means: grey where black and white mix), every level cut into 256²
# tiles named deepzoom/<id>-<N>/<z>/<x>/<y>.png. The deepest level is 1-bit, the others
# 8-bit grey; a speed-shaded artwork's deepest level is a palette PNG of its own colours (RGB
# past 256 of them), the others RGB. A tile of one colour is not written: the page draws it
# from the pyramid's description, which it carries itself, so that nothing is fetched but
# images (file:// works).

DEEP_TILE = 256


def pyramid_levels(side: int) -> int:
    return 1 + max(0, math.ceil(math.log2(side / DEEP_TILE)))


def pyramid_files(artwork_id: str, side: int, blank=()) -> list[str]:
    """The one place a pyramid's files are named, relative to the site root: its description
    and every tile but those in `blank`."""
    folder = f"deepzoom/{artwork_id}-{side}"
    levels = pyramid_levels(side)
    names = [f"{folder}/pyramid.json"]
    for z in range(levels):
        count = -(-side // (DEEP_TILE << (levels - 1 - z)))
        names += [f"{folder}/{z}/{x}/{y}.png" for x in range(count) for y in range(count)
                  if f"{z}/{x}/{y}" not in blank]
    return names


def _deepest_mode(spec: ArtworkSpec):
    """How a tile of the deepest level is stored, without loss: 1-bit, or a palette image of
    the artwork's own colours when there are at most 256."""
    if spec.shade == "binary":
        return lambda tile: tile.convert("1", dither=Image.Dither.NONE)
    colours = shade.rgb(spec.palette)
    if len(colours) > 256:
        return lambda tile: tile
    # each pixel's index by its exact colour (PIL's quantize picks among near colours)
    keys = colours.astype(np.int64) @ np.array([65536, 256, 1])
    order = np.argsort(keys, kind="stable")

    def indexed(tile: Image.Image) -> Image.Image:
        pixels = np.asarray(tile).astype(np.int64) @ np.array([65536, 256, 1])
        image = Image.fromarray(order[np.searchsorted(keys[order], pixels)].astype(np.uint8),
                                mode="P")
        image.putpalette(colours.ravel().tolist())
        return image

    return indexed


def pyramid_dir(out: Path, artwork_id: str, side: int) -> Path:
    return out / Path(pyramid_files(artwork_id, side)[0]).parent


def _pyramid(out: Path, spec: ArtworkSpec, side: int, *, device: str, backend: str,
             progress: bool) -> dict:
    """Render `spec` at side², write its tiles (once), return the pyramid's description."""
    folder = pyramid_dir(out, spec.id, side)
    described = _read_json(folder / "pyramid.json")
    colour = spec.shade != "binary"
    # (attnart before colour pyramids cut a speed-shaded artwork's in grey: made again)
    if described is not None and described.get("colour", False) == colour:
        return described
    big = dataclasses.replace(spec, resolution=side)
    image = render_image(big, rng.draw(big), device=device, backend=backend,
                         progress=progress)[1]
    deepest = _deepest_mode(spec)
    levels = pyramid_levels(side)
    blank, files = {}, {}
    for z in reversed(range(levels)):
        for y in range(-(-image.height // DEEP_TILE)):
            for x in range(-(-image.width // DEEP_TILE)):
                tile = image.crop((x * DEEP_TILE, y * DEEP_TILE,
                                   min(image.width, (x + 1) * DEEP_TILE),
                                   min(image.height, (y + 1) * DEEP_TILE)))
                extrema = tile.getextrema()
                bands = extrema if tile.mode == "RGB" else (extrema,)
                if all(low == high for low, high in bands) and tile.size == (DEEP_TILE,
                                                                             DEEP_TILE):
                    value = [low for low, _ in bands]
                    blank[f"{z}/{x}/{y}"] = value if tile.mode == "RGB" else value[0]
                    continue
                buf = io.BytesIO()
                if z == levels - 1:
                    tile = deepest(tile)
                tile.save(buf, format="PNG", optimize=True)
                files[folder / str(z) / str(x) / f"{y}.png"] = buf.getvalue()
        image = image.reduce(2)
    described = {"path": folder.relative_to(out).as_posix(), "size": side, "levels": levels,
                 "tile": DEEP_TILE, "blank": blank, "colour": colour}
    for path in [*files, folder / "pyramid.json"]:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_files(files)
    write_files({folder / "pyramid.json": json_text(described).encode()})  # last: complete
    return described


@dataclass
class BuildResult:
    records: list[dict]  # {"meta": render sidecar, "score": Score.as_dict()}, in seeds order
    rendered: list[str] = field(default_factory=list)  # ids rendered by this build
    repaired: list[str] = field(default_factory=list)  # damaged cached renders, rendered again
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
    names = artwork_files(artwork_id)
    todo = [(out / names[f"{name}_{ext}"], side, fmt) for name, side in sides.items()
            for ext, fmt in (("webp", "WEBP"), ("png", "PNG"))]
    todo = [job for job in todo if not (job[0].exists() and intact(job[0]))]
    if not todo:  # a rebuild decodes the full image only when a variant is to be made
        return sides
    missing = {}
    with Image.open(png) as full:
        full.load()
        for path, side, fmt in todo:
            resized = side != full.width
            image = downsample(full, side)
            # black and white compresses best losslessly; antialiased grey, lossy
            options = ({"quality": 90} if resized else {"lossless": True, "method": 6}
                       ) if fmt == "WEBP" else {"optimize": True}
            buf = io.BytesIO()
            image.save(buf, format=fmt, **options)
            missing[path] = buf.getvalue()
    write_files(missing)
    return sides


def gather(specs: list[ArtworkSpec], out: Path, *, device: str, backend: str = "auto",
           elsewhere: tuple[Path, ...] = (), deep_zoom: int | None = None,
           progress: bool = False) -> BuildResult:
    """Render, score and derive what is missing; `elsewhere` are other sites whose intact
    renders are copied rather than rendered again; `deep_zoom` N adds each artwork's tile
    pyramid at N². Returns the records and what was done."""
    result = BuildResult([])
    for spec in tqdm(specs, unit="artwork", disable=not progress, desc="build"):
        png = image_path(out, spec)
        meta, how = cached_render(spec, png, device=device, backend=backend,
                                  elsewhere=reusable(spec, out, elsewhere))
        if how in ("rendered", "repaired"):
            result.rendered.append(spec.id)
        if how == "repaired":
            result.repaired.append(artwork_files(spec.id)["full"])
        # the title is display only (not in the id); wq/wv say whether the matrices were given
        meta = meta | {"title": spec.title, "wq": spec.canonical()["wq"],
                       "wv": spec.canonical()["wv"]}
        score_file = out / artwork_files(spec.id)["score"]
        cached = None if how != "cached" else _read_json(score_file)
        if cached is None or not all(key in cached for key in FEATURES):  # or from 0.1
            cached = score(_labels(png, meta)).as_dict()
            write_files({score_file: json_text(cached).encode()})
        sides = _variants(out, spec.id, png, meta["size"])
        record = {"meta": meta, "score": cached, "sides": sides}
        if deep_zoom is not None:
            record["deepzoom"] = _pyramid(out, spec, deep_zoom, device=device,
                                          backend=backend, progress=progress)
        if spec.video:
            record["video"] = video_file(spec)
            if not (out / record["video"]).is_file():  # written whole, or not at all
                frames_spec, motion, seconds, fps = animate.gallery_plan(spec)
                animate.animate(frames_spec, motion, out / record["video"], seconds=seconds,
                                fps=fps, device=device, backend=backend, force=True)
        result.records.append(record)
    return result


def _labels(png: Path, meta: dict) -> np.ndarray:
    """The labels a render shows: its black and white, or its colours' classes."""
    if meta.get("shade", "binary") == "binary":
        return load_labels(png)
    with Image.open(png) as image:
        return shade.labels_of(np.asarray(image.convert("RGB")), meta["palette"])


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
    if meta.get("shade", "binary") != "binary":
        # the command carries a palette of your own whole, as --palette=#rrggbb,...
        parts += ["--shade", meta["shade"], "--palette=" + shade.palette_text(meta["palette"])]
    parts += ["-o", f"{meta['id']}.png"]
    return " ".join(parts)


def check_base_url(url: str) -> str:
    """`url` as the metadata will carry it: an absolute http(s) URL, percent-encoded where a
    URL may not hold a character as typed (spaces, non-ASCII), ending in '/'; '' stays ''."""
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SpecError(f"--base-url must be an absolute http(s) URL such as "
                        f"https://example.org/art/, got {url!r}")
    if parts.query or parts.fragment:
        raise SpecError(f"--base-url names the folder the site is served from; drop its "
                        f"query or fragment, got {url!r}")
    path = urllib.parse.quote(parts.path, safe="/%:@!$&'()*+,;=~")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/", "", ""))


def _metadata_url(base_url: str, path: str) -> str:
    """A link in metadata/*.json to the site file `path`: under `base_url` when there is one,
    else relative to the metadata folder, where a reader resolves it."""
    return base_url + urllib.parse.quote(path) if base_url else "../" + path


def _attributes(meta: dict, sc: dict) -> list[dict]:
    numbers = [("Seed", meta["seed"]), ("Fractal dimension", round(sc["fractal_dimension"], 4)),
               ("White fraction", round(sc["white_fraction"], 4)), ("Points", meta["points"]),
               ("Iterations", meta["iterations"]), ("Resolution", meta["resolution"])]
    words = [("Structure", sc["traits"]["structure"]), ("Tone", sc["traits"]["tone"]),
             ("Init", meta["init"]), ("RNG", meta["rng"])]
    if meta.get("shade", "binary") != "binary":  # a palette file's colours are "custom"
        palette = meta["palette"]
        words += [("Shade", meta["shade"]),
                  ("Palette", palette if isinstance(palette, str) else "custom")]
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
    `base_url` is as `check_base_url` returns it.
    """
    artworks = []
    for record, anchor in zip(records, _anchors(records)):
        meta, sc = record["meta"], record["score"]
        aid = meta["id"]
        sides = record["sides"]
        widths = sorted(set(sides.values()))
        by_width = {w: next(n for n, s in sides.items() if s == w) for w in widths}
        names = artwork_files(aid)
        images = {
            "full": names["full"], "size": meta["size"],
            **{key: names[key] for n in sides for key in (f"{n}_webp", f"{n}_png")},
            "srcset_webp": [(names[f"{by_width[w]}_webp"], w) for w in widths],
            "srcset_png": [(names[f"{by_width[w]}_png"], w) for w in widths],
            "thumb_side": sides["thumb"], "large_side": sides["large"],
        }
        name = meta.get("title") or f"Seed {meta['seed']}"
        page = names["page"]
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
                  ("boundary fraction", f"{sc['boundary_fraction']:.2%}"),
                  ("grey (mixed) share", f"{sc['grey_fraction']:.1%}"),
                  ("grey-level entropy", f"{sc['grey_entropy']:.2f} bits"),
                  ("compression complexity (zlib)", f"{sc['compression']:.3f}"),
                  ("lacunarity (gliding box)", f"{sc['lacunarity']:.3f}"),
                  ("speckle", f"{sc['speckle']:.3f}"),
                  ("solid black area", f"{sc['solid_black']:.1%}")]
        description = (f"{name}: seed {meta['seed']}, fractal dimension "
                       f"{sc['fractal_dimension']:.3f}, "
                       + ", ".join(sc["traits"].values()) + ".")
        artworks.append({
            "id": aid, "name": name, "seed": meta["seed"], "anchor": anchor, "page": page,
            "deepzoom": record.get("deepzoom"), "video": record.get("video"),
            "images": images,
            "matrices": [(label, [[_shown(v) for v in row] for row in meta[key]])
                         for label, key in (("Q", "W_Q"), ("V", "W_V"))],
            "parameters": parameters, "scores": scores, "traits": dict(sc["traits"]),
            "score": round(sc["fractal_dimension"], 3),
            "caption": f"Seed {meta['seed']} · fractal dimension {sc['fractal_dimension']:.3f}",
            "command": render_command(meta), "sidecar": names["sidecar"],
            "metadata_path": names["metadata"],
            "metadata": {
                "name": name, "description": description,
                "image": _metadata_url(base_url, names["full"]),
                "external_url": _metadata_url(base_url, page),
                "attributes": _attributes(meta, sc),
            },
        })
        if record.get("video"):  # the artwork in motion, else its zoomable page
            artworks[-1]["metadata"]["animation_url"] = _metadata_url(base_url, record["video"])
        elif record.get("deepzoom"):
            artworks[-1]["metadata"]["animation_url"] = _metadata_url(base_url, page)
    for i, art in enumerate(artworks):
        art["previous"] = artworks[i - 1]["page"] if i > 0 else None
        art["previous_name"] = artworks[i - 1]["name"] if i > 0 else None
        art["next"] = artworks[i + 1]["page"] if i + 1 < len(artworks) else None
        art["next_name"] = artworks[i + 1]["name"] if i + 1 < len(artworks) else None
    collection = {
        "name": title, "description": text,
        "image": _metadata_url(base_url, artworks[0]["images"]["thumb_png"]) if artworks else "",
        "external_link": _metadata_url(base_url, "index.html"),
    }
    return {"site": {"title": title, "text": text, "base_url": base_url},
            "artworks": artworks, "collection": collection}


# ---- phase 2: pages ----------------------------------------------------------------------


PAGES = ("index.html", "artwork.html")


def site_files(context: dict, theme: Theme | None = None) -> dict[str, bytes]:
    """Every page, metadata file and static file of the site, by path relative to its root."""
    theme = theme or Theme()
    pages = theme.templates(*PAGES)
    with theme.errors():
        files = {"index.html": pages["index.html"].render(context, root="").encode()}
        for art in context["artworks"]:
            files[art["page"]] = pages["artwork.html"].render(context, art=art,
                                                              root="../").encode()
    for art in context["artworks"]:
        files[art["metadata_path"]] = json_text(art["metadata"]).encode()
    files["metadata/collection.json"] = json_text(context["collection"]).encode()
    files |= {f"static/{name}": data for name, data in theme.static_files().items()}
    if any(art["deepzoom"] for art in context["artworks"]):
        files |= {f"static/leaflet/{name}": data for name, data in _leaflet().items()}
    return files


def _leaflet() -> dict[str, bytes]:
    """The explorer's vendored viewer, which deep-zoom pages share."""
    folder = resources.files("generator.explore") / "static" / "leaflet"
    return {name: (folder / name).read_bytes()
            for name in ("leaflet.js", "leaflet.css", "LICENSE", "VERSION")}


def _planned(specs: list[ArtworkSpec], theme: Theme, deep_zoom: int | None) -> list[str]:
    """Every file a build of `specs` may write, relative to the site root, known before any
    (every tile of a pyramid: which are blank is known only once it is rendered)."""
    names = {"index.html", "metadata/collection.json", MANIFEST}
    names |= {f"static/{name}" for name in theme.static_files()}
    if deep_zoom is not None:
        names |= {f"static/leaflet/{name}" for name in _leaflet()}
    for spec in specs:
        names |= set(artwork_files(spec.id).values())
        if deep_zoom is not None:
            names |= set(pyramid_files(spec.id, deep_zoom))
        if spec.video:
            names.add(video_file(spec))
    return sorted(names)


def _check_folder(out: Path, planned: list[str], previous: list[str], force: bool) -> None:
    """Everything that could stop the build once it has begun writing, checked first."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} is a file; give a folder")
    for folder in sorted({str(Path(name).parent) for name in planned} - {"."}):
        if (out / folder).exists() and not (out / folder).is_dir():
            raise OutputError(f"{out / folder} is a file where the site's {folder}/ folder "
                              "goes; move it away or build into another folder")
    check_ours(out, planned, set(previous), writer="attnart build", force=force)


def _manifest(files: list[str]) -> bytes:
    return json_text({"files": sorted(files)}).encode()


def build(specs: list[ArtworkSpec], out: Path, *, device: str, backend: str = "auto",
          title: str = DEFAULT_TITLE, base_url: str = "", templates: Path | None = None,
          elsewhere: tuple[Path, ...] = (), force: bool = False, deep_zoom: int | None = None,
          progress: bool = False) -> BuildResult:
    """Render what is missing (by spec id), score it, and write the gallery into `out`;
    `deep_zoom` N also renders each artwork at N² as a zoomable tile pyramid on its page.

    `templates` is a user theme folder overriding the built-in theme file by file;
    `elsewhere`, other sites whose renders may be reused. Everything that could stop the
    build is checked before the first write, files attnart did not write are replaced only
    with `force`, and the manifest lists every file the build is about to write before it
    writes any, so files of an interrupted build are the next build's to replace or remove.
    A rebuild with nothing new writes nothing.
    """
    theme = Theme(templates)
    theme.templates(*PAGES)  # a broken theme fails before any render
    base_url = check_base_url(base_url)
    if deep_zoom is not None and not DEEP_TILE <= deep_zoom <= MAX_RESOLUTION:
        raise SpecError(f"--deep-zoom must be in {DEEP_TILE}..{MAX_RESOLUTION} (pixels a side), "
                        f"got {deep_zoom}")
    for spec in specs:  # every artwork is scored, and scores need room for their boxes
        if spec.resolution < MIN_SIDE:
            raise SpecError(f"a gallery needs --resolution {MIN_SIDE} or more (seed "
                            f"{spec.seed} has {spec.resolution})")
        if spec.video:  # a video's options and its encoder, before any render
            animate.gallery_plan(spec)
            animate.encoder()
    planned = _planned(specs, theme, deep_zoom)
    previous = [n for n in (_read_json(out / MANIFEST) or {}).get("files", [])
                if isinstance(n, str)]
    _check_folder(out, planned, previous, force)
    for name in planned:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
    journal = sorted(set(previous) | set(planned))
    if journal != previous:
        write_files({out / MANIFEST: _manifest(journal)})

    result = gather(specs, out, device=device, backend=backend, elsewhere=elsewhere,
                    deep_zoom=deep_zoom, progress=progress)
    files = site_files(build_context(result.records, title=title, base_url=base_url), theme)
    blank = set()  # tiles of one colour, planned but never written
    for record in result.records:
        if record.get("deepzoom"):
            aid, pyramid = record["meta"]["id"], record["deepzoom"]
            blank |= (set(pyramid_files(aid, pyramid["size"]))
                      - set(pyramid_files(aid, pyramid["size"], pyramid["blank"])))
    planned = [n for n in planned if n not in blank]
    files[MANIFEST] = _manifest(planned)
    changed = {out / n: data for n, data in files.items()
               if not (out / n).is_file() or (out / n).read_bytes() != data}
    if changed:
        write_files(changed)
    result.written = planned
    for name in sorted(set(previous) - set(planned)):
        path = out / name
        if ".." in Path(name).parts or Path(name).is_absolute() or not path.is_file():
            continue  # a manifest names files inside the site only
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            result.removed.append(name)
    return result
