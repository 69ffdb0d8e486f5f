"""Every canned query runs on the bundled data and answers what the article says.

The expected rows below were derived from the article by hand, town by town.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kg import KnowledgeGraph, paths
from kg.errors import QueryError
from kg.sparqltext import projection

D = dt.date
QUERIES = sorted(paths.QUERIES_DIR.glob("*.rq"))


@pytest.fixture(scope="module")
def kg():
    return KnowledgeGraph.load()


def local(iri: str) -> str:
    return iri.rsplit("/", 1)[1]


# The result variables the issue fixes per query (more may follow).
REQUIRED_VARIABLES = {
    "gunfire-on-protesters": ["?town", "?townLabel", "?oblastLabel", "?date", "?killed", "?wounded"],
    "shots-into-the-air": ["?town", "?townLabel", "?date"],
    "use-of-force": ["?event", "?town", "?townLabel", "?date", "?tactic", "?tacticLabel"],
    "protests-on-date": ["?event", "?town", "?townLabel", "?oblastLabel"],
    "protests-in-oblast": ["?event", "?town", "?townLabel", "?date"],
    "timeline": ["?date", "?oblastLabel", "?events"],
    "casualties": ["?event", "?townLabel", "?date", "?killed", "?wounded", "?claimantLabel", "?source"],
    "event-sources": ["?event", "?source", "?publisherLabel", "?published"],
    "single-source-events": ["?event", "?townLabel", "?date", "?source"],
    "flag-actions": ["?event", "?townLabel", "?date", "?flagLabel"],
    "unlinked-entities": ["?entity", "?label", "?kind"],
}

# Parameters needed to run each query once in the parametrised smoke test.
SAMPLE_PARAMS = {"protests-on-date": {"date": "2022-03-06"}, "protests-in-oblast": {"oblast": "Kherson Oblast"}}


def test_required_queries_exist_with_their_variables():
    names = {p.stem for p in QUERIES}
    assert set(REQUIRED_VARIABLES) <= names
    for name, variables in REQUIRED_VARIABLES.items():
        text = (paths.QUERIES_DIR / f"{name}.rq").read_text()
        assert projection(text)[: len(variables)] == variables, name


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_every_query_runs_and_returns_rows(kg, path):
    if "remote" in kg.catalogue.get(path.stem).tags:
        with pytest.raises(QueryError, match="--allow-service"):
            kg.query(path.stem)
        return  # run against a local Wikidata-shaped server in test_wikidata.py
    rows = kg.query(path.stem, **SAMPLE_PARAMS.get(path.stem, {}))
    assert rows, f"{path.stem} returned no rows on the bundled data"
    assert list(rows[0]) == [v[1:] for v in projection(kg.catalogue.get(path.stem).text)]


def test_gunfire_on_protesters(kg):
    rows = kg.query("gunfire-on-protesters")
    assert [(r["townLabel"], r["oblastLabel"], r["date"], r["killed"], r["wounded"]) for r in rows] == [
        ("Novopskov", "Luhansk Oblast", D(2022, 3, 5), None, 3),
        ("Nova Kakhovka", "Kherson Oblast", D(2022, 3, 6), 1, 7),
    ]


@pytest.mark.parametrize("oblast", ["Kherson Oblast", "kherson oblast", "Kherson", "Херсонська область",
                                    "херсонська", "Q163271", "http://www.wikidata.org/entity/Q163271"])
def test_oblast_parameter_accepts_names_and_wikidata_ids(kg, oblast):
    rows = kg.query("gunfire-on-protesters", oblast=oblast)
    assert [r["townLabel"] for r in rows] == ["Nova Kakhovka"]


def test_gunfire_date_range_and_ukrainian_labels(kg):
    assert [r["townLabel"] for r in kg.query("gunfire-on-protesters", from_="2022-03-06")] == ["Nova Kakhovka"]
    assert [r["townLabel"] for r in kg.query("gunfire-on-protesters", to=D(2022, 3, 5))] == ["Novopskov"]
    assert kg.query("gunfire-on-protesters", from_="2022-03-07") == []
    uk = kg.query("gunfire-on-protesters", lang="uk")
    assert [(r["townLabel"], r["oblastLabel"]) for r in uk] == [
        ("Новопсков", "Луганська область"), ("Нова Каховка", "Херсонська область")]


def test_shots_into_the_air(kg):
    rows = kg.query("shots-into-the-air")
    assert {(r["townLabel"], r["date"]) for r in rows} == {
        ("Kherson", D(2022, 3, 5)), ("Melitopol", D(2022, 3, 5)),
        ("Nova Kakhovka", D(2022, 3, 6)), ("Chaplynka", D(2022, 3, 7))}
    assert [r["townLabel"] for r in kg.query("shots-into-the-air", oblast="Zaporizhzhia Oblast")] == ["Melitopol"]


def test_use_of_force(kg):
    rows = kg.query("use-of-force")
    assert sorted((r["townLabel"], str(r["date"]), local(r["tactic"])) for r in rows) == sorted([
        ("Kherson", "2022-03-05", "ontology#shots-into-the-air"),
        ("Melitopol", "2022-03-05", "ontology#shots-into-the-air"),
        ("Novopskov", "2022-03-05", "ontology#live-fire"),
        ("Novopskov", "2022-03-05", "ontology#beating"),
        ("Nova Kakhovka", "2022-03-06", "ontology#live-fire"),
        ("Nova Kakhovka", "2022-03-06", "ontology#shots-into-the-air"),
        ("Nova Kakhovka", "2022-03-06", "ontology#tear-gas"),
        ("Chaplynka", "2022-03-07", "ontology#shots-into-the-air"),
    ])
    # Threats, armoured vehicles and blocked aid are not force.
    assert not any(local(r["tactic"]).endswith(("threat-to-open-fire", "armoured-vehicles")) for r in rows)
    assert [r["townLabel"] for r in kg.query("use-of-force", tactic="tear-gas")] == ["Nova Kakhovka"]
    assert len(kg.query("use-of-force", tactic="Live fire at protesters")) == 2


def test_protests_on_date(kg):
    def towns(day):
        return sorted(r["townLabel"] for r in kg.query("protests-on-date", date=day))

    assert towns("2022-03-05") == ["Berdiansk", "Bilokurakyne", "Kherson", "Melitopol", "Novopskov"]
    assert towns("2022-03-06") == ["Berdiansk", "Chonhar", "Kalanchak", "Kherson", "Nova Kakhovka",
                                   "Novooleksiivka", "Starobilsk"]
    assert towns("2022-03-07") == ["Chaplynka"]
    assert towns("2022-03-08") == ["Berdiansk", "Beryslav", "Chervona Poliana", "Hola Prystan", "Kherson",
                                   "Novyi Hai", "Nyzhni Sirohozy", "Oleshky", "Svatove"]
    assert towns("2022-03-09") == []


def test_protests_in_oblast(kg):
    rows = kg.query("protests-in-oblast", oblast="Luhansk Oblast")
    assert [(r["townLabel"], str(r["date"])) for r in rows] == [
        ("Bilokurakyne", "2022-03-05"), ("Novopskov", "2022-03-05"),
        ("Starobilsk", "2022-03-06"), ("Svatove", "2022-03-08")]
    assert len({r["event"] for r in kg.query("protests-in-oblast", oblast="Q163271")}) == 12
    assert len({r["event"] for r in kg.query("protests-in-oblast", oblast="Запорізька область")}) == 4


def test_timeline(kg):
    rows = kg.query("timeline")
    counts = {(str(r["date"]), r["oblastLabel"]): r["events"] for r in rows}
    assert counts == {
        ("2022-03-05", "Kherson Oblast"): 1, ("2022-03-05", "Luhansk Oblast"): 2,
        ("2022-03-05", "Zaporizhzhia Oblast"): 2,
        ("2022-03-06", "Kherson Oblast"): 4, ("2022-03-06", "Luhansk Oblast"): 1,
        ("2022-03-06", "Zaporizhzhia Oblast"): 1,
        ("2022-03-07", "Kherson Oblast"): 1,
        ("2022-03-08", "Kherson Oblast"): 6, ("2022-03-08", "Luhansk Oblast"): 1,
        ("2022-03-08", "Zaporizhzhia Oblast"): 1,
    }
    assert sum(counts.values()) == 20


def test_casualties_name_claimant_and_source(kg):
    rows = kg.query("casualties")
    assert [(r["townLabel"], r["killed"], r["wounded"], r["beaten"], r["claimantLabel"], local(r["source"]))
            for r in rows] == [
        ("Novopskov", None, 3, 1, "local authorities (Novopskov)", "article"),
        ("Nova Kakhovka", 1, 7, None, "Kherson Oblast Prosecutor's Office", "ep-2022-03-07-nova-kakhovka-probe"),
    ]


def test_event_sources_answer_who_and_when(kg):
    rows = kg.query("event-sources", event="nova-kakhovka-2022-03-06")
    assert {(r["publisherLabel"], r["published"]) for r in rows} == {
        ("The New Voice of Ukraine", D(2022, 3, 6)), ("Euromaidan Press", D(2022, 3, 6)),
        ("Liubov Tsybulska", D(2022, 3, 6)), ("@olehbatkovych", D(2022, 3, 6)),
        ("Euromaidan Press", D(2022, 3, 7))}
    every = kg.query("event-sources")
    assert {local(r["event"]) for r in every} == {local(r["event"]) for r in kg.query("events")}
    full_iri = "https://w3id.org/resistance-kg/id/event/beryslav-2022-03-08"
    assert [(r["publisherLabel"], r["published"]) for r in kg.query("event-sources", event=full_iri)] == [
        ("Euromaidan Press", D(2022, 3, 9))]


def test_single_source_events(kg):
    rows = kg.query("single-source-events")
    events = {local(r["event"]) for r in rows}
    assert events == {
        "berdiansk-2022-03-05", "berdiansk-2022-03-06", "berdiansk-2022-03-08", "beryslav-2022-03-08",
        "nyzhni-sirohozy-2022-03-08", "novopskov-2022-03-05", "novooleksiivka-chonhar-2022-03-06",
        "kalanchak-2022-03-06", "kherson-2022-03-06", "kherson-2022-03-08", "starobilsk-2022-03-06",
        "chervona-poliana-novyi-hai-2022-03-08", "svatove-2022-03-08"}
    # Three events rest on the article alone: it names them but embeds no post.
    assert {local(r["event"]) for r in rows if local(r["source"]) == "article"} == {
        "berdiansk-2022-03-06", "beryslav-2022-03-08", "nyzhni-sirohozy-2022-03-08"}


def test_flag_actions(kg):
    rows = kg.query("flag-actions")
    got = {(r["townLabel"], r["flagLabel"], r["action"]) for r in rows}
    assert ("Starobilsk", "flag of the so-called 'Luhansk People's Republic'", "taken down") in got
    assert ("Starobilsk", "flag of Ukraine", "raised") in got
    assert ("Chonhar", "Crimean Tatar flag", "displayed") in got
    assert {t for t, _, _ in got} == {"Kherson", "Nova Kakhovka", "Oleshky", "Chonhar", "Novooleksiivka",
                                      "Starobilsk", "Svatove"}


def test_unlinked_entities(kg):
    rows = kg.query("unlinked-entities")
    labels = {r["label"]: r["kind"] for r in rows}
    assert labels["Chervona Poliana"] == "settlement" and labels["Novyi Hai"] == "settlement"
    assert labels["Euromaidan Press"] == "media outlet"
    assert "Kherson" not in labels and "Oleksiy Honcharenko" not in labels


def test_events_lists_all_twenty(kg):
    rows = kg.query("events")
    assert len(rows) == 20
    nk = next(r for r in rows if local(r["event"]) == "nova-kakhovka-2022-03-06")
    assert nk["crowd"] == "thousands" and nk["sources"] == 5 and nk["categoryLabel"] == "excessive force against protesters"
