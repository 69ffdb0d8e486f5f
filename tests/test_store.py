"""The on-disk store cache: keyed by content, rebuilt on change, safe under concurrent first runs;
and the synthetic data generator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from kg import KnowledgeGraph, paths
from kg.errors import InputError
from kg.synth import generate


def stores(cache) -> list[str]:
    return sorted(os.listdir(cache / "stores"))


def test_an_edit_to_the_data_is_seen_by_the_next_query(tmp_path):
    data = tmp_path / "events.ttl"
    shutil.copy(paths.DATA_DIR / "events.ttl", data)
    cache = tmp_path / "cache"
    before = KnowledgeGraph.load([data], cache_dir=cache).query("protests-on-date", date="2022-03-04")
    assert before == []
    text = data.read_text(encoding="utf-8")
    data.write_text(text.replace('kg:date "2022-03-05"^^xsd:date', 'kg:date "2022-03-04"^^xsd:date', 1),
                    encoding="utf-8")
    after = KnowledgeGraph.load([data], cache_dir=cache).query("protests-on-date", date="2022-03-04")
    assert len(after) == 1
    assert len(stores(cache)) == 2


def test_the_key_is_the_content_not_the_modification_time(tmp_path):
    data = tmp_path / "events.ttl"
    shutil.copy(paths.DATA_DIR / "events.ttl", data)
    cache = tmp_path / "cache"
    KnowledgeGraph.load([data], cache_dir=cache)
    os.utime(data, (1, 1))
    KnowledgeGraph.load([data], cache_dir=cache)
    assert len(stores(cache)) == 1


def test_ontology_and_shapes_changes_rebuild_too(tmp_path, monkeypatch):
    from kg import store

    cache = tmp_path / "cache"
    data = paths.default_data_files()
    shapes = tmp_path / "shapes.ttl"
    shutil.copy(paths.SHAPES, shapes)
    store.open_cached([*data, paths.ONTOLOGY], extra=[shapes], cache_dir=cache)
    with shapes.open("a", encoding="utf-8") as f:
        f.write("\n# a comment changes the content\n")
    store.open_cached([*data, paths.ONTOLOGY], extra=[shapes], cache_dir=cache)
    assert len(stores(cache)) == 2


def test_a_broken_file_names_its_line_and_leaves_no_store(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix kg: <https://w3id.org/resistance-kg/ontology#> .\n<a:b> kg:date "x .\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.ttl:2"):
        KnowledgeGraph.load([bad], cache_dir=tmp_path / "cache")
    assert stores(tmp_path / "cache") == []


def test_blank_node_labels_stay_local_to_their_file(tmp_path):
    a, b = tmp_path / "a.nt", tmp_path / "b.nt"
    a.write_text('_:b1 <https://example.org/p> "from a" .\n')
    b.write_text('_:b1 <https://example.org/p> "from b" .\n')
    for cache in (True, False):
        graph = KnowledgeGraph.load([a, b], cache=cache, cache_dir=tmp_path / "cache")
        rows = graph.sparql("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s <https://example.org/p> ?o }").rows
        assert rows[0]["n"].value == "2", cache


def test_two_concurrent_first_runs_share_one_store(tmp_path):
    data = tmp_path / "synth.ttl"
    data.write_text(generate(3000, seed=3), encoding="utf-8")
    env = {**os.environ, "KG_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "kg", "query", "timeline", "--data", str(data), "--format", "csv"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e.decode() for _, e in outputs]
    assert outputs[0][0] == outputs[1][0] == outputs[2][0] and outputs[0][0].count(b"\n") > 100
    assert len(stores(tmp_path / "cache")) == 1  # one published store, no build left behind


def test_the_generator_is_deterministic_and_its_output_validates(tmp_path, capsys):
    from kg.cli import main

    assert generate(300, seed=5) == generate(300, seed=5)
    assert generate(300, seed=5) != generate(300, seed=6)
    out = tmp_path / "synth.ttl"
    assert main(["synth", "--events", "300", "--seed", "5", "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    assert "conforms (300 events" in capsys.readouterr().out
