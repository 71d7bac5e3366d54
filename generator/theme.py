"""The gallery theme: the built-in templates shipped in the package, and a user's overrides.

The repository's top-level `templates/` folder is the single source of the built-in theme; the
build maps it into the package as `generator.templates` (see pyproject.toml), so a wheel finds
it through importlib.resources wherever it is installed. A user theme is a folder laid out the
same way (`index.html`, `partials/`, `static/`, `jekyll/`): any file in it replaces the built-in
file of the same name, as sigal and mkdocs themes do, and extra static files are published too.
`copy_builtin()` starts one from a copy of the built-in theme.
"""

from __future__ import annotations

import contextlib
import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2
import jinja2.meta

from generator.errors import ArtError, OutputError
from generator.files import write_files

BUILTIN_PACKAGE = "generator.templates"
SEEDS_PACKAGE = "generator.seeds"


class ThemeError(ArtError):
    """A theme that cannot be used: a missing or unreadable folder, template or file."""


def builtin() -> Traversable:
    return resources.files(BUILTIN_PACKAGE)


def paper_seeds() -> Traversable:
    """The paper's six artworks, `seeds/paper.toml` of the repository, shipped in the wheel."""
    return resources.files(SEEDS_PACKAGE) / "paper.toml"


def _walk(root: Traversable, prefix: str = ""):
    """(relative posix name, Traversable) of every file under `root`, sorted."""
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        name = f"{prefix}{entry.name}"
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            yield from _walk(entry, name + "/")
        elif entry.is_file() and not entry.name.endswith((".py", ".pyc")):
            yield name, entry


class Theme:
    """The built-in theme, overridden file by file by `user` (a folder) when one is given."""

    def __init__(self, user: Path | None = None):
        self.user = None if user is None else Path(user)
        self._environments: dict[str, jinja2.Environment] = {}
        if self.user is not None:
            if not self.user.exists():
                raise ThemeError(f"theme folder {self.user} does not exist; start one with "
                                 "attnart theme --copy DIR")
            if not self.user.is_dir():
                raise ThemeError(f"theme folder {self.user} is not a folder")
            if not os.access(self.user, os.R_OK | os.X_OK):
                raise ThemeError(f"theme folder {self.user} cannot be read; check its "
                                 "permissions")

    def _where(self) -> str:
        return f"{self.user} or the built-in theme" if self.user else "the built-in theme"

    @contextlib.contextmanager
    def errors(self):
        """Every way a theme can fail while loading or rendering, as one honest line."""
        try:
            yield
        except jinja2.TemplateNotFound as e:
            raise ThemeError(f"template {e.name} is missing: looked in {self._where()}; "
                             "add it to the theme folder") from None
        except jinja2.TemplateSyntaxError as e:
            raise ThemeError(f"template {e.filename or e.name}, line {e.lineno}: "
                             f"{e.message}") from None
        except jinja2.UndefinedError as e:
            raise ThemeError(f"template {_template_of(e) or 'of ' + self._where()} uses "
                             f"something the site does not define: {e.message}") from None
        except OSError as e:
            raise ThemeError(f"template {e.filename} cannot be read: {e.strerror}; check its "
                             "permissions") from None

    def templates(self, *names: str, folder: str = "",
                  filters: dict | None = None) -> dict[str, jinja2.Template]:
        """The named templates of `folder` ('' for the gallery, 'jekyll' for the Jekyll
        pages), loaded and compiled at once, so that a broken theme fails before any work;
        jinja2 caches them, so asking again costs nothing."""
        if folder not in self._environments:
            loaders = [jinja2.PackageLoader(BUILTIN_PACKAGE, folder or ".")]
            if self.user is not None:
                loaders.insert(0, jinja2.FileSystemLoader(str(self.user / folder)))
            self._environments[folder] = jinja2.Environment(
                loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                keep_trailing_newline=True)
            self._environments[folder].filters.update(filters or {})
        env = self._environments[folder]
        with self.errors():
            self._check_references(env, names)
            return {name: env.get_template(name) for name in names}

    @staticmethod
    def _check_references(env: jinja2.Environment, names) -> None:
        """Load every template that `names` extend, include or import, recursively: jinja2
        looks those up only while rendering, after the renders a build makes first."""
        todo, seen = list(names), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            source = env.loader.get_source(env, name)[0]
            todo += [n for n in jinja2.meta.find_referenced_templates(env.parse(source, name))
                     if n is not None]

    def static_files(self) -> dict[str, bytes]:
        """Every file of `static/`, the user's replacing the built-in ones of the same name."""
        files = {name: entry for name, entry in _walk(builtin() / "static")}
        user_static = None if self.user is None else self.user / "static"
        if user_static is not None and user_static.is_dir():
            files |= {p.relative_to(user_static).as_posix(): p
                      for p in sorted(user_static.rglob("*")) if p.is_file()}
        out = {}
        for name, entry in files.items():
            try:
                out[name] = entry.read_bytes()
            except OSError as e:
                raise ThemeError(f"theme file {entry} cannot be read: {e.strerror}") from None
        return out


def _template_of(error: Exception) -> str | None:
    """The template file an error was raised in: jinja2 names the frames of compiled
    templates after their files, the innermost last."""
    names = []
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".md")):
            names.append(name)
        tb = tb.tb_next
    return names[-1] if names else None


def copy_builtin(dest: Path) -> list[Path]:
    """Copy the built-in theme into `dest` (new or empty) to start a user theme from it."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise OutputError(f"{dest} already exists and is not an empty folder; give a new "
                          "folder for the theme")
    files = {dest / name: entry.read_bytes() for name, entry in _walk(builtin())}
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_files(files)
    return sorted(files)
