"""The explorer's app: a factory (Starlette) over the tile renderer; `server` serves it.

Every request is untrusted input: each parameter is parsed by hand against an allow-list and
the limits below, and anything else gets a 400 with a one-line JSON message. Static files come
from the package's `static/` folder through Starlette's StaticFiles, which refuses paths that
leave it. Views are saved only to the file fixed when the server started.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import itertools
import json
import os
import re
import tempfile
import tomllib
from collections import OrderedDict
from pathlib import Path

from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from generator import kernels, rng, shade
from generator.errors import ArtError, InputError, OutputError, SpecError
from generator.explore import tiles
from generator.files import os_problem, read_input, write_files
from generator.render import describe, to_image
from generator.score import MIN_SIDE
from generator.spec import (
    MAX_RESOLUTION,
    SEED_MAX,
    ArtworkSpec,
    artwork_toml,
    load_seeds,
    printable_line,
    render_command,
)

# One tile may cost up to (1000 / 100) x (64 / 20)² ~ 100 times the default tile, ~10 s.
MAX_ITERATIONS = 1000
MAX_POINTS = 64
CACHE_BYTES = 64 * 2**20  # encoded tiles kept, least recently used first out
WORLDS_KEPT = 8  # per-point X(0) sources, one per (parameters, zoom)
EQUALISERS_KEPT = 8  # speed-shading colour curves, one per parameters
MAX_PALETTE = 4000  # characters of a palette of one's own (256 colours, '#rrggbb,' each)
MAX_BODY = 16 * 1024  # bytes of a save request
BODY_S = 10  # seconds for a save request's body to arrive
MAX_TITLE = 200
HOME_ZOOMS = (0, 1)  # rendered at start: the page's first tiles
# What the page may change.
PARAMETERS = ("seed", "init", "iterations", "points", "threshold", "shade", "palette")
# Names a browser may use for a server on this machine; HostCheck refuses any other.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BadRequest(ArtError):
    """A request the explorer refuses: its message goes back as a 400's JSON."""


class LRU:
    """A byte-bounded least-recently-used map of bytes values."""

    def __init__(self, limit: int):
        self.limit, self.size = limit, 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: bytes) -> None:
        if key in self._items:
            self.size -= len(self._items.pop(key))
        self._items[key] = value
        self.size += len(value)
        while self.size > self.limit and len(self._items) > 1:
            self.size -= len(self._items.popitem(last=False)[1])

    def __len__(self) -> int:
        return len(self._items)


# ---- parameters --------------------------------------------------------------------------


def _integer(name: str, text, low: int, high: int) -> int:
    if isinstance(text, bool):
        raise BadRequest(f"{name} must be an integer in {low}..{high}, got {text!r}")
    if isinstance(text, str):
        if not re.fullmatch(r"-?[0-9]{1,25}", text):
            raise BadRequest(f"{name} must be an integer in {low}..{high}, got {text[:40]!r}")
        text = int(text)
    if not isinstance(text, int) or not low <= text <= high:
        raise BadRequest(f"{name} must be an integer in {low}..{high}, got {text!r}")
    return text


NUMBER = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?")


def _number(name: str, value) -> float:
    """A number as JSON gives it or as text in plain decimal notation (no '1_0', no digits
    of other scripts, which Python's float() would take)."""
    if isinstance(value, str) and NUMBER.fullmatch(value):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise BadRequest(f"{name} must be a number, got {str(value)[:40]!r}")


def parameters(base: ArtworkSpec, given: dict) -> ArtworkSpec:
    """`base` with the page's parameters (strings or JSON values) applied, all validated."""
    unknown = sorted(set(given) - set(PARAMETERS))
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0][:40]!r}; the explorer takes "
                         + ", ".join(PARAMETERS))
    changes = {}
    if "seed" in given:
        changes["seed"] = _integer("seed", given["seed"], 0, SEED_MAX)
    if "init" in given:
        changes["init"] = given["init"]
    if "iterations" in given:
        changes["iterations"] = _integer("iterations", given["iterations"], 0, MAX_ITERATIONS)
    if "points" in given:
        changes["points"] = _integer("points", given["points"], 1, MAX_POINTS)
    if "threshold" in given:
        changes["threshold"] = _number("threshold", given["threshold"])
    if "shade" in given:
        changes["shade"] = given["shade"]
        if given["shade"] == "binary":
            changes["palette"] = None  # the starting artwork's palette, if any, goes too
    if "palette" in given:
        changes["palette"] = _palette(given["palette"])
    try:
        spec = dataclasses.replace(base, **changes)
        if spec.shade == "speed":
            shade.rgb(spec.palette)  # a named palette needs colorcet: say so now
        return spec
    except SpecError as e:
        raise BadRequest(str(e)) from None


def _palette(text) -> str | list[str] | None:
    """A palette as the page gives it (`shade.palette_text`): '' for none (binary), a name,
    or '#rrggbb,...'."""
    if not isinstance(text, str) or len(text) > MAX_PALETTE:
        raise BadRequest(f"palette must be a name or '#rrggbb,...' colours, at most "
                         f"{MAX_PALETTE} characters")
    if not text:
        return None
    if "," in text or text.startswith("#"):
        return text.split(",")
    if text not in shade.PALETTES:
        raise BadRequest(f"palette must be one of {', '.join(shade.PALETTES)} or "
                         f"'#rrggbb,...' colours, got {text[:40]!r}")
    return text


def _query(request: Request) -> dict:
    params = request.query_params
    repeated = [key for key in params if len(params.getlist(key)) > 1]
    if repeated:
        raise BadRequest(f"parameter {repeated[0][:40]!r} is given twice")
    return dict(params)


def view_spec(base: ArtworkSpec, given: dict) -> ArtworkSpec:
    """The artwork of a view: `size`² pixels at zoom `z` from pixel (`px`, `py`), titled."""
    given = dict(given)
    view = {k: given.pop(k, None) for k in ("z", "size", "px", "py")}
    title = given.pop("title", "")
    spec = parameters(base, given)
    z = _integer("z", view["z"], 0, tiles.max_zoom(spec))
    size = _integer("size", view["size"], MIN_SIDE, MAX_RESOLUTION)
    px, py = (_integer(k, view[k], -(2**53), 2**53) for k in ("px", "py"))
    allowed = tiles.tile_range(spec, z)
    first, stop = allowed.start * tiles.TILE, allowed.stop * tiles.TILE  # pixels of the tiles
    if not (first - size < px < stop and first - size < py < stop):
        raise BadRequest("the view lies off the plane's tiles: pan back towards [-8, 8]²")
    if not isinstance(title, str) or len(title) > MAX_TITLE or not printable_line(title):
        raise BadRequest(f"title must be one line of printable text, at most {MAX_TITLE} "
                         "characters")
    try:
        return dataclasses.replace(spec, window=tiles.pixel_window(z, px, py, size),
                                   resolution=size, title=title.strip() or f"Seed {spec.seed}")
    except SpecError as e:
        raise BadRequest(f"this view cannot be rendered: {e}") from None


# ---- saving views ------------------------------------------------------------------------


NEW_SAVES = "# Views saved by attnart explore; publish them with attnart build --seeds FILE.\n"


def read_saves(path: Path) -> tuple[str, list[ArtworkSpec]]:
    """The text of the --save file and its artworks ('' and none while it is new or blank).

    Views are appended only to a regular, writable seeds file: TOML of valid [[artwork]]
    tables and nothing else. The start and every save decide by this one function, so a
    file replaced meanwhile (by another TOML, a link to one, a notes file, a FIFO) is never
    appended to; the file is opened without blocking, as a FIFO or device would never end."""
    if not os.path.lexists(path):
        return "", []
    if not path.exists():
        raise OutputError(f"--save {path} is a symbolic link to {os.readlink(path)}, which "
                          "does not exist; give a new file or a seeds file")
    try:
        text = read_input(path, "--save").decode()
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except InputError as e:  # not a regular file, too large, unreadable: it says so
        raise OutputError(str(e)) from None
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError, TOML's own
        raise OutputError(f"--save {path} is not a seeds TOML file ({e}); give a new file "
                          "or a seeds file") from None
    if not os.access(path, os.W_OK) or not os.stat(path).st_mode & 0o222:
        raise OutputError(f"--save {path} is read-only; make it writable or give another "
                          "file")
    if not text.strip():
        return text, []
    others = sorted(set(data) - {"artwork"})
    if others or not data:
        what = f"it has {others[0]!r}" if others else "it has no [[artwork]] tables"
        raise OutputError(f"--save {path} is a TOML file but not a seeds file ({what}); give "
                          "a new file or a seeds file")
    return text, load_seeds(path)


def check_save(path: Path) -> None:
    """Fail at start when views could not be saved to `path`."""
    if not path.parent.is_dir():
        raise OutputError(f"--save folder {path.parent} does not exist; create it first")
    read_saves(path)
    folder = Path(os.path.realpath(path)).parent  # where a save writes, through a link
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise OutputError(f"--save {path} cannot be written ({os_problem(e, folder)})") from None


def append_artwork(path: Path, spec: ArtworkSpec) -> ArtworkSpec | None:
    """Append `spec` to the seeds file `path` in one atomic write; None when added, else the
    artwork already there (the same id, perhaps under another title)."""
    text, saved = read_saves(path)
    there = next((s for s in saved if s.id == spec.id), None)
    if there is not None:
        return there
    text = text if text.strip() else NEW_SAVES
    text = (text + ("" if text.endswith("\n") else "\n") + "\n"
            + artwork_toml(spec, every_field=True))
    tomllib.loads(text.removeprefix("\ufeff"))  # never write a file that would not read back
    write_files({path: text.encode()})
    return None


# ---- the app -----------------------------------------------------------------------------


def _tile_ranges(spec: ArtworkSpec) -> list[list[int]]:
    """[first, stop) of the tile indices at each zoom, for the page."""
    ranges = (tiles.tile_range(spec, z) for z in range(tiles.max_zoom(spec) + 1))
    return [[r.start, r.stop] for r in ranges]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _host_name(header: str) -> str:
    """The name in a Host header: 'name', 'name:port', '[v6]' or '[v6]:port'."""
    if header.startswith("["):
        name, bracket, _ = header[1:].partition("]")
        return name if bracket else ""
    return header.partition(":")[0]


class HostCheck:
    """Refuses, with a 400 and a JSON message, a request naming any host but `hosts` ("*":
    any): a web page whose domain an attacker points at 127.0.0.1 (DNS rebinding) names its
    own."""

    def __init__(self, app, hosts: tuple[str, ...]):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and "*" not in self.hosts:
            host = Headers(scope=scope).get("host", "")
            if _host_name(host) not in self.hosts:
                await _error(400, f"this server answers to {', '.join(self.hosts)} only, not "
                             f"{host[:60]!r}; start attnart explore with --host to serve "
                             "others")(scope, receive, send)
                return
        await self.app(scope, receive, send)


# What a browser's Sec-Fetch-Site may say of a tile or API request: the explorer's own page
# (same-origin) or the user (none: typed, bookmarked). "same-site" is refused too: another
# server on this machine, any port, is the same site as this one.
OWN_SITE = ("same-origin", "none")


class SiteCheck:
    """Refuses, with a 403 and a JSON message, a tile or API request a browser marks as sent
    by another site's page (Fetch Metadata), which could otherwise make this machine render
    the heaviest tiles. Clients that send no Sec-Fetch-Site (curl, scripts, old browsers)
    pass, and so does the page itself, which a link anywhere may open."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(("/tiles/", "/api/")):
            site = Headers(scope=scope).get("sec-fetch-site", "none").strip().lower()
            if site not in OWN_SITE:
                await _error(403, f"a {site[:20]!r} request is refused: the explorer answers "
                             "its own page only; open it at this address")(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _json_object(request: Request) -> dict:
    """The body of `request`: a JSON object of at most MAX_BODY bytes, all come within
    BODY_S seconds. Anything else is refused with one line, never a 500."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":  # which a cross-site form cannot send
        raise BadRequest("send the view as application/json")

    async def read() -> bytes:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise BadRequest(f"a view is at most {MAX_BODY} bytes of JSON")
        return body

    try:
        body = await asyncio.wait_for(read(), BODY_S)
    except TimeoutError:  # a client trickling its body would hold the save forever
        raise HTTPException(408, f"the view did not arrive within {BODY_S} s") from None
    try:
        given = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadRequest("the view is not JSON, or is nested too deeply") from None
    if not isinstance(given, dict):
        raise BadRequest("the view must be a JSON object")
    return given


def create_app(base: ArtworkSpec, *, save: Path | None = None,
               device: str = "cpu", backend: str = "auto",
               cache_bytes: int = CACHE_BYTES, hosts: tuple[str, ...] = LOOPBACK) -> Starlette:
    """The explorer for `base` (its seed and parameters are where the page starts), answering
    requests addressed to `hosts` only ("*": any)."""
    if base.iterations > MAX_ITERATIONS or base.points > MAX_POINTS:
        raise SpecError(f"the explorer renders at most --iterations {MAX_ITERATIONS} and "
                        f"--points {MAX_POINTS} (each tile in seconds at most), got "
                        f"{base.iterations} and {base.points}")
    kernels.choose(backend, device)  # an unknown or unavailable backend fails now, not per tile
    if save is not None:
        check_save(save)
    cache, worlds, equalisers = LRU(cache_bytes), OrderedDict(), OrderedDict()
    stats = {"rendered": 0, "cached": 0, "cancelled": 0}
    render_lock = asyncio.Lock()  # one tile at a time, each on every core: lowest latency
    save_lock = asyncio.Lock()  # one read-append-write of the save file at a time

    def world(spec: ArtworkSpec, z: int) -> rng.Draws | None:
        if spec.init == "shared":
            return None
        key = tiles.world_spec(spec, z).id
        if key not in worlds:
            worlds[key] = rng.draw(tiles.world_spec(spec, z))
            while len(worlds) > WORLDS_KEPT:
                worlds.popitem(last=False)
        return worlds[key]

    def equaliser(spec: ArtworkSpec) -> shade.Equaliser:
        """The colour curve of `spec`'s parameters at every zoom: fitted on its zoom-0 tile,
        [-8, 8]², so that a tile's colours do not depend on the tiles around it."""
        key = tiles.tile_spec(spec, 0, 0, 0).id
        if key not in equalisers:
            field = tiles.tile_field(spec, 0, 0, 0, device=device, backend=backend,
                                     world=world(spec, 0))[1]
            equalisers[key] = shade.Equaliser.fit(field)
            while len(equalisers) > EQUALISERS_KEPT:
                equalisers.popitem(last=False)
        return equalisers[key]

    def tile_png(spec: ArtworkSpec, z: int, x: int, y: int) -> bytes:
        where = dict(device=device, backend=backend, world=world(spec, z))
        if spec.shade == "speed":
            field = tiles.tile_field(spec, z, x, y, **where)[1]
            image = to_image(shade.colourise(field, shade.rgb(spec.palette), equaliser(spec)))
        else:
            image = to_image(tiles.tile_labels(spec, z, x, y, **where)).convert(
                "1", dither=Image.Dither.NONE)
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()

    async def render_into_cache(spec: ArtworkSpec, z: int, x: int, y: int,
                                request: Request | None = None) -> bytes | None:
        """Tile (z, x, y) rendered into the cache, one tile at a time; None when nothing was
        rendered: the tile was cached meanwhile, or `request` was given up while it waited."""
        key = tiles.tile_spec(spec, z, x, y).id
        async with render_lock:
            if cache.get(key) is not None:  # rendered for another request while this waited
                return None
            if app.state.closing:  # Ctrl-C: tiles still queued are not rendered
                return None
            # A tile the page no longer needs (its request was cancelled while it waited) is
            # not rendered: that is how the server keeps up with a drag.
            if request is not None and (await request.is_disconnected()
                                        or await request.is_disconnected()):
                stats["cancelled"] += 1
                return None
            png = await run_in_threadpool(tile_png, spec, z, x, y)
            cache.put(key, png)
            return png

    async def tile(request: Request) -> Response:
        spec = parameters(base, _query(request))
        z = _integer("z", request.path_params["z"], 0, tiles.max_zoom(spec))
        allowed = tiles.tile_range(spec, z)
        x = _integer("x", request.path_params["x"], allowed.start, allowed.stop - 1)
        y = _integer("y", request.path_params["y"], allowed.start, allowed.stop - 1)
        key = tiles.tile_spec(spec, z, x, y).id
        png = cache.get(key)
        if png is not None:
            stats["cached"] += 1
        elif (png := await render_into_cache(spec, z, x, y, request)) is not None:
            stats["rendered"] += 1
        else:
            png = cache.get(key)
            if png is None:
                return Response(status_code=499)
        return Response(png, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})

    async def home():
        if base.window != ArtworkSpec.window:
            return  # the page starts elsewhere
        for z in HOME_ZOOMS:
            for x, y in itertools.product(range(1 << z), repeat=2):
                await render_into_cache(base, z, x, y)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        # The page shows [-8, 8]² first: its tiles at zooms 0 and 1 are the first it asks for
        # under a map smaller than 2048 pixels (the whole view under 512, the coarse layer
        # under 512 to 2047). Rendered while the browser opens the page, the first view comes
        # sooner. A failure here is met again, and reported, by the request for the tile.
        task = asyncio.create_task(home())
        task.add_done_callback(lambda task: task.cancelled() or task.exception())
        yield
        task.cancel()

    def config(request: Request) -> Response:
        return JSONResponse({
            "parameters": {"seed": str(base.seed), "init": base.init,
                           "iterations": base.iterations, "points": base.points,
                           "threshold": base.threshold, "shade": base.shade,
                           "palette": shade.palette_text(base.palette)},
            "palettes": list(shade.PALETTES), "default_palette": shade.DEFAULT_PALETTE,
            "window": list(base.window), "tile": tiles.TILE,
            "tile_ranges": {init: _tile_ranges(dataclasses.replace(base, init=init))
                            for init in ("shared", "per-point")},
            "limits": {"iterations": MAX_ITERATIONS, "points": MAX_POINTS},
            "save": save.name if save is not None else None,
        })

    def describe_view(spec: ArtworkSpec) -> dict:
        meta = describe(spec, rng.draw(spec))
        return {"id": spec.id, "window": list(spec.window), "resolution": spec.resolution,
                "command": render_command(meta)}

    def view(request: Request) -> Response:
        return JSONResponse(describe_view(view_spec(base, _query(request))))

    async def save_view(request: Request) -> Response:
        if save is None:
            return _error(409, "saving is off: start attnart explore with --save FILE.toml")
        spec = view_spec(base, await _json_object(request))
        async with save_lock:
            try:
                there = await run_in_threadpool(append_artwork, save, spec)
            except (ArtError, OSError, ValueError) as e:  # the file, changed since the start
                return _error(409, f"cannot save into {save.name}: {e}")
        return JSONResponse(describe_view(spec) | {"saved": there is None, "file": save.name,
                                                   "title": (there or spec).title})

    def status(request: Request) -> Response:
        return JSONResponse(stats | {"cache_tiles": len(cache), "cache_bytes": cache.size})

    async def bad_request(request: Request, exc: BadRequest) -> Response:
        return _error(400, str(exc))

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail))

    async def internal_error(request: Request, exc: Exception) -> Response:
        # Whatever failed, the page still gets JSON it can show; the log has the traceback.
        return _error(500, f"the explorer failed on this request ({type(exc).__name__}); its "
                      "log says why")

    api = [Route("/config", config), Route("/view", view),
           Route("/save", save_view, methods=["POST"]), Route("/status", status)]
    static = StaticFiles(packages=[("generator.explore", "static")], html=True)
    app = Starlette(
        routes=[Route("/tiles/{z}/{x}/{y}.png", tile), Mount("/api", routes=api),
                Mount("/", static)],
        exception_handlers={BadRequest: bad_request, HTTPException: http_error,
                            Exception: internal_error},
        lifespan=lifespan, middleware=[Middleware(HostCheck, hosts=hosts), Middleware(SiteCheck)])
    app.state.closing = False  # set by serve() on Ctrl-C
    return app
