"""Remote SPARQL 1.1 endpoints: queries through SPARQLWrapper, uploads with the Graph Store Protocol.

Every request carries a descriptive User-Agent (Wikimedia's policy asks for one), has a
timeout (on connecting and on each read), and is sent one at a time. HTTP 429 waits for
``Retry-After`` and 5xx answers back off, both a bounded number of times. An error status,
an HTML page, a truncated body or JSON without ``results.bindings`` is an
:class:`~kg.errors.EndpointError`, never an empty or partial result.

Credentials come from the environment, never from the command line, and are never printed:
``KG_ENDPOINT_TOKEN`` (sent as ``Authorization: Bearer``) or ``KG_ENDPOINT_USER`` with
``KG_ENDPOINT_PASSWORD`` (HTTP Basic).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import __version__
from .errors import EndpointError, QueryError
from .results import Result
from .terms import Term

DEFAULT_TIMEOUT = 60.0
PROJECT_URL = "https://w3id.org/resistance-kg/"


def user_agent() -> str:
    """``kg/<version> (<project URL>) SPARQLWrapper/<version>``, per the Wikimedia User-Agent policy."""
    import SPARQLWrapper

    return f"kg/{__version__} ({PROJECT_URL}) SPARQLWrapper/{SPARQLWrapper.__version__}"


def redact(url: str) -> str:
    """The URL without any ``user:password@`` part, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urllib.parse.urlunsplit(parts)


def check_url(url: str, what: str = "endpoint") -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EndpointError(f"{what} {redact(url)!r} is not an http:// or https:// URL")
    return url


def auth_headers(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Authorization header from KG_ENDPOINT_TOKEN or KG_ENDPOINT_USER/KG_ENDPOINT_PASSWORD."""
    env = os.environ if env is None else env
    if env.get("KG_ENDPOINT_TOKEN"):
        return {"Authorization": "Bearer " + env["KG_ENDPOINT_TOKEN"]}
    if env.get("KG_ENDPOINT_USER"):
        pair = f"{env['KG_ENDPOINT_USER']}:{env.get('KG_ENDPOINT_PASSWORD', '')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return {}


@dataclass
class RetryPolicy:
    """How long and how often to wait: on 429 (Retry-After) and on 5xx (exponential backoff)."""

    retries: int = 3
    max_wait: float = 60.0
    backoff: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def wait_for(self, status: int, headers, attempt: int, url: str) -> float:
        """Seconds to wait before the next attempt; raises EndpointError when we should give up."""
        what = "429 Too Many Requests" if status == 429 else f"HTTP {status}"
        if attempt >= self.retries:
            raise EndpointError(f"{redact(url)} still answered {what} after {attempt + 1} attempts; try again later")
        delay = None
        if status == 429:
            delay = _retry_after(headers.get("Retry-After") if headers else None)
        if delay is None:
            delay = self.backoff * (2 ** attempt)
        if delay > self.max_wait:
            raise EndpointError(f"{redact(url)} answered {what} and asks to wait {delay:.0f} s "
                                f"(Retry-After), longer than the {self.max_wait:.0f} s we wait; try again later")
        return delay


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _excerpt(body: bytes | str | None, limit: int = 300) -> str:
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = re.sub(r"<[^>]+>", " ", text) if "<" in text else text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _looks_like_html(content_type: str, body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


class RemoteEngine:
    """Runs SPARQL on a remote SPARQL 1.1 endpoint through SPARQLWrapper (POST, one at a time)."""

    def __init__(self, endpoint: str, *, timeout: float = DEFAULT_TIMEOUT, default_graphs: tuple[str, ...] = (),
                 policy: RetryPolicy | None = None, env: Mapping[str, str] | None = None):
        self.endpoint = check_url(endpoint)
        if timeout <= 0:
            raise EndpointError("the timeout must be a positive number of seconds")
        self.timeout = timeout
        self.default_graphs = tuple(default_graphs)
        self.policy = policy or RetryPolicy()
        self.headers = auth_headers(env)

    def __repr__(self) -> str:
        return f"RemoteEngine({redact(self.endpoint)!r})"

    def select(self, text: str) -> Result:
        body, content_type = self._send(text, "json")
        return parse_results_json(body, content_type, redact(self.endpoint))

    def construct(self, text: str) -> bytes:
        import pyoxigraph as ox

        body, content_type = self._send(text, "turtle")
        where = redact(self.endpoint)
        if _looks_like_html(content_type, body):
            raise EndpointError(f"{where} answered with an HTML page instead of RDF")
        fmt = ox.RdfFormat.from_media_type(content_type) or ox.RdfFormat.TURTLE
        try:
            triples = list(ox.parse(body, format=fmt))
        except SyntaxError as e:
            raise EndpointError(f"{where} answered RDF that does not parse (truncated?): {e}") from None
        from .export import turtle

        return turtle(ox.Quad(t.subject, t.predicate, t.object) for t in triples)

    def _send(self, text: str, return_format: str) -> tuple[bytes, str]:
        from SPARQLWrapper import POST, SPARQLWrapper
        from SPARQLWrapper.SPARQLExceptions import (
            EndPointInternalError,
            EndPointNotFound,
            QueryBadFormed,
            SPARQLWrapperException,
            Unauthorized,
        )

        where = redact(self.endpoint)
        attempt = 0
        while True:
            client = SPARQLWrapper(self.endpoint, agent=user_agent())
            client.setQuery(text)
            client.setMethod(POST)
            client.setReturnFormat(return_format)
            client.setOnlyConneg(True)  # ask by Accept header only; no non-standard format= parameter
            # setTimeout() truncates to whole seconds (0.5 would become 0: no timeout at all).
            client.timeout = self.timeout
            for graph in self.default_graphs:
                client.addDefaultGraph(graph)
            for name, value in self.headers.items():
                client.addCustomHttpHeader(name, value)
            try:
                answer = client.query()
                response = answer.response
                body = response.read()
                return body, response.headers.get_content_type() if response.headers else ""
            except QueryBadFormed as e:
                raise QueryError(f"{where} rejected the query (HTTP 400): {_server_message(e)}") from None
            except Unauthorized:
                raise EndpointError(f"{where} refused access (HTTP 401); set KG_ENDPOINT_TOKEN, or "
                                    "KG_ENDPOINT_USER and KG_ENDPOINT_PASSWORD") from None
            except EndPointNotFound:
                raise EndpointError(f"no SPARQL endpoint at {where} (HTTP 404)") from None
            except EndPointInternalError:
                delay = self.policy.wait_for(500, None, attempt, self.endpoint)
            except urllib.error.HTTPError as e:
                if e.code == 429 or e.code >= 500:
                    delay = self.policy.wait_for(e.code, e.headers, attempt, self.endpoint)
                else:
                    detail = _excerpt(e.read())
                    raise EndpointError(f"{where} answered HTTP {e.code} {e.reason}"
                                        + (f": {detail}" if detail else "")) from None
            except http.client.IncompleteRead as e:
                raise EndpointError(f"{where} closed the connection after {len(e.partial)} bytes of the answer "
                                    "(truncated); nothing was used") from None
            except TimeoutError:
                raise EndpointError(f"{where} did not answer within {self.timeout:g} s (--timeout)") from None
            except urllib.error.URLError as e:
                if isinstance(e.reason, (TimeoutError, socket.timeout)):
                    raise EndpointError(f"{where} did not answer within {self.timeout:g} s (--timeout)") from None
                raise EndpointError(f"cannot reach {where}: {getattr(e.reason, 'strerror', None) or e.reason}") from None
            except (http.client.HTTPException, OSError) as e:
                raise EndpointError(f"the connection to {where} failed: {e}") from None
            except SPARQLWrapperException as e:
                raise EndpointError(f"{where}: {_server_message(e)}") from None
            self.policy.sleep(delay)
            attempt += 1


def _server_message(e: Exception) -> str:
    """The server's own words from a SPARQLWrapper exception (it embeds the response body)."""
    text = str(e)
    m = re.search(r"Response:\s*(?:b['\"])?(.*)", text, re.DOTALL)
    raw = m.group(1) if m else text
    raw = raw.rstrip("'\"").encode("latin-1", "replace").decode("unicode_escape", "replace") if m else raw
    return _excerpt(raw)


def parse_results_json(body: bytes, content_type: str, where: str) -> Result:
    """Read SPARQL 1.1 Query Results JSON strictly: anything else is an EndpointError."""
    if _looks_like_html(content_type, body):
        raise EndpointError(f"{where} answered with an HTML page instead of SPARQL results "
                            "(is the URL the SPARQL endpoint, not its web page?)")
    try:
        doc = json.loads(body)
    except UnicodeDecodeError:
        raise EndpointError(f"{where} answered bytes that are not UTF-8 JSON") from None
    except json.JSONDecodeError as e:
        raise EndpointError(f"{where} answered incomplete or invalid JSON ({e.msg} at byte {e.pos} of "
                            f"{len(body)}); a query that timed out on the server can come back cut off") from None
    if isinstance(doc, dict) and isinstance(doc.get("boolean"), bool):
        return Result((), (), doc["boolean"])
    head = doc.get("head") if isinstance(doc, dict) else None
    results = doc.get("results") if isinstance(doc, dict) else None
    bindings = results.get("bindings") if isinstance(results, dict) else None
    variables = head.get("vars") if isinstance(head, dict) else None
    if not isinstance(bindings, list) or not isinstance(variables, list):
        raise EndpointError(f"{where} answered JSON without head.vars and results.bindings; "
                            "it is not a SPARQL result")
    try:
        rows = tuple({k: Term.from_json(v) for k, v in b.items()} for b in bindings)
    except (AttributeError, TypeError, ValueError) as e:
        raise EndpointError(f"{where} answered a malformed binding: {e}") from None
    return Result(tuple(str(v) for v in variables), rows)


# --- Graph Store HTTP Protocol -----------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Writes never follow redirects: a redirected PUT could land the data somewhere unintended."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def graph_store_url(endpoint: str, graph: str | None) -> str:
    """The GSP request URL: ``?default`` or ``?graph=<IRI>`` (percent-encoded) on the endpoint."""
    check_url(endpoint, "Graph Store endpoint")
    if graph is not None:
        import pyoxigraph as ox

        try:
            ox.NamedNode(graph)
        except ValueError:
            raise EndpointError(f"--graph {graph!r} is not an absolute IRI") from None
        if ":" not in graph:
            raise EndpointError(f"--graph {graph!r} is not an absolute IRI")
    query = urllib.parse.urlencode({"graph": graph}) if graph is not None else "default"
    return endpoint + ("&" if "?" in endpoint else "?") + query


def put_graph(endpoint: str, body: bytes, *, graph: str | None = None, append: bool = False,
              content_type: str = "text/turtle", timeout: float = DEFAULT_TIMEOUT,
              env: Mapping[str, str] | None = None) -> int:
    """Upload ``body`` with the SPARQL 1.1 Graph Store HTTP Protocol; return the HTTP status.

    PUT replaces the graph (the default graph, or ``graph``); ``append`` POSTs, adding to it.
    Not retried: a write is sent once, and any failure is reported.
    """
    if not body.strip():
        raise EndpointError("refusing to upload nothing: a PUT of an empty body would empty the remote graph")
    url = graph_store_url(endpoint, graph)
    where = redact(endpoint)
    headers = {"Content-Type": f"{content_type}; charset=utf-8", "User-Agent": user_agent(), **auth_headers(env)}
    request = urllib.request.Request(url, data=body, method="POST" if append else "PUT", headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        if 300 <= e.code < 400:
            target = redact(e.headers.get("Location", "?")) if e.headers else "?"
            raise EndpointError(f"{where} redirected the upload (HTTP {e.code}) to {target}; uploads do not "
                                "follow redirects: give the final URL as --endpoint if you trust it") from None
        if e.code in (401, 403):
            raise EndpointError(f"{where} refused the upload (HTTP {e.code}); set KG_ENDPOINT_TOKEN, or "
                                "KG_ENDPOINT_USER and KG_ENDPOINT_PASSWORD") from None
        detail = _excerpt(e.read())
        raise EndpointError(f"{where} refused the upload: HTTP {e.code} {e.reason}"
                            + (f": {detail}" if detail else "")) from None
    except TimeoutError:
        raise EndpointError(f"{where} did not answer within {timeout:g} s (--timeout); the upload may or may "
                            "not have been applied") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, (TimeoutError, socket.timeout)):
            raise EndpointError(f"{where} did not answer within {timeout:g} s (--timeout); the upload may "
                                "or may not have been applied") from None
        raise EndpointError(f"cannot reach {where}: {getattr(e.reason, 'strerror', None) or e.reason}") from None
    except (http.client.HTTPException, OSError) as e:
        raise EndpointError(f"the connection to {where} failed: {e}") from None
