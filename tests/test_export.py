"""kg export: every format on the bundled data, round trips checked by other parsers, atomic writes."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from kg import export as ex
from kg import paths, rdfio
from kg.atomic import write_atomic
from kg.cli import main
from kg.errors import InputError

from .conftest import FIXTURES

RDF_FORMATS = [f for f in ex.formats().values() if f.name not in ex.TABULAR]
STABLE = ["turtle", "nt", "nquads", "trig", "json-ld", "csv", "geojson"]


@pytest.fixture(scope="module")
def dataset():
    return ex.load_dataset()


@pytest.fixture(scope="module")
def source(dataset):
    return rdfio.to_rdflib(dataset["data"])


def rdflib_name(fmt: ex.Format) -> str:
    return {"nt11": "nt", "longturtle": "turtle", "pretty-xml": "xml"}.get(fmt.name, fmt.name)


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_every_rdf_format_round_trips_through_rdflib(tmp_path, capsys, fmt, source):
    out = tmp_path / "export.out"
    assert main(["export", "--format", fmt.name, "-o", str(out)]) == 0
    if fmt.is_dataset:
        ds = rdflib.Dataset()
        ds.parse(out, format=rdflib_name(fmt))
        graphs = {str(g.identifier): g for g in ds.graphs() if len(g)}
        assert set(graphs) == set(ex.GRAPHS.values())
        assert isomorphic(graphs[ex.GRAPHS["data"]], source)
        assert len(graphs[ex.GRAPHS["ontology"]]) > 100 and len(graphs[ex.GRAPHS["shapes"]]) > 100
    else:
        back = rdflib.Graph().parse(out, format=rdflib_name(fmt))
        assert isomorphic(back, source)


@pytest.mark.parametrize("name", ["turtle", "nt", "nquads", "trig", "json-ld"])
def test_oxigraph_reads_our_output_to_the_same_graph(dataset, source, name):
    fmt = ex.resolve_format(name)
    data = ex.export(dataset, fmt)
    quads = list(ox.parse(data, format=ox.RdfFormat.from_media_type(fmt.media_type)))
    if fmt.is_dataset:
        quads = [q for q in quads if q.graph_name == ox.NamedNode(ex.GRAPHS["data"])]
    assert isomorphic(rdfio.to_rdflib(quads), source)


@pytest.mark.parametrize("name", STABLE)
def test_output_is_stable_whatever_the_input_order(dataset, name):
    fmt = ex.resolve_format(name)
    first = ex.export(dataset, fmt)
    shuffled = {g: random.Random(7).sample(qs, len(qs)) for g, qs in dataset.items()}
    # Fresh blank node labels too: re-parse the data so that every label differs.
    relabelled = list(ox.parse(ox.serialize(shuffled["data"], format=ox.RdfFormat.N_QUADS),
                               format=ox.RdfFormat.N_QUADS, rename_blank_nodes=True))
    assert ex.export({**shuffled, "data": relabelled}, fmt) == first


def test_turtle_is_a_fixpoint_and_nests_blank_nodes(tmp_path, dataset):
    first = ex.export(dataset, ex.resolve_format("turtle"))
    (tmp_path / "a.ttl").write_bytes(first)
    again = ex.export(ex.load_dataset([tmp_path / "a.ttl"]), ex.resolve_format("turtle"))
    assert again == first
    text = first.decode()
    assert "_:" not in text and "kg:participation [" in text  # participations nested, no labels
    assert text.startswith("@prefix ")


def test_json_ld_reads_as_plain_json(dataset):
    doc = json.loads(ex.export(dataset, ex.resolve_format("json-ld")))
    assert doc["@context"] == json.loads(ex.CONTEXT.read_text())["@context"]  # inline, never a URL
    keys = {k for node in doc["@graph"] for k in node}
    assert all(":" not in k and not k.startswith("http") for k in keys), sorted(k for k in keys if ":" in k)
    event = next(n for n in doc["@graph"] if n["id"] == "event/novopskov-2022-03-05")
    assert event["type"] == "ProtestEvent" and event["date"] == "2022-03-05"
    assert event["place"] == "place/novopskov" and event["label"]["uk"].startswith("Мітинг")
    assert all(isinstance(p, dict) and "role" in p for p in event["participation"])


def _no_remote(url, options=None):
    raise AssertionError(f"pyld tried to fetch {url}")


def pyld_graph(data: bytes) -> rdflib.Graph:
    from pyld import jsonld

    nquads = jsonld.to_rdf(json.loads(data), {"format": "application/n-quads", "documentLoader": _no_remote})
    return rdflib.Graph().parse(data=nquads, format="nt")


def test_pyld_expands_our_json_ld_to_the_same_triples(dataset, source):
    data = ex.export(dataset, ex.resolve_format("json-ld"))
    assert isomorphic(pyld_graph(data), source)
    assert isomorphic(rdflib.Graph().parse(data=data, format="json-ld"), source)


def test_the_context_covers_every_property_and_class_of_the_ontology():
    ctx = ex.context()
    c = ex._Compactor(ctx)
    onto = rdfio.to_rdflib(rdfio.parse_file(paths.ONTOLOGY))
    owl = rdflib.OWL
    for kind in (owl.ObjectProperty, owl.DatatypeProperty):
        for prop in onto.subjects(rdflib.RDF.type, kind):
            assert str(prop) in c.by_iri, f"no term for {prop} in ontology/context.jsonld"
    for cls in onto.subjects(rdflib.RDF.type, owl.Class):
        assert ":" not in c.vocab_value(str(cls)), cls


def test_reading_json_ld_with_a_remote_context_is_an_error_that_says_so(tmp_path):
    f = tmp_path / "remote.jsonld"
    f.write_text('{"@context": "https://example.org/context.jsonld", "@id": "https://example.org/a", "name": "x"}')
    with pytest.raises(InputError, match="remote @context"):
        rdfio.parse_file(f)


def test_our_json_ld_can_be_read_back_as_data(tmp_path, capsys, dataset):
    out = tmp_path / "events.jsonld"
    assert main(["export", "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    assert "conforms (20 events" in capsys.readouterr().out


# --- CSV and GeoJSON -----------------------------------------------------------------------------

def test_csv_has_one_row_per_event_with_facts_from_the_graph(capsys):
    assert main(["export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert main(["query", "events", "--format", "json"]) == 0
    events = json.loads(capsys.readouterr().out)["results"]["bindings"]
    assert sorted(r["event"] for r in rows) == sorted(e["event"]["value"] for e in events)
    assert main(["query", "casualties", "--format", "json"]) == 0
    claims = json.loads(capsys.readouterr().out)["results"]["bindings"]
    by_event = {r["event"]: r for r in rows}
    for claim in claims:
        row = by_event[claim["event"]["value"]]
        for key in ("killed", "wounded"):
            if key in claim:
                assert int(row[key]) >= int(claim[key]["value"])
    novopskov = by_event[ex.GRAPH.replace("graph/", "id/event/") + "novopskov-2022-03-05"]
    assert "live fire" in novopskov["tactics"] and novopskov["oblasts"] == "Luhansk Oblast"
    assert all(r["sources"].startswith("http") for r in rows)
    assert all(44 < float(r["lat"]) < 53 and 22 < float(r["lon"]) < 41 for r in rows)


def test_geojson_is_a_feature_collection_of_events(capsys):
    assert main(["export", "--format", "geojson"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 20
    for f in doc["features"]:
        assert f["type"] == "Feature" and f["id"].startswith("https://w3id.org/resistance-kg/id/event/")
        coords = [f["geometry"]["coordinates"]] if f["geometry"]["type"] == "Point" else f["geometry"]["coordinates"]
        assert len(coords) == len(f["properties"]["places"])
        assert all(22 < lon < 41 and 44 < lat < 53 for lon, lat in coords)  # [lon, lat] order
    two = [f for f in doc["features"] if f["geometry"]["type"] == "MultiPoint"]
    assert {tuple(f["properties"]["places"]) for f in two} == {("Chonhar", "Novooleksiivka"),
                                                                ("Chervona Poliana", "Novyi Hai")}


# --- formats and errors ----------------------------------------------------------------------------

def test_format_names_and_media_types_come_from_rdflib():
    from rdflib import plugin
    from rdflib.serializer import Serializer

    registered = {p.name for p in plugin.plugins(kind=Serializer)}
    for f in ex.formats().values():
        if f.name not in ex.TABULAR:
            assert f.name in registered and (f.media_type in registered or f.media_type == "text/plain")
    assert ex.resolve_format("text/turtle").name == "turtle"
    assert ex.resolve_format("nq").name == "nquads"
    assert ex.resolve_format(path="x.jsonld").name == "json-ld"
    assert ex.resolve_format(path="x.geojson").name == "geojson"


@pytest.mark.parametrize("argv, message", [
    (["--format", "yaml"], "unknown export format 'yaml'"),
    (["-o", "out.docx"], "cannot guess the export format from the extension '.docx'"),
    (["-o", "missing-folder/out.ttl"], "the folder does not exist"),
    (["--data", str(FIXTURES / "malformed" / "unterminated-string.ttl")], "unterminated-string.ttl:"),
])
def test_bad_export_requests_fail_clearly(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["export", *argv]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_graph_a_format_cannot_express_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "numeric-predicate.nt"
    data.write_text("<http://example.org/a> <http://example.org/1> \"x\" .\n")
    out = tmp_path / "out.rdf"
    out.write_bytes(b"old")
    assert main(["export", "--data", str(data), "-o", str(out)]) == 2
    assert "cannot be written as xml" in capsys.readouterr().err
    assert out.read_bytes() == b"old"


def test_list_formats(capsys):
    assert main(["export", "--list-formats"]) == 0
    out = capsys.readouterr().out
    assert "application/ld+json" in out and "geojson" in out


# --- atomic writes ------------------------------------------------------------------------------------

def test_a_failed_export_leaves_the_previous_file_intact(tmp_path, capsys):
    out = tmp_path / "events.ttl"
    out.write_bytes(b"previous content\n")
    bad = FIXTURES / "malformed" / "unterminated-string.ttl"
    assert main(["export", "--data", str(bad), "-o", str(out)]) == 2
    assert out.read_bytes() == b"previous content\n" and os.listdir(tmp_path) == ["events.ttl"]


def test_interrupted_write_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "events.ttl"
    out.write_bytes(b"old")

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(out, interrupted)
    assert out.read_bytes() == b"old" and os.listdir(tmp_path) == ["events.ttl"]


def test_a_full_disk_leaves_the_previous_file_intact(tmp_path):
    """A real write failure: the file-size limit makes write() fail with EFBIG mid-export."""
    out = tmp_path / "events.nq"
    out.write_bytes(b"old")

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))

    proc = subprocess.run([sys.executable, "-m", "kg", "export", "-o", str(out)], preexec_fn=limit,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "cannot write" in proc.stderr
    assert out.read_bytes() == b"old" and os.listdir(tmp_path) == ["events.nq"]


def test_a_new_file_gets_ordinary_permissions(tmp_path, capsys):
    out = tmp_path / "fresh.ttl"
    assert main(["export", "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- property-based round trips over generated graphs -------------------------------------------

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

KG, ID, XSD = "https://w3id.org/resistance-kg/ontology#", "https://w3id.org/resistance-kg/id/", str(rdflib.XSD)
IRIS = [ID + "event/a", ID + "place/Київ", ID + "x:y", ID + "a/b/c", ID + "-dash", ID + "trailing.",
        "http://www.wikidata.org/entity/Q1", "https://example.org/p?q=1#frag", "urn:uuid:1234",
        KG + "rally", KG + "label", "https://example.org/%20space", "http://example.org/émoji😀"]
PREDICATES = [KG + p for p in ("date", "place", "wording", "killed", "eventKind", "participation", "handle",
                               "unknownProperty")] + [str(rdflib.RDFS.label), str(rdflib.RDF.type),
                                                       "https://example.org/vocab#prop", str(rdflib.SKOS.altLabel)]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["Херсон", "🇺🇦 слава", 'quote " and \\ backslash', "line\nbreak\ttab", "", "42", "2022-03-06"])
LITERALS = st.one_of(
    TEXT.map(ox.Literal),
    st.tuples(TEXT, st.sampled_from(["en", "uk", "ru", "en-gb", "crh-latn"])).map(lambda t: ox.Literal(t[0], language=t[1])),
    st.tuples(st.sampled_from(["1", "-7", "0042", "1.5", "abc", "2022-03-06", "true"]),
              st.sampled_from([XSD + "integer", XSD + "decimal", XSD + "date", XSD + "boolean", "https://example.org/dt"])).map(
        lambda t: ox.Literal(t[0], datatype=ox.NamedNode(str(t[1])))),
)


@st.composite
def graphs(draw):
    bnodes = [ox.BlankNode() for _ in range(draw(st.integers(0, 4)))]
    subjects = st.sampled_from([ox.NamedNode(i) for i in IRIS] + bnodes)
    objects = st.one_of(subjects, LITERALS)
    triples = draw(st.lists(st.tuples(subjects, st.sampled_from(PREDICATES).map(ox.NamedNode), objects),
                            max_size=25))
    return [ox.Quad(s, p, o) for s, p, o in triples]


_SELF = ox.BlankNode("self")
_A, _B = ox.BlankNode("a"), ox.BlankNode("b")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
@example([ox.Quad(_SELF, ox.NamedNode(KG + "date"), _SELF)])  # a blank node that only refers to itself
@example([ox.Quad(_A, ox.NamedNode(KG + "place"), _B), ox.Quad(_B, ox.NamedNode(KG + "place"), _A)])
def test_generated_graphs_round_trip_through_turtle_and_json_ld(quads):
    source = rdfio.to_rdflib(quads)
    dataset = {"data": quads, "ontology": [], "shapes": []}
    turtle = ex.export(dataset, ex.resolve_format("turtle"))
    assert isomorphic(rdfio.to_rdflib(ox.parse(turtle, format=ox.RdfFormat.TURTLE)), source), turtle.decode()
    json_ld = ex.export(dataset, ex.resolve_format("json-ld"))
    assert isomorphic(pyld_graph(json_ld), source), json_ld.decode()
    assert isomorphic(rdfio.to_rdflib(ox.parse(json_ld, format=ox.RdfFormat.JSON_LD)), source), json_ld.decode()
    nt = ex.export(dataset, ex.resolve_format("nt"))
    assert isomorphic(rdflib.Graph().parse(data=nt, format="nt"), source)
