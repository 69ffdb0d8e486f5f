"""Real servers for the tests: the Oxigraph SPARQL server (PyPI ``oxigraph``) and a faulty HTTP server."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(found).exists():
        raise RuntimeError("the oxigraph server (PyPI package 'oxigraph') is not installed; run 'uv sync'")
    return found


class OxigraphServer:
    """``oxigraph serve`` on 127.0.0.1 with an in-memory store; ``query``/``update``/``store`` URLs."""

    def __init__(self, *extra: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.query, self.update, self.store = self.base + "/query", self.base + "/update", self.base + "/store"
        self.process = subprocess.Popen([oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{self.port}", *extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oxigraph exited: {self.process.stderr.read().decode()}")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("oxigraph did not start within 30 s")

    def count(self, graph: str | None = None) -> int:
        where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
        body = urllib.parse.urlencode({"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"}).encode()
        req = urllib.request.Request(self.query, data=body, headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(json.load(r)["results"]["bindings"][0]["n"]["value"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


RESULTS = json.dumps({"head": {"vars": ["x"]},
                      "results": {"bindings": [{"x": {"type": "literal", "value": "ok"}}]}}).encode()


class FaultServer:
    """An HTTP server whose paths misbehave on purpose; records every request it gets.

    A route is a function (handler, hit number) -> None that writes the whole response.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.routes: dict[str, Callable] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                outer.requests.append({"method": self.command, "path": path, "url": self.path,
                                       "headers": dict(self.headers), "body": body})
                hits = sum(1 for r in outer.requests if r["path"] == path)
                route = outer.routes.get(path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                route(self, hits)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def route(self, path: str):
        def register(fn):
            self.routes[path] = fn
            return fn
        return register

    def hits(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def reply(handler, status: int, body: bytes = b"", content_type: str = "application/sparql-results+json",
          headers: dict | None = None, length: int | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()
    if length is not None and length != len(body):
        handler.close_connection = True


class KgServe:
    """``kg serve`` as a real process on 127.0.0.1 (port chosen by the server, read from its message)."""

    def __init__(self, *args: str, env: dict | None = None):
        import os
        import queue
        import re

        self.process = subprocess.Popen([sys.executable, "-m", "kg", "serve", "--port", "0", *args],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, **(env or {})})
        lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []

        def read():
            for line in self.process.stderr:
                self.stderr.append(line)
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise RuntimeError("kg serve exited: " + "".join(self.stderr)) from None
                continue
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if found:
                self.base = found.group(1)
                self.banner = line
                return
        self.stop()
        raise RuntimeError("kg serve did not start within 60 s: " + "".join(self.stderr))

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 30):
    """(status, headers, body) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
