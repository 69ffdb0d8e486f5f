"""``kg serve``: a read-only SPARQL 1.1 endpoint, the canned queries over HTTP, and web pages.

    service = Service.start()                 # the bundled data; or Service.start(files=[...])
    server = make_server(service, "127.0.0.1", 8000)
    server.serve_forever()

Layers: :class:`Service` answers requests (method, path, parameters, body, headers) with a
:class:`Response` and knows nothing of sockets; :class:`Handler` is the thin
``http.server`` adapter. Queries never run in the server process: they go to a
:class:`kg.pool.WorkerPool`, where a time limit can stop them.

Safety, checked before a query reaches the engine: size and bracket nesting
(:func:`kg.sparqltext.check_size`), read-only (updates and Graph Store writes get 403 on
every route), and no outbound requests (SERVICE, LOAD, FROM / FROM NAMED and the protocol's
graph parameters get 400: the store has one default graph and fetches nothing).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from . import __version__, paths, sparqltext, web
from .catalogue import Catalogue, Query
from .errors import KgError, ParameterError, QueryError, QueryTimeout, ReadOnlyError
from .namespaces import ID, KG, XSD
from .pool import Busy, WorkerPool
from .results import Result, serialize
from .terms import Term

MAX_BODY = 1 << 20  # bytes of a POST body; a query is at most sparqltext.MAX_QUERY_CHARS anyway
XSD_DATE = XSD + "date"
MAP_LIMIT = 2000  # markers drawn on the overview map
STATIC = Path(__file__).resolve().parent / "static"

# Offers in order of preference (the first wins when the client accepts anything).
ROW_TYPES = {
    "application/sparql-results+json": "json", "application/json": "json",
    "application/sparql-results+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv", "text/html": "html",
}
RDF_TYPES = {"text/turtle": "turtle", "application/x-turtle": "turtle", "application/ld+json": "json-ld",
             "application/n-triples": "n-triples", "text/plain": "n-triples", "application/rdf+xml": "rdf-xml",
             "text/html": "turtle"}
MEDIA = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
         "csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
         "html": "text/html; charset=utf-8", "turtle": "text/turtle; charset=utf-8",
         "json-ld": "application/ld+json", "n-triples": "application/n-triples", "rdf-xml": "application/rdf+xml"}
# ?format= / ?output= (SPARQLWrapper and browsers' links), overriding Accept.
FORMAT_NAMES = {"json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
                "html": "html", "turtle": "turtle", "ttl": "turtle", "json-ld": "json-ld", "jsonld": "json-ld",
                "nt": "n-triples", "n-triples": "n-triples", "ntriples": "n-triples", "rdf": "rdf-xml",
                "rdfxml": "rdf-xml", "rdf-xml": "rdf-xml"}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(KgError):
    """A request the server refuses: ``status`` and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def negotiate(accept: str | None, offers: dict[str, str]) -> str | None:
    """The format for an Accept header: highest q, then most specific match, then our order."""
    if not accept or not accept.strip():
        return next(iter(offers.values()))
    ranges = []
    for part in accept.split(","):
        bits = [b.strip() for b in part.split(";")]
        mtype, q = bits[0].lower(), 1.0
        for b in bits[1:]:
            if b.lower().startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        if mtype:
            ranges.append((mtype, q))
    best, best_key = None, None
    for order, (mtype, fmt) in enumerate(offers.items()):
        q, specificity = 0.0, -1
        for rng, rq in ranges:
            if rng == mtype:
                spec = 2
            elif rng.endswith("/*") and mtype.startswith(rng[:-1]):
                spec = 1
            elif rng == "*/*":
                spec = 0
            else:
                continue
            if spec > specificity:
                q, specificity = rq, spec
        if q <= 0:
            continue
        key = (q, specificity if mtype != "text/html" or specificity == 2 else -1, -order)
        if best_key is None or key > best_key:
            best, best_key = fmt, key
    return best


def outbound_refusal(text: str) -> str | None:
    """Why a query would make this server fetch something (SERVICE, LOAD, FROM), or None."""
    toks = list(sparqltext.tokens(text))
    for i, tok in enumerate(toks):
        if tok.kind != "word":
            continue
        word = tok.text.upper()
        if word == "SERVICE":
            return f"line {tok.line}: SERVICE calls another endpoint; this server makes no outbound requests"
        if word == "LOAD":
            return f"line {tok.line}: LOAD fetches a document; this server makes no outbound requests"
        if word == "FROM":
            target = toks[i + 1] if i + 1 < len(toks) else None
            if target is not None and target.text.upper() == "NAMED" and i + 2 < len(toks):
                target = toks[i + 2]
            name = target.text if target is not None else ""
            return (f"line {tok.line}: FROM {name} names a dataset to load; this server answers from its own "
                    "default graph only and fetches nothing (drop the FROM clause)")
    return None


class Service:
    """The application: routes a request to an answer. Knows nothing about sockets."""

    def __init__(self, pool: WorkerPool, catalogue: Catalogue, *, max_rows: int = 10_000):
        self.pool = pool
        self.catalogue = catalogue
        self.max_rows = max_rows
        self._overview: tuple | None = None
        self._overview_lock = threading.Lock()

    @classmethod
    def start(cls, files: Sequence[str | Path] | None = None, *, cache_dir: str | Path | None = None,
              workers: int = 3, timeout: float = 20.0, max_rows: int = 10_000) -> Service:
        """Build or open the cached store of ``files`` (default: the bundled data) and start the workers."""
        from .store import graph_store

        store = graph_store(files, cache_dir=cache_dir)
        catalogue = Catalogue.load(paths.QUERIES_DIR)
        return cls(WorkerPool(store, workers=workers, timeout=timeout), catalogue, max_rows=max_rows)

    def close(self) -> None:
        self.pool.close()

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers, body: bytes = b"") -> Response:
        url = urlsplit(target)
        path = url.path
        try:
            params = parse_qs(url.query, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
        except ValueError as e:
            return _text(400, f"bad query string: {e}")
        try:
            if method == "OPTIONS":
                return Response(204, headers={"Allow": "GET, HEAD, POST, OPTIONS"})
            if path == "/sparql":
                if method in ("GET", "HEAD", "POST"):
                    return self.sparql(method, params, headers, body)
                raise HttpError(403, "this endpoint is read-only: use GET or POST with a query",
                                {"Allow": "GET, HEAD, POST, OPTIONS"})
            if method not in ("GET", "HEAD"):
                raise HttpError(403, f"{method} refused: this server is read-only (no updates, no Graph Store writes)",
                                {"Allow": "GET, HEAD, OPTIONS"})
            if path == "/":
                return self.home(params)
            if path in ("/queries", "/queries.json"):
                return self.queries(params, path.endswith(".json"))
            if path.startswith("/queries/"):
                return self.canned(path[len("/queries/"):], params)
            if path.startswith("/id/"):
                return self.resource(path[len("/id/"):], params)
            if path.startswith("/static/"):
                return self.static(path[len("/static/"):])
            raise HttpError(404, f"no page at {path}; see / or /queries or /sparql")
        except HttpError as e:
            return _text(e.status, str(e), e.headers)

    # --- the SPARQL endpoint --------------------------------------------------------------------

    def sparql(self, method: str, params: dict[str, list[str]], headers, body: bytes) -> Response:
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if method == "POST":
            if ctype == "application/sparql-update":
                raise HttpError(403, "SPARQL Update refused: this endpoint is read-only")
            if ctype == "application/x-www-form-urlencoded":
                try:
                    form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
                except (UnicodeDecodeError, ValueError) as e:
                    raise HttpError(400, f"the form body is not valid: {e}") from None
                for key, values in form.items():
                    params.setdefault(key, []).extend(values)
            elif ctype == "application/sparql-query":
                try:
                    params.setdefault("query", []).append(body.decode("utf-8"))
                except UnicodeDecodeError:
                    raise HttpError(400, "the query body is not valid UTF-8") from None
            else:
                raise HttpError(415, "POST a query as application/sparql-query or as a form "
                                     "(application/x-www-form-urlencoded) with query=...")
        if "update" in params:
            raise HttpError(403, "SPARQL Update refused: this endpoint is read-only")
        for key in ("default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri"):
            if key in params:
                raise HttpError(400, f"{key} is not supported: this endpoint answers from its own default graph "
                                     "and fetches nothing")
        queries = params.get("query", [])
        if len(queries) > 1:
            raise HttpError(400, "give exactly one query parameter")
        fmt_param = (params.get("format") or params.get("output") or [None])[0]
        if not queries or not queries[0].strip():
            if negotiate(headers.get("Accept"), {"text/html": "html", "*/*": "other"}) == "html" or fmt_param == "html":
                return self.sparql_page(params, None)
            raise HttpError(400, "missing the query parameter: /sparql?query=SELECT ... (SPARQL 1.1 Protocol)")
        text = queries[0]
        try:
            sparqltext.check_size(text)
        except QueryError as e:
            raise HttpError(400, str(e)) from None
        refusal = outbound_refusal(text)
        if refusal:
            raise HttpError(400, f"query: {refusal}")
        try:
            form = sparqltext.check_read_only(text, allow_service=True)  # SERVICE was refused above
        except ReadOnlyError as e:
            raise HttpError(403, str(e)) from None
        except QueryError as e:
            raise HttpError(400, str(e)) from None
        rows_form = form in ("SELECT", "ASK")
        offers = ROW_TYPES if rows_form else RDF_TYPES
        if fmt_param and fmt_param.lower() == "html":
            return self.sparql_page(params, text)
        if fmt_param:
            fmt = FORMAT_NAMES.get(fmt_param.lower())
            if fmt == "xml" and not rows_form:
                fmt = "rdf-xml"  # SPARQLWrapper's default format=xml asks for RDF/XML for CONSTRUCT
            if fmt is None or fmt not in offers.values():
                raise HttpError(400, f"format {fmt_param!r} is not offered for {form}; use one of "
                                     + ", ".join(sorted({k for k, v in FORMAT_NAMES.items() if v in offers.values()})))
        else:
            fmt = negotiate(headers.get("Accept"), offers)
            if fmt is None:
                raise HttpError(406, f"cannot answer {form} as {headers.get('Accept')}; offered: "
                                     + ", ".join(offers))
        if fmt == "html":
            return self.sparql_page(params, text)
        answer = self._run(text, rdf_format=fmt)
        extra = _truncation_headers(answer, self.max_rows)
        if rows_form:
            payload = serialize(answer.result, fmt)
            if fmt == "json" and answer.truncated:
                doc = json.loads(payload)
                doc["truncated"] = True  # an extension member; the header says the same
                payload = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
            return Response(200, payload.encode("utf-8"), MEDIA[fmt], extra)
        return Response(200, answer.body, MEDIA[fmt], extra)

    def _run(self, text: str, rdf_format: str = "turtle", max_rows: int | None = None):
        try:
            return self.pool.run(text, max_rows=max_rows or self.max_rows, rdf_format=rdf_format)
        except QueryTimeout as e:
            raise HttpError(503, str(e)) from None
        except Busy as e:
            raise HttpError(503, str(e), {"Retry-After": str(max(1, round(self.pool.timeout)))}) from None
        except QueryError as e:
            raise HttpError(400, str(e)) from None

    def sparql_page(self, params, text: str | None) -> Response:
        lang = _lang(params)
        example = (f"PREFIX kg: <{KG}>\nSELECT ?event ?date WHERE {{\n  ?event a kg:ProtestEvent ;\n"
                   "         kg:date ?date .\n}\nORDER BY ?date\nLIMIT 20")
        query_text = text or example
        body = (f'<p>{web._e(web.t(lang, "sparql_intro"))}</p><form method="get" action="/sparql">'
                f'<label for="sparql-text">{web._e(web.t(lang, "query_text"))}</label>'
                f'<textarea id="sparql-text" name="query" rows="10" cols="80" spellcheck="false">{web._e(query_text)}'
                f'</textarea><input type="hidden" name="format" value="html"><input type="hidden" name="lang" '
                f'value="{lang}"><button type="submit">{web._e(web.t(lang, "run"))}</button></form>')
        status = 200
        if text is not None:
            try:
                answer = self._run(text, max_rows=self.max_rows)
                if answer.result is None:
                    body += f"<pre>{web._e(answer.body.decode('utf-8'))}</pre>"
                else:
                    body += web.result_table(lang, answer.result, web.t(lang, "results"), answer.truncated,
                                             self.max_rows)
            except HttpError as e:
                status = e.status
                body += web.error_block(lang, str(e))
        page = web.layout(lang, "SPARQL", body, "/sparql", _flat(params))
        return _html(status, page)

    # --- the catalogue over HTTP ------------------------------------------------------------------

    def queries(self, params, as_json: bool) -> Response:
        if as_json:
            doc = {"queries": [{**q.to_dict(), "url": f"/queries/{q.name}",
                                "available": "remote" not in q.tags} for q in self.catalogue]}
            return _json(200, doc)
        lang = _lang(params)
        forms = "".join(f'<section class="query"><h2 id="{web._e(q.name)}"><a href="/queries/{web._e(q.name)}">'
                        f'{web._e(q.name)}</a></h2><p>{web._e(q.summary)}</p>'
                        + (web.query_form(lang, q, {}) if "remote" not in q.tags else
                           f'<p class="note">{web._e(web.t(lang, "remote_only").format(name=q.name))}</p>')
                        + "</section>" for q in self.catalogue)
        return _html(200, web.layout(lang, web.t(lang, "queries"), forms, "/queries", _flat(params)))

    def canned(self, name: str, params) -> Response:
        ext = ""
        for suffix in (".json", ".csv"):
            if name.endswith(suffix):
                name, ext = name[: -len(suffix)], suffix[1:]
        try:
            query = self.catalogue.get(name)
        except QueryError as e:
            raise HttpError(404, str(e)) from None
        lang = _lang(params)
        values: dict[str, str] = {}
        for key, given in params.items():
            if len(given) > 1:
                raise HttpError(400, f"parameter '{key}' is given {len(given)} times; give it once")
            if key == "lang" and not any(p.name == "lang" for p in query.params):
                continue  # the page's language only
            if given[0] != "":
                values[key] = given[0]
        if "remote" in query.tags:
            raise HttpError(400, f"query '{name}' calls a remote endpoint (SERVICE); this server makes no "
                                 f"outbound requests. Run it with: kg query {name} --allow-service")
        missing = [p for p in query.params if p.required and p.name not in values]
        if ext == "" and missing and not set(values) - {"lang"}:  # nothing asked yet: show the form
            return self._query_page(query, lang, values, None, None)
        try:
            text = query.bind(values)
        except ParameterError as e:
            if ext == "":
                return self._query_page(query, lang, values, None, str(e), status=400)
            raise HttpError(400, str(e)) from None
        try:
            answer = self._run(text)
        except HttpError as e:
            if ext == "":
                return self._query_page(query, lang, values, None, str(e), status=e.status)
            raise
        headers = _truncation_headers(answer, self.max_rows)
        if ext == "json":
            doc = answer.result.to_json()
            doc["query"] = {"name": name, "params": values}
            if answer.truncated:
                doc["truncated"] = True
            return _json(200, doc, headers)
        if ext == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return Response(200, serialize(answer.result, "csv").encode("utf-8"), MEDIA["csv"], headers)
        return self._query_page(query, lang, values, answer, None, headers=headers)

    def _query_page(self, query: Query, lang: str, values: dict, answer, error: str | None, status: int = 200,
                    headers: dict | None = None) -> Response:
        e = web._e
        body = [f'<p class="summary">{e(query.summary)}</p>',
                f'<p class="description">{e(query.description)}</p>',
                f'<h2>{e(web.t(lang, "params"))}</h2>' if query.params else "",
                web.query_form(lang, query, values)]
        if error:
            body.append(web.error_block(lang, error))
        if answer is not None:
            links = " ".join(f'<a href="{e(web.with_lang(f"/queries/{query.name}.{x}", values, lang))}">{x.upper()}</a>'
                             for x in ("csv", "json"))
            body.append(f'<h2 id="results">{e(web.t(lang, "results"))}</h2>'
                        f'<p class="downloads">{e(web.t(lang, "download"))}: {links}</p>')
            body.append(web.result_table(lang, answer.result, query.summary, answer.truncated, self.max_rows))
            markers = self.markers_for(answer.result, lang)
            if markers:
                body.append(f'<h2>{e(web.t(lang, "map"))}</h2>')
                body.append(web.svg_map(lang, markers, self.overview()[2]))
        page = web.layout(lang, query.name, "".join(body), f"/queries/{query.name}", values)
        return _html(status, page, headers)

    # --- overview, map, timeline ------------------------------------------------------------------

    def overview(self) -> tuple[list[tuple[str, int]], int, web.Frame]:
        """(protests per day, number of events, map frame); computed once."""
        with self._overview_lock:
            if self._overview is None:
                counts = self._select(f"""SELECT ?date (COUNT(DISTINCT ?event) AS ?n) WHERE {{
                    ?event a <{KG}ProtestEvent> ; <{KG}date> ?date }} GROUP BY ?date ORDER BY ?date""", 1_000_000)
                per_day = [(r["date"].value, int(r["n"].value)) for r in counts.rows
                           if r["date"].datatype == XSD_DATE]
                box = self._select(f"""PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
                    SELECT (MIN(?lat) AS ?s) (MAX(?lat) AS ?n) (MIN(?lon) AS ?w) (MAX(?lon) AS ?e) WHERE {{
                    ?event a <{KG}ProtestEvent> ; <{KG}place> ?p . ?p wgs:lat ?lat ; wgs:long ?lon }}""", 1)
                row = box.rows[0] if box.rows else {}
                points = [(float(row["s"].value), float(row["w"].value)), (float(row["n"].value), float(row["e"].value))] \
                    if all(k in row for k in "snwe") else []
                self._overview = (per_day, sum(n for _, n in per_day), web.Frame.around(points))
            return self._overview

    def _select(self, text: str, max_rows: int) -> Result:
        return self._run(text, max_rows=max_rows).result

    def markers(self, events: Sequence[str] | None, lang: str, limit: int = MAP_LIMIT) -> list[web.Marker]:
        """Map markers of the given events (or the first ``limit`` events by date)."""
        if events is not None and not events:
            return []
        if events is None:
            chosen = (f"{{ SELECT ?event WHERE {{ ?event a <{KG}ProtestEvent> ; <{KG}date> ?d }} "
                      f"ORDER BY ?d ?event LIMIT {int(limit)} }}")
        else:
            chosen = "VALUES ?event { " + " ".join(Term.iri(e).to_sparql() for e in events[:limit]) + " }"
        rows = self._select(f"""PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
            SELECT ?event ?date ?lat ?lon ?label ?top WHERE {{
              {chosen}
              ?event <{KG}date> ?date ; <{KG}place> ?place . ?place wgs:lat ?lat ; wgs:long ?lon .
              OPTIONAL {{ ?event rdfs:label ?label }}
              OPTIONAL {{ ?event <{KG}act>/<{KG}tactic>/skos:broader* ?top }}
            }}""", 200_000).rows
        found: dict[tuple[str, str, str], dict] = {}
        for r in rows:
            key = (r["event"].value, r["lat"].value, r["lon"].value)
            m = found.setdefault(key, {"date": r["date"].value, "labels": {}, "tops": set()})
            if "label" in r:
                m["labels"][r["label"].lang or ""] = r["label"].value
            if "top" in r and r["top"].value.startswith(KG):
                m["tops"].add(r["top"].value[len(KG):])
        out = []
        for (event, lat, lon), m in found.items():
            category = next((c for c in web.SEVERITY if c in m["tops"]), "none")
            label = _best_label(m["labels"], lang, event)
            try:
                out.append(web.Marker(event, label, m["date"], float(lat), float(lon), category))
            except ValueError:
                continue
        return sorted(out, key=lambda m: (m.date, m.event))

    def markers_for(self, result: Result, lang: str) -> list[web.Marker]:
        """The events a result is about: event IRIs in any column, or towns (with the row's date)."""
        events: list[str] = []
        places: list[tuple[str, str | None]] = []
        for row in result.rows:
            date = row.get("date")
            date_value = date.value if date is not None and date.datatype == XSD_DATE \
                else None
            for term in row.values():
                if term.kind != "uri" or not term.value.startswith(ID):
                    continue
                if term.value.startswith(ID + "event/"):
                    events.append(term.value)
                elif term.value.startswith(ID + "place/"):
                    places.append((term.value, date_value))
        if not events and places:
            pairs = " ".join(f"({Term.iri(p).to_sparql()} "
                             f"{Term.literal(d, XSD_DATE).to_sparql() if d else 'UNDEF'})"
                             for p, d in dict.fromkeys(places))
            found = self._select(f"""SELECT DISTINCT ?event WHERE {{ VALUES (?place ?date) {{ {pairs} }}
                ?event a <{KG}ProtestEvent> ; <{KG}place> ?place ; <{KG}date> ?date }}""", MAP_LIMIT)
            events = [r["event"].value for r in found.rows]
        return self.markers(list(dict.fromkeys(events)), lang) if events else []

    def home(self, params) -> Response:
        lang = _lang(params)
        per_day, total, frame = self.overview()
        e = web._e
        body = (f'<p class="intro">{e(web.t(lang, "intro"))}</p>'
                f'<p class="count"><strong>{total}</strong> {e(web.t(lang, "events"))}</p>'
                f'<h2>{e(web.t(lang, "map"))}</h2>{web.svg_map(lang, self.markers(None, lang), frame, total)}'
                f'<h2>{e(web.t(lang, "timeline"))}</h2>{web.svg_timeline(lang, per_day)}'
                f'<h2>{e(web.t(lang, "queries"))}</h2>{web.catalogue_list(lang, list(self.catalogue))}')
        return _html(200, web.layout(lang, web.t(lang, "home"), body, "/", _flat(params)))

    # --- resource pages ---------------------------------------------------------------------------

    def resource(self, local: str, params) -> Response:
        lang = _lang(params)
        iri = ID + local
        try:
            subject = Term.iri(iri).to_sparql()
        except ValueError:
            raise HttpError(404, f"no resource {iri}") from None
        facts = self._select(f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
            SELECT ?p ?o ?pLabel ?oLabel ?bp ?bo ?bpLabel ?boLabel WHERE {{
              {subject} ?p ?o .
              OPTIONAL {{ ?p rdfs:label ?pLabel }}
              OPTIONAL {{ ?o rdfs:label|skos:prefLabel ?oLabel }}
              OPTIONAL {{ FILTER(isBlank(?o)) ?o ?bp ?bo .
                         OPTIONAL {{ ?bp rdfs:label ?bpLabel }} OPTIONAL {{ ?bo rdfs:label|skos:prefLabel ?boLabel }} }}
            }}""", 20_000)
        if not facts.rows:
            raise HttpError(404, f"nothing is known about {iri}")
        incoming = self._select(f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            SELECT ?s ?p ?sLabel ?pLabel WHERE {{ ?s ?p {subject} . FILTER(isIRI(?s))
              OPTIONAL {{ ?s rdfs:label ?sLabel }} OPTIONAL {{ ?p rdfs:label ?pLabel }} }}""", 2_000)
        title, html_facts = _facts_html(lang, facts)
        e = web._e
        describe = "/sparql?" + urlencode({"query": f"DESCRIBE {subject}", "format": "turtle"})
        body = [(f'<p class="iri"><code>{e(iri)}</code> · <a href="{e(describe)}">'
                 f'{e(web.t(lang, "as_turtle"))}</a></p>'),
                f'<h2>{e(web.t(lang, "facts"))}</h2>{html_facts}']
        is_event = any(r["p"].value == web.RDF_TYPE and r["o"].value == KG + "ProtestEvent" for r in facts.rows)
        if is_event:
            sources = self._run(self.catalogue.get("event-sources").bind({"event": iri})).result
            body.append(f'<h2>{e(web.t(lang, "sources"))}</h2>')
            body.append(web.result_table(lang, sources, web.t(lang, "sources")))
            markers = self.markers([iri], lang)
            if markers:
                body.append(f'<h2>{e(web.t(lang, "map"))}</h2>{web.svg_map(lang, markers, self.overview()[2])}')
        if incoming.rows:
            body.append(f'<h2>{e(web.t(lang, "referenced_by"))}</h2>{_incoming_html(lang, incoming)}')
        return _html(200, web.layout(lang, title or web.shorten(iri), "".join(body), "/id/" + local, _flat(params)))

    # --- static files -----------------------------------------------------------------------------

    def static(self, name: str) -> Response:
        files = {p.name: p for p in STATIC.iterdir()} if STATIC.is_dir() else {}
        if name not in files:
            raise HttpError(404, f"no static file {name}")
        kind = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}.get(
            files[name].suffix, "application/octet-stream")
        return Response(200, files[name].read_bytes(), kind, {"Cache-Control": "max-age=3600"})


# --- helpers -------------------------------------------------------------------------------------

def _lang(params) -> str:
    value = (params.get("lang") or ["en"])[0]
    return value if value in web.LANGS else "en"


def _flat(params) -> dict[str, str]:
    return {k: v[0] for k, v in params.items() if v}


def _text(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(status, (message.rstrip("\n") + "\n").encode("utf-8"), "text/plain; charset=utf-8", headers or {})


def _json(status: int, doc, headers: dict | None = None) -> Response:
    return Response(status, (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
                    "application/json", headers or {})


def _html(status: int, page: str, headers: dict | None = None) -> Response:
    return Response(status, page.encode("utf-8"), MEDIA["html"], headers or {})


def _truncation_headers(answer, max_rows: int) -> dict[str, str]:
    headers = {"KG-Row-Limit": str(max_rows)}
    if answer.truncated:
        headers["KG-Truncated"] = "true"
    return headers


def _best_label(labels: dict[str, str], lang: str, fallback: str) -> str:
    return labels.get(lang) or labels.get("en") or next(iter(labels.values()), fallback)


def _facts_html(lang: str, facts: Result) -> tuple[str, str]:
    e = web._e
    labels: dict[str, dict[str, str]] = {}
    values: dict[str, dict[str, Term]] = {}
    blanks: dict[str, dict[str, dict[str, Term]]] = {}

    def remember(term: Term | None, label: Term | None):
        if term is not None and label is not None:
            labels.setdefault(term.value, {})[label.lang or ""] = label.value

    for r in facts.rows:
        p, o = r["p"], r["o"]
        remember(p, r.get("pLabel"))
        remember(o, r.get("oLabel"))
        values.setdefault(p.value, {})[o.kind + o.value + (o.lang or "") + (o.datatype or "")] = o
        if o.kind == "bnode" and "bp" in r:
            remember(r["bp"], r.get("bpLabel"))
            remember(r["bo"], r.get("boLabel"))
            blanks.setdefault(o.value, {}).setdefault(r["bp"].value, {})[r["bo"].kind + r["bo"].value] = r["bo"]

    def show(term: Term) -> str:
        if term.kind == "uri":
            return web.link(term.value, _best_label(labels.get(term.value, {}), lang, web.shorten(term.value)), lang)
        if term.kind == "bnode":
            inner = blanks.get(term.value, {})
            items = "".join(f"<li>{e(_best_label(labels.get(bp, {}), lang, web.shorten(bp)))}: "
                            + ", ".join(show(v) for v in sorted(bos.values(), key=lambda x: x.value)
                                        if v.kind != "bnode") + "</li>"
                            for bp, bos in sorted(inner.items()))
            return f'<ul class="nested">{items}</ul>'
        suffix = f' <span class="hint">@{e(term.lang)}</span>' if term.lang else ""
        return e(term.value) + suffix

    title_labels = {}
    rows = []
    for p, objs in sorted(values.items(), key=lambda kv: web.shorten(kv[0])):
        terms = sorted(objs.values(), key=lambda x: (x.lang != lang, x.value))
        if p == "http://www.w3.org/2000/01/rdf-schema#label":
            title_labels = {x.lang or "": x.value for x in terms}
        name = _best_label(labels.get(p, {}), lang, web.shorten(p))
        rows.append(f'<tr><th scope="row">{e(name)}</th><td>'
                    + "<br>".join(show(x) for x in terms) + "</td></tr>")
    title = _best_label(title_labels, lang, "") if title_labels else ""
    return title, f'<table class="facts"><tbody>{"".join(rows)}</tbody></table>'


def _incoming_html(lang: str, incoming: Result) -> str:
    e = web._e
    seen: dict[tuple[str, str], dict] = {}
    for r in incoming.rows:
        item = seen.setdefault((r["s"].value, r["p"].value), {"s": {}, "p": {}})
        if "sLabel" in r:
            item["s"][r["sLabel"].lang or ""] = r["sLabel"].value
        if "pLabel" in r:
            item["p"][r["pLabel"].lang or ""] = r["pLabel"].value
    items = []
    for (s, p), lab in sorted(seen.items()):
        link = web.link(s, _best_label(lab["s"], lang, web.shorten(s)), lang)
        items.append(f'<li>{link} <span class="hint">({e(_best_label(lab["p"], lang, web.shorten(p)))})</span></li>')
    return f'<ul class="incoming">{"".join(items)}</ul>'


# --- HTTP adapter --------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = f"resistance-kg/{__version__}"
    protocol_version = "HTTP/1.1"
    service: Service  # set by make_server
    quiet = False
    timeout = 60  # seconds a client may stay silent (idle keep-alive, a slow body) before it is dropped

    def _respond(self, method: str) -> None:
        length = self.headers.get("Content-Length")
        body = b""
        if length:
            try:
                n = int(length)
            except ValueError:
                return self._send(_text(400, "bad Content-Length"), method)
            if n < 0 or n > MAX_BODY:
                self.close_connection = True
                if 0 < n <= 64 * MAX_BODY:  # read it, so that the client gets the answer, not a broken pipe
                    while n > 0:
                        chunk = self.rfile.read(min(n, 1 << 16))
                        if not chunk:
                            break
                        n -= len(chunk)
                return self._send(_text(413, f"the request body is over {MAX_BODY:,} bytes"), method)
            body = self.rfile.read(n)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return self._send(_text(411, "send a Content-Length (chunked bodies are not accepted)"), method)
        try:
            response = self.service.handle(method, self.path, self.headers, body)
        except Exception as e:  # noqa: BLE001 - one bad request must not take the server down
            self.log_error("internal error on %s %s: %r", method, self.path, e)
            response = _text(500, "internal error; the server log has the details")
        self._send(response, method)

    def _send(self, response: Response, method: str) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Accept")
        self.send_header("Access-Control-Expose-Headers", "KG-Row-Limit, KG-Truncated")
        self.send_header("X-Content-Type-Options", "nosniff")
        if response.content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        for k, v in response.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

    def do_GET(self):
        self._respond("GET")

    def do_HEAD(self):
        self._respond("HEAD")

    def do_POST(self):
        self._respond("POST")

    def do_PUT(self):
        self._respond("PUT")

    def do_DELETE(self):
        self._respond("DELETE")

    def do_PATCH(self):
        self._respond("PATCH")

    def do_OPTIONS(self):
        self._respond("OPTIONS")

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def make_server(service: Service, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False) -> Server:
    """An HTTP server (not yet serving) for ``service``; port 0 picks a free port."""
    handler = type("BoundHandler", (Handler,), {"service": service, "quiet": quiet})
    return Server((host, port), handler)
