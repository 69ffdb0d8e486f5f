"""SERVICE calls from the embedded engine, made the polite way.

pyoxigraph performs ``SERVICE`` itself, with no User-Agent, no retry on 429 and no cache,
and it sends the service pattern without the bindings of the rest of the query. So when a
query is allowed to call other endpoints, each ``SERVICE <iri>`` is pointed at a loopback
proxy for the duration of the query; the proxy forwards the pattern with
:class:`kg.remote.RemoteEngine` (descriptive User-Agent, timeouts, bounded retries), through
the on-disk cache, to the real endpoint — or to a mirror given for it (``--wikidata-endpoint``).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import sparqltext
from .cache import CachedEngine
from .errors import KgError
from .remote import DEFAULT_TIMEOUT, RemoteEngine, check_url

WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"


class ServiceProxy:
    """A loopback SPARQL endpoint per SERVICE target, alive inside a ``with`` block."""

    def __init__(self, mirrors: dict[str, str] | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 cache_dir=None, refresh: bool = False, engine_factory=None):
        self.mirrors = {k: check_url(v) for k, v in (mirrors or {}).items()}
        self.timeout = timeout
        self.cache_dir = cache_dir
        self.refresh = refresh
        self.engine_factory = engine_factory or (lambda url: RemoteEngine(url, timeout=self.timeout))
        self.targets: list[str] = []
        self.errors: list[KgError] = []
        self._lock = threading.Lock()  # one request at a time towards remote endpoints
        self._server: ThreadingHTTPServer | None = None

    def rewrite(self, text: str) -> str:
        """The query with every SERVICE target pointed at this proxy."""

        def replace(iri: str) -> str:
            check_url(iri, "SERVICE endpoint")
            if iri not in self.targets:
                self.targets.append(iri)
            return f"{self.base}/service/{self.targets.index(iri)}"

        return sparqltext.rewrite_services(text, replace)

    def __enter__(self) -> ServiceProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("query", [""])[0]
                self._answer(query)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                if self.headers.get_content_type() == "application/sparql-query":
                    query = body
                else:
                    query = urllib.parse.parse_qs(body).get("query", [""])[0]
                self._answer(query)

            def _answer(self, query: str):
                try:
                    index = int(self.path.split("?")[0].rsplit("/", 1)[-1])
                    target = proxy.targets[index]
                except (ValueError, IndexError):
                    self.send_error(404)
                    return
                try:
                    with proxy._lock:
                        url = proxy.mirrors.get(target, target)
                        engine = CachedEngine(proxy.engine_factory(url), proxy.cache_dir, refresh=proxy.refresh)
                        result = engine.select(query)
                    body = json.dumps(result.to_json(), ensure_ascii=False).encode("utf-8")
                    self.send_response(200)
                    self.send_header("Content-Type", "application/sparql-results+json")
                except KgError as e:
                    proxy.errors.append(e)
                    body = str(e).encode("utf-8")
                    self.send_response(502)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
