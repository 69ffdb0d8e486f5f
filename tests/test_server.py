"""kg serve over real HTTP: the SPARQL 1.1 Protocol with real clients (SPARQLWrapper, urllib),
read-only, no outbound requests, the time limit, the caps, the canned queries and the pages."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from SPARQLWrapper import CSV, JSON, JSONLD, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from kg import KnowledgeGraph
from kg.remote import parse_results_json
from kg.results import serialize

from .servers import FaultServer, KgServe, http
from .test_differential import cases
from .test_remote import comparable

MAX_ROWS = 100
TIMEOUT = 3
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = KgServe("--timeout", str(TIMEOUT), "--max-rows", str(MAX_ROWS), "--workers", "3", "--quiet",
                env={"KG_CACHE_DIR": str(tmp_path_factory.mktemp("serve-cache"))})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def kg():
    return KnowledgeGraph.load()


def get(server, path, **headers):
    return http("GET", server.base + path, headers=headers)


def ask(server, query, accept="application/sparql-results+json", method="GET"):
    if method == "GET":
        return http("GET", f"{server.base}/sparql?{urllib.parse.urlencode({'query': query})}", headers={"Accept": accept})
    return http("POST", server.base + "/sparql", urllib.parse.urlencode({"query": query}).encode(),
                {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})


def triples(server) -> int:
    status, _, body = ask(server, COUNT)
    assert status == 200
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def alive(server) -> bool:
    return get(server, "/")[0] == 200 and triples(server) > 0


# --- the command -------------------------------------------------------------------------------

def test_serve_prints_its_url(server):
    assert server.banner.startswith("Serving the bundled data files at http://127.0.0.1:")
    assert "/sparql" in server.banner


def test_serve_help_lists_the_routes_and_limits():
    from click.testing import CliRunner

    from kg.cli import cli

    out = CliRunner().invoke(cli, ["serve", "--help"]).output
    for word in ("--host", "--port", "--timeout", "--max-rows", "--workers", "/sparql", "/queries/NAME", "403"):
        assert word in out


def test_a_port_in_use_is_a_clear_error(server, capsys):
    from kg.cli import main

    port = server.base.rsplit(":", 1)[1]
    assert main(["serve", "--port", port, "--quiet"]) == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in capsys.readouterr().err


# --- SPARQL 1.1 Protocol with SPARQLWrapper ----------------------------------------------------

def wrapper(server, fmt=JSON, method="GET"):
    sw = SPARQLWrapper(server.base + "/sparql")
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    return sw


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_json_gives_the_local_rows(server, kg, method):
    query = kg.catalogue.get("gunfire-on-protesters")
    sw = wrapper(server, JSON, method)
    sw.setQuery(query.bind({}))
    got = parse_results_json(json.dumps(sw.queryAndConvert()).encode(), "application/json", "test")
    assert comparable(got, query) == comparable(kg.run("gunfire-on-protesters"), query)


def test_sparqlwrapper_post_directly(server, kg):
    from SPARQLWrapper import POST, POSTDIRECTLY

    sw = wrapper(server, JSON, POST)
    sw.setRequestMethod(POSTDIRECTLY)
    sw.setQuery(COUNT)
    assert sw.queryAndConvert()["results"]["bindings"][0]["n"]["value"] == str(triples(server))


@pytest.mark.parametrize("fmt, kind", [(XML, "xml"), (CSV, "csv"), (TSV, "tsv")])
def test_sparqlwrapper_select_in_every_results_format(server, kg, fmt, kind):
    text = kg.catalogue.get("events").bind({})
    sw = wrapper(server, fmt)
    sw.setQuery(text)
    body = sw.query().response.read().decode("utf-8")
    assert body == serialize(kg.sparql(text), kind)


def test_sparqlwrapper_ask(server):
    sw = wrapper(server, JSON)
    sw.setQuery("ASK { ?e a <https://w3id.org/resistance-kg/ontology#ProtestEvent> }")
    assert sw.queryAndConvert()["boolean"] is True


def test_sparqlwrapper_construct_as_turtle_and_json_ld(server, kg):
    import rdflib

    text = ("CONSTRUCT { ?e <https://w3id.org/resistance-kg/ontology#date> ?d } WHERE { "
            "?e <https://w3id.org/resistance-kg/ontology#date> ?d }")
    want = {(str(r["e"]), str(r["d"])) for r in kg.sparql(text.replace("CONSTRUCT { ?e <https://w3id.org/resistance-kg/ontology#date> ?d }", "SELECT ?e ?d")).to_python()}
    for fmt, parse_as in ((TURTLE, "turtle"), (JSONLD, "json-ld")):
        sw = wrapper(server, fmt)
        sw.setQuery(text)
        g = rdflib.Graph().parse(data=sw.query().response.read(), format=parse_as)
        assert {(str(s), str(o)) for s, _, o in g} == want and len(g) == len(want)


def test_sparqlwrapper_construct_with_its_default_format(server, kg):
    # SPARQLWrapper asks for XML unless told otherwise, which for CONSTRUCT means RDF/XML.
    sw = SPARQLWrapper(server.base + "/sparql")
    sw.setQuery("CONSTRUCT WHERE { ?e a <https://w3id.org/resistance-kg/ontology#ProtestEvent> }")
    graph = sw.queryAndConvert()
    assert len(graph) == len(kg.sparql("SELECT ?e WHERE { ?e a <https://w3id.org/resistance-kg/ontology#ProtestEvent> }").rows)


def test_describe_answers_turtle(server):
    status, headers, body = ask(server, "DESCRIBE <https://w3id.org/resistance-kg/id/event/kherson-2022-03-05>",
                                accept="text/turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    assert b"event:kherson-2022-03-05" in body and b'"2022-03-05"^^xsd:date' in body


def test_a_bad_query_is_a_400_with_the_engines_message(server):
    sw = wrapper(server)
    sw.setQuery("SELECT ?x WHERE { ?x ?y }")
    with pytest.raises(QueryBadFormed) as e:
        sw.query()
    assert "invalid SPARQL" in str(e.value)


@pytest.mark.parametrize("accept, kind", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("application/sparql-results+json,*/*;q=0.9", "application/sparql-results+json"),  # YASGUI
    ("*/*", "application/sparql-results+json"),
    ("", "application/sparql-results+json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),  # a browser
])
def test_content_negotiation(server, accept, kind):
    status, headers, _ = ask(server, COUNT, accept=accept)
    assert status == 200 and headers["Content-Type"].startswith(kind)


def test_nothing_acceptable_is_406(server):
    status, _, body = ask(server, COUNT, accept="image/png")
    assert status == 406 and b"offered" in body


def test_cors_for_browser_clients(server):
    status, headers, _ = http("OPTIONS", server.base + "/sparql")
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"


# --- read-only --------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body, ctype", [
    ("POST", "/sparql", b"INSERT DATA { <urn:a> <urn:b> <urn:c> }", "application/sparql-update"),
    ("POST", "/sparql", b"update=" + urllib.parse.quote(b"DROP ALL").encode(), "application/x-www-form-urlencoded"),
    ("POST", "/sparql", b"query=" + urllib.parse.quote(b"DELETE WHERE { ?s ?p ?o }").encode(),
     "application/x-www-form-urlencoded"),
    ("GET", "/sparql?query=" + urllib.parse.quote("CLEAR DEFAULT"), None, None),
    ("PUT", "/sparql?default", b"<urn:a> <urn:b> <urn:c> .", "text/turtle"),
    ("DELETE", "/sparql?default", None, None),
    ("PUT", "/data?default", b"<urn:a> <urn:b> <urn:c> .", "text/turtle"),
    ("POST", "/store?default", b"<urn:a> <urn:b> <urn:c> .", "text/turtle"),
    ("DELETE", "/", None, None),
    ("PATCH", "/queries/events", b"x", "text/plain"),
])
def test_writes_are_refused_with_403(server, method, path, body, ctype):
    before = triples(server)
    status, _, message = http(method, server.base + path, body, {"Content-Type": ctype} if ctype else {})
    assert status == 403, message
    assert b"read-only" in message
    assert triples(server) == before


# --- no outbound requests ---------------------------------------------------------------------

@pytest.fixture()
def listener():
    s = FaultServer()
    yield s
    s.stop()


@pytest.mark.parametrize("template, word", [
    ("SELECT * WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}", "SERVICE"),
    ("SELECT * WHERE {{ SERVICE SILENT <{url}/sparql> {{ ?s ?p ?o }} }}", "SERVICE"),
    ("select * where {{ service <{url}/sparql> {{ ?s ?p ?o }} }}", "SERVICE"),
    ("SELECT * FROM <{url}/data.ttl> WHERE {{ ?s ?p ?o }}", "FROM"),
    ("SELECT * FROM NAMED <{url}/data.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", "FROM"),
    ("LOAD <{url}/data.ttl>", "LOAD"),
])
def test_outbound_requests_are_refused_with_400(server, listener, template, word):
    query = template.format(url=listener.base)
    for method in ("GET", "POST"):
        status, _, body = ask(server, query, method=method)
        assert status == 400 and word.encode() in body and b"outbound" in body or b"fetches nothing" in body
    assert listener.requests == []


def test_graph_parameters_are_refused(server, listener):
    url = f"{server.base}/sparql?" + urllib.parse.urlencode({"query": COUNT, "default-graph-uri": listener.base + "/g"})
    status, _, body = http("GET", url)
    assert status == 400 and b"default-graph-uri" in body
    assert listener.requests == []


# --- limits ------------------------------------------------------------------------------------

def test_a_slow_query_is_stopped_with_an_error_status_and_the_server_goes_on(server):
    status, headers, body = ask(server, SLOW)
    assert status == 503 and b"time limit" in body
    assert headers["Content-Type"].startswith("text/plain")  # never a 200 with a cut body
    assert alive(server)


def test_a_slow_query_does_not_hold_up_a_cheap_one(server):
    slow: dict = {}
    thread = threading.Thread(target=lambda: slow.update(answer=ask(server, SLOW)))
    thread.start()
    try:
        status, _, _ = ask(server, COUNT)
        assert status == 200
        assert thread.is_alive()  # answered while the slow query was still running
    finally:
        thread.join()
    assert slow["answer"][0] == 503


@pytest.mark.parametrize("query", [
    "SELECT * WHERE " + "{ " * 5000 + "?s ?p ?o" + " }" * 5000,
    "SELECT * WHERE { FILTER(" + "(" * 20000 + "1" + ")" * 20000 + ") }",
    "SELECT * WHERE " + "{" * 100000,
    "ASK { " + "[ <urn:p> " * 3000 + "<urn:o>" + " ]" * 3000 + " }",
])
def test_deep_nesting_is_refused_before_the_engine(server, query):
    status, _, body = ask(server, query, method="POST")
    assert status == 400 and (b"nested more than" in body or b"characters long" in body)
    assert alive(server)


def test_oversized_queries_and_bodies_are_refused(server):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 300_000
    status, _, body = ask(server, big, method="POST")
    assert status == 400 and b"limit" in body
    status, _, body = http("POST", server.base + "/sparql", b"x" * (2 << 20),
                           {"Content-Type": "application/sparql-query"})
    assert status == 413
    assert alive(server)


def test_the_row_cap_is_signalled(server, kg):
    total = triples(server)
    assert total > MAX_ROWS
    status, headers, body = ask(server, "SELECT * WHERE { ?s ?p ?o }")
    doc = json.loads(body)
    assert status == 200 and len(doc["results"]["bindings"]) == MAX_ROWS and doc["truncated"] is True
    assert headers["KG-Truncated"] == "true" and headers["KG-Row-Limit"] == str(MAX_ROWS)
    status, headers, body = ask(server, "SELECT * WHERE { ?s ?p ?o }", accept="text/csv")
    assert len(body.decode().splitlines()) == MAX_ROWS + 1 and headers["KG-Truncated"] == "true"
    status, headers, body = ask(server, "SELECT * WHERE { ?s ?p ?o } LIMIT 5")
    assert "KG-Truncated" not in headers and "truncated" not in json.loads(body)


def test_missing_query_is_a_400_for_machines_and_a_form_for_people(server):
    status, _, body = get(server, "/sparql", Accept="application/sparql-results+json")
    assert status == 400 and b"query" in body
    status, _, body = get(server, "/sparql", Accept="text/html")
    assert status == 200 and b"<textarea" in body


def test_the_sparql_page_shows_a_table(server):
    url = "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?n WHERE { VALUES ?n { 1 2 3 } }", "format": "html"})
    status, _, body = get(server, url)
    assert status == 200 and body.count(b"<td") == 3


# --- canned queries over HTTP -----------------------------------------------------------------

def test_catalogue_as_json(server, kg):
    status, _, body = get(server, "/queries.json")
    doc = json.loads(body)
    assert status == 200
    assert [q["name"] for q in doc["queries"]] == [q.name for q in kg.queries()]
    gunfire = next(q for q in doc["queries"] if q["name"] == "gunfire-on-protesters")
    assert {p["name"] for p in gunfire["params"]} == {"lang", "from", "to", "oblast"}


def test_catalogue_as_forms(server, kg):
    status, _, body = get(server, "/queries")
    page = body.decode()
    assert status == 200
    for q in kg.queries():
        if "remote" not in q.tags:
            assert f'action="/queries/{q.name}"' in page
    assert 'type="date"' in page and 'name="oblast"' in page


@pytest.mark.parametrize("query, params", list(cases()))
def test_every_canned_query_over_http_gives_the_library_rows(server, kg, query, params):
    status, _, body = get(server, f"/queries/{query.name}.json?" + urllib.parse.urlencode(params))
    assert status == 200
    got = parse_results_json(body, "application/json", query.name)
    assert comparable(got, query) == comparable(kg.run(query.name, params), query)
    status, headers, body = get(server, f"/queries/{query.name}.csv?" + urllib.parse.urlencode(params))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.decode() == serialize(kg.run(query.name, params), "csv")  # same engine, same order


@pytest.mark.parametrize("path, message", [
    ("/queries/protests-on-date.json?date=yesterday", "parameter 'date': 'yesterday' is not a date"),
    ("/queries/protests-on-date.json", "needs parameter 'date'"),
    ("/queries/gunfire-on-protesters.json?town=Kherson", "has no parameter 'town'"),
    ("/queries/gunfire-on-protesters.json?lang=fr", "parameter 'lang': 'fr' is not one of en, uk"),
    ("/queries/gunfire-on-protesters.json?oblast=a&oblast=b", "parameter 'oblast' is given 2 times"),
    ("/queries/gunfire-on-protesters.csv?from=2022-02-30", "parameter 'from'"),
    ("/queries/protests-on-date?date=yesterday", "parameter &#x27;date&#x27;"),
])
def test_bad_parameters_are_a_400_naming_them(server, path, message):
    status, _, body = get(server, path)
    assert status == 400 and message in body.decode()


def test_a_query_with_required_parameters_first_shows_its_form(server):
    for path in ("/queries/protests-on-date", "/queries/protests-on-date?lang=uk"):
        status, _, body = get(server, path)
        assert status == 200 and b'type="date"' in body and b"<table" not in body
    status, _, body = get(server, "/queries/protests-on-date?date=2022-03-06&lang=uk")
    assert status == 200 and "Нова Каховка".encode() in body


def test_unknown_query_is_a_404_with_a_suggestion(server):
    status, _, body = get(server, "/queries/gunfire.json")
    assert status == 404 and b"did you mean 'gunfire-on-protesters'" in body


def test_remote_queries_are_refused(server):
    status, _, body = get(server, "/queries/wikidata-population.json")
    assert status == 400 and b"no outbound" in body


@pytest.mark.parametrize("value", ['x" } UNION { ?s ?p ?o } #', "<script>alert(1)</script>", "' OR 1=1 --", "\\"])
def test_hostile_parameter_values(server, value):
    status, _, body = get(server, "/queries/protests-in-oblast.json?" + urllib.parse.urlencode({"oblast": value}))
    assert status == 200 and json.loads(body)["results"]["bindings"] == []
    status, _, body = get(server, "/queries/protests-in-oblast?" + urllib.parse.urlencode({"oblast": value}))
    assert status == 200 and b"<script>alert" not in body


# --- pages -------------------------------------------------------------------------------------

def markers(page: str) -> list[str]:
    return re.findall(r'<circle class="marker"[^>]*data-event="([^"]+)"', page)


def test_home_page_has_a_marker_per_event_and_a_timeline(server, kg):
    status, _, body = get(server, "/")
    page = body.decode()
    located = kg.sparql("""SELECT DISTINCT ?e WHERE { ?e a <https://w3id.org/resistance-kg/ontology#ProtestEvent> ;
        <https://w3id.org/resistance-kg/ontology#place> ?p . ?p <http://www.w3.org/2003/01/geo/wgs84_pos#lat> ?lat }""")
    assert status == 200 and sorted(set(markers(page))) == sorted(r["e"].value for r in located.rows)
    per_day = {r["date"]: r["n"] for r in kg.sparql(
        "SELECT ?date (COUNT(?e) AS ?n) WHERE { ?e a <https://w3id.org/resistance-kg/ontology#ProtestEvent> ; "
        "<https://w3id.org/resistance-kg/ontology#date> ?date } GROUP BY ?date").to_python()}
    bars = {d: int(n) for d, n in re.findall(r'data-date="([^"]+)" data-count="(\d+)"', page)}
    assert bars == {str(d): n for d, n in per_day.items()}


def test_live_fire_markers_are_coloured_as_live_fire(server, kg):
    page = get(server, "/queries/gunfire-on-protesters")[2].decode()
    assert markers(page) and set(re.findall(r'data-category="([^"]+)"', page)) == {"live-fire"}


def test_pages_in_ukrainian(server):
    status, _, body = get(server, "/queries/gunfire-on-protesters?lang=uk")
    page = body.decode()
    assert status == 200 and '<html lang="uk">' in page and "Нова Каховка" in page and "Виконати" in page


def test_event_page_lists_facts_and_sources(server, kg):
    iri = "https://w3id.org/resistance-kg/id/event/kherson-2022-03-05"
    status, _, body = get(server, "/id/event/kherson-2022-03-05")
    page = body.decode()
    assert status == 200 and "<h1>Rally in Kherson, 5 March 2022</h1>" in page
    for row in kg.query("event-sources", event=iri):
        assert row["url"] in page
    assert markers(page) == [iri]


def test_unknown_resources_are_404(server):
    assert get(server, "/id/event/nowhere")[0] == 404
    assert get(server, "/id/event/a%20b")[0] == 404
    assert get(server, "/nothing-here")[0] == 404


def test_pages_load_nothing_from_elsewhere(server):
    for path in ("/", "/queries", "/queries/gunfire-on-protesters", "/id/event/kherson-2022-03-05", "/sparql?format=html"):
        page = get(server, path, Accept="text/html")[2].decode()
        for ref in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page):
            assert ref.startswith("/static/"), (path, ref)
            assert get(server, ref)[0] == 200


def test_xml_results_read_back_by_an_independent_parser(server, kg):
    import rdflib.query

    text = kg.catalogue.get("casualties").bind({"lang": "uk"})
    body = ask(server, text, accept="application/sparql-results+xml")[2]
    parsed = rdflib.query.Result.parse(io.BytesIO(body), format="xml")
    want = kg.sparql(text)
    assert [str(v) for v in parsed.vars] == list(want.variables)
    got = [{str(k): (str(v), getattr(v, "language", None)) for k, v in row.asdict().items()} for row in parsed]
    assert got == [{k: (t.value, t.lang) for k, t in row.items()} for row in want.rows]


def test_hostile_data_is_escaped_on_every_page(tmp_path):
    data = tmp_path / "hostile.ttl"
    data.write_text("""@prefix kg: <https://w3id.org/resistance-kg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/resistance-kg/id/event/x> a kg:ProtestEvent ;
    rdfs:label "<script>alert(1)</script>"@en ;
    kg:date "2022-03-05"^^xsd:date ;
    kg:source <javascript:alert(2)> .
""", encoding="utf-8")
    s = KgServe("--data", str(data), "--quiet", env={"KG_CACHE_DIR": str(tmp_path / "cache")})
    try:
        assert "Serving 1 data file at" in s.banner
        for path in ("/", "/id/event/x", "/queries/events", "/sparql?format=html&query="
                     + urllib.parse.quote("SELECT * WHERE { ?s ?p ?o }")):
            status, _, body = get(s, path)
            page = body.decode()
            assert status == 200, path
            assert "<script>alert" not in page and 'href="javascript:' not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in get(s, "/id/event/x")[2].decode()
    finally:
        s.stop()
    assert s.process.returncode == 0


def test_a_yasgui_style_request(server):
    # YASGUI posts a form with a charset and accepts anything after JSON.
    status, headers, body = http("POST", server.base + "/sparql", urllib.parse.urlencode(
        {"query": COUNT, "infer": "true"}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
         "Accept": "application/sparql-results+json,*/*;q=0.9", "Origin": "https://yasgui.triply.cc"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) == triples(server)


def test_sigterm_stops_the_server_and_its_workers(tmp_path):
    import signal
    import subprocess

    s = KgServe("--quiet", "--workers", "2", env={"KG_CACHE_DIR": str(tmp_path)})
    children = subprocess.run(["pgrep", "-P", str(s.process.pid)], check=False, capture_output=True, text=True).stdout.split()
    assert len(children) >= 2
    s.process.send_signal(signal.SIGTERM)
    assert s.process.wait(timeout=20) == 0
    def running(pid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, IndexError):
            return False
        return state != "Z"

    deadline = time.monotonic() + 10
    while any(running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if running(pid)], "a worker outlived the server"


def test_bad_data_files_stop_serve_with_the_file_and_line(tmp_path, capsys):
    from kg.cli import main

    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://e/> .\nex:a ex:b "unterminated .\n', encoding="utf-8")
    assert main(["serve", "--data", str(bad), "--port", "0"]) == 2
    assert f"{bad}:2:11: invalid Turtle" in capsys.readouterr().err
    assert main(["serve", "--data", str(tmp_path / "missing.ttl"), "--port", "0"]) == 2
    assert "missing.ttl: no such file" in capsys.readouterr().err
