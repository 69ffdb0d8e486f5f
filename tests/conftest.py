"""Shared fixtures: the real bundled artefacts, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg import paths

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def header(path: Path) -> dict[str, str]:
    """The '# expect-KEY: value' lines at the top of a fixture file."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect-"):
            key, _, value = line[len("# expect-"):].partition(":")
            out[key.strip()] = value.strip()
    return out


@pytest.fixture(scope="session")
def data_graph():
    """The bundled data (without the ontology) as an rdflib Graph, parsed strictly."""
    from kg.validate import load_for_validation

    _, data, _ = load_for_validation(paths.default_data_files(), paths.ONTOLOGY)
    return data


@pytest.fixture(scope="session")
def full_graph():
    """The bundled data plus the ontology as an rdflib Graph."""
    from kg.validate import load_for_validation

    combined, _, _ = load_for_validation(paths.default_data_files(), paths.ONTOLOGY)
    return combined


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own answer cache, never the user's ~/.cache."""
    monkeypatch.setenv("KG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
