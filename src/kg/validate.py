"""Validation: strict parsing, a vocabulary check, then SHACL with pySHACL.

``validate()`` returns a :class:`Report`; not conforming is a result, not an exception.
Unreadable input raises :class:`~kg.errors.InputError`.

Why three layers:
- the strict parser (:mod:`kg.rdfio`) rejects what rdflib would silently accept;
- the vocabulary check catches what SHACL cannot see: a subject with event properties but no
  type, or a misspelled class or property, is targeted by no shape and would pass;
- SHACL (no inference: the ontology's rdfs:subClassOf triples are in the data graph, so
  targets reach subclasses; RDFS inference would multiply the time about 20x for nothing).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from . import rdfio
from .errors import InputError
from .namespaces import GRAPH, KG, OWL, RDF, RDFS, SH, shorten


@dataclass(frozen=True)
class Violation:
    """One problem: what is wrong (message), with which node and property, and where."""

    focus: str
    message: str
    constraint: str
    path: str | None = None
    value: str | None = None
    concerns: str | None = None
    file: str | None = None
    line: int | None = None
    severity: str = "Violation"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """The outcome of a validation run."""

    conforms: bool
    violations: tuple[Violation, ...]
    files: tuple[str, ...]
    events: int
    triples: int

    def grouped(self) -> dict[str, list[Violation]]:
        """Violations grouped by the event or entity they concern, in file order."""
        groups: dict[str, list[Violation]] = {}
        for v in sorted(self.violations, key=lambda v: (v.file or "", v.line or 0, v.concerns or "", v.message)):
            groups.setdefault(v.concerns or v.focus, []).append(v)
        return groups

    def to_dict(self) -> dict:
        return {
            "conforms": self.conforms,
            "files": list(self.files),
            "events": self.events,
            "triples": self.triples,
            "violations": [v.to_dict() for v in self.violations],
        }


def load_for_validation(data: Sequence[str | Path], ontology: str | Path):
    """Strictly parse data and ontology; return (data+ontology graph, data graph, ontology graph)."""
    import rdflib

    data_graph = rdflib.Graph()
    for path in data:
        rdfio.to_rdflib(rdfio.parse_file(path), data_graph)
    ontology_graph = rdfio.to_rdflib(rdfio.parse_file(ontology))
    combined = rdflib.Graph()
    for t in data_graph:
        combined.add(t)
    for t in ontology_graph:
        combined.add(t)
    return combined, data_graph, ontology_graph


ENGINES = ("fast", "pyshacl")


def validate(data: Sequence[str | Path], ontology: str | Path, shapes: str | Path, engine: str = "fast") -> Report:
    """Validate data files against the ontology and SHACL shapes; never writes anything.

    ``engine="fast"`` (the default) runs the shapes as SPARQL on an embedded Oxigraph store
    (:mod:`kg.shacl`), fast and lean enough for hundreds of thousands of events;
    ``engine="pyshacl"`` runs the reference validator on rdflib graphs. Both report the same
    results (tested). Shapes that use SHACL features the fast engine lacks go to pySHACL.
    """
    if not data:
        raise InputError("no data files given")
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}")
    if engine == "fast":
        from .shacl import UnsupportedShape, Validator

        shapes_quads = rdfio.parse_file(shapes)
        try:
            validator = Validator(shapes_quads)
        except UnsupportedShape:
            validator = None
        if validator is not None:
            return _validate_fast(data, ontology, validator)
    return _validate_reference(data, ontology, shapes)


def _validate_reference(data: Sequence[str | Path], ontology: str | Path, shapes: str | Path) -> Report:
    import rdflib

    combined, data_graph, ontology_graph = load_for_validation(data, ontology)
    shapes_graph = rdfio.to_rdflib(rdfio.parse_file(shapes))

    event_type = rdflib.URIRef(KG + "ProtestEvent")
    events = len(set(data_graph.subjects(rdflib.RDF.type, event_type)))
    if events == 0:
        raise _no_events(data)
    lines = _subject_lines(data)
    found = list(_vocabulary_problems(data_graph, ontology_graph))
    found += list(_shacl_problems(combined, shapes_graph))
    violations = tuple(_locate(v, data_graph, lines) for v in found)
    return Report(
        conforms=not violations,
        violations=violations,
        files=tuple(str(p) for p in data),
        events=events,
        triples=len(data_graph),
    )


def _no_events(data: Sequence[str | Path]) -> InputError:
    return InputError("no protest events (subjects typed kg:ProtestEvent) in the data; nothing to validate",
                      ", ".join(str(p) for p in data))


def _subject_lines(data: Sequence[str | Path]) -> dict[str, tuple[str, int]]:
    lines: dict[str, tuple[str, int]] = {}
    for path in data:
        for iri, line in rdfio.subject_lines(path).items():
            lines.setdefault(iri, (str(path), line))
    return lines


# --- the fast engine: everything as SPARQL on one Oxigraph store -------------------------------

_DATA, _ONTOLOGY = GRAPH + "data", GRAPH + "ontology"
_PROLOGUE = f"""PREFIX rdf: <{RDF}>
PREFIX rdfs: <{RDFS}>
PREFIX owl: <{OWL}>
"""


def _validate_fast(data: Sequence[str | Path], ontology: str | Path, validator) -> Report:
    import pyoxigraph as ox

    from .store import load_file

    store = ox.Store()
    for i, path in enumerate(data):
        load_file(store, Path(path), first=i == 0, graph=ox.NamedNode(_DATA), bulk=False)
    load_file(store, Path(ontology), first=False, graph=ox.NamedNode(_ONTOLOGY), bulk=False)

    def scalar(query: str) -> int:
        return int(next(iter(store.query(_PROLOGUE + query)))["n"].value)

    events = scalar(f"SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ GRAPH <{_DATA}> {{ ?e a <{KG}ProtestEvent> }} }}")
    if events == 0:
        raise _no_events(data)
    triples = scalar(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{_DATA}> {{ ?s ?p ?o }} }}")
    found = [*_vocabulary_problems_store(store), *(vars(f) for f in validator.run(store))]
    lines = _subject_lines(data)
    data_graph = ox.NamedNode(_DATA)

    def parent_of(node):
        return next((q.subject for q in store.quads_for_pattern(None, None, node, data_graph)), None)

    violations = tuple(sorted((_locate_ox(v, parent_of, lines) for v in found),
                              key=lambda v: (v.file or "", v.line or 0, v.focus, v.constraint, v.path or "",
                                             v.value or "", v.message)))
    return Report(conforms=not violations, violations=violations, files=tuple(str(p) for p in data),
                  events=events, triples=triples)


def _vocabulary_problems_store(store) -> Iterable[dict]:
    """The vocabulary check of :func:`_vocabulary_problems`, as SPARQL over the data and ontology graphs."""
    import pyoxigraph as ox

    def rows(query: str):
        return list(store.query(_PROLOGUE + query))

    classes = sorted(r["c"].value for r in rows(
        f"SELECT DISTINCT ?c WHERE {{ GRAPH <{_ONTOLOGY}> {{ ?c a owl:Class }} FILTER(STRSTARTS(STR(?c), \"{KG}\")) }}"))
    props = sorted(r["p"].value for r in rows(
        f"SELECT DISTINCT ?p WHERE {{ GRAPH <{_ONTOLOGY}> {{ ?p a ?k }} "
        f"FILTER(?k IN (owl:ObjectProperty, owl:DatatypeProperty) && STRSTARTS(STR(?p), \"{KG}\")) }}"))
    for r in rows(f"""SELECT DISTINCT ?s ?t WHERE {{ GRAPH <{_DATA}> {{ ?s a ?t }}
                     FILTER(STRSTARTS(STR(?t), "{KG}"))
                     FILTER NOT EXISTS {{ GRAPH <{_ONTOLOGY}> {{ ?t a owl:Class }} }} }}"""):
        t = r["t"].value
        yield {"focus": r["s"], "message": f"Unknown class {shorten(t)}{_did_you_mean(t, classes)}; "
               "no shape checks a subject of an unknown class.",
               "constraint": "UnknownClass", "path": "rdf:type", "value": r["t"]}
    for r in rows(f"""SELECT ?p ?s WHERE {{ GRAPH <{_DATA}> {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?p), "{KG}"))
                     FILTER NOT EXISTS {{ GRAPH <{_ONTOLOGY}> {{ ?p a ?k FILTER(?k IN (owl:ObjectProperty,
                                                                                    owl:DatatypeProperty)) }} }}
                   }} GROUP BY ?p ?s ORDER BY ?p ?s"""):
        p = r["p"].value
        yield {"focus": r["s"], "message": f"Unknown property {shorten(p)}{_did_you_mean(p, props)}.",
               "constraint": "UnknownProperty", "path": shorten(p)}
    missing: dict[tuple, list[str]] = defaultdict(list)
    for r in rows(f"""SELECT DISTINCT ?s ?p ?domain WHERE {{
                       GRAPH <{_DATA}> {{ ?s ?p ?o }}
                       GRAPH <{_ONTOLOGY}> {{ ?p rdfs:domain ?domain }}
                       FILTER NOT EXISTS {{ GRAPH <{_DATA}> {{ ?s a ?t }}
                         FILTER(?t = ?domain || EXISTS {{ GRAPH <{_ONTOLOGY}> {{ ?t rdfs:subClassOf+ ?domain }} }}) }}
                     }}"""):
        missing[(r["s"], r["domain"].value)].append(shorten(r["p"].value))
    rdf_type, data_graph = ox.NamedNode(RDF + "type"), ox.NamedNode(_DATA)
    for (s, domain), found_props in sorted(missing.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        types = sorted(shorten(q.object.value) for q in store.quads_for_pattern(s, rdf_type, None, data_graph)
                       if isinstance(q.object, ox.NamedNode))
        what = "has no type" if not types else "is typed " + ", ".join(types)
        found_props = sorted(set(found_props))
        yield {"focus": s, "message": f"Carries {', '.join(found_props)} (properties of {shorten(domain)}) but "
               f"{what}; add 'a {shorten(domain)}' or fix the type.",
               "constraint": "DomainType", "path": found_props[0]}


def _locate_ox(found: dict, parent_of, lines: dict[str, tuple[str, int]]) -> Violation:
    import pyoxigraph as ox

    focus = found["focus"]
    concerns, seen = focus, set()
    while isinstance(concerns, ox.BlankNode) and concerns not in seen:
        seen.add(concerns)
        parent = parent_of(concerns)
        if parent is None:
            break
        concerns = parent
    file, line = lines.get(concerns.value if isinstance(concerns, ox.NamedNode) else "", (None, None))
    value = found.get("value")
    message = _shorten_iris(found["message"])
    return Violation(focus=_ox_text(focus), message=message, constraint=found["constraint"],
                     path=found.get("path"), value=_ox_text(value) if value is not None else None,
                     concerns=_ox_text(concerns), file=file, line=line)


def _ox_text(term) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return shorten(term.value)
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return str(term)


def _shacl_problems(data_graph, shapes_graph) -> Iterable[dict]:
    import pyshacl
    import rdflib

    # advanced=True enables SHACL-SPARQL constraints (the category/facts agreement check).
    conforms, report, _ = pyshacl.validate(
        data_graph, shacl_graph=shapes_graph, inference="none", advanced=True, allow_warnings=False
    )
    if conforms:
        return
    SHN = rdflib.Namespace(SH)
    for result in report.subjects(rdflib.RDF.type, SHN.ValidationResult):
        focus = report.value(result, SHN.focusNode)
        path = report.value(result, SHN.resultPath)
        value = report.value(result, SHN.value)
        message = report.value(result, SHN.resultMessage)
        component = report.value(result, SHN.sourceConstraintComponent)
        severity = report.value(result, SHN.resultSeverity)
        yield {
            "focus": focus,
            "message": _shorten_iris(str(message)) if message is not None else "constraint not met",
            "constraint": shorten(str(component)).removeprefix("sh:") if component is not None else "unknown",
            "path": _path_text(report, path),
            "value": value,
            "severity": shorten(str(severity)).removeprefix("sh:") if severity is not None else "Violation",
        }


def _shorten_iris(text: str) -> str:
    """Write IRIs that pySHACL substituted into a message ({?value}) in prefixed form."""
    return re.sub(r"https?://[^\s<>\"{}|^`]+", lambda m: shorten(m.group()), text)


def _path_text(report, path) -> str | None:
    import rdflib

    if path is None:
        return None
    if isinstance(path, rdflib.URIRef):
        return shorten(str(path))
    inverse = report.value(path, rdflib.URIRef(SH + "inversePath"))
    if inverse is not None:
        return "^" + shorten(str(inverse))
    items = list(rdflib.collection.Collection(report, path)) if report.value(path, rdflib.RDF.first) else []
    return "/".join(shorten(str(i)) for i in items) if items else None


def _vocabulary_problems(data_graph, ontology_graph) -> Iterable[dict]:
    """Misspelled or unknown kg: classes and properties; subjects whose type does not fit."""
    import rdflib

    classes = {str(c) for c in ontology_graph.subjects(rdflib.RDF.type, rdflib.URIRef(OWL + "Class"))}
    properties = {
        str(p)
        for kind in ("ObjectProperty", "DatatypeProperty")
        for p in ontology_graph.subjects(rdflib.RDF.type, rdflib.URIRef(OWL + kind))
    }
    domains = {str(p): str(d) for p, d in ontology_graph.subject_objects(rdflib.RDFS.domain)}
    supers: dict[str, set[str]] = {}
    for c, d in ontology_graph.subject_objects(rdflib.RDFS.subClassOf):
        supers.setdefault(str(c), set()).add(str(d))

    def ancestors(c: str) -> set[str]:
        seen, todo = {c}, [c]
        while todo:
            for d in supers.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    kg_classes = sorted(c for c in classes if c.startswith(KG))
    kg_props = sorted(p for p in properties if p.startswith(KG))
    reported_types: set[tuple] = set()
    for s, t in data_graph.subject_objects(rdflib.RDF.type):
        if str(t).startswith(KG) and str(t) not in classes and (s, t) not in reported_types:
            reported_types.add((s, t))
            yield {
                "focus": s,
                "message": f"Unknown class {shorten(str(t))}{_did_you_mean(str(t), kg_classes)}; "
                "no shape checks a subject of an unknown class.",
                "constraint": "UnknownClass",
                "path": "rdf:type",
                "value": t,
            }
    for p in sorted({p for p in data_graph.predicates() if str(p).startswith(KG)}):
        if str(p) not in properties:
            for s in sorted(set(data_graph.subjects(p, None)), key=str):
                yield {
                    "focus": s,
                    "message": f"Unknown property {shorten(str(p))}{_did_you_mean(str(p), kg_props)}.",
                    "constraint": "UnknownProperty",
                    "path": shorten(str(p)),
                }
    for s in sorted(set(data_graph.subjects()), key=str):
        types = {str(t) for t in data_graph.objects(s, rdflib.RDF.type)}
        known = set().union(*(ancestors(t) for t in types)) if types else set()
        missing: dict[str, list[str]] = {}
        for p in set(data_graph.predicates(s, None)):
            domain = domains.get(str(p))
            if domain and domain not in known:
                missing.setdefault(domain, []).append(shorten(str(p)))
        for domain, props in sorted(missing.items()):
            what = "has no type" if not types else "is typed " + ", ".join(sorted(shorten(t) for t in types))
            yield {
                "focus": s,
                "message": f"Carries {', '.join(sorted(props))} (properties of {shorten(domain)}) but {what}; "
                f"add 'a {shorten(domain)}' or fix the type.",
                "constraint": "DomainType",
                "path": sorted(props)[0],
            }


def _did_you_mean(iri: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(iri, candidates, n=1, cutoff=0.8)
    return f" (did you mean {shorten(close[0])}?)" if close else ""


def _locate(found: dict, data_graph, lines: dict[str, tuple[str, int]]) -> Violation:
    """Attach the IRI the problem concerns (climbing from blank nodes) and its file:line."""
    import rdflib

    focus = found["focus"]
    concerns = focus
    seen = set()
    while isinstance(concerns, rdflib.BNode) and concerns not in seen:
        seen.add(concerns)
        parent = next(iter(data_graph.subjects(None, concerns)), None)
        if parent is None:
            break
        concerns = parent
    file, line = lines.get(str(concerns), (None, None))
    value = found.get("value")
    return Violation(
        focus=_term_text(focus),
        message=found["message"],
        constraint=found["constraint"],
        path=found.get("path"),
        value=_term_text(value) if value is not None else None,
        concerns=_term_text(concerns),
        file=file,
        line=line,
        severity=found.get("severity", "Violation"),
    )


def _term_text(term) -> str:
    import rdflib

    if isinstance(term, rdflib.URIRef):
        return shorten(str(term))
    if isinstance(term, rdflib.BNode):
        return "_:" + str(term)
    return term.n3() if hasattr(term, "n3") else str(term)
