"""Where the bundled data, ontology, shapes and queries live: the one place for default paths.

In a source checkout they are the top-level folders of the repository; in an installed
wheel they are copied under ``kg/bundled/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "bundled"
ROOT = _BUNDLED if _BUNDLED.is_dir() else _PACKAGE.parent.parent

DATA_DIR = ROOT / "data"
ONTOLOGY = ROOT / "ontology" / "kg.ttl"
SHAPES = ROOT / "ontology" / "shapes.ttl"
QUERIES_DIR = ROOT / "queries"

RDF_SUFFIXES = (".ttl", ".nt", ".nq", ".trig", ".n3", ".rdf", ".xml", ".jsonld")


def default_data_files() -> list[Path]:
    """The bundled data files, sorted by name."""
    return sorted(p for p in DATA_DIR.iterdir() if p.suffix in RDF_SUFFIXES)
