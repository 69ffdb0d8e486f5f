"""Namespaces and prefixes, defined once."""

from __future__ import annotations

BASE = "https://w3id.org/resistance-kg/"
KG = BASE + "ontology#"
ID = BASE + "id/"
WD = "http://www.wikidata.org/entity/"
# Named graphs of a dataset export (N-Quads, TriG) and of a push to a triple store.
GRAPH = BASE + "graph/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SH = "http://www.w3.org/ns/shacl#"

# Used to shorten IRIs in human-readable output; order matters (longest namespaces first
# is not needed because no namespace here is a prefix of another).
PREFIXES: dict[str, str] = {
    "kg": KG,
    "event": ID + "event/",
    "act": ID + "act/",
    "claim": ID + "claim/",
    "statement": ID + "statement/",
    "quote": ID + "quote/",
    "place": ID + "place/",
    "geom": ID + "geometry/",
    "org": ID + "organisation/",
    "person": ID + "person/",
    "account": ID + "account/",
    "source": ID + "source/",
    "link": ID + "link/",
    "wd": WD,
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "skos": SKOS,
    "sh": SH,
    "geo": "http://www.opengis.net/ont/geosparql#",
    "wgs": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "prov": "http://www.w3.org/ns/prov#",
    "schema": "https://schema.org/",
    "sem": "http://semanticweb.cs.vu.nl/2009/11/sem/",
}


def shorten(iri: str) -> str:
    """Return ``prefix:local`` for an IRI in a known namespace, else the IRI unchanged."""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns):
            local = iri[len(ns):]
            if local and all(c.isalnum() or c in "-_." for c in local):
                return f"{prefix}:{local}"
    return iri
