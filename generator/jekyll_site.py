"""What `attnart jekyll` needs to know of a Jekyll site before writing into it.

Read from the site's `_config.yml` (with a YAML parser, as Jekyll reads it), its Gemfile and
its `_plugins/`: which folders Jekyll builds (it skips `_` and `.` folders unless `include`
lists them or they hold a collection that is output), where a page of ours already is, the
URL a page gets under the site's `baseurl`, and whether the site can run jekyll-scholar's
`{% cite %}`. Pure reading: nothing here writes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from generator.errors import InputError, OutputError
from generator.files import read_input

CONFIG_NAMES = ("_config.yml", "_config.yaml")  # the ones Jekyll reads, in its order
PAGE_SUFFIXES = (".md", ".markdown", ".html")
# Folders never searched for our page: Jekyll's output and the package managers' trees.
NOT_SEARCHED = {"_site", "node_modules", "vendor"}
MAX_PAGE = 4 * 1024 * 1024  # a page larger than this is not one attnart wrote
_SCHOLAR_GEM = re.compile(r"""^\s*gem\s+["']jekyll-scholar["']""", re.M)
_CITE_TAG = re.compile(r"""register_tag\(\s*["':]cite["']?\s*,""")


@dataclass(frozen=True)
class JekyllSite:
    """A site's settings that decide where a page goes and what it may use."""

    root: Path
    config: str | None  # the config file's name, None when the site has none
    baseurl: str = ""  # '' or '/blog': no trailing slash
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    collections: dict[str, dict] = field(default_factory=dict)  # label -> its settings
    collections_dir: str = ""
    permalink: str = "date"  # the global style: pages of 'pretty' end in '/'
    destination: str = "_site"
    scholar: str | None = None  # where the site gets jekyll-scholar's cite tag, if anywhere

    def collection_of(self, page: Path) -> str | None:
        """The label of the output collection whose folder holds `page`, if any."""
        parts = PurePosixPath(page.as_posix()).parts
        prefix = PurePosixPath(self.collections_dir).parts if self.collections_dir else ()
        if len(parts) <= len(prefix) + 1 or parts[:len(prefix)] != prefix:
            return None
        folder = parts[len(prefix)]
        label = folder[1:]
        if folder.startswith("_") and self.collections.get(label, {}).get("output") is True:
            return label
        return None

    def skipped(self, page: Path) -> str | None:
        """The folder or file name (site-relative) for which Jekyll leaves `page` out of the
        built site, or None when it builds the page."""
        if self.collection_of(page) is not None:
            return None
        parts = page.parts
        for depth in range(1, len(parts) + 1):
            name = "/".join(parts[:depth])
            if name in self.exclude:
                return name
            if parts[depth - 1][0] in "_.#" and name not in self.include:
                return name
        return None

    def builds(self, folder: str) -> bool:
        return self.skipped(Path(folder) / "page.md") is None

    def url(self, page: Path, front: dict) -> str | None:
        """The page's URL path under `baseurl`, as Jekyll gives it, or None when its
        permalink uses placeholders that only Jekyll can fill."""
        permalink = front.get("permalink")
        if not isinstance(permalink, str):
            label = self.collection_of(page)
            if label is not None:
                rel = PurePosixPath(*page.parts[len(Path(self.collections_dir).parts) + 1:])
                style = self.collections[label].get("permalink")
                if isinstance(style, str):
                    return None
                permalink = f"/{label}/{rel.with_suffix('.html')}"
            else:
                rel = PurePosixPath(page.as_posix())
                folder = "" if rel.parent == PurePosixPath(".") else f"{rel.parent}/"
                if rel.stem == "index":
                    permalink = f"/{folder}"
                elif self.permalink == "pretty" or self.permalink.endswith("/"):
                    permalink = f"/{folder}{rel.stem}/"
                else:
                    permalink = f"/{folder}{rel.stem}.html"
        if ":" in permalink:
            return None
        return self.baseurl + "/" + permalink.lstrip("/")


def _names(value, what: str, config: str) -> frozenset[str]:
    """A config list of paths (`include`, `exclude`) as site-relative names."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InputError(f"{config}: {what} must be a list of paths, got {value!r}; fix it as "
                         "Jekyll's documentation shows")
    return frozenset(str(v).strip("/") for v in value if v is not None)


def _collections(value, config: str) -> dict[str, dict]:
    if value is None:
        return {}
    if isinstance(value, list):  # Jekyll's short form: labels only, none output
        return {str(label): {} for label in value}
    if not isinstance(value, dict):
        raise InputError(f"{config}: collections must be a mapping of labels, got {value!r}")
    return {str(label): (meta if isinstance(meta, dict) else {}) for label, meta in
            value.items()}


def front_matter(text: str) -> dict:
    """The YAML front matter of a page's text ({} when it has none or Jekyll could not read
    it either)."""
    match = re.match(r"---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", text, re.S)
    if not match:
        return {}
    try:
        data = yaml.safe_load(match[1])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(path: Path, what: str) -> str | None:
    if not path.is_file():
        return None
    try:
        return read_input(path, what).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text; is it the right file?") from None


def _scholar(root: Path, plugins) -> str | None:
    if isinstance(plugins, list) and "jekyll-scholar" in plugins:
        return "its _config.yml plugins"
    gemfile = _text(root / "Gemfile", "Gemfile")
    if gemfile is not None and _SCHOLAR_GEM.search(gemfile):
        return "its Gemfile"
    plugin_dir = root / "_plugins"
    if plugin_dir.is_dir() and not plugin_dir.is_symlink():
        for script in sorted(plugin_dir.glob("*.rb")):
            text = _text(script, "plugin")
            if text is not None and _CITE_TAG.search(text):
                return f"_plugins/{script.name}"
    return None


def read_site(root: Path) -> JekyllSite:
    """The settings of the site in `root`, from its `_config.yml` (defaults without one)."""
    name = next((n for n in CONFIG_NAMES if (root / n).exists()), None)
    config: dict = {}
    if name is not None:
        text = _text(root / name, "Jekyll config")
        try:
            config = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise InputError(f"{root / name} is not valid YAML{where}; fix it (Jekyll cannot "
                             "read it either) and run again") from None
        if not isinstance(config, dict):
            raise InputError(f"{root / name} must be a YAML mapping of settings, as Jekyll "
                             "reads it")
    baseurl = config.get("baseurl") or ""
    if not isinstance(baseurl, str):
        raise InputError(f"{root / name}: baseurl must be a path such as /blog, got "
                         f"{baseurl!r}")
    baseurl = baseurl.strip().rstrip("/")
    if baseurl and not baseurl.startswith("/"):
        baseurl = "/" + baseurl
    where = name or "_config.yml"
    permalink = config.get("permalink")
    return JekyllSite(
        root=root, config=name, baseurl=baseurl,
        include=_names(config.get("include"), "include", where),
        exclude=_names(config.get("exclude"), "exclude", where),
        collections=_collections(config.get("collections"), where),
        collections_dir=str(config.get("collections_dir") or "").strip("/"),
        permalink=permalink if isinstance(permalink, str) else "date",
        destination=str(config.get("destination") or "_site").strip("/"),
        scholar=_scholar(root, config.get("plugins") or config.get("gems")))


def find_pages(site: JekyllSite, marker: str) -> list[Path]:
    """Site-relative paths of the pages that hold `marker`, wherever they are; folders
    reached through a symbolic link, dot folders and the built site are not searched."""
    found = []
    skip = NOT_SEARCHED | {site.destination}
    for folder, dirs, files in os.walk(site.root):
        rel = Path(folder).relative_to(site.root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (rel / d).as_posix() not in skip)
        for name in sorted(files):
            path = Path(folder) / name
            if not name.endswith(PAGE_SUFFIXES) or path.is_symlink():
                continue
            try:
                data = read_input(path, "page", limit=MAX_PAGE)
            except InputError:  # too large, a FIFO, unreadable: not a page attnart wrote
                continue
            if marker.encode() in data:
                found.append(rel / name)
    return found


def check_buildable(site: JekyllSite, page: Path) -> None:
    """Refuse to create `page` where Jekyll would not build it."""
    folder = site.skipped(page)
    if folder is not None:
        config = site.config or "_config.yml"
        raise OutputError(f"Jekyll does not build {folder}, so {page} would never be "
                          f"published; add it to include: in {config}, or leave --page out")
