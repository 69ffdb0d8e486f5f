"""kg link / kg enrich / the federated query, against a real Oxigraph server loaded with a
Wikidata-shaped fixture, and against a server that misbehaves."""

from __future__ import annotations

import json
import os
import shutil

import pyoxigraph as ox
import pytest

from kg import KnowledgeGraph, paths, rdfio
from kg import wikidata as wd
from kg.cache import CachedEngine
from kg.cli import main
from kg.remote import RemoteEngine, put_graph, user_agent

from .conftest import FIXTURES
from .servers import RESULTS, FaultServer, OxigraphServer, reply

ITEMS = FIXTURES / "wikidata" / "items.ttl"
WD_ = "http://www.wikidata.org/entity/"


@pytest.fixture(scope="module")
def wikidata():
    server = OxigraphServer()
    put_graph(server.store, ITEMS.read_bytes())
    yield server
    server.stop()


@pytest.fixture()
def data_copy(tmp_path):
    target = tmp_path / "events.ttl"
    shutil.copy(paths.DATA_DIR / "events.ttl", target)
    return target


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fixture_items() -> dict[str, dict[str, set]]:
    """The fixture's facts per item: what the assertions below derive their expectations from."""
    facts: dict[str, dict[str, set]] = {}
    for q in rdfio.parse_file(ITEMS):
        facts.setdefault(q.subject.value, {}).setdefault(q.predicate.value, set()).add(q.object)
    return facts


def test_link_ranks_candidates_with_evidence(wikidata, capsys):
    code, out, err = run(capsys, "link", "--endpoint", wikidata.query)
    assert code == 0
    assert "place:novyi-hai  Novyi Hai (settlement, Kherson Oblast) -> unambiguous: wd:Q990000401" in out
    block = out.split("place:novyi-hai")[1]
    # the homonyms are listed after the match, with the reasons they were ruled out
    assert block.index("wd:Q990000401") < block.index("wd:Q990000402") < block.index("wd:Q990000403")
    assert "in Zaporizhzhia Oblast, not Kherson Oblast (P131)" in block and "not in Ukraine (P17)" in block
    assert "place:chervona-poliana" in out and "ambiguous: 2 items match" in out.split("place:chervona-poliana")[1]
    assert "person:rob-lee  Rob Lee (person) -> ambiguous: 2 items match" in out
    assert "person:serhiy-haidai  Serhiy Haidai (person) -> unambiguous: wd:Q990000601" in out
    assert "org:euromaidan-press  Euromaidan Press (organisation) -> unambiguous: wd:Q990000801" in out
    assert "place:kherson " not in out  # linked entities are left alone unless asked
    assert "3 unambiguous, 2 ambiguous" in err


def test_link_one_entity_as_json_includes_linked_ones(wikidata, capsys):
    code, out, _ = run(capsys, "link", "--endpoint", wikidata.query, "--entity", "novooleksiivka", "--format", "json")
    assert code == 0
    (proposal,) = json.loads(out)
    assert proposal["linked"] == [WD_ + "Q2028833"] and proposal["decision"] == "unambiguous"
    first, second = proposal["candidates"]
    assert first["item"] == WD_ + "Q2028833" and first["matches"] and first["distance_km"] < 1
    assert second["item"] == WD_ + "Q990000301" and not second["matches"]


def test_russian_spellings_are_searched_too(wikidata):
    berdiansk = wd.find_entity(wd.load_entities(), "place:berdiansk")
    query = wd.candidate_query(berdiansk)
    assert '"Berdyansk"@ru' in query and '"Бердянськ"@ru' in query


def test_unknown_entity_is_a_clear_error(capsys):
    code, _, err = run(capsys, "link", "--entity", "novyi-gai", "--endpoint", "http://127.0.0.1:9/sparql")
    assert code == 2 and "no place, organisation or person called 'novyi-gai'" in err and "place:novyi-hai" in err


def test_check_passes_for_correct_links(wikidata, capsys):
    code, out, err = run(capsys, "link", "--check", "--endpoint", wikidata.query,
                         *[a for n in ("kherson", "novopskov", "berdiansk", "kherson-oblast", "lpr") for a in ("--entity", n)])
    assert code == 0, out
    assert "place:kherson  wd:Q156732  ok" in out and "5 links checked: 5 ok, 0 mismatched" in err


def test_check_reports_a_wrong_link(wikidata, capsys, data_copy):
    text = data_copy.read_text(encoding="utf-8")
    start = text.index("place:kherson a kg:Settlement")
    end = text.index("\n\n", start)
    data_copy.write_text(text[:start] + text[start:end].replace("wd:Q156732", "wd:Q33349") + text[end:], encoding="utf-8")
    code, out, _ = run(capsys, "link", "--check", "--endpoint", wikidata.query, "--data", str(data_copy),
                       "--entity", "kherson")
    assert code == 1
    assert "place:kherson  wd:Q33349  MISMATCH" in out
    assert "no label in common (Wikidata: Melitopol@en" in out
    assert "in Zaporizhzhia Oblast, not Kherson Oblast (P131)" in out and "km from our point (tolerance 5 km)" in out


def test_write_records_only_unambiguous_links_with_provenance(wikidata, capsys, data_copy):
    before = data_copy.read_bytes()
    code, _, err = run(capsys, "link", "--write", "--endpoint", wikidata.query, "--data", str(data_copy))
    assert code == 0, err
    after = data_copy.read_bytes()
    assert after.startswith(before)  # the curated text is untouched; the links are appended
    for entity, item in (("place:novyi-hai", "Q990000401"), ("person:serhiy-haidai", "Q990000601"),
                         ("org:euromaidan-press", "Q990000801")):
        assert f"linked {entity} to wd:{item}" in err
    assert "chervona-poliana" not in err and "rob-lee" not in err
    assert main(["validate", str(data_copy)]) == 0
    graph = KnowledgeGraph.load([data_copy])
    records = graph.sparql("""
        PREFIX kg: <https://w3id.org/resistance-kg/ontology#>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?entity ?item ?evidence ?when ?used WHERE {
          ?r a kg:LinkRecord ; kg:linkedEntity ?entity ; kg:linkedItem ?item ; kg:matchEvidence ?evidence ;
             prov:generatedAtTime ?when ; prov:wasGeneratedBy/prov:used ?used }""").to_python()
    assert {(r["entity"].rsplit("/", 1)[-1], r["item"].rsplit("/", 1)[-1]) for r in records} == {
        ("novyi-hai", "Q990000401"), ("serhiy-haidai", "Q990000601"), ("euromaidan-press", "Q990000801")}
    assert all(r["used"] == wikidata.query for r in records)
    novyi_hai = next(r for r in records if r["entity"].endswith("novyi-hai"))
    assert "in Kherson Oblast" in novyi_hai["evidence"] and "2 other candidates ruled out" in novyi_hai["evidence"]
    unlinked = [r["entity"] for r in graph.query("unlinked-entities")]
    assert not any(e.endswith(("novyi-hai", "serhiy-haidai")) for e in unlinked)
    assert any(e.endswith("chervona-poliana") for e in unlinked)
    # A second run finds nothing new to write and leaves the file as it is.
    capsys.readouterr()
    assert main(["link", "--write", "--endpoint", wikidata.query, "--data", str(data_copy)]) == 0
    assert "nothing to write" in capsys.readouterr().err
    assert data_copy.read_bytes() == after


@pytest.mark.parametrize("failure, message", [("503", "still answered HTTP 503 after 4 attempts"),
                                              ("refused", "Connection refused")])
def test_nothing_is_written_when_the_network_fails(capsys, data_copy, failure, message):
    server = FaultServer()
    server.routes["/sparql"] = lambda h, n: reply(h, 503, b"down", "text/plain")
    endpoint = server.base + "/sparql" if failure == "503" else "http://127.0.0.1:9/sparql"
    try:
        before = data_copy.read_bytes()
        code, _, err = run(capsys, "link", "--write", "--endpoint", endpoint, "--data", str(data_copy),
                           "--entity", "novyi-hai", "--timeout", "2")
    finally:
        server.stop()
    assert code == 2 and message in err
    assert data_copy.read_bytes() == before and os.listdir(data_copy.parent) == ["events.ttl"]


@pytest.mark.parametrize("route, message", [
    (lambda h, n: reply(h, 200, b"<!DOCTYPE html><html><body>Please set a user-agent</body></html>", "text/html"),
     "HTML page"),
    (lambda h, n: reply(h, 200, RESULTS[:50] + b'\njava.util.concurrent.TimeoutException'), "incomplete or invalid JSON"),
    (lambda h, n: reply(h, 200, b'{"head": {"vars": ["item"]}}'), "without head.vars and results.bindings"),
    (lambda h, n: reply(h, 429, b"", "text/plain", {"Retry-After": "100000"}), "asks to wait 100000 s"),
])
def test_unusable_wikidata_answers_are_errors_not_no_match(capsys, data_copy, route, message):
    server = FaultServer()
    server.routes["/sparql"] = route
    try:
        before = data_copy.read_bytes()
        code, out, err = run(capsys, "link", "--write", "--endpoint", server.base + "/sparql", "--data",
                             str(data_copy), "--entity", "novyi-hai")
        (request,) = server.hits("/sparql")
    finally:
        server.stop()
    assert code == 2 and message in err and "no matching item" not in out
    assert data_copy.read_bytes() == before
    assert request["headers"]["User-Agent"] == user_agent()


def test_429_then_success_links(capsys, wikidata):
    """Retry-After is honoured end to end: the first answer is 429, the second comes from Oxigraph."""
    import urllib.request

    server = FaultServer()

    def throttled(handler, n):
        if n == 1:
            reply(handler, 429, b"", "text/plain", {"Retry-After": "1"})
            return
        req = urllib.request.Request(wikidata.query, data=server.hits("/sparql")[-1]["body"],
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(req) as upstream:
            reply(handler, 200, upstream.read())

    server.routes["/sparql"] = throttled
    try:
        code, out, _ = run(capsys, "link", "--endpoint", server.base + "/sparql", "--entity", "novyi-hai")
    finally:
        server.stop()
    assert code == 0 and "unambiguous: wd:Q990000401" in out and len(server.hits("/sparql")) == 2


def test_answers_are_cached_and_refresh_asks_again(wikidata, tmp_path):
    entity = wd.find_entity(wd.load_entities(), "novyi-hai")
    first = CachedEngine(RemoteEngine(wikidata.query), tmp_path)
    a = wd.candidates(entity, first)
    # Same endpoint (the cache key), but an engine that fails the test if it is asked at all.
    offline = type("Offline", (), {"endpoint": wikidata.query, "select": lambda self, text: pytest.fail("asked")})
    second = CachedEngine(offline(), tmp_path)
    b = wd.candidates(entity, second)
    assert (second.hits, second.misses) == (1, 0)
    assert [c.to_dict() for c in a.candidates] == [c.to_dict() for c in b.candidates]
    third = CachedEngine(RemoteEngine(wikidata.query), tmp_path, refresh=True)
    wd.candidates(entity, third)
    assert (third.hits, third.misses) == (0, 1)


def test_enrich_writes_facts_about_items_only(wikidata, capsys, tmp_path):
    out = tmp_path / "wikidata.ttl"
    code, _, err = run(capsys, "enrich", "--endpoint", wikidata.query, "-o", str(out))
    assert code == 0, err
    quads = rdfio.parse_file(out)
    ours = {q.subject.value for q in rdfio.parse_file(paths.DATA_DIR / "events.ttl")}
    subjects = {q.subject.value for q in quads}
    assert not subjects & ours  # nothing said about our own entities
    facts = fixture_items()
    kherson = {(q.predicate.value, q.object) for q in quads if q.subject.value == WD_ + "Q156732"}
    population = "http://www.wikidata.org/prop/direct/P1082"
    assert (population, next(iter(facts[WD_ + "Q156732"][population]))) in kherson
    assert ("http://www.w3.org/2000/01/rdf-schema#label", ox.Literal("Херсон", language="ru")) in kherson
    # loaded next to the data, the curated facts are unchanged and the new ones are there
    graph = KnowledgeGraph.load([paths.DATA_DIR / "events.ttl", out])
    assert graph.query("gunfire-on-protesters") == KnowledgeGraph.load().query("gunfire-on-protesters")


def test_federated_query_runs_only_when_allowed(wikidata, capsys):
    code, _, err = run(capsys, "query", "wikidata-population")
    assert code == 2 and "--allow-service" in err
    code, out, err = run(capsys, "query", "wikidata-population", "--allow-service", "--wikidata-endpoint",
                         wikidata.query, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)["results"]["bindings"]
    local = KnowledgeGraph.load()
    towns = {r["town"] for r in local.query("gunfire-on-protesters") + local.query("shots-into-the-air")}
    facts = fixture_items()
    expected = {}
    for town in towns:
        item = local.sparql(f"SELECT ?i WHERE {{ <{town}> <http://www.w3.org/2004/02/skos/core#exactMatch> ?i }}")
        for row in item.to_python():
            pops = facts.get(row["i"], {}).get("http://www.wikidata.org/prop/direct/P1082")
            if pops:
                expected[town] = max(int(p.value) for p in pops)
    assert {r["town"]["value"]: int(r["population"]["value"]) for r in rows} == expected
    assert len(expected) >= 3


def test_service_calls_carry_our_user_agent(capsys):
    server = FaultServer()
    server.routes["/sparql"] = lambda h, n: reply(h, 200, b'{"head": {"vars": ["item", "pop", "oblastItem"]}, '
                                                         b'"results": {"bindings": []}}')
    try:
        assert main(["query", "wikidata-population", "--allow-service", "--wikidata-endpoint",
                     server.base + "/sparql"]) == 0
        (request,) = server.hits("/sparql")
    finally:
        server.stop()
    assert request["headers"]["User-Agent"] == user_agent()
    assert b"P1082" in request["body"]
