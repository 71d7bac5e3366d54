"""The personal-site page export: the curated artworks into any Jekyll site.

The author's page (`_pages/attention-dynamics-art.md`, in two versions) shows an
`art-gallery` div of `/assets/images/art<seed>_Large.png` images; this module writes those
images and regenerates the page, where the site's `_config.yml` says Jekyll builds it
(`jekyll_site`). The gallery block carries what it needs on any theme: a link to a small
stylesheet and a lightbox script, which the export writes under `ASSETS_DIR`. A page that
already exists is found by its markers and keeps every byte the author wrote:
only the generated block between `GALLERY_START` and `GALLERY_END` is replaced (a page from
before the markers has its bare `art-gallery` div replaced and gains them). Nothing else in the
site is touched, and a rerun with the same input writes nothing: images are compared with the
bytes that would be written, and the full-resolution renders are cached by spec id in
`CACHE_DIR` (a dot folder, which Jekyll leaves out of the built site). As `site.build` does,
an export lists the images in its manifest before it writes them, writes nothing outside the
site, removes the temporaries an interrupted export left, and holds the site's lock (in
`CACHE_DIR`) while it works.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape
from PIL import Image
from tqdm import tqdm

from generator import site
from generator.cache import RenderCache
from generator.errors import OutputError, SpecError
from generator.files import (
    LOCK,
    check_ours,
    check_paths,
    check_writable,
    json_text,
    locked,
    read_input,
    remove_files,
    remove_temporaries,
    write_files,
)
from generator.jekyll_site import JekyllSite, check_buildable, find_pages, front_matter, read_site
from generator.render import cached_render, downsample
from generator.spec import DEFAULT_TITLE, ArtworkSpec, check_line, paragraph
from generator.theme import Theme

STYLES = ("v1", "v2", "plain")  # the author's two pages (jekyll-scholar's cite), or no plugin
AUTHOR_STYLES = ("v1", "v2")  # their gallery blocks are the same: bare images, as published
# Where the author's page is; a new page goes there when the site builds `_pages`, else at
# the site's root, with a permalink either way.
DEFAULT_PAGE = Path("_pages/attention-dynamics-art.md")
ROOT_PAGE = Path(DEFAULT_PAGE.name)
ASSETS_DIR = Path("assets/attnart")  # the gallery's stylesheet and lightbox script
ASSETS = {"gallery.css": "attnart-gallery.css", "lightbox.js": "attnart-lightbox.js"}  # -> template
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
STYLE_MARK = re.compile(r'data-attnart-style="([a-z0-9]+)"')


@dataclass
class ExportResult:
    page: Path
    page_written: bool  # False when the page already held exactly this content
    style: str = "v1"
    why: str = ""  # why this style: the page's own, asked for, or what the site has
    url: str | None = None  # the page's URL path under the site's baseurl, when known
    notes: list[str] = field(default_factory=list)  # what the user should know or do
    images_written: list[Path] = field(default_factory=list)
    images_unchanged: list[Path] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # spec ids rendered by this run
    repaired: list[str] = field(default_factory=list)  # damaged cached renders, rendered again
    pages_removed: list[str] = field(default_factory=list)  # a former --with-pages' files


def image_names(specs: list[ArtworkSpec]) -> dict[str, str]:
    """Spec id -> image file name: the published `art<seed>_Large.png`, or, for a seed that
    two artworks share (say, both init modes of one seed), `art<id>_Large.png`."""
    seeds = [spec.seed for spec in specs]
    return {spec.id: f"art{spec.seed if seeds.count(spec.seed) == 1 else spec.id}_Large.png"
            for spec in specs}


def image_side(spec: ArtworkSpec, size: int | None) -> int:
    return size or min(DEFAULT_SIZE, spec.resolution)


def build_context(specs: list[ArtworkSpec], *, style: str = "v1",
                  pages: dict[str, str] | None = None, size: int | None = None,
                  title: str = DEFAULT_TITLE, description: str | None = None,
                  date: str | None = None, permalink: str | None = None) -> dict:
    """What the page templates show, from the specs alone: no files, no computation.

    Paths are relative to the site's root; the templates pass them through Jekyll's
    `relative_url`, so the page works on a site served under a sub-path (`baseurl`) too.
    `pages` maps spec id to the site-relative path of the artwork's page (`--with-pages`);
    `title`, `description` and `date` are the plain page's (the author's pages hold their
    own); `permalink`, a new page's URL path.
    """
    artworks = []
    names = image_names(specs)
    for number, spec in enumerate(specs, 1):
        artworks.append({
            "id": spec.id, "seed": spec.seed,
            "src": f"{IMAGES_DIR.as_posix()}/{names[spec.id]}",
            # the published page's alt text, which paper.toml's titles repeat
            "alt": spec.title or f"{title} {number}",
            "page": (pages or {}).get(spec.id),
            "side": image_side(spec, size),
        })
    assets = {name: (ASSETS_DIR / name).as_posix() for name in ASSETS}
    return {"artworks": artworks, "style": style, "assets": assets, "title": title,
            "description": description, "date": date, "permalink": permalink}


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


def yaml_text(text: str) -> Markup:
    """`text` as a YAML double-quoted scalar for front matter (JSON's string syntax is
    YAML's): a title with a colon, quote or `#` stays the title."""
    return Markup(json.dumps(text, ensure_ascii=False))


FILTERS = {"liquid_url": liquid_url, "liquid_literal": liquid_literal, "yaml_text": yaml_text}


def _templates(theme: Theme, *names: str) -> dict:
    return theme.templates(*names, folder="jekyll", filters=FILTERS)


def gallery_block(context: dict, theme: Theme | None = None) -> str:
    """The generated block, markers included, ending in a newline."""
    theme = theme or Theme()
    template = _templates(theme, "_gallery.html")["_gallery.html"]
    with theme.errors():
        return template.render(context)


def page_text(context: dict, theme: Theme | None = None) -> str:
    """The whole page of the context's style, for a site that has none yet."""
    style = context["style"]
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


def asset_files(theme: Theme) -> dict[str, bytes]:
    """Site-relative path -> bytes of the gallery's stylesheet and lightbox script."""
    loaded = _templates(theme, *ASSETS.values())
    with theme.errors():
        return {(ASSETS_DIR / name).as_posix(): loaded[template].render().encode()
                for name, template in ASSETS.items()}


def page_style(text: str) -> str | None:
    """The style an existing page's gallery block was written in; None for the author's
    hand-written gallery or a block from before styles were recorded, which are the
    author's (v1 and v2 share that block)."""
    if GALLERY_START in text and GALLERY_END in text:
        block = text.split(GALLERY_START, 1)[1].split(GALLERY_END, 1)[0]
        found = STYLE_MARK.search(block)
        if found and found[1] in STYLES:
            return found[1]
    return None


def choose_style(asked: str, *, existing: str | None, page_exists: bool,
                 jekyll: JekyllSite, page: Path, force: bool) -> tuple[str, str]:
    """(style, why) for `asked` ('auto' or a style): an existing page keeps its own unless
    another is asked for with `force`; a new page gets the author's style on a site that can
    run jekyll-scholar's cite, plain elsewhere."""
    if asked not in ("auto", *STYLES):
        raise SpecError(f"style must be auto or one of {', '.join(STYLES)}, got {asked!r}")
    if page_exists:
        own = existing or "v1"
        if asked in ("auto", own):
            return own, "the page's own"
        if {asked, own} <= set(AUTHOR_STYLES):
            return own, f"the page's own, whose gallery block {asked} shares"
        if not force:
            raise OutputError(f"{page} has a {existing or 'v1/v2'} gallery; --style {asked} "
                              f"would rewrite its gallery block as {asked} (the rest of the "
                              "page is kept): add --force to do so, or leave --style out")
        return asked, f"replacing {existing or 'v1/v2'}, as --force asks"
    if asked == "auto":
        if jekyll.scholar:
            return "v1", f"the author's: the site has jekyll-scholar ({jekyll.scholar})"
        return "plain", ("no jekyll-scholar in the site's plugins, Gemfile or _plugins; "
                         "--style v2 is the author's page without it")
    if asked == "v1" and not jekyll.scholar:
        raise OutputError("--style v1 cites with jekyll-scholar, which this site has neither "
                          "in its plugins, its Gemfile nor _plugins/; use --style v2 or plain, "
                          "or add jekyll-scholar to the site")
    return asked, "as asked"


def _check(site_dir: Path, page: Path | None, specs: list[ArtworkSpec],
           size: int | None) -> None:
    if not site_dir.exists():
        raise OutputError(f"site folder {site_dir} does not exist")
    if not site_dir.is_dir():
        raise OutputError(f"site folder {site_dir} is not a folder")
    if page is not None:
        if page.is_absolute() or ".." in page.parts or page.suffix not in (".md", ".markdown"):
            raise OutputError(f"page {page} must be a .md path inside the site, such as "
                              f"{ROOT_PAGE}")
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


def _ours(site_dir: Path) -> dict[str, set[str]]:
    """Site-relative paths of the images and other files (the gallery's assets) an earlier
    export wrote."""
    try:
        data = json.loads(read_input(site_dir / MANIFEST, "manifest"))
    except ValueError:  # none, damaged, or not a file: nothing listed
        data = {}
    lists = {key: data.get(key) if isinstance(data, dict) else None
             for key in ("images", "files")}
    return {key: {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
            for key, names in lists.items()}


def _locate(jekyll: JekyllSite, page: Path | None) -> Path:
    """The page to regenerate: `page` when given, else the one holding our markers wherever
    it is, else the author's page where it has always been, else a new page where the site
    builds it."""
    if page is not None:
        return page
    found = find_pages(jekyll, GALLERY_START)
    if len(found) > 1:
        raise OutputError(f"{found[0]} and {found[1]} both hold attnart's gallery; choose one "
                          "with --page")
    if found:
        return found[0]
    check_paths(jekyll.root, [DEFAULT_PAGE])  # never read through a link out of the site
    if (jekyll.root / DEFAULT_PAGE).is_file() or jekyll.builds(DEFAULT_PAGE.parent.as_posix()):
        return DEFAULT_PAGE
    return ROOT_PAGE


def _permalink(jekyll: JekyllSite, page: Path) -> str:
    """A new page's clean URL path: its site path without the suffix (and without the
    `_pages` or collection folder, which are no part of a URL), ending in '/'."""
    parts = page.with_suffix("").parts
    if jekyll.collection_of(page) is not None:
        parts = parts[len(Path(jekyll.collections_dir).parts) + 1:]
    elif parts[0].startswith("_"):  # an included folder such as _pages
        parts = parts[1:]
    if parts and parts[-1] == "index":
        parts = parts[:-1]
    return "/" + "".join(f"{part}/" for part in parts)


def export(specs: list[ArtworkSpec], site_dir: Path, *, page: Path | None = None,
           style: str = "auto", size: int | None = None, with_pages: bool = False,
           title: str | None = None, description: str | None = None,
           templates: Path | None = None, force: bool = False, device: str,
           backend: str = "auto", render_cache: RenderCache | None = None,
           progress: bool = False) -> ExportResult:
    """Write the artworks' images into `site_dir` and (re)generate the page.

    The page is `page` (site-relative), else the one an earlier export wrote wherever it is,
    else a new one where the site builds it (`_locate`). `style` 'auto' keeps an existing
    page's and picks one for a new page from the site (`choose_style`). `size` defaults to
    `DEFAULT_SIZE`, or the resolution when that is smaller. With `with_pages`, the gallery of
    `site.build` goes to `PAGES_DIR` and each image links to its artwork page there; without
    it, the artwork pages of an earlier `with_pages` are removed. `title` and `description`
    are a new plain page's. `templates` is a user theme folder (its `jekyll/` holds the
    pages). `render_cache` is the user's render cache, where missing renders are made.
    A file in the site that is not in this tool's manifest is the author's: it is
    replaced only with `force`, and that is checked before any work.
    """
    page = None if page is None else Path(page)
    _check(site_dir, page, specs, size)
    check_line(title or DEFAULT_TITLE, "--title")
    description = description and paragraph(description, "--description")
    theme = Theme(templates)
    # a broken theme fails first
    _templates(theme, "_gallery.html", *(f"page-{s}.md" for s in STYLES), *ASSETS.values())
    jekyll = read_site(site_dir)
    page = _locate(jekyll, page)
    check_paths(site_dir, [page])
    # bytes, not read_text(): newline translation would rewrite a CRLF page
    page_path = site_dir / page
    try:
        original = read_input(page_path, "page").decode("utf-8") if page_path.exists() else None
    except UnicodeDecodeError:
        raise OutputError(f"page {page_path} is not UTF-8 text; is it the right file?") from None
    style, why = choose_style(style, existing=original and page_style(original),
                              page_exists=original is not None, jekyll=jekyll, page=page,
                              force=force)
    if original is None:
        check_buildable(jekyll, page)
    cache = site_dir / CACHE_DIR
    check_paths(site_dir, [CACHE_DIR / LOCK])
    cache.mkdir(exist_ok=True)
    with locked(cache):
        return _export(specs, jekyll, page=page, original=original, style=style, why=why,
                       size=size, theme=theme, with_pages=with_pages,
                       title=title or DEFAULT_TITLE, description=description,
                       templates=templates, force=force, device=device, backend=backend,
                       render_cache=render_cache, progress=progress)


def _export(specs: list[ArtworkSpec], jekyll: JekyllSite, *, page: Path,
            original: str | None, style: str, why: str, size: int | None, theme: Theme,
            with_pages: bool, title: str, description: str | None, templates: Path | None,
            force: bool, device: str, backend: str, render_cache: RenderCache | None,
            progress: bool) -> ExportResult:
    """`export`, checked, holding the site's lock: `page` holds `original` (None: new)."""
    site_dir = jekyll.root
    cache = site_dir / CACHE_DIR
    page_path = site_dir / page
    pages_root = site_dir / PAGES_DIR
    targets = {aid: (IMAGES_DIR / name).as_posix() for aid, name in image_names(specs).items()}
    assets = asset_files(theme)
    renders = [CACHE_DIR / site.artwork_files(spec.id)[key] for spec in specs
               for key in ("full", "sidecar")]
    # the artwork pages' manifest is written with --with-pages, and read to remove them without
    names = [page, MANIFEST, *targets.values(), *assets, *renders] + (
        [PAGES_DIR / site.MANIFEST] if with_pages or pages_root.is_dir() else [])
    check_paths(site_dir, names)
    check_writable([site_dir / MANIFEST], root=site_dir)
    ours = _ours(site_dir)
    earlier_pages = (pages_root / site.MANIFEST).is_file()
    if with_pages and pages_root.exists() and not earlier_pages:
        raise OutputError(f"{pages_root} exists and was not made by attnart; move it away to "
                          "emit the artwork pages")
    check_ours(site_dir, targets.values(), ours["images"], writer="attnart jekyll", force=force)
    check_ours(site_dir, assets, ours["files"], writer="attnart jekyll", force=force)
    remove_temporaries(site_dir, sorted({*map(str, names), *ours["images"], *ours["files"]}))
    listed = {"images": sorted(ours["images"] | set(targets.values())),
              "files": sorted(ours["files"] | set(assets))}
    if listed != {key: sorted(value) for key, value in ours.items()}:
        # before any file is written, so that none is ever orphaned
        write_files({site_dir / MANIFEST: json_text(listed).encode()}, root=site_dir)

    # phase 1: full-resolution renders, each made once per spec id, wherever it was made
    out = ExportResult(page_path, page_written=False, style=style, why=why)
    pages = None
    if with_pages:
        result = site.build(specs, pages_root, device=device, backend=backend,
                            templates=templates, elsewhere=(cache,), cache=render_cache,
                            progress=progress)
        out.rendered, out.repaired = result.rendered, result.repaired
        context = site.build_context(result.records)
        pages = {art["id"]: f"{PAGES_DIR.as_posix()}/{art['page']}"
                 for art in context["artworks"]}
        sources = {spec.id: site.image_path(pages_root, spec) for spec in specs}
    else:
        (cache / "images").mkdir(exist_ok=True)
        sources = {}
        for spec in tqdm(specs, unit="artwork", disable=not progress, desc="jekyll"):
            sources[spec.id] = source = site.image_path(cache, spec)
            _, how = cached_render(spec, source, device=device, backend=backend,
                                   elsewhere=site.reusable(spec, cache, (pages_root,)),
                                   root=site_dir, cache=render_cache)
            if how in ("rendered", "repaired"):
                out.rendered.append(spec.id)
            if how == "repaired":
                out.repaired.append(str(source.relative_to(site_dir)))

    # phase 2: what the site should hold, compared with what it holds
    files: dict[Path, bytes] = {}
    for spec in specs:
        data = _png(sources[spec.id], image_side(spec, size))
        target = site_dir / targets[spec.id]
        if target.is_file() and target.read_bytes() == data:
            out.images_unchanged.append(target)
        else:
            files[target] = data
            out.images_written.append(target)
    for name, data in assets.items():
        if not ((site_dir / name).is_file() and (site_dir / name).read_bytes() == data):
            files[site_dir / name] = data
    context = build_context(specs, style=style, pages=pages, size=size, title=title,
                            description=description,
                            date=datetime.date.today().isoformat(),
                            permalink=_permalink(jekyll, page))
    if original is None:
        text = page_text(context, theme)
    else:
        text = update_page(original, gallery_block(context, theme), name=str(page_path))
    if text != original:
        files[page_path] = text.encode("utf-8")
        out.page_written = True
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_files(files, root=site_dir)
    if not with_pages and earlier_pages:
        out.pages_removed = _remove_pages(pages_root)
    if original is not None and (title != DEFAULT_TITLE or description):
        out.notes.append(f"{page} exists, so its title and text stay as written there "
                         "(--title and --description fill a new plain page)")
    _where(out, jekyll, page, text)
    return out


def _remove_pages(pages_root: Path) -> list[str]:
    """Remove the artwork pages an earlier --with-pages wrote (its manifest lists them), then
    its manifest, then the folders left empty; a file attnart did not list stays."""
    with locked(pages_root):
        try:
            listed = json.loads(read_input(pages_root / site.MANIFEST, "manifest")).get("files")
        except (ValueError, AttributeError):
            listed = None
        names = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
        removed = remove_files(pages_root, sorted(set(names) - {site.MANIFEST}))
        removed += remove_files(pages_root, [site.MANIFEST])
    for folder, _, _ in sorted(os.walk(pages_root), reverse=True):
        with contextlib.suppress(OSError):  # not empty: the author's files stay
            os.rmdir(folder)
    return [(PAGES_DIR / name).as_posix() for name in removed]


def _where(out: ExportResult, jekyll: JekyllSite, page: Path, text: str) -> None:
    """Fill in the page's URL, or say why it has none."""
    skipped = jekyll.skipped(page)
    if skipped is not None:
        config = jekyll.config or "_config.yml"
        out.notes.append(f"Jekyll does not build {skipped}, so {page} is not published; add "
                         f"include: [{skipped}] to {config}")
        return
    out.url = jekyll.url(page, front_matter(text))
    if out.url is None:
        out.notes.append(f"the URL of {page} depends on its permalink pattern; see where "
                         "jekyll build puts it")
