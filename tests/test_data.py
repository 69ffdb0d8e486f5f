"""The bundled data says what the article says: every event, town and date, sourced."""

from __future__ import annotations

import datetime as dt

import rdflib

from kg.namespaces import KG, PREFIXES

K = rdflib.Namespace(KG)
EVENT = rdflib.Namespace(PREFIXES["event"])
RDFS = rdflib.RDFS

# Derived from the article town by town: (town English label(s), date) for every event.
EXPECTED_EVENTS = {
    ("Kherson", "2022-03-05"), ("Kherson", "2022-03-06"), ("Kherson", "2022-03-08"),
    ("Nova Kakhovka", "2022-03-06"),
    ("Oleshky", "2022-03-08"),
    ("Hola Prystan", "2022-03-08"),
    ("Chaplynka", "2022-03-07"),
    ("Beryslav", "2022-03-08"), ("Nyzhni Sirohozy", "2022-03-08"),
    ("Chonhar+Novooleksiivka", "2022-03-06"),
    ("Chervona Poliana+Novyi Hai", "2022-03-08"),
    ("Kalanchak", "2022-03-06"),
    ("Berdiansk", "2022-03-05"), ("Berdiansk", "2022-03-06"), ("Berdiansk", "2022-03-08"),
    ("Melitopol", "2022-03-05"),
    ("Bilokurakyne", "2022-03-05"),
    ("Novopskov", "2022-03-05"),
    ("Starobilsk", "2022-03-06"),
    ("Svatove", "2022-03-08"),
}


def _label(g, node, lang="en"):
    return next(str(l) for l in g.objects(node, RDFS.label) if l.language == lang)


def test_every_event_of_the_article_and_no_other(data_graph):
    g = data_graph
    found = set()
    for e in g.subjects(rdflib.RDF.type, K.ProtestEvent):
        towns = "+".join(sorted(_label(g, p) for p in g.objects(e, K.place)))
        found.add((towns, str(g.value(e, K.date))))
    assert found == EXPECTED_EVENTS


def test_every_event_has_a_source_and_every_source_a_url(data_graph):
    g = data_graph
    for e in g.subjects(rdflib.RDF.type, K.ProtestEvent):
        sources = list(g.objects(e, K.source))
        assert sources, e
        for s in sources:
            url = g.value(s, K.url)
            assert isinstance(url, rdflib.URIRef) and str(url).startswith(("https://", "http://")), (e, s)
            assert isinstance(g.value(s, K.published).toPython(), dt.date), s
    for s in set(g.subjects(K.url, None)):
        assert len(list(g.objects(s, K.url))) == 1


def test_every_post_is_embedded_in_the_article(data_graph):
    g = data_graph
    article = rdflib.URIRef(PREFIXES["source"] + "article")
    posts = set(g.subjects(rdflib.RDF.type, K.SocialMediaPost))
    assert len(posts) == 28
    assert all(g.value(p, K.embeddedIn) == article for p in posts)
    assert g.value(article, K.published) == rdflib.Literal(dt.date(2022, 3, 9))


def test_gunfire_at_protesters_and_into_the_air_are_distinct(data_graph):
    g = data_graph

    def towns_with(tactic):
        return {
            (_label(g, g.value(e, K.place)), str(g.value(e, K.date)))
            for e, a in g.subject_objects(K.act)
            if g.value(a, K.tactic) == tactic
        }

    assert towns_with(K["live-fire"]) == {("Nova Kakhovka", "2022-03-06"), ("Novopskov", "2022-03-05")}
    assert towns_with(K["shots-into-the-air"]) == {
        ("Kherson", "2022-03-05"), ("Nova Kakhovka", "2022-03-06"),
        ("Chaplynka", "2022-03-07"), ("Melitopol", "2022-03-05"),
    }


def test_casualty_claims_name_claimant_and_relaying_source(data_graph):
    g = data_graph
    claims = {}
    for c in g.subjects(rdflib.RDF.type, K.CasualtyClaim):
        event = g.value(c, K.aboutEvent)
        claims[str(event).rsplit("/", 1)[1]] = (
            g.value(c, K.killed), g.value(c, K.wounded), g.value(c, K.beaten),
            _label(g, g.value(c, K.claimant)), str(g.value(c, K.source)).rsplit("/", 1)[1],
        )
    assert claims == {
        "nova-kakhovka-2022-03-06": (rdflib.Literal(1), rdflib.Literal(7), None,
                                     "Kherson Oblast Prosecutor's Office", "ep-2022-03-07-nova-kakhovka-probe"),
        "novopskov-2022-03-05": (None, rdflib.Literal(3), rdflib.Literal(1),
                                 "local authorities (Novopskov)", "article"),
    }


def test_disagreements_are_recorded_not_resolved(data_graph):
    g = data_graph
    nk = EVENT["nova-kakhovka-2022-03-06"]
    # The event keeps Kherson Oblast; the caption's Zaporizhzhia Oblast is a source statement.
    assert {_label(g, g.value(p, K.inOblast)) for p in g.objects(nk, K.place)} == {"Kherson Oblast"}
    stated = {_label(g, o) for s in g.subjects(K.aboutEvent, nk) for o in g.objects(s, K.statedOblast)}
    assert stated == {"Zaporizhzhia Oblast"}
    kh6 = EVENT["kherson-2022-03-06"]
    assert str(g.value(kh6, K.date)) == "2022-03-06"
    implied = {str(o) for s in g.subjects(K.aboutEvent, kh6) for o in g.objects(s, K.statedDate)}
    assert implied == {"2022-03-07"}


def test_one_rally_spans_two_villages(data_graph):
    g = data_graph
    multi = {e for e in g.subjects(rdflib.RDF.type, K.ProtestEvent) if len(list(g.objects(e, K.place))) == 2}
    assert {str(e).rsplit("/", 1)[1] for e in multi} == {
        "novooleksiivka-chonhar-2022-03-06", "chervona-poliana-novyi-hai-2022-03-08"}


def test_wikidata_links_are_exactly_the_gazetteers(data_graph):
    """Every skos:exactMatch is a gazetteer id for that entity; nothing else is linked."""
    import csv
    from pathlib import Path

    gazetteer = Path(__file__).resolve().parents[2] / "shared" / "gazetteer.tsv"
    g = data_graph
    links = {_label(g, s): str(o).rsplit("/", 1)[1] for s, o in g.subject_objects(rdflib.SKOS.exactMatch)}
    if gazetteer.exists():
        with gazetteer.open(encoding="utf-8") as f:
            ids = {row["wikidata"] for row in csv.DictReader(f, delimiter="\t") if row["wikidata"]}
        assert set(links.values()) <= ids
    assert links["Kherson"] == "Q156732" and links["Nova Kakhovka"] == "Q987491"
    assert "Chervona Poliana" not in links and "Novyi Hai" not in links
