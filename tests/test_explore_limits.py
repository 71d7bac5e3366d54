"""attnart explore under attack (issue 21): slow and too many clients against a real server on
a free 127.0.0.1 port, cross-site requests, bodies nested too deeply, and a --save file that
stops being a seeds file while the server runs. Each server here renders nothing: its start
window is off the page's first view, and only JSON is asked of it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from explorer import Explorer  # noqa: E402

from generator import cli  # noqa: E402
from generator.explore import app as explore_app  # noqa: E402
from generator.explore import server as explore_server  # noqa: E402
from generator.spec import load_seeds  # noqa: E402

QUIET = ("--window=0,1,0,1", "--iterations", "20")  # nothing rendered at start
VIEW = {"seed": 5, "z": 1, "px": 0, "py": 0, "size": 64}
SEEDS = '[[artwork]]\nseed = 3\ninit = "shared"\n'
# The explorer with short limits, so that a test waits a second, not the defaults' ten:
# argv: the save file, the most connections, the seconds for a head and for a body.
SHORT_LIMITS = """
import sys
from pathlib import Path
from generator.explore import app, server
from generator.spec import ArtworkSpec
app.BODY_S = float(sys.argv[4])
sock = server.bind("127.0.0.1", 0)
print("attnart explore:", server.url_of(sock), flush=True)
spec = ArtworkSpec(seed=1, iterations=20, window=(0, 1, 0, 1))
server.serve(app.create_app(spec, save=Path(sys.argv[1])), sock, most=int(sys.argv[2]),
             head_s=float(sys.argv[3]))
"""


def request(server, method: str, path: str, body: bytes | None = None, **headers):
    """(status, headers, body) of one request on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def answer(sock: socket.socket) -> bytes:
    """One whole HTTP answer (head and body) read from `sock`."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
            re.search(rb"content-length: *(\d+)", data, re.I)[1]):
        chunk = sock.recv(4096)
        assert chunk, data  # the server closed the connection before its answer ended
        data += chunk
    return data


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.fixture
def never_serving(monkeypatch):
    """For `attnart explore` run in-process, which must fail before it serves: fail, not
    serve forever, if it gets that far."""
    def serve(app, sock, **limits):
        sock.close()
        raise AssertionError("attnart explore started serving")

    monkeypatch.setattr(explore_server, "serve", serve)


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explore-limits")
    server = Explorer(str(folder / "picks.toml"), "20", "1", "1", cwd=folder,
                      program=("-c", SHORT_LIMITS))
    server.folder = folder
    yield server
    server.stop()


# ---- slow and too many clients (item 10) --------------------------------------------------


def test_a_flood_of_slow_clients_under_a_descriptor_limit_leaves_the_server_answering(tmp_path):
    """More trickling connections than the process may open descriptors (ulimit -n 128): the
    server closes the longest-waiting ones (64 stay: half the descriptors), keeps answering,
    and says so in one line (without the cap: a traceback per refused accept(), megabytes a
    second)."""
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        server = Explorer(*QUIET, cwd=tmp_path, fds=128, stderr=err)
    slow = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.send(b"G")
            slow.append(sock)
            time.sleep(0.002)  # a flood, yet one the listening queue can take
        for sock in slow:
            with contextlib.suppress(OSError):  # closed by the server already
                sock.send(b"E")  # still trickling
        started = time.monotonic()
        assert server.json("api/config")[0] == 200
        assert time.monotonic() - started < 5
        assert server.process.poll() is None
        time.sleep(0.2)
        closed = select.select(slow, [], [], 0)[0]  # readable: the server's end is closed
        assert len(slow) - len(closed) <= 64
    finally:
        for sock in slow:
            sock.close()
        server.stop()
    lines = log.read_text().splitlines()
    assert len(lines) <= 3, lines[:20]
    assert any("more than 64 connections at once" in line for line in lines), lines


def test_a_request_head_trickled_is_cut_off(short):
    """Connecting and sending nothing, one header byte at a time, or a body nobody reads after
    the answer: the connection is closed within the head's deadline (one second here)."""
    silent = socket.create_connection(("127.0.0.1", short.port))
    trickling = socket.create_connection(("127.0.0.1", short.port))
    for byte in b"GET /":
        trickling.send(bytes([byte]))
        time.sleep(0.1)
    assert closed_by_server(silent, 3) and closed_by_server(trickling, 3)
    # after a full answer, an unread body trickled on holds the connection no longer
    body_after = socket.create_connection(("127.0.0.1", short.port))
    body_after.send(b"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99\r\n\r\n")
    body_after.settimeout(5)
    assert answer(body_after).startswith(b"HTTP/1.1 200")
    for _ in range(5):
        body_after.send(b"x")
        time.sleep(0.1)
    assert closed_by_server(body_after, 3)
    for sock in (silent, trickling, body_after):
        sock.close()
    assert short.json("api/config")[0] == 200


def test_a_save_body_trickled_gets_a_408_and_a_quick_one_still_saves(short):
    sock = socket.create_connection(("127.0.0.1", short.port), timeout=10)
    sock.send(b"POST /api/save HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 200\r\n\r\n{")
    started = time.monotonic()
    reply = answer(sock)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 408") and b'"error"' in reply
    assert time.monotonic() - started < 5
    assert short.json("api/save", VIEW)[0] == 200


def test_the_same_failure_is_logged_once():
    import logging

    once = explore_server.OncePerCause()
    records = []
    for i in range(3):
        for msg, exc in (("Exception in ASGI application", ValueError(f"bad {i}")),
                         ("socket.accept() out of system resource", OSError(24, "Too many"))):
            record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, msg, (),
                                       (type(exc), exc, None))
            records.append(once.filter(record))
    assert records == [True, True] + [False] * 4


# ---- cross-site requests and frames (item 11) ---------------------------------------------


def test_other_sites_pages_get_nothing_and_no_page_may_frame_the_explorer(short):
    heavy = "/tiles/0/0/0.png?iterations=1000&points=64&seed=11&init=shared"
    kept = short.folder.joinpath("picks.toml")
    before = kept.read_bytes() if kept.exists() else None
    for site in ("cross-site", "same-site", "CROSS-SITE", "something-new"):
        for method, path, body in (("GET", heavy, None), ("GET", "/api/config", None),
                                   ("GET", "/api/view?z=0&px=0&py=0&size=64", None),
                                   ("POST", "/api/save", json.dumps(VIEW).encode())):
            status, headers, reply = request(short, method, path, body,
                                             **{"Sec-Fetch-Site": site,
                                                "Content-Type": "application/json"})
            assert status == 403, (site, path)
            assert "open it at this address" in json.loads(reply)["error"]
    assert (kept.read_bytes() if kept.exists() else None) == before
    assert json.loads(request(short, "GET", "/api/status")[2])["rendered"] == 0
    # the page's own requests, the user's, scripts'; and the page opened from a link anywhere
    for site in ("same-origin", "none", None):
        headers = {"Sec-Fetch-Site": site} if site else {}
        assert request(short, "GET", "/api/config", **headers)[0] == 200
    assert request(short, "GET", "/", **{"Sec-Fetch-Site": "cross-site",
                                         "Sec-Fetch-Mode": "navigate"})[0] == 200
    answers = [request(short, "GET", path, **headers) for path, headers in (
        ("/", {}), ("/explore.js", {}), ("/api/config", {}), ("/api/nope", {}),
        ("/api/save", {}), ("/tiles/0/0/0.png?seed=x", {}), ("/missing.html", {}),
        ("/api/config", {"Sec-Fetch-Site": "cross-site"}), ("/", {"Host": "evil.example"}))]
    assert [status for status, _, _ in answers] == [200, 200, 200, 404, 405, 400, 404, 403, 400]
    for _, headers, _ in answers:
        assert headers["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert headers["X-Frame-Options"] == "DENY"


# ---- bodies nested too deeply (item 16) ---------------------------------------------------


@pytest.mark.parametrize("body", [
    "[" * 4000 + "]" * 4000,
    '{"title": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"seed": ' + '{"a":' * 2000 + "1" + "}" * 2001,
    "[" * 8000,  # unterminated, under the size limit
    '{"seed": 5, "z": ' + "[" * 900 + "]" * 900 + "}",  # deep, yet within Python's stack
])
def test_bodies_nested_too_deeply_get_a_400_in_json(short, body):
    status, headers, reply = request(short, "POST", "/api/save", body.encode(),
                                     **{"Content-Type": "application/json"})
    assert (status, headers["Content-Type"]) == (400, "application/json")
    assert json.loads(reply)["error"]


def test_odd_values_of_every_view_field_get_a_400_never_a_500(short):
    odd = [None, True, [], {}, [[[]]], {"a": {"b": 1}}, -0.0, 1e308, 2**200, "", "\x00",
           "\ud800", "9" * 5000, [5], {"seed": 5}]
    for field in ["seed", "z", "px", "py", "size", "title", *explore_app.PARAMETERS]:
        for value in odd:
            status, reply = short.json("api/save", VIEW | {field: value})
            assert status in (200, 400), (field, value, status, reply)
            assert isinstance(reply.get("error", ""), str)


# ---- a --save file that is not a seeds file (item 5) --------------------------------------


def other_toml(path: Path) -> None:
    path.write_text("[tool.mine]\nkey = 1\n")


def link_to_project(path: Path) -> None:
    path.with_name("pyproject.toml").write_text('[project]\nname = "mine"\n')
    path.symlink_to("pyproject.toml")


def comments_only(path: Path) -> None:
    path.write_text("# my notes, not views\n")


def dangling_link(path: Path) -> None:
    path.symlink_to("gone.toml")


def folder_there(path: Path) -> None:
    path.mkdir()


def read_only(path: Path) -> None:
    path.write_text(SEEDS)
    path.chmod(0o444)


def deep_toml(path: Path) -> None:
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")


def fifo(path: Path) -> None:
    os.mkfifo(path)


# What the save file may be instead of a seeds file, each making `path`; a FIFO is tested
# apart where a blocking open would hang the test itself.
NOT_SEEDS = [other_toml, link_to_project, comments_only, dangling_link, folder_there,
             read_only, deep_toml]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    elif os.path.lexists(path):
        path.unlink()


def _state(path: Path):
    """What is at `path`, to tell that nothing changed it."""
    if path.is_symlink():
        return ("link", os.readlink(path))
    if path.is_file():
        return ("file", path.read_bytes(), path.stat().st_mode)
    return ("other", path.stat().st_mode)


def test_a_save_file_no_longer_a_seeds_file_gets_a_409_and_is_left_alone(short):
    path = short.folder / "picks.toml"
    project = short.folder / "pyproject.toml"
    for replace in [*NOT_SEEDS, fifo]:
        _remove(path)
        replace(path)
        kept, project_kept = _state(path), project.read_bytes() if project.exists() else None
        started = time.monotonic()
        status, reply = short.json("api/save", VIEW)
        assert status == 409 and "picks.toml" in reply["error"], (replace.__name__, reply)
        assert time.monotonic() - started < 5, replace.__name__  # a FIFO never blocks it
        assert _state(path) == kept, replace.__name__
        assert (project.read_bytes() if project.exists() else None) == project_kept
    _remove(path)
    path.write_text(SEEDS)
    assert short.json("api/save", VIEW)[0] == 200 and len(load_seeds(path)) == 2


def test_a_save_never_keeps_the_server_from_stopping(tmp_path):
    path = tmp_path / "picks.toml"
    server = Explorer("--save", str(path), *QUIET, cwd=tmp_path)
    try:
        os.mkfifo(path)
        assert server.json("api/save", VIEW)[0] == 409
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=20) == 130
    finally:
        server.stop()


@pytest.mark.parametrize("replace", NOT_SEEDS, ids=lambda f: f.__name__)
def test_explore_refuses_a_save_file_it_could_not_append_to(tmp_path, capsys, replace,
                                                            never_serving):
    """At start, in one line, whatever the save file is."""
    path = tmp_path / "picks.toml"
    replace(path)
    kept = _state(path)
    assert cli.main(["explore", "--port", "0", "--save", str(path), *QUIET]) == 2
    err = capsys.readouterr().err
    assert "--save" in err and "picks.toml" in err and len(err.splitlines()) == 1, err
    assert _state(path) == kept


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_explore_refuses_a_device_as_the_save_file(capsys, device, never_serving):
    assert cli.main(["explore", "--port", "0", "--save", device, *QUIET]) == 2
    err = capsys.readouterr().err
    assert "not a regular file" in err and len(err.splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_explore_refuses_a_save_file_in_a_read_only_folder(tmp_path, capsys, never_serving):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert cli.main(["explore", "--port", "0", "--save", str(folder / "picks.toml"),
                         *QUIET]) == 2
        err = capsys.readouterr().err
        assert "cannot be written" in err and len(err.splitlines()) == 1
    finally:
        folder.chmod(0o755)


def test_a_blank_or_missing_save_file_starts_a_seeds_file(tmp_path):
    for text in (None, "", "\n  \n"):
        path = tmp_path / "picks.toml"
        _remove(path)
        if text is not None:
            path.write_text(text)
        explore_app.check_save(path)
        spec = explore_app.view_spec(explore_app.ArtworkSpec(seed=1), VIEW)
        assert explore_app.append_artwork(path, spec) is None
        assert load_seeds(path) == [spec]


def test_a_fifo_as_save_file_is_refused_without_blocking(tmp_path):
    """The check in a process of its own, with a time limit: a blocking open never returns."""
    path = tmp_path / "picks.toml"
    os.mkfifo(path)
    code = ("import sys; from pathlib import Path; from generator.explore import app\n"
            "try: app.check_save(Path(sys.argv[1]))\n"
            "except app.ArtError as e: print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert "not a regular file" in proc.stdout, proc.stdout + proc.stderr
