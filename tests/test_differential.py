"""The embedded Oxigraph store and rdflib's in-memory engine give the same rows for every
canned query, on the bundled data and on synthetic data."""

from __future__ import annotations

import pytest

from kg import KnowledgeGraph, paths
from kg.graph import RdflibEngine
from kg.synth import generate

from .test_queries import SAMPLE_PARAMS
from .test_remote import comparable

CATALOGUE = [q for q in KnowledgeGraph.load().queries() if "remote" not in q.tags]
# Extra parameter sets, so that the optional parameters and the uk labels are compared too.
VARIANTS = {
    "gunfire-on-protesters": [{"oblast": "Kherson Oblast"}, {"from": "2022-03-06", "lang": "uk"}],
    "protests-in-oblast": [{"oblast": "Q171965"}, {"oblast": "запорізька"}],
    "shots-into-the-air": [{"oblast": "luhansk"}],
    "timeline": [{"lang": "uk"}],
}
SYNTH_PARAMS = {"protests-in-oblast": {"oblast": "Kherson Oblast (synthetic)"},
                "gunfire-on-protesters": {"from": "2023-01-01"}}


def cases():
    for q in CATALOGUE:
        for params in [SAMPLE_PARAMS.get(q.name, {}), *VARIANTS.get(q.name, [])]:
            yield pytest.param(q, params, id=f"{q.name}-{'-'.join(map(str, params.values())) or 'default'}")


@pytest.fixture(scope="module")
def bundled():
    files = [*paths.default_data_files(), paths.ONTOLOGY]
    oxigraph = KnowledgeGraph.load()
    return oxigraph, KnowledgeGraph(RdflibEngine.load(files), oxigraph.catalogue)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    data = tmp_path_factory.mktemp("synth") / "synth.ttl"
    data.write_text(generate(400, seed=7), encoding="utf-8")
    oxigraph = KnowledgeGraph.load([data], cache_dir=tmp_path_factory.mktemp("stores"))
    return oxigraph, KnowledgeGraph(RdflibEngine.load([data, paths.ONTOLOGY]), oxigraph.catalogue)


@pytest.mark.parametrize("query, params", list(cases()))
def test_same_rows_on_the_bundled_data(bundled, query, params):
    oxigraph, rdflib_ = bundled
    want = rdflib_.run(query.name, params)
    got = oxigraph.run(query.name, params)
    assert got.variables == want.variables
    assert comparable(got, query) == comparable(want, query)


@pytest.mark.parametrize("query", CATALOGUE, ids=lambda q: q.name)
def test_same_rows_on_synthetic_data(synthetic, query):
    oxigraph, rdflib_ = synthetic
    params = SYNTH_PARAMS.get(query.name, {})
    if query.name == "protests-on-date":  # the busiest day of the synthetic data
        busiest = oxigraph.sparql("SELECT ?d WHERE { ?e <https://w3id.org/resistance-kg/ontology#date> ?d } "
                                  "GROUP BY ?d ORDER BY DESC(COUNT(?e)) ?d LIMIT 1")
        params = {"date": busiest.rows[0]["d"].value}
    want = rdflib_.run(query.name, params)
    got = oxigraph.run(query.name, params)
    assert comparable(got, query) == comparable(want, query)
    if query.name not in ("unlinked-entities", "casualties"):
        assert got.rows, f"{query.name} returned nothing on the synthetic data: the comparison proves little"
