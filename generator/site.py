"""The static gallery: every artwork of a seeds file rendered, scored and published.

Two phases, as mkdocs builds: first every record is gathered (render what is missing, score
what is unscored, derive the web sizes), then the pages come from templates fed by the pure
`build_context()`, which tests assert on without parsing HTML. All links are relative, so the
site works from file://, at a domain root and under a sub-path; `base_url` only makes the
NFT metadata's `image` and `external_url` absolute.

Files the build writes are listed in `MANIFEST` before it writes them; a rebuild removes only
files an earlier build listed there and this one no longer writes, never anything else in the
folder, and nothing outside it (a folder on the way may be a link to elsewhere). Pages,
metadata and static files are written all at once (`write_files`), so an interrupted build
leaves the previous site as it was, and the next build removes its temporaries. One build at a
time writes a folder (`files.locked`).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import math
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from generator import animate, cards, live, rng, shade
from generator.cache import RenderCache
from generator.errors import SpecError
from generator.files import (
    check_ours,
    check_paths,
    check_writable,
    json_text,
    locked,
    make_folder,
    read_input,
    remove_files,
    remove_temporaries,
    write_files,
)
from generator.render import cached_render, describe, downsample, intact, render_image
from generator.score import ESTIMATOR, FEATURES, MIN_SIDE, load_labels, measured, score
from generator.spec import (
    DEFAULT_TITLE,
    MAX_RESOLUTION,
    ArtworkSpec,
    check_line,
    exact_number,
    paragraph,
    render_args,
    render_command,
)
from generator.theme import Theme

MANIFEST = ".attnart-manifest.json"
THUMB = 400  # pixels a side of the grid thumbnails
LARGE = 1200  # pixels a side of the lightbox / artwork page image
MAP_TEXT = ("Convergence landscapes of an attention-like dynamical map: n unit vectors follow "
            "X ← rownorm(softmax(X W_Qᵀ (X W_Kᵀ)ᵀ) X W_Vᵀ) with W_K = diag(a, b), one "
            "pixel for each (a, b). ")
SHADE_TEXT = {"binary": "White where they synchronise, black where they do not.",
              "speed": "Coloured by how soon they synchronise, or how far apart they stay.",
              "both": "White where they synchronise and black where they do not, or coloured "
                      "by how soon they do."}


def default_text(records: list[dict]) -> str:
    """The collection's description when none is given, saying what its pictures show."""
    shades = {r["meta"].get("shade", "binary") for r in records}
    return MAP_TEXT + SHADE_TEXT[shades.pop() if len(shades) == 1 else "both"]


VARIANTS = ("thumb", "large")  # derived sizes of each image, WebP and PNG


def artwork_files(aid: str) -> dict[str, str]:
    """The one place the site's files of an artwork are named, relative to the site root."""
    names = {"page": f"artworks/{aid}.html", "metadata": f"metadata/{aid}.json",
             "card": f"images/{aid}-card.png",
             "full": f"images/{aid}.png", "sidecar": f"images/{aid}.json",
             "score": f"images/{aid}.score.json", "live": f"live/{aid}.html"}
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
    write_files(files, root=out)
    write_files({folder / "pyramid.json": json_text(described).encode()}, root=out)  # last
    return described


@dataclass
class BuildResult:
    records: list[dict]  # {"meta": render sidecar, "score": Score.as_dict()}, in seeds order
    rendered: list[str] = field(default_factory=list)  # ids rendered by this build
    repaired: list[str] = field(default_factory=list)  # damaged cached renders, rendered again
    written: list[str] = field(default_factory=list)  # every file of the site, relative to out
    removed: list[str] = field(default_factory=list)  # stale files of earlier builds
    gone: list[str] = field(default_factory=list)  # titles of artworks no longer published
    pyramids: list[str] = field(default_factory=list)  # ids whose pyramid this build made
    videos: list[str] = field(default_factory=list)  # ids whose video this build made


# ---- phase 1: records ------------------------------------------------------------------


def _read_json(path: Path) -> dict | None:
    """The JSON object in attnart's own file `path`, or None when it is missing or is not
    one (damaged, or a FIFO or device put in its place: never read, and refused when the
    file is to be written)."""
    if not path.exists():
        return None
    try:
        data = json.loads(read_input(path, "attnart's file"))
    except ValueError:  # undecodable, or read_input's refusal
        return None
    return data if isinstance(data, dict) else None


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
    write_files(missing, root=out)
    return sides


def gather(specs: list[ArtworkSpec], out: Path, *, device: str, backend: str = "auto",
           elsewhere: tuple[Path, ...] = (), cache: RenderCache | None = None,
           deep_zoom: int | None = None, progress: bool = False) -> BuildResult:
    """Render, score and derive what is missing; `cache` (the user's render cache) and
    `elsewhere` (other sites) hold intact renders that are copied rather than rendered again;
    `deep_zoom` N adds each artwork's tile pyramid at N². Returns the records and what was
    done."""
    result = BuildResult([])
    bar = tqdm(specs, unit="artwork", disable=not progress, desc="build")
    for spec in bar:
        bar.set_postfix_str(spec.title or f"seed {spec.seed}", refresh=False)
        png = image_path(out, spec)
        meta, how = cached_render(spec, png, device=device, backend=backend,
                                  elsewhere=reusable(spec, out, elsewhere), root=out,
                                  cache=cache)
        if how in ("rendered", "repaired"):
            result.rendered.append(spec.id)
        if how == "repaired":
            result.repaired.append(artwork_files(spec.id)["full"])
        # the title is display only (not in the id); wq/wv say whether the matrices were given
        meta = meta | {"title": spec.title, "wq": spec.canonical()["wq"],
                       "wv": spec.canonical()["wv"]}
        score_file = out / artwork_files(spec.id)["score"]
        cached = None if how != "cached" else _read_json(score_file)
        # re-scored when from another estimator than today's, or lacking a score (as 0.1's)
        if (cached is None or cached.get("estimator") != ESTIMATOR
                or not all(key in cached for key in FEATURES)):
            cached = score(_labels(png, meta), landscape=True).as_dict()
            write_files({score_file: json_text(cached).encode()}, root=out)
        sides = _variants(out, spec.id, png, meta["size"])
        # when the picture was made: the feed's and sitemap's dates, the same on a rebuild
        made = datetime.datetime.fromtimestamp(png.stat().st_mtime, datetime.UTC)
        record = {"meta": meta, "score": cached, "sides": sides,
                  "updated": made.replace(microsecond=0).isoformat().replace("+00:00", "Z")}
        if deep_zoom is not None:
            if not (pyramid_dir(out, spec.id, deep_zoom) / "pyramid.json").is_file():
                result.pyramids.append(spec.id)
            record["deepzoom"] = _pyramid(out, spec, deep_zoom, device=device,
                                          backend=backend, progress=progress)
        if spec.video:
            record["video"] = video_file(spec)
            if not (out / record["video"]).is_file():  # written whole, or not at all
                result.videos.append(spec.id)
                frames_spec, motion, seconds, fps = animate.gallery_plan(spec)
                animate.animate(frames_spec, motion, out / record["video"], seconds=seconds,
                                fps=fps, device=device, backend=backend, force=True)
        result.records.append(record)
    return result


def _labels(png: Path, meta: dict) -> np.ndarray:
    """The labels a render shows: its black and white, or its colours' classes."""
    if meta.get("shade", "binary") == "binary":  # a render of ours, up to MAX_RESOLUTION²
        return load_labels(png, max_pixels=MAX_RESOLUTION ** 2)
    with Image.open(png) as image:
        return shade.labels_of(np.asarray(image.convert("RGB")), meta["palette"])


# ---- the pure context --------------------------------------------------------------------


def _shown(value: float) -> str:
    return f"{value:.4f}".replace("-", "\u2212")




def check_base_url(url: str) -> str:
    """`url` as the metadata will carry it: an absolute http(s) URL, percent-encoded where a
    URL may not hold a character as typed (spaces, non-ASCII), ending in '/'; '' stays ''."""
    if not url:
        return ""
    check_line(url, "--base-url")
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
             ("Dimension", dimension_band(sc["fractal_dimension"])),
             ("Init", meta["init"]), ("RNG", meta["rng"]),
             ("Shade", meta.get("shade", "binary"))]
    if meta.get("shade", "binary") != "binary":  # a palette file's colours are "custom"
        palette = meta["palette"]
        words.append(("Palette", palette if isinstance(palette, str) else "custom"))
    return ([{"trait_type": k, "value": v, "display_type": "number"} for k, v in numbers]
            + [{"trait_type": k, "value": v} for k, v in words])


def dimension_band(dimension: float) -> str:
    """The tenth a fractal dimension falls in, as a trait to browse by: "1.6–1.7"; by the
    three decimals pages show, so that "D 1.300" is in "1.3–1.4"."""
    low = math.floor(round(dimension, 3) * 10 + 1e-9) / 10
    return f"{low:.1f}–{low + 0.1:.1f}"


def _traits(artworks: list[dict]) -> list[dict]:
    """Every word trait of the collection with its values' counts, in the metadata's order;
    each artwork's own traits get their share of the collection ("12 % have it")."""
    counts: dict[str, Counter] = {}
    for art in artworks:
        for attr in art["metadata"]["attributes"]:
            if "display_type" not in attr:
                counts.setdefault(attr["trait_type"], Counter())[attr["value"]] += 1
    for art in artworks:
        art["trait_shares"] = [
            {"name": a["trait_type"], "value": a["value"],
             "share": counts[a["trait_type"]][a["value"]] / len(artworks)}
            for a in art["metadata"]["attributes"] if "display_type" not in a]
    return [{"name": name, "key": name.lower(), "values": sorted(values.items())}
            for name, values in counts.items()]


def _anchors(records: list[dict]) -> list[str]:
    """`seed-<seed>` fragments; a seed that appears twice falls back to `seed-<id>`."""
    seeds = [r["meta"]["seed"] for r in records]
    return [f"seed-{s}" if seeds.count(s) == 1 else f"seed-{r['meta']['id']}"
            for s, r in zip(seeds, records)]


def build_context(records: list[dict], *, title: str = DEFAULT_TITLE, base_url: str = "",
                  text: str | None = None, artist: str = "", license: str = "") -> dict:
    """Everything the templates show, from the records alone: no files, no computation.

    Paths are relative to the site root; pages prefix them with their own `root`.
    `base_url` is as `check_base_url` returns it; `text` describes the collection
    (`default_text` when None), `artist` and `license` are shown where given.
    """
    text = default_text(records) if text is None else text
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
            ("window (a min, a max, b min, b max)",
             ", ".join(exact_number(v) for v in meta["window"])),
            ("resolution", f"{meta['resolution']} × {meta['resolution']}"),
            ("init mode", meta["init"]),
            ("rng", f"{meta['rng']} (SMs {meta['cuda_sms']}, threads/SM "
                    f"{meta['cuda_threads_per_sm']})" if meta["rng"] == "cuda" else meta["rng"]),
            ("threshold", exact_number(meta["threshold"])),
        ]
        where = measured(sc)
        scores = [("fractal dimension",
                   f"{sc['fractal_dimension']:.3f}{f' ({where})' if where else ''}"),
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
                       + ", ".join(sc["traits"].values()) + ". " + text).strip()
        artworks.append({
            "id": aid, "name": name, "seed": meta["seed"], "anchor": anchor, "page": page,
            "deepzoom": record.get("deepzoom"), "video": record.get("video"),
            "live": record.get("live"),
            "images": images,
            "matrices": [(label, [[_shown(v) for v in row] for row in meta[key]])
                         for label, key in (("Q", "W_Q"), ("V", "W_V"))],
            "parameters": parameters, "scores": scores, "traits": dict(sc["traits"]),
            "score": round(sc["fractal_dimension"], 3),
            "caption": f"Seed {meta['seed']} · fractal dimension {sc['fractal_dimension']:.3f}",
            "command": render_command(meta), "command_args": render_args(meta),
            "white": sc["white_fraction"], "sidecar": names["sidecar"],
            "metadata_path": names["metadata"],
            "metadata": {
                "name": name, "description": description,
                "image": _metadata_url(base_url, names["full"]),
                "external_url": _metadata_url(base_url, page),
                "attributes": _attributes(meta, sc),
            } | {k: v for k, v in (("artist", artist), ("license", license)) if v},
        })
        artworks[-1]["updated"] = record.get("updated", "")
        artworks[-1]["social"] = base_url and {
            "title": name, "description": description, "url": base_url + urllib.parse.quote(page),
            "image": base_url + urllib.parse.quote(names["card"]),
            "alt": f"{name}, seed {meta['seed']}"}
        # the artwork rendering itself, else in motion, else its zoomable page; a video
        # beside a live page moves to video_url
        if record.get("live"):
            artworks[-1]["metadata"]["animation_url"] = _metadata_url(base_url, record["live"])
            if record.get("video"):
                artworks[-1]["metadata"]["video_url"] = _metadata_url(base_url, record["video"])
        elif record.get("video"):
            artworks[-1]["metadata"]["animation_url"] = _metadata_url(base_url, record["video"])
        elif record.get("deepzoom"):
            artworks[-1]["metadata"]["animation_url"] = _metadata_url(base_url, page)
    for i, art in enumerate(artworks):
        art["index"] = i
        art["previous"] = artworks[i - 1]["page"] if i > 0 else None
        art["previous_name"] = artworks[i - 1]["name"] if i > 0 else None
        art["next"] = artworks[i + 1]["page"] if i + 1 < len(artworks) else None
        art["next_name"] = artworks[i + 1]["name"] if i + 1 < len(artworks) else None
    collection = {
        "name": title, "description": text,
        "image": _metadata_url(base_url, artworks[0]["images"]["thumb_png"]) if artworks else "",
        "external_link": _metadata_url(base_url, "index.html"),
    }
    social = base_url and artworks and {
        "title": title, "description": text, "url": base_url + "index.html",
        "image": artworks[0]["social"]["image"], "alt": artworks[0]["social"]["alt"]}
    return {"site": {"title": title, "text": text, "base_url": base_url, "artist": artist,
                     "license": license, "social": social,
                     "updated": max((a["updated"] for a in artworks), default="")},
            "artworks": artworks, "collection": collection, "traits": _traits(artworks)}


# ---- phase 2: pages ----------------------------------------------------------------------


FEEDS = ("feed.xml", "sitemap.xml")
PAGES = ("index.html", "artwork.html", *FEEDS)


def site_files(context: dict, theme: Theme | None = None) -> dict[str, bytes]:
    """Every page, metadata file and static file of the site, by path relative to its root."""
    theme = theme or Theme()
    pages = theme.templates(*PAGES)
    with theme.errors():
        files = {"index.html": pages["index.html"].render(
            context, root="", social=context["site"]["social"]).encode()}
        if context["site"]["base_url"]:  # absolute URLs only: none without a base URL
            for name in FEEDS:
                files[name] = pages[name].render(context).encode()
        for art in context["artworks"]:
            files[art["page"]] = pages["artwork.html"].render(
                context, art=art, social=art["social"], root="../").encode()
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


def _check_theme(theme: Theme, specs: list[ArtworkSpec], collection: dict,
                 deep_zoom: int | None) -> None:
    """Render every page once from stand-in records of the first artworks (their real
    specs, no render, a blank image's scores), so that a theme using something the site does
    not define fails before the first render, naming its file; nothing is written."""
    blank = score(np.zeros((MIN_SIDE, MIN_SIDE), dtype=bool)).as_dict()
    records = []
    for i, spec in enumerate(specs[:2]):
        meta = describe(spec, rng.draw(spec)) | {"size": spec.resolution,
                                                 "wq": spec.canonical()["wq"],
                                                 "wv": spec.canonical()["wv"]}
        side = min(LARGE, spec.resolution)
        record = {"meta": meta, "score": blank, "sides": {"thumb": min(THUMB, side),
                                                          "large": side},
                  "updated": "2000-01-01T00:00:00Z"}
        if deep_zoom is not None:
            record["deepzoom"] = {"path": "deepzoom", "size": deep_zoom, "tile": DEEP_TILE,
                                  "levels": pyramid_levels(deep_zoom), "blank": {},
                                  "colour": False}
        if i == 1 or spec.video:  # the page of an artwork with a video, too
            record["video"] = "videos/sample.mp4"
        records.append(record)
    site_files(build_context(records, **collection), theme)


def _planned(specs: list[ArtworkSpec], theme: Theme, deep_zoom: int | None,
             shared: bool, live_pages: bool = True) -> list[str]:
    """Every file a build of `specs` may write, relative to the site root, known before any
    (every tile of a pyramid: which are blank is known only once it is rendered); `shared`:
    with the social cards and feeds that a base URL makes possible; `live_pages`: with each
    artwork's live page."""
    names = {"index.html", "metadata/collection.json", MANIFEST}
    names |= {f"static/{name}" for name in theme.static_files()}
    if shared:
        names |= set(FEEDS)
    if deep_zoom is not None:
        names |= {f"static/leaflet/{name}" for name in _leaflet()}
    for spec in specs:
        names |= {path for key, path in artwork_files(spec.id).items()
                  if (shared or key != "card") and (live_pages or key != "live")}
        if deep_zoom is not None:
            names |= set(pyramid_files(spec.id, deep_zoom))
        if spec.video:
            names.add(video_file(spec))
    return sorted(names)


def _manifest(files: list[str]) -> bytes:
    return json_text({"files": sorted(files)}).encode()


def build(specs: list[ArtworkSpec], out: Path, *, device: str, backend: str = "auto",
          title: str = DEFAULT_TITLE, base_url: str = "", description: str | None = None,
          artist: str = "", license: str = "", templates: Path | None = None,
          elsewhere: tuple[Path, ...] = (), cache: RenderCache | None = None,
          force: bool = False, deep_zoom: int | None = None, live_pages: bool = True,
          progress: bool = False) -> BuildResult:
    """Render what is missing (by spec id), score it, and write the gallery into `out`;
    `deep_zoom` N also renders each artwork at N² as a zoomable tile pyramid on its page.

    `title`, `description` (what the pictures show when None), `artist` and `license`
    describe the collection on its pages and in its metadata; `base_url` adds social cards,
    `feed.xml` and `sitemap.xml`, which need absolute URLs.
    `templates` is a user theme folder overriding the built-in theme file by file;
    `cache`, the user's render cache (renders are made there and copied in), `elsewhere`,
    other sites whose renders may be reused; `live_pages`, each artwork's self-rendering
    WebGL2 page (`generator.live`), its token's animation_url. Everything that could stop the
    build is checked before the first write, files attnart did not write are replaced only
    with `force`, and the manifest lists every file the build is about to write before it
    writes any, so files of an interrupted build are the next build's to replace or remove.
    A rebuild with nothing new writes nothing.
    """
    theme = Theme(templates)
    theme.templates(*PAGES)  # a broken theme fails before any render
    check_line(title, "--title")
    collection = {"title": title, "base_url": check_base_url(base_url),
                  "artist": paragraph(artist, "--artist"),
                  "license": paragraph(license, "--license"),
                  "text": description and paragraph(description, "--description") or None}
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
    _check_theme(theme, specs, collection, deep_zoom)
    planned = _planned(specs, theme, deep_zoom, bool(collection["base_url"]), live_pages)
    make_folder(out, "output")
    with locked(out):
        check_writable([out / MANIFEST], root=out)  # a link, a FIFO, protected: never read
        listed = (_read_json(out / MANIFEST) or {}).get("files")
        previous = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
        check_paths(out, planned)
        check_ours(out, planned, set(previous), writer="attnart build", force=force)
        remove_temporaries(out, sorted(set(planned) | set(previous)))
        for name in planned:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
        journal = sorted(set(previous) | set(planned))
        if journal != previous:
            write_files({out / MANIFEST: _manifest(journal)}, root=out)
        result = _write(specs, out, planned, previous, theme, collection, device=device,
                        backend=backend, elsewhere=elsewhere, cache=cache,
                        deep_zoom=deep_zoom, progress=progress, live_pages=live_pages)
    if cache is not None:
        cache.evict()
    return result


def _is_page(name: str) -> bool:
    return name.startswith("artworks/") and name.endswith(".html")


def _title(out: Path, page: str) -> str:
    """How an artwork that leaves the site was shown: the name its metadata gave it (still
    there), with its seed from its sidecar; else its id."""
    aid = Path(page).stem
    shown, meta = (_read_json(out / artwork_files(aid)[key]) for key in ("metadata", "sidecar"))
    name = shown.get("name") if isinstance(shown, dict) else None
    seed = meta.get("seed") if isinstance(meta, dict) else None
    return f"{name} (seed {seed})" if isinstance(name, str) and seed is not None else aid


def _cards(out: Path, context: dict) -> dict[str, bytes]:
    """Each artwork's social card, made from its large image (the sizes a card shows)."""
    made = {}
    for art in context["artworks"]:
        with Image.open(out / art["images"]["large_png"]) as large:
            made[artwork_files(art["id"])["card"]] = cards.card(
                large, title=art["name"], seed=art["seed"], site=context["site"]["title"])
    return made


def _live_pages(specs: list[ArtworkSpec], context: dict) -> dict[str, bytes]:
    """Each artwork's live page, its traits handed to the platforms that read them."""
    pages = {}
    for spec, art in zip(specs, context["artworks"]):
        names = artwork_files(spec.id)
        features = {a["trait_type"]: a["value"] for a in art["metadata"]["attributes"]}
        pages[names["live"]] = live.page(spec, still="../" + names["large_png"],
                                         features=features)
    return pages


def _write(specs, out, planned, previous, theme, collection, *, live_pages: bool,
           **gathering) -> BuildResult:
    """The build once its files are journaled: gather, write the pages, remove the stale
    files, and only then drop them from the manifest, so it never misses a file."""
    result = gather(specs, out, **gathering)
    if live_pages:
        for record in result.records:
            record["live"] = artwork_files(record["meta"]["id"])["live"]
    context = build_context(result.records, **collection)
    files = site_files(context, theme)
    if live_pages:
        files |= _live_pages(specs, context)
    if collection["base_url"]:
        files |= _cards(out, context)
    blank = set()  # tiles of one colour, planned but never written
    for record in result.records:
        if record.get("deepzoom"):
            aid, pyramid = record["meta"]["id"], record["deepzoom"]
            blank |= (set(pyramid_files(aid, pyramid["size"]))
                      - set(pyramid_files(aid, pyramid["size"], pyramid["blank"])))
    planned = [n for n in planned if n not in blank]
    manifest = _manifest(planned)
    changed = {out / n: data for n, data in files.items()
               if not (out / n).is_file() or (out / n).read_bytes() != data}
    if changed:
        write_files(changed, root=out)
    stale = sorted(set(previous) - set(planned))
    result.gone = [_title(out, name) for name in stale if _is_page(name)]
    result.removed = remove_files(out, stale)
    if (out / MANIFEST).read_bytes() != manifest:
        write_files({out / MANIFEST: manifest}, root=out)
    result.written = planned
    return result
