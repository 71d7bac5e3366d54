"""The explorer's HTTP server: uvicorn on one socket, with the limits a local server open to
any page or program on the machine needs against clients that never finish.

uvicorn alone holds a connection that trickles its request head forever, accepts connections
until the process runs out of descriptors, and then logs the same traceback for every one
(a flood of slow clients once wrote 400 MB to stderr in a minute). Here each request head has
a deadline, the open connections are capped below the descriptor limit, and a log message is
written once per cause.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from generator.errors import OutputError

HEAD_S = 10  # from connecting, or from the end of the last answer, to a request's whole head
KEEP_ALIVE_S = 5  # an idle connection between requests (uvicorn's timeout_keep_alive)
MAX_CONNECTIONS = 256  # open at once; a browser uses 6 per server
BACKLOG = 128  # connections queued before the server accepts them (uvicorn's: 2048)
MAX_HEAD = 16 * 1024  # bytes of a request line and headers (h11's own default, made explicit)
# On every answer: no other site may show the page in a frame (clickjacking the save button),
# and no browser may take a tile or JSON answer for another type.
HEADERS = [("Content-Security-Policy", "frame-ancestors 'none'"), ("X-Frame-Options", "DENY"),
           ("X-Content-Type-Options", "nosniff")]

log = logging.getLogger("uvicorn.error")


class _Connection(H11Protocol):
    """uvicorn's HTTP/1.1 connection (h11, always installed with uvicorn, so the limits do not
    depend on which parser is installed) with a deadline for each request's head, and a cap on
    open connections: one too many closes the connection waiting longest for a request, so
    slow clients cannot lock out the page."""

    def __init__(self, *args, head_s: float, most: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.head_s, self.most = head_s, most
        self.deadline: asyncio.TimerHandle | None = None  # while a request's head is awaited
        self.waiting_since = 0.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.most:
            waiting = [c for c in self.connections if getattr(c, "deadline", None) is not None]
            min(waiting, key=lambda c: c.waiting_since).close_waiting()  # this one at least
            log.warning("more than %d connections at once: closing those waiting longest for "
                        "a request", self.most)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a whole head came: the request is the app's now
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Unless the head of a pipelined request was waiting, the client has `head_s` for the
        # next one (even sending the rest of a body its answer did not need).
        if not self.transport.is_closing() and self.cycle.response_complete:
            self._await_head()

    def connection_lost(self, exc) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def close_waiting(self) -> None:
        self._stop_waiting()
        self.connections.discard(self)  # at once: a burst of new ones must not pick it again
        self.transport.close()

    def _await_head(self) -> None:
        self._stop_waiting()
        self.waiting_since = self.loop.time()
        self.deadline = self.loop.call_later(self.head_s, self.close_waiting)

    def _stop_waiting(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None


class OncePerCause(logging.Filter):
    """Lets through the first record of each cause (logger, message, exception type and
    errno) and drops its repeats: one slow client or one failing request is worth a line, a
    thousand of them are not worth a thousand tracebacks."""

    def __init__(self):
        super().__init__()
        self.seen: set[tuple] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        cause = (record.name, str(record.msg), type(exc).__name__, getattr(exc, "errno", None))
        if cause in self.seen:
            return False
        self.seen.add(cause)
        record.msg = f"{record.msg} (repeats of this are not logged)"
        return True


# Loggers that report per connection or per request: uvicorn's, and asyncio's (a refused
# accept() when descriptors run out, retried many times a second).
NOISY = ("uvicorn.error", "asyncio")


def descriptors_for_connections() -> int:
    """How many connections to keep open at most: MAX_CONNECTIONS, or half the descriptors
    this process may open when that is fewer (the rest are for files and the tiles' work)."""
    try:
        import resource
    except ImportError:  # not on POSIX: no limit to read
        return MAX_CONNECTIONS
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft // 2))


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so that the URL (port 0: a free port) is known before serving."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        sock = socket.socket(infos[0][0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
    except OSError as e:
        raise OutputError(f"cannot listen on {host}:{port} ({e.strerror or e}); choose another "
                          "--port or --host") from None
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


class _Server(uvicorn.Server):
    def handle_exit(self, sig, frame):
        # uvicorn lets the requests in hand finish: tiles queued behind the one rendering
        # would keep Ctrl-C waiting for all of them. A second Ctrl-C cancels what is left,
        # which the user asked for: no traceback for each cancelled request.
        if self.config.app.state.closing:
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        self.config.app.state.closing = True
        super().handle_exit(sig, frame)


def serve(app: Starlette, sock: socket.socket, *, head_s: float = HEAD_S,
          most: int | None = None) -> None:
    """Serve `app` on `sock` until interrupted: each request's head within `head_s` seconds,
    at most `most` connections open (default: `descriptors_for_connections()`)."""
    most = descriptors_for_connections() if most is None else most
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, ws="none", headers=HEADERS,
        http=functools.partial(_Connection, head_s=head_s, most=most),
        timeout_keep_alive=KEEP_ALIVE_S, h11_max_incomplete_event_size=MAX_HEAD,
        # the connections accepted in one burst, which open descriptors before any of them
        # can be closed: a quarter of the cap keeps a burst within the descriptors left
        backlog=max(1, min(BACKLOG, most // 4)))
    once = OncePerCause()
    for name in NOISY:
        logging.getLogger(name).addFilter(once)
    try:
        _Server(config).run(sockets=[sock])
    finally:
        for name in NOISY:
            logging.getLogger(name).removeFilter(once)

