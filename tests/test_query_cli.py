"""kg queries / kg query / kg sparql: formats, parameter checking, injection, refusals."""

from __future__ import annotations

import csv
import io
import json

import pytest

from kg import KnowledgeGraph
from kg.catalogue import Catalogue, load_query
from kg.cli import main
from kg.errors import EndpointError, InputError, ParameterError, QueryError

HOSTILE = [
    'x" || "a" = "a',
    'x" } UNION { ?s ?p ?o } #',
    "x' } UNION { ?s ?p ?o } #",
    'Kherson Oblast"@en . } DROP ALL #',
    "\\\" ) } SELECT * WHERE { ?s ?p ?o",
    "kherson\n} UNION { ?s ?p ?o }",
]


@pytest.fixture(scope="module")
def kg():
    return KnowledgeGraph.load()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_queries_lists_the_catalogue(capsys):
    code, out, _ = run(capsys, "queries")
    assert code == 0 and "gunfire-on-protesters" in out and "oblast (string)" in out
    code, out, _ = run(capsys, "queries", "--format", "json")
    listed = {q["name"]: q for q in json.loads(out)}
    assert code == 0 and listed["protests-on-date"]["params"][0] == {
        "name": "date", "type": "date", "required": True, "default": None, "choices": []}


def test_query_table_is_default_and_row_count_goes_to_stderr(capsys):
    code, out, err = run(capsys, "query", "gunfire-on-protesters")
    assert code == 0
    assert out.splitlines()[0].split() == ["town", "townLabel", "oblastLabel", "date", "killed", "wounded"]
    assert "Nova Kakhovka" in out and "(2 rows)" in err and "rows" not in out


def test_query_json_is_sparql_results_json(capsys):
    code, out, _ = run(capsys, "query", "gunfire-on-protesters", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["head"]["vars"][:2] == ["town", "townLabel"]
    nk = doc["results"]["bindings"][1]
    assert nk["killed"] == {"type": "literal", "value": "1", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}
    assert nk["townLabel"] == {"type": "literal", "value": "Nova Kakhovka", "xml:lang": "en"}
    assert "killed" not in doc["results"]["bindings"][0]  # unbound stays unbound


def test_query_csv_and_tsv(capsys):
    code, out, _ = run(capsys, "query", "gunfire-on-protesters", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and "\r\n" in out
    assert rows[1]["town"] == "https://w3id.org/resistance-kg/id/place/nova-kakhovka" and rows[0]["killed"] == ""
    code, out, _ = run(capsys, "query", "gunfire-on-protesters", "--format", "tsv")
    lines = out.splitlines()
    assert lines[0].startswith("?town\t?townLabel") and '"Nova Kakhovka"@en' in lines[2]


def test_query_help_shows_description_and_parameters(capsys):
    code, out, _ = run(capsys, "query", "gunfire-on-protesters", "--help")
    assert code == 0 and "Parameters:" in out and "oblast" in out and "?killed" in out


@pytest.mark.parametrize("argv, message", [
    (["query", "gunfire"], "unknown query 'gunfire' (did you mean 'gunfire-on-protesters'?); run 'kg queries'"),
    (["query", "protests-on-date"], "needs parameter 'date'"),
    (["query", "protests-on-date", "-p", "date", "6 March"], "parameter 'date': '6 March' is not a date"),
    (["query", "protests-on-date", "-p", "date", "2022-02-30"], "parameter 'date'"),
    (["query", "protests-on-date", "-p", "dat", "2022-03-06"], "has no parameter 'dat'; it takes date, lang"),
    (["query", "timeline", "-p", "lang", "de"], "parameter 'lang': 'de' is not one of en, uk"),
    (["query", "timeline", "-p", "lang", "en", "-p", "lang", "uk"], "given twice"),
    (["query", "timeline", "--format", "yaml"], "Invalid value for '--format'"),
    (["sparql", "INSERT DATA { <http://a> <http://b> <http://c> }"], "INSERT is a SPARQL Update"),
    (["sparql", "PREFIX x: <http://x/> DELETE WHERE { ?s ?p ?o }"], "DELETE is a SPARQL Update"),
    (["sparql", "LOAD <http://example.org/data.ttl>"], "LOAD is a SPARQL Update"),
    (["sparql", "CLEAR ALL"], "CLEAR is a SPARQL Update"),
    (["sparql", "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }"], "SERVICE"),
    (["sparql", "SELECT * WHERE { ?s ?p }"], "invalid SPARQL"),
    (["sparql"], "give the query as TEXT or with -f FILE"),
    (["query"], "missing query NAME; run 'kg queries'"),
    (["query", "timeline", "--data", "no-such-file.ttl"], "no-such-file.ttl: no such file"),
])
def test_bad_input_exits_2_with_a_clear_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert message in err, err
    assert out == ""


def test_deeply_nested_query_is_refused_before_the_engine(capsys):
    query = "SELECT * WHERE " + "{ " * 5000 + "?s ?p ?o" + " }" * 5000
    code, _, err = run(capsys, "sparql", query)
    assert code == 2 and "nested more than" in err


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_match_nothing_and_change_nothing(kg, value):
    before = kg.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").to_python()
    assert kg.query("protests-in-oblast", oblast=value) == []
    assert kg.query("gunfire-on-protesters", oblast=value) == []
    assert kg.query("use-of-force", tactic=value) == []
    assert kg.query("event-sources", event=value) == []
    assert kg.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").to_python() == before


def test_hostile_values_never_reach_the_query_text_unescaped(kg):
    q = kg.catalogue.get("protests-in-oblast")
    text = q.bind({"oblast": 'x" } UNION { ?s ?p ?o } #'})
    assert 'LCASE(STR("x\\" } UNION { ?s ?p ?o } #"))' in text and "?_oblast" not in text
    text = q.bind({"oblast": 'x" } UNION { ?s ?p ?o } #'}, inline=False)
    assert 'VALUES (?__lang ?_oblast) { ("en" "x\\" } UNION { ?s ?p ?o } #") }' in text


def test_iri_parameters_are_validated(tmp_path):
    (tmp_path / "thing.rq").write_text(
        "#+ summary: s\n#+ description: Parameter thing (an IRI).\n"
        "SELECT ?p WHERE { ?_thing_iri ?p ?o }\n")
    catalogue = Catalogue.load(tmp_path)
    q = catalogue.get("thing")
    assert q.params[0].type == "IRI"
    assert "<https://example.org/a>" in q.bind({"thing": "https://example.org/a"})
    for bad in ["http://x> } ; DROP ALL #", "not an iri", "http://a b", "<http://a>"]:
        with pytest.raises(ParameterError, match="parameter 'thing'"):
            q.bind({"thing": bad})


def test_integer_parameters_are_validated(tmp_path):
    (tmp_path / "n.rq").write_text("#+ summary: s\n#+ description: Parameter n.\n"
                                   "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1 # ?_n_integer only in a comment\n"
                                   "\n")
    assert Catalogue.load(tmp_path).get("n").params == ()  # a ?_x in a comment is not a parameter
    (tmp_path / "n.rq").write_text("#+ summary: s\n#+ description: Parameter n.\n"
                                   "SELECT ?s WHERE { ?s ?p ?o FILTER(?o = ?_n_integer) }\n")
    q = Catalogue.load(tmp_path).get("n")
    assert '"3"^^<http://www.w3.org/2001/XMLSchema#integer>' in q.bind({"n": "3"})
    with pytest.raises(ParameterError, match="not a whole number"):
        q.bind({"n": "3.5"})


def test_parameters_bind_the_same_text_for_every_backend(kg):
    # The binding is plain SPARQL text, so a remote endpoint receives exactly what the embedded
    # store runs: constants in the FILTERs, unset optional parameters left unbound.
    q = kg.catalogue.get("gunfire-on-protesters")
    text = q.bind({"oblast": "Kherson Oblast"})
    assert 'LCASE(STR("Kherson Oblast"))' in text and 'COALESCE("en", "en")' in text
    assert "VALUES (?" not in text and "!BOUND(?__from_xsd_date)" in text
    text = q.bind({"oblast": "Kherson Oblast"}, inline=False)
    assert text.index("VALUES (?__lang ?__oblast)") < text.index("?event a kg:ProtestEvent")


@pytest.mark.parametrize("header, message, line", [
    ("#+ summary: s\n#+ descripton: d\n", "unknown header key 'descripton' (did you mean 'description'?)", 2),
    ("#+ summary: s\n#+ description: [unclosed\n", "bad YAML", 2),
    ("#+ summary: s\n", "needs a 'description'", 1),
    ("#+ summary: s\n#+ description: d\n#+ defaults:\n#+   - nope: 1\n", "names parameter 'nope'", 1),
])
def test_query_headers_are_parsed_strictly(tmp_path, header, message, line):
    f = tmp_path / "q.rq"
    f.write_text(header + "SELECT * WHERE { ?s ?p ?o }\n")
    with pytest.raises(InputError) as e:
        load_query(f)
    assert message in str(e.value) and e.value.line == line and e.value.path == str(f)


def test_update_in_catalogue_file_is_refused(tmp_path):
    f = tmp_path / "wipe.rq"
    f.write_text("#+ summary: s\n#+ description: d\nDROP ALL\n")
    with pytest.raises(InputError, match="SPARQL Update"):
        load_query(f)


def test_parameter_in_subquery_is_refused(tmp_path):
    f = tmp_path / "sub.rq"
    f.write_text("#+ summary: s\n#+ description: Parameter x.\n"
                 "SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?_x } } }\n")
    with pytest.raises(InputError, match="inside a subquery") as e:
        load_query(f)
    assert e.value.line == 3


def test_sparql_runs_own_queries_from_text_file_and_stdin(capsys, tmp_path, monkeypatch):
    code, out, _ = run(capsys, "sparql", "ASK { ?e a <https://w3id.org/resistance-kg/ontology#ProtestEvent> }")
    assert code == 0 and out.strip() == "true"
    f = tmp_path / "q.rq"
    f.write_text("PREFIX kg: <https://w3id.org/resistance-kg/ontology#>\n"
                 "SELECT (COUNT(?e) AS ?n) WHERE { ?e a kg:ProtestEvent }")
    code, out, _ = run(capsys, "sparql", "-f", str(f), "--format", "csv")
    assert code == 0 and out == "n\r\n20\r\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT (1 AS ?one) WHERE {}"))
    code, out, _ = run(capsys, "sparql", "-", "--format", "tsv")
    assert code == 0 and out.splitlines()[1] == '"1"^^<http://www.w3.org/2001/XMLSchema#integer>'


def test_sparql_construct_prints_turtle(capsys):
    import rdflib

    code, out, _ = run(capsys, "sparql", "PREFIX kg: <https://w3id.org/resistance-kg/ontology#> "
                       "CONSTRUCT { ?e kg:date ?d } WHERE { ?e kg:date ?d }")
    assert code == 0
    g = rdflib.Graph().parse(data=out, format="turtle")
    assert len(g) == 20


def test_data_option_runs_the_catalogue_on_other_files(capsys):
    from .conftest import FIXTURES

    code, out, _ = run(capsys, "query", "protests-on-date", "-p", "date", "2022-03-05",
                       "--data", str(FIXTURES / "valid" / "minimal.ttl"))
    assert code == 0 and "Test Town" in out and "Kherson" not in out


def test_python_api_returns_python_values(kg):
    import datetime as dt

    rows = kg.query("gunfire-on-protesters", oblast="Kherson Oblast")
    assert rows == [{
        "town": "https://w3id.org/resistance-kg/id/place/nova-kakhovka", "townLabel": "Nova Kakhovka",
        "oblastLabel": "Kherson Oblast", "date": dt.date(2022, 3, 6), "killed": 1, "wounded": 7}]
    with pytest.raises(QueryError, match="SPARQL Update"):
        kg.sparql("DELETE WHERE { ?s ?p ?o }")


def test_remote_queries_need_explicit_permission(tmp_path):
    from kg.graph import KnowledgeGraph as KG

    (tmp_path / "remote.rq").write_text(
        "#+ summary: s\n#+ description: d\n#+ tags: [remote]\n"
        "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }\n")
    (tmp_path / "sneaky.rq").write_text(
        "#+ summary: s\n#+ description: d\nSELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }\n")
    with pytest.raises(InputError, match="SERVICE"):
        Catalogue.load(tmp_path)  # an untagged query may not call SERVICE at all
    (tmp_path / "sneaky.rq").unlink()
    graph = KG.load(queries=tmp_path)
    with pytest.raises(QueryError, match="--allow-service"):
        graph.run("remote")
    with pytest.raises(EndpointError, match="cannot reach http://127.0.0.1:1/sparql"):
        graph.run("remote", allow_service=True)  # allowed, but nothing listens on port 1


def test_updates_raise_a_typed_read_only_error(kg):
    from kg.errors import ReadOnlyError

    for text in ("INSERT DATA { <http://a> <http://b> <http://c> }", "LOAD <http://example.org/x>", "DROP ALL"):
        with pytest.raises(ReadOnlyError, match="read-only"):
            kg.sparql(text)
    with pytest.raises(QueryError, match="not a SPARQL query") as e:
        kg.sparql("HELLO")
    assert not isinstance(e.value, ReadOnlyError)
