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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from . import rdfio
from .errors import InputError
from .namespaces import KG, OWL, SH, shorten


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


def validate(data: Sequence[str | Path], ontology: str | Path, shapes: str | Path) -> Report:
    """Validate data files against the ontology and SHACL shapes; never writes anything."""
    import rdflib

    if not data:
        raise InputError("no data files given")
    combined, data_graph, ontology_graph = load_for_validation(data, ontology)
    shapes_graph = rdfio.to_rdflib(rdfio.parse_file(shapes))

    event_type = rdflib.URIRef(KG + "ProtestEvent")
    events = len(set(data_graph.subjects(rdflib.RDF.type, event_type)))
    if events == 0:
        raise InputError(
            "no protest events (subjects typed kg:ProtestEvent) in the data; nothing to validate",
            ", ".join(str(p) for p in data),
        )

    lines: dict[str, tuple[str, int]] = {}
    for path in data:
        for iri, line in rdfio.subject_lines(path).items():
            lines.setdefault(iri, (str(path), line))

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
