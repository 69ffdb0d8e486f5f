"""Remote stores: kg push and kg query/sparql --endpoint against a real Oxigraph server,
and the client's behaviour on a server that misbehaves."""

from __future__ import annotations

import json
import re
import time

import pytest

from kg import KnowledgeGraph, paths
from kg.catalogue import Catalogue
from kg.cli import main
from kg.errors import EndpointError, QueryError
from kg.remote import RemoteEngine, RetryPolicy, put_graph, user_agent

from .conftest import FIXTURES
from .servers import RESULTS, FaultServer, OxigraphServer, reply
from .test_queries import SAMPLE_PARAMS
from .test_query_cli import HOSTILE

CATALOGUE = [q for q in Catalogue.load(paths.QUERIES_DIR) if "remote" not in q.tags]
NAMED = "https://example.org/graphs/protests"


@pytest.fixture(scope="module")
def oxigraph():
    server = OxigraphServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pushed(oxigraph):
    """The bundled data pushed once to the default graph and once to a named graph."""
    assert main(["push", "--endpoint", oxigraph.store]) == 0
    assert main(["push", "--endpoint", oxigraph.store, "--graph", NAMED]) == 0
    return oxigraph


@pytest.fixture(scope="module")
def local():
    return KnowledgeGraph.load()


_CONCAT = re.compile(r'GROUP_CONCAT\s*\((?:[^()]|\([^()]*\))*?SEPARATOR\s*=\s*"([^"]*)"\s*\)\s+AS\s+\?(\w+)', re.IGNORECASE | re.DOTALL)


def comparable(result, query):
    """Rows with GROUP_CONCAT columns as sorted parts: SPARQL leaves the order inside them open."""
    separators = {var: sep for sep, var in _CONCAT.findall(query.text)}
    rows = []
    for row in result.rows:
        rows.append({k: (tuple(sorted(t.value.split(separators[k]))) if k in separators else t)
                     for k, t in row.items()})
    return rows


@pytest.mark.parametrize("query", CATALOGUE, ids=lambda q: q.name)
def test_every_canned_query_gives_the_same_rows_remotely(pushed, local, query):
    params = SAMPLE_PARAMS.get(query.name, {})
    want = local.run(query.name, params)
    got = KnowledgeGraph.remote(pushed.query).run(query.name, params)
    assert got.variables == want.variables
    assert comparable(got, query) == comparable(want, query) and len(want.rows) > 0
    named = KnowledgeGraph.remote(pushed.query, default_graphs=[NAMED]).run(query.name, params)
    assert comparable(named, query) == comparable(want, query)


def test_cli_query_against_the_endpoint_prints_the_same_table(pushed, capsys):
    assert main(["query", "gunfire-on-protesters"]) == 0
    local_out = capsys.readouterr().out
    assert main(["query", "gunfire-on-protesters", "--endpoint", pushed.query, "--timeout", "10"]) == 0
    assert capsys.readouterr().out == local_out
    assert main(["query", "gunfire-on-protesters", "--endpoint", pushed.query, "--graph", NAMED]) == 0
    assert capsys.readouterr().out == local_out


def test_sparql_against_the_endpoint_select_ask_construct(pushed, capsys):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?e a <https://w3id.org/resistance-kg/ontology#ProtestEvent> }"
    assert main(["sparql", q, "--endpoint", pushed.query, "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\r\n20\r\n"
    assert main(["sparql", "ASK { ?s ?p ?o }", "--endpoint", pushed.query]) == 0
    assert capsys.readouterr().out.strip() == "true"
    construct = ("CONSTRUCT { ?e <https://w3id.org/resistance-kg/ontology#date> ?d } WHERE "
                 "{ ?e <https://w3id.org/resistance-kg/ontology#date> ?d }")
    assert main(["sparql", construct, "--endpoint", pushed.query]) == 0
    out = capsys.readouterr().out
    assert out.count("kg:date") == 20 and "event:kherson-2022-03-05" in out


def test_updates_are_refused_before_reaching_the_server(pushed, capsys):
    before = pushed.count()
    assert main(["sparql", "DELETE WHERE { ?s ?p ?o }", "--endpoint", pushed.query]) == 2
    assert "is a SPARQL Update" in capsys.readouterr().err
    assert pushed.count() == before


def test_server_side_query_errors_are_reported_with_the_servers_words(pushed, capsys):
    assert main(["sparql", "SELECT * WHERE { ?s ?p }", "--endpoint", pushed.query]) == 2
    err = capsys.readouterr().err
    assert "rejected the query (HTTP 400)" in err and "error at 1:" in err


def test_push_replaces_and_append_adds(oxigraph, capsys, tmp_path):
    graph = "https://example.org/graphs/replace-test"
    minimal = FIXTURES / "valid" / "minimal.ttl"
    assert main(["push", "--endpoint", oxigraph.store, "--graph", graph, "--data", str(minimal)]) == 0
    small = oxigraph.count(graph)
    assert main(["push", "--endpoint", oxigraph.store, "--graph", graph]) == 0
    full = oxigraph.count(graph)
    assert full > small
    assert main(["push", "--endpoint", oxigraph.store, "--graph", graph, "--data", str(minimal), "--append"]) == 0
    assert oxigraph.count(graph) > full
    assert main(["push", "--endpoint", oxigraph.store, "--graph", graph]) == 0
    assert oxigraph.count(graph) == full
    assert "replaced graph <https://example.org/graphs/replace-test>" in capsys.readouterr().err


@pytest.mark.parametrize("fixture, code, message", [
    ("invalid/event-without-source.ttl", 1, "refusing to push data that does not validate"),
    ("malformed/empty.ttl", 2, "holds no triples"),
    ("malformed/only-prefixes.ttl", 2, "holds no triples"),
])
def test_push_refuses_invalid_or_empty_data(oxigraph, capsys, fixture, code, message):
    graph = "https://example.org/graphs/refused"
    assert main(["push", "--endpoint", oxigraph.store, "--graph", graph]) == 0
    before = oxigraph.count(graph)
    assert main(["push", "--endpoint", oxigraph.store, "--graph", graph, "--data", str(FIXTURES / fixture)]) == code
    assert message in capsys.readouterr().err
    assert oxigraph.count(graph) == before


@pytest.mark.parametrize("argv, message", [
    (["query", "events", "--endpoint", "http://127.0.0.1:9/q", "--data", "x.ttl"], "exclude each other"),
    (["query", "events", "--timeout", "5"], "only with --endpoint"),
    (["query", "events", "--endpoint", "ftp://example.org/sparql"], "not an http:// or https:// URL"),
    (["push", "--endpoint", "http://127.0.0.1:9/store", "--graph", "not an iri"], "is not an absolute IRI"),
    (["query", "events", "--endpoint", "http://127.0.0.1:9/sparql"], "cannot reach http://127.0.0.1:9/sparql"),
])
def test_remote_usage_errors(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


# --- a server that misbehaves ----------------------------------------------------------------

@pytest.fixture()
def faults():
    server = FaultServer()
    yield server
    server.stop()


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def engine(server, path, **kw):
    sleeps = Sleeps()
    policy = RetryPolicy(retries=kw.pop("retries", 3), max_wait=kw.pop("max_wait", 60), backoff=0.5, sleep=sleeps)
    return RemoteEngine(server.base + path, policy=policy, **kw), sleeps


def test_sends_a_descriptive_user_agent_and_one_post(faults):
    faults.routes["/sparql"] = lambda h, n: reply(h, 200, RESULTS)
    result, _ = engine(faults, "/sparql")
    assert result.select("SELECT ?x WHERE {}").rows[0]["x"].value == "ok"
    (request,) = faults.hits("/sparql")
    assert request["method"] == "POST"
    agent = request["headers"]["User-Agent"]
    assert agent == user_agent() and agent.startswith("kg/0.1.0 (https://") and "SPARQLWrapper/2" in agent


def test_429_waits_for_retry_after_then_succeeds(faults):
    faults.routes["/sparql"] = lambda h, n: (reply(h, 429, b"slow down", "text/plain", {"Retry-After": "7"})
                                             if n == 1 else reply(h, 200, RESULTS))
    e, sleeps = engine(faults, "/sparql")
    assert len(e.select("SELECT ?x WHERE {}").rows) == 1
    assert sleeps == [7.0] and len(faults.hits("/sparql")) == 2


def test_429_forever_gives_up_after_bounded_retries(faults):
    faults.routes["/sparql"] = lambda h, n: reply(h, 429, b"", "text/plain", {"Retry-After": "1"})
    e, sleeps = engine(faults, "/sparql", retries=2)
    with pytest.raises(EndpointError, match="429 Too Many Requests after 3 attempts"):
        e.select("SELECT ?x WHERE {}")
    assert len(faults.hits("/sparql")) == 3 and sleeps == [1.0, 1.0]


def test_a_retry_after_longer_than_we_wait_is_an_error_at_once(faults):
    faults.routes["/sparql"] = lambda h, n: reply(h, 429, b"", "text/plain", {"Retry-After": "3600"})
    e, sleeps = engine(faults, "/sparql", max_wait=60)
    with pytest.raises(EndpointError, match="asks to wait 3600 s"):
        e.select("SELECT ?x WHERE {}")
    assert sleeps == [] and len(faults.hits("/sparql")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_backs_off_and_retries(faults, status):
    faults.routes["/sparql"] = lambda h, n: reply(h, status, b"busy", "text/plain") if n < 3 else reply(h, 200, RESULTS)
    e, sleeps = engine(faults, "/sparql")
    assert len(e.select("SELECT ?x WHERE {}").rows) == 1
    assert sleeps == [0.5, 1.0]


def test_5xx_forever_is_an_error(faults):
    faults.routes["/sparql"] = lambda h, n: reply(h, 503, b"down", "text/plain")
    e, _ = engine(faults, "/sparql", retries=1)
    with pytest.raises(EndpointError, match="HTTP 503 after 2 attempts"):
        e.select("SELECT ?x WHERE {}")


@pytest.mark.parametrize("route, message", [
    (lambda h, n: reply(h, 200, b"<!DOCTYPE html><html><body>Welcome</body></html>", "text/html"), "HTML page"),
    (lambda h, n: reply(h, 200, RESULTS[:40]), "incomplete or invalid JSON"),
    (lambda h, n: reply(h, 200, RESULTS[:40], length=len(RESULTS)), "truncated"),
    (lambda h, n: reply(h, 200, json.dumps({"head": {"vars": ["x"]}}).encode()), "without head.vars and results.bindings"),
    (lambda h, n: reply(h, 200, b"{}", "application/json"), "without head.vars and results.bindings"),
    (lambda h, n: reply(h, 200, json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"value": 1}}]}}).encode()),
     "malformed binding"),
    (lambda h, n: reply(h, 403, b"forbidden", "text/plain"), "HTTP 403"),
    (lambda h, n: reply(h, 401, b"", "text/plain"), "KG_ENDPOINT_TOKEN"),
    (lambda h, n: reply(h, 404, b"", "text/plain"), "no SPARQL endpoint"),
])
def test_unusable_answers_are_errors_never_empty_results(faults, route, message):
    faults.routes["/sparql"] = route
    e, _ = engine(faults, "/sparql")
    with pytest.raises(EndpointError, match=message):
        e.select("SELECT ?x WHERE {}")


def test_a_400_is_a_query_error_with_the_servers_message(faults):
    faults.routes["/sparql"] = lambda h, n: reply(h, 400, b"Parse error: unexpected '}' at line 1", "text/plain")
    e, _ = engine(faults, "/sparql")
    with pytest.raises(QueryError, match="unexpected '}' at line 1"):
        e.select("SELECT ?x WHERE {}")


def test_a_slow_server_times_out(faults):
    def slow(h, n):
        time.sleep(2)
        reply(h, 200, RESULTS)

    faults.routes["/sparql"] = slow
    e, sleeps = engine(faults, "/sparql", timeout=0.3)
    with pytest.raises(EndpointError, match="did not answer within 0.3 s"):
        e.select("SELECT ?x WHERE {}")
    assert sleeps == []


def test_credentials_come_from_the_environment_and_are_never_printed(faults, capsys, monkeypatch):
    faults.routes["/sparql"] = lambda h, n: reply(h, 500, b"", "text/plain")
    monkeypatch.setenv("KG_ENDPOINT_TOKEN", "s3cret-token")
    e = RemoteEngine(faults.base + "/sparql", policy=RetryPolicy(retries=0))
    with pytest.raises(EndpointError) as info:
        e.select("SELECT ?x WHERE {}")
    assert faults.hits("/sparql")[0]["headers"]["Authorization"] == "Bearer s3cret-token"
    assert "s3cret" not in str(info.value)
    url = faults.base.replace("http://", "http://alice:pa55word@") + "/sparql"
    assert main(["query", "events", "--endpoint", url]) == 2
    assert "pa55word" not in capsys.readouterr().err


def test_push_does_not_follow_redirects(faults):
    faults.routes["/store"] = lambda h, n: reply(h, 307, b"", "text/plain", {"Location": faults.base + "/elsewhere"})
    faults.routes["/elsewhere"] = lambda h, n: reply(h, 204)
    with pytest.raises(EndpointError, match="redirected the upload .*do not follow redirects"):
        put_graph(faults.base + "/store", b"<a:b> <a:c> <a:d> .")
    assert faults.hits("/elsewhere") == []
    (put,) = faults.hits("/store")
    assert put["method"] == "PUT" and put["url"] == "/store?default"
    assert put["headers"]["User-Agent"] == user_agent()


def test_push_reports_http_errors(faults):
    faults.routes["/store"] = lambda h, n: reply(h, 415, b"Unsupported Media Type: text/turtle", "text/plain")
    with pytest.raises(EndpointError, match="HTTP 415 .*Unsupported Media Type"):
        put_graph(faults.base + "/store", b"<a:b> <a:c> <a:d> .", graph="https://example.org/g")
    assert faults.hits("/store")[0]["url"] == "/store?graph=https%3A%2F%2Fexample.org%2Fg"


def test_push_never_sends_an_empty_body(faults):
    with pytest.raises(EndpointError, match="refusing to upload nothing"):
        put_graph(faults.base + "/store", b"  \n")
    assert faults.requests == []


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_parameters_stay_values_on_the_remote_store(pushed, local, value):
    before = pushed.count()
    remote = KnowledgeGraph.remote(pushed.query)
    for name, param in (("protests-in-oblast", "oblast"), ("gunfire-on-protesters", "oblast")):
        assert remote.run(name, {param: value}).rows == local.run(name, {param: value}).rows == ()
    assert pushed.count() == before
