"""The personal-site page export: the curated artworks into an existing Jekyll site.

The author's page (`_pages/attention-dynamics-art.md`, in two versions) shows an
`art-gallery` div of `/assets/images/art<seed>_Large.png` images; this module writes those
images and regenerates the page. A page that already exists keeps every byte the author wrote:
only the generated block between `GALLERY_START` and `GALLERY_END` is replaced (a page from
before the markers has its bare `art-gallery` div replaced and gains them). Nothing else in the
site is touched, and a rerun with the same input writes nothing: images are compared with the
bytes that would be written, and the full-resolution renders are cached by spec id in
`CACHE_DIR` (a dot folder, which Jekyll leaves out of the built site).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape
from PIL import Image
from tqdm import tqdm

from generator import site
from generator.errors import OutputError, SpecError
from generator.files import check_ours, json_text, write_files
from generator.render import cached_render, downsample
from generator.spec import ArtworkSpec
from generator.theme import Theme

STYLES = ("v1", "v2", "plain")  # the author's two pages (jekyll-scholar's cite), or no plugin
DEFAULT_PAGE = Path("_pages/attention-dynamics-art.md")
IMAGES_DIR = Path("assets/images")  # where the published page already looks for them
CACHE_DIR = Path(".attnart")  # full-resolution renders by spec id; Jekyll skips dot folders
# The images this tool wrote into the site, so that it never replaces one the author made.
MANIFEST = CACHE_DIR / "manifest.json"
PAGES_DIR = Path("attnart")  # --with-pages: the gallery's own artwork pages, served as is
# The published images are matplotlib 5-inch figures with bicubic smoothing; the repository
# does not record their exact pixel size, so the export writes 1000² (5 in at 200 dpi),
# LANCZOS-downsampled from the render as `attnart render --size` does, never upsampled.
DEFAULT_SIZE = 1000
GALLERY_START = "<!-- attnart:gallery:start -->"
GALLERY_END = "<!-- attnart:gallery:end -->"
# A page from before the markers: its hand-written gallery holds only <img> tags, so the first
# closing </div> ends it.
BARE_GALLERY = re.compile(r'<div class="art-gallery">.*?</div>[ \t]*\n?', re.S)


@dataclass
class ExportResult:
    page: Path
    page_written: bool  # False when the page already held exactly this content
    images_written: list[Path] = field(default_factory=list)
    images_unchanged: list[Path] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # spec ids rendered by this run
    repaired: list[str] = field(default_factory=list)  # damaged cached renders, rendered again


def image_names(specs: list[ArtworkSpec]) -> dict[str, str]:
    """Spec id -> image file name: the published `art<seed>_Large.png`, or, for a seed that
    two artworks share (say, both init modes of one seed), `art<id>_Large.png`."""
    seeds = [spec.seed for spec in specs]
    return {spec.id: f"art{spec.seed if seeds.count(spec.seed) == 1 else spec.id}_Large.png"
            for spec in specs}


def build_context(specs: list[ArtworkSpec], *, pages: dict[str, str] | None = None) -> dict:
    """What the page templates show, from the specs alone: no files, no computation.

    Paths are relative to the site's root; the templates pass them through Jekyll's
    `relative_url`, so the page works on a site served under a sub-path (`baseurl`) too.
    `pages` maps spec id to the site-relative path of the artwork's page (`--with-pages`).
    """
    artworks = []
    names = image_names(specs)
    for number, spec in enumerate(specs, 1):
        artworks.append({
            "id": spec.id, "seed": spec.seed,
            "src": f"{IMAGES_DIR.as_posix()}/{names[spec.id]}",
            # the published page's alt text, which paper.toml's titles repeat
            "alt": spec.title or f"Attention Dynamics Art {number}",
            "page": (pages or {}).get(spec.id),
        })
    return {"artworks": artworks}


_SITE_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


def liquid_url(path: str) -> Markup:
    """A Liquid expression for the URL of a site-relative `path`, honouring `baseurl`."""
    if not _SITE_PATH.fullmatch(path) or ".." in path.split("/"):
        raise ValueError(f"not a plain site path: {path!r}")
    return Markup(f"{{{{ '/{path}' | relative_url }}}}")


def liquid_literal(text: str) -> Markup:
    """`text` escaped for HTML and kept away from Liquid: braces become character
    references, so a title such as `{{ site.title }}` or `{% raw %}` shows as typed."""
    return Markup(str(escape(text)).replace("{", "&#123;").replace("}", "&#125;")
                  .replace("%", "&#37;"))


FILTERS = {"liquid_url": liquid_url, "liquid_literal": liquid_literal}


def _templates(theme: Theme, *names: str) -> dict:
    return theme.templates(*names, folder="jekyll", filters=FILTERS)


def gallery_block(context: dict, theme: Theme | None = None) -> str:
    """The generated block, markers included, ending in a newline."""
    theme = theme or Theme()
    template = _templates(theme, "_gallery.html")["_gallery.html"]
    with theme.errors():
        return template.render(context)


def page_text(context: dict, style: str, theme: Theme | None = None) -> str:
    """The whole page of version `style`, for a site that has none yet."""
    if style not in STYLES:
        raise SpecError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    theme = theme or Theme()
    name = f"page-{style}.md"
    template = _templates(theme, name)[name]
    with theme.errors():
        return template.render(context)


def update_page(text: str, block: str, *, name: str = "page") -> str:
    """`text` with its generated block (or bare gallery div) replaced by `block`, whose
    line endings follow the page's (an editor on Windows writes CRLF)."""
    if "\r\n" in text:
        block = block.replace("\r\n", "\n").replace("\n", "\r\n")
    starts, ends = text.count(GALLERY_START), text.count(GALLERY_END)
    if starts or ends:
        if starts != 1 or ends != 1 or text.index(GALLERY_START) > text.index(GALLERY_END):
            raise OutputError(f"{name} must hold exactly one {GALLERY_START} followed by one "
                              f"{GALLERY_END}; fix the markers by hand and run again")
        head, rest = text.split(GALLERY_START)
        _, tail = rest.split(GALLERY_END)
        # the block brings its own newline after the end marker
        return head + block + (tail[2:] if tail.startswith("\r\n") else tail.removeprefix("\n"))
    found = BARE_GALLERY.findall(text)
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise OutputError(f"{name} has {what} <div class=\"art-gallery\"> and no "
                          f"{GALLERY_START} ... {GALLERY_END} markers; add the two marker "
                          "lines where the gallery goes")
    return BARE_GALLERY.sub(lambda _: block, text, count=1)


def _check(site_dir: Path, page: Path, specs: list[ArtworkSpec], size: int | None) -> None:
    if not site_dir.exists():
        raise OutputError(f"site folder {site_dir} does not exist")
    if not site_dir.is_dir():
        raise OutputError(f"site folder {site_dir} is not a folder")
    if page.is_absolute() or ".." in page.parts or page.suffix not in (".md", ".markdown"):
        raise OutputError(f"page {page} must be a .md path inside the site, such as "
                          f"{DEFAULT_PAGE}")
    if (site_dir / page).is_dir():
        raise OutputError(f"page {site_dir / page} is a folder; give a .md file")
    if not specs:
        raise SpecError("no artworks to export")
    for spec in specs:
        if size is not None and not 1 <= size <= spec.resolution:
            raise SpecError(f"size must be in 1..{spec.resolution} (the resolution), got {size}")


def _png(source: Path, size: int) -> bytes:
    with Image.open(source) as full:
        full.load()
        buf = io.BytesIO()
        downsample(full, size).save(buf, format="PNG")
    return buf.getvalue()


def _ours(site_dir: Path) -> set[str]:
    """Site-relative paths of the images an earlier export wrote."""
    try:
        names = json.loads((site_dir / MANIFEST).read_bytes()).get("images", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {n for n in names if isinstance(n, str)}


def export(specs: list[ArtworkSpec], site_dir: Path, *, page: Path = DEFAULT_PAGE,
           style: str = "v1", size: int | None = None, with_pages: bool = False,
           templates: Path | None = None, force: bool = False, device: str,
           backend: str = "auto", progress: bool = False) -> ExportResult:
    """Write the artworks' images into `site_dir` and (re)generate the page.

    `size` defaults to `DEFAULT_SIZE`, or the resolution when that is smaller. With
    `with_pages`, the gallery of `site.build` goes to `PAGES_DIR` and each image links to its
    artwork page there. `templates` is a user theme folder (its `jekyll/` holds the pages).
    An image that is in the site but not in this tool's manifest is the author's: it is
    replaced only with `force`, and that is checked before any work.
    """
    page = Path(page)
    _check(site_dir, page, specs, size)
    if style not in STYLES:
        raise SpecError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    theme = Theme(templates)
    _templates(theme, "_gallery.html", f"page-{style}.md")  # a broken theme fails first
    page_path = site_dir / page
    # bytes, not read_text(): newline translation would rewrite a CRLF page
    try:
        original = page_path.read_bytes().decode("utf-8") if page_path.exists() else None
    except UnicodeDecodeError:
        raise OutputError(f"page {page_path} is not UTF-8 text; is it the right file?") from None
    pages_root = site_dir / PAGES_DIR
    if with_pages and pages_root.exists() and not (pages_root / site.MANIFEST).exists():
        raise OutputError(f"{pages_root} exists and was not made by attnart; move it away to "
                          "emit the artwork pages")
    ours = _ours(site_dir)
    targets = {aid: (IMAGES_DIR / name).as_posix() for aid, name in image_names(specs).items()}
    check_ours(site_dir, targets.values(), ours, writer="attnart jekyll", force=force)

    # phase 1: full-resolution renders, each made once per spec id, wherever it was made
    out = ExportResult(page_path, page_written=False)
    cache = site_dir / CACHE_DIR
    pages = None
    if with_pages:
        result = site.build(specs, pages_root, device=device, backend=backend,
                            templates=templates, elsewhere=(cache,), progress=progress)
        out.rendered, out.repaired = result.rendered, result.repaired
        context = site.build_context(result.records)
        pages = {art["id"]: f"{PAGES_DIR.as_posix()}/{art['page']}"
                 for art in context["artworks"]}
        sources = {spec.id: site.image_path(pages_root, spec) for spec in specs}
    else:
        (cache / "images").mkdir(parents=True, exist_ok=True)
        sources = {}
        for spec in tqdm(specs, unit="artwork", disable=not progress, desc="jekyll"):
            sources[spec.id] = source = site.image_path(cache, spec)
            _, how = cached_render(spec, source, device=device, backend=backend,
                                   elsewhere=site.reusable(spec, cache, (pages_root,)))
            if how in ("rendered", "repaired"):
                out.rendered.append(spec.id)
            if how == "repaired":
                out.repaired.append(str(source.relative_to(site_dir)))

    # phase 2: what the site should hold, compared with what it holds
    files: dict[Path, bytes] = {}
    for spec in specs:
        side = size or min(DEFAULT_SIZE, spec.resolution)
        data = _png(sources[spec.id], side)
        target = site_dir / targets[spec.id]
        if target.is_file() and target.read_bytes() == data:
            out.images_unchanged.append(target)
        else:
            files[target] = data
            out.images_written.append(target)
    context = build_context(specs, pages=pages)
    if original is None:
        text = page_text(context, style, theme)
    else:
        text = update_page(original, gallery_block(context, theme), name=str(page_path))
    if text != original:
        files[page_path] = text.encode("utf-8")
        out.page_written = True
    listed = sorted(ours | set(targets.values()))
    if listed != sorted(ours):
        files[site_dir / MANIFEST] = json_text({"images": listed}).encode()
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_files(files)
    return out
