"""`attnart explore` started as a user starts it, on a free 127.0.0.1 port, for the tests."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

STARTUP_S = 60
CLI = ("-m", "generator.cli", "explore", "--port", "0")


class Explorer:
    """A running `attnart explore ARGS --port 0` (or `python PROGRAM ARGS`, which prints the
    same first line): its URL, and helpers to ask it things. `fds` limits the descriptors it
    may open (`ulimit -n`); its stderr goes to a pipe, or to the file `stderr`."""

    def __init__(self, *args: str, cwd: Path, program: tuple[str, ...] = CLI,
                 fds: int | None = None, stderr=subprocess.PIPE):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (fds, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        self.process = subprocess.Popen(
            [sys.executable, *program, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=stderr,
            text=True, preexec_fn=limit if fds else None)
        line = self.process.stdout.readline()  # "attnart explore: http://127.0.0.1:PORT/ ..."
        if "http://" not in line:
            err = self.process.stderr.read() if self.process.stderr else ""
            self.stop()
            raise RuntimeError(f"attnart explore did not start: {line}{err}")
        self.url = line.split()[2]
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])
        deadline = time.monotonic() + STARTUP_S
        while True:  # the socket listens at once; wait until the app answers
            try:
                self.get("api/config")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def get(self, path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) of GET `path` (relative to the root)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=STARTUP_S) as r:
                return r.status, r.read(), r.headers.get("content-type", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("content-type", "")

    def json(self, path: str, body=None) -> tuple[int, dict]:
        """(status, JSON reply) of GET `path`, or of POSTing `body` as JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=STARTUP_S) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
