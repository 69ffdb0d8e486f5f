"""Export the graph for other datasets: RDF formats, and CSV / GeoJSON of the events.

Format names and media types come from rdflib's plugin registry (and its table of file
extensions), so ``ttl``, ``turtle`` and ``text/turtle`` name the same thing. Two formats are
ours: ``csv`` (one row per event, for spreadsheets) and ``geojson`` (a FeatureCollection of
events, for map tools).

Writers:

- ``turtle``: our own writer on pyoxigraph terms, sorted and stable (the same graph gives
  byte-identical output), blank nodes nested as ``[ ... ]`` where they hang off one subject.
- ``trig``: the same writer, one block per named graph.
- ``nt``, ``nquads``: pyoxigraph's serialisers over canonically labelled statements
  (RDFC-1.0 blank node labels), lines sorted, so they are stable too.
- ``json-ld``: compacted here with ``ontology/context.jsonld`` (short keys, typed values,
  blank nodes embedded, arrays sorted); the context is written inline so that no reader
  has to fetch anything.
- anything else rdflib can write (``xml``, ``n3``, ``trix``, ``hext``, ``longturtle``...):
  rdflib's serialiser as is.

Quad formats (``nquads``, ``trig``, ``trix``) carry the data, the ontology and the shapes as
three named graphs; every other format carries the data alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox

from . import paths, rdfio
from .errors import InputError
from .namespaces import GRAPH, PREFIXES, RDF, XSD

GRAPHS = {"data": GRAPH + "data", "ontology": GRAPH + "ontology", "shapes": GRAPH + "shapes"}
CONTEXT = paths.ROOT / "ontology" / "context.jsonld"
TABULAR = {"csv": ("text/csv", ".csv"), "geojson": ("application/geo+json", ".geojson")}
# rdflib's patch serialiser needs a diff, not a graph; its Hextuples output does not read back to
# the same graph (rdflib 7.x), so neither is offered.
_NOT_EXPORTS = {"patch", "hext"}
_DATASET_FORMATS = {"nquads", "trig", "trix"}
_MAX_NESTING = 32  # deeper blank-node trees are written with labels (parsers choke on depth)


@dataclass(frozen=True)
class Format:
    """An export format: canonical name, other names, media type and usual file extension."""

    name: str
    media_type: str
    extension: str
    aliases: tuple[str, ...] = ()

    @property
    def is_dataset(self) -> bool:
        return self.name in _DATASET_FORMATS


def formats() -> dict[str, Format]:
    """Every export format by canonical name, read from rdflib's registry, plus csv/geojson.

    Names registered for the same rdflib serialiser are one format; the canonical name is
    the one rdflib's extension table uses (``ttl`` -> ``turtle``), its aliases the others.
    """
    from rdflib import plugin
    from rdflib.serializer import Serializer
    from rdflib.util import SUFFIX_FORMAT_MAP

    by_class: dict[type, list[str]] = defaultdict(list)
    for p in plugin.plugins(kind=Serializer):
        if p.name not in _NOT_EXPORTS:
            by_class[p.getClass()].append(p.name)
    out: dict[str, Format] = {}
    for names in by_class.values():
        media = sorted(n for n in names if "/" in n)
        plain = sorted(n for n in names if "/" not in n)
        if not plain:
            continue
        name = next((n for n in plain if n in SUFFIX_FORMAT_MAP.values()), plain[0])
        ox_format = ox.RdfFormat.from_media_type(media[0]) if media else None
        suffixes = [s for s, f in SUFFIX_FORMAT_MAP.items() if f == name]
        extension = ox_format.file_extension if ox_format else (suffixes[0] if suffixes else "")
        aliases = tuple(sorted({*plain, *media, *suffixes} - {name}))
        out[name] = Format(name, media[0] if media else "text/plain", "." + extension if extension else "", aliases)
    for name, (media, suffix) in TABULAR.items():
        out[name] = Format(name, media, suffix)
    return dict(sorted(out.items()))


def resolve_format(name: str | None = None, path: str | Path | None = None) -> Format:
    """The format called ``name`` (name, alias, extension or media type), else guessed from ``path``."""
    known = formats()
    if name is None:
        if path is None:
            return known["turtle"]
        suffix = Path(path).suffix.lower()
        for f in known.values():
            if suffix and (suffix == f.extension or suffix.lstrip(".") in f.aliases):
                return f
        raise InputError(f"cannot guess the export format from the extension {Path(path).suffix!r}; "
                         "give --format", str(path))
    key = name.lower().lstrip(".")
    for f in known.values():
        if key == f.name or key in f.aliases or "." + key == f.extension:
            return f
    raise InputError(f"unknown export format {name!r}; use one of {', '.join(known)}")


# --- reading --------------------------------------------------------------------------------

def load_dataset(data: Sequence[str | Path] | None = None, *, ontology: str | Path | None = None,
                 shapes: str | Path | None = None) -> dict[str, list[ox.Quad]]:
    """Parse the data, ontology and shapes files strictly; statements keyed by GRAPHS name."""
    files = list(data) if data else paths.default_data_files()
    return {
        "data": [q for f in files for q in rdfio.parse_file(f)],
        "ontology": rdfio.parse_file(ontology or paths.ONTOLOGY),
        "shapes": rdfio.parse_file(shapes or paths.SHAPES),
    }


def export(dataset: dict[str, list[ox.Quad]], fmt: Format) -> bytes:
    """Serialise ``dataset`` (from :func:`load_dataset`) in ``fmt``."""
    if fmt.name == "csv":
        return events_csv(dataset)
    if fmt.name == "geojson":
        return events_geojson(dataset)
    if fmt.is_dataset:
        quads = [ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(GRAPHS[g]))
                 for g, qs in dataset.items() for q in qs]
    elif all(isinstance(q.graph_name, ox.DefaultGraph) for q in dataset["data"]):
        quads = dataset["data"]  # new Quad objects cost seconds on millions of statements
    else:
        quads = [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in dataset["data"]]
    if fmt.name == "turtle":
        return turtle(quads)
    if fmt.name == "trig":
        return trig(quads)
    if fmt.name == "json-ld":
        return json_ld(quads)
    quads = canonical(quads)
    if fmt.name == "nt":
        return _sorted_lines(ox.serialize(quads, format=ox.RdfFormat.N_TRIPLES))
    if fmt.name == "nquads":
        return _sorted_lines(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    return _rdflib_serialize(quads, fmt)


def canonical(quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    """The quads with blank nodes relabelled by RDFC-1.0, so that labels depend only on content."""
    quads = list(quads)
    if not any(isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode) for q in quads):
        return quads
    ds = ox.Dataset(quads)
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return list(ds)


def _sorted_lines(data: bytes) -> bytes:
    lines = sorted(set(data.splitlines()))
    return b"\n".join(lines) + b"\n" if lines else b""


def _subject_key(term) -> tuple[int, str]:
    return (1 if isinstance(term, ox.BlankNode) else 0, term.value)


def _rdflib_serialize(quads: list[ox.Quad], fmt: Format) -> bytes:
    import rdflib

    if fmt.is_dataset:
        ds = rdflib.Dataset()
        for iri in GRAPHS.values():
            rdfio.to_rdflib([q for q in quads if q.graph_name.value == iri], ds.graph(rdflib.URIRef(iri)))
        target = ds
    else:
        target = rdfio.to_rdflib(quads)
    for prefix, ns in PREFIXES.items():
        target.bind(prefix, ns, override=True, replace=True)
    try:
        return target.serialize(format=fmt.name, encoding="utf-8")
    except (ValueError, TypeError, KeyError) as e:  # e.g. RDF/XML cannot write a predicate like <http://x/1>
        raise InputError(f"the graph cannot be written as {fmt.name}: {e}") from None


# --- Turtle -----------------------------------------------------------------------------------

_LOCAL = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL = re.compile(r"^[+-]?[0-9]*\.[0-9]+$")
_RDF_TYPE = RDF + "type"


class _TurtleWriter:
    """Sorted Turtle: statements grouped by subject (subjects, predicates and objects in the order
    of their text, ``a`` first), IRIs shortened with the prefixes, and blank nodes that hang off
    one subject nested as ``[ ... ]``. pyoxigraph escapes every literal. ``labelled`` tells
    whether a blank node label had to be written (then the output is stable only if the labels
    are: see :func:`turtle`)."""

    def __init__(self, quads: list[ox.Quad], prefixes: dict[str, str]):
        self.prefixes = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))  # longest namespace wins
        self.used: set[str] = set()
        self.names: dict[ox.NamedNode, str] = {}
        self.labelled = False
        self.props: dict[object, list[ox.Quad]] = defaultdict(list)
        refs: dict[ox.BlankNode, int] = defaultdict(int)
        blank = ox.BlankNode
        for q in quads:
            self.props[q.subject].append(q)
            if isinstance(q.object, blank):
                refs[q.object] += 1
        self.inline = {b for b, n in refs.items() if n == 1}
        self.done: set = set()
        self._type = ox.NamedNode(_RDF_TYPE)
        self._string = ox.NamedNode(XSD + "string")
        self._lang = ox.NamedNode(RDF + "langString")
        self._integer = ox.NamedNode(XSD + "integer")
        self._decimal = ox.NamedNode(XSD + "decimal")
        self._boolean = ox.NamedNode(XSD + "boolean")

    def iri(self, node: ox.NamedNode) -> str:
        """A prefixed name where the local part allows it, else ``<IRI>``."""
        name = self.names.get(node)
        if name is None:
            value = node.value
            name = str(node)
            for prefix, ns in self.prefixes:
                if value.startswith(ns) and _LOCAL.match(value[len(ns):]):
                    name = f"{prefix}:{value[len(ns):]}"
                    self.used.add(prefix)
                    break
            self.names[node] = name
        return name

    def literal(self, lit: ox.Literal) -> str:
        datatype = lit.datatype
        if datatype == self._string or datatype == self._lang:
            return str(lit)
        value = lit.value
        if (datatype == self._integer and _INTEGER.match(value)) or \
                (datatype == self._decimal and _DECIMAL.match(value)) or \
                (datatype == self._boolean and value in ("true", "false")):
            return value
        return str(ox.Literal(value)) + "^^" + self.iri(datatype)

    def term(self, t, level: int) -> str:
        if isinstance(t, ox.NamedNode):
            return self.iri(t)
        if isinstance(t, ox.Literal):
            return self.literal(t)
        if t in self.inline and t not in self.done and level <= _MAX_NESTING:
            self.done.add(t)
            if t not in self.props:
                return "[]"
            return "[\n" + self.predicates(t, level + 1) + "\n" + "    " * level + "]"
        self.labelled = True
        return str(t)

    def predicates(self, subject, level: int) -> str:
        pad = "    " * level
        # " a" sorts before every other verb; the pairs are sorted by their text.
        pairs = sorted({(" a" if q.predicate == self._type else self.iri(q.predicate), self.term(q.object, level))
                        for q in self.props[subject]})
        lines: list[str] = []
        current = None
        for verb, obj in pairs:
            if verb == current:
                lines[-1] += " , " + obj
            else:
                lines.append(f"{pad}{verb.lstrip()} {obj}")
                current = verb
        return " ;\n".join(lines)

    def head(self, subject) -> str:
        if isinstance(subject, ox.NamedNode):
            return self.iri(subject)
        self.labelled = True
        return str(subject)

    def blocks(self) -> list[str]:
        """One text block per top-level subject, in order (IRIs first, by their text)."""
        blocks = []
        pending = sorted(((isinstance(s, ox.BlankNode), self.head(s), s) for s in self.props if s not in self.inline),
                         key=lambda entry: entry[:2])
        while True:
            for _, head, s in pending:
                if s in self.done:
                    continue
                self.done.add(s)
                blocks.append(f"{head}\n{self.predicates(s, 1)} .\n")
            # Blank nodes left over sit in cycles or beyond the nesting limit: write them with labels.
            left = sorted((s for s in self.props if s not in self.done), key=str)[:1]
            if not left:
                return blocks
            self.inline.difference_update(left)
            pending = [(True, self.head(left[0]), left[0])]


def _header(used: set[str]) -> str:
    header = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items() if p in used)
    return header + ("\n" if header else "")


def turtle(quads: Iterable[ox.Quad]) -> bytes:
    """Sorted, stable Turtle of the statements (graph names ignored), with the project's prefixes.

    Blank nodes that hang off one subject are nested, so their labels never show; only when a
    blank node must be written with a label (shared, unreferenced or in a cycle) are the labels
    made canonical first (RDFC-1.0), which costs time on large graphs.
    """
    quads = quads if isinstance(quads, list) else list(quads)
    writer = _TurtleWriter(quads, PREFIXES)
    body = "\n".join(writer.blocks())
    if writer.labelled:
        writer = _TurtleWriter(canonical(quads), PREFIXES)
        body = "\n".join(writer.blocks())
    return (_header(writer.used) + body).encode("utf-8")


def trig(quads: Iterable[ox.Quad]) -> bytes:
    """Sorted, stable TriG: one block per named graph (graphs in IRI order), Turtle inside."""
    quads = list(quads)
    out = _trig(quads)
    return out if out is not None else _trig(canonical(quads), labels_ok=True)


def _trig(quads: list[ox.Quad], labels_ok: bool = False) -> bytes | None:
    by_graph: dict[str, list[ox.Quad]] = defaultdict(list)
    for q in quads:
        by_graph["" if isinstance(q.graph_name, ox.DefaultGraph) else str(q.graph_name)].append(q)
    used: set[str] = set()
    parts = []
    for name in sorted(by_graph):
        writer = _TurtleWriter(by_graph[name], PREFIXES)
        text = "\n".join(writer.blocks())
        if writer.labelled and not labels_ok:
            return None
        used |= writer.used
        if name:
            text = "".join(("    " + line if line.strip() else line) for line in text.splitlines(keepends=True))
            text = f"{name} {{\n{text}}}\n"
        parts.append(text)
    return (_header(used) + "\n".join(parts)).encode("utf-8")


# --- JSON-LD ----------------------------------------------------------------------------------

def context() -> dict:
    """The JSON-LD context shipped in ``ontology/context.jsonld`` (the value of ``@context``)."""
    try:
        return json.loads(CONTEXT.read_text(encoding="utf-8"))["@context"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"cannot read the JSON-LD context: {e}", str(CONTEXT)) from None


class _Compactor:
    """Compacts statements with our context, writing only forms whose expansion is unambiguous.

    rdflib's JSON-LD serialiser drops blank nodes reached through ``"@type": "@id"`` terms
    (rdflib 7.x), so compaction is done here; pyld, rdflib and Oxigraph check the result in
    the tests by expanding it back to the same triples.
    """

    def __init__(self, ctx: dict):
        self.base = ctx.get("@base", "")
        self.vocab = ctx.get("@vocab", "")
        self.prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and not k.startswith("@")
                         and v.endswith(("/", "#"))}
        self.terms: dict[str, str] = {}  # term name -> IRI, for every term
        self.by_iri: dict[str, tuple[str, dict]] = {}  # property IRI -> (term, definition)
        for name, d in ctx.items():
            if name.startswith("@") or (isinstance(d, str) and d.startswith("@")):
                continue
            d = {"@id": d} if isinstance(d, str) else d
            iri = self._expand(d.get("@id", name))
            self.terms[name] = iri
            if name not in self.prefixes:
                self.by_iri.setdefault(iri, (name, d))

    def _expand(self, value: str) -> str:
        prefix, sep, local = value.partition(":")
        return self.prefixes[prefix] + local if sep and prefix in self.prefixes else value

    def _curie(self, iri: str) -> str:
        for prefix, ns in sorted(self.prefixes.items(), key=lambda kv: -len(kv[1])):
            local = iri[len(ns):]
            if iri.startswith(ns) and local and not local.startswith("/") and ":" not in local:
                return f"{prefix}:{local}"
        return iri

    def id(self, iri: str) -> str:
        """An @id value: relative to @base where that is unambiguous, else a compact IRI."""
        if self.base and iri.startswith(self.base):
            rel = iri[len(self.base):]
            if rel and ":" not in rel and not rel.startswith(("/", "?", "#", ".")):
                return rel
        return self._curie(iri)

    def vocab_value(self, iri: str) -> str:
        """A value expanded relative to @vocab (types, "@type": "@vocab" terms)."""
        if self.vocab and iri.startswith(self.vocab):
            local = iri[len(self.vocab):]
            if local and ":" not in local and not local.startswith("@") and self.terms.get(local, iri) == iri:
                return local
        return self._curie(iri)

    def fits(self, lit: ox.Literal, d: dict) -> bool:
        """Whether a plain JSON string under a term defined by ``d`` expands to exactly ``lit``."""
        if d.get("@type"):
            return not lit.language and lit.datatype.value == self._expand(d["@type"])
        if d.get("@language"):
            return lit.language == d["@language"]
        return not lit.language and lit.datatype.value == XSD + "string"

    def key(self, iri: str) -> str:
        return self._curie(iri)

    def literal(self, lit: ox.Literal) -> dict:
        if lit.language:
            return {"@value": lit.value, "@language": lit.language}
        if lit.datatype.value == XSD + "string":
            return {"@value": lit.value}
        return {"@value": lit.value, "@type": self.vocab_value(lit.datatype.value)}


def json_ld(quads: list[ox.Quad]) -> bytes:
    """Compacted JSON-LD: short keys from the shipped context, blank nodes embedded, sorted.

    As in :func:`turtle`, blank node labels are made canonical only when one must be written.
    """
    quads = list(quads)
    out, labelled = _json_ld(quads)
    return _json_ld(canonical(quads))[0] if labelled else out


def _json_ld(quads: list[ox.Quad]) -> tuple[bytes, bool]:
    ctx = context()
    labelled = False
    c = _Compactor(ctx)
    props: dict[object, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    refs: dict[object, int] = defaultdict(int)
    for q in quads:
        props[q.subject][q.predicate.value].append(q.object)
        if isinstance(q.object, ox.BlankNode):
            refs[q.object] += 1
    inline = {b for b, n in refs.items() if n == 1}
    done: set = set()

    def ref(term, depth):
        nonlocal labelled
        if isinstance(term, ox.BlankNode):
            if term in inline and term not in done and depth < _MAX_NESTING:
                done.add(term)
                return node(term, depth + 1, with_id=False)
            labelled = True
            return {"id": str(term)}
        return {"id": c.id(term.value)}

    def node(subject, depth, with_id=True):
        nonlocal labelled
        out: dict = {}
        if with_id:
            out["id"] = c.id(subject.value) if isinstance(subject, ox.NamedNode) else str(subject)
            labelled = labelled or isinstance(subject, ox.BlankNode)
        for p, objects in props.get(subject, {}).items():
            if p == RDF + "type" and all(isinstance(o, (ox.NamedNode, ox.BlankNode)) for o in objects):
                out["type"] = [c.vocab_value(o.value) if isinstance(o, ox.NamedNode) else str(o) for o in objects]
                continue
            term, d = c.by_iri.get(p, (None, {}))
            for o in objects:
                key, value = term, None
                if term is None:
                    key = c.key(p)
                elif d.get("@container") == "@language":
                    if isinstance(o, ox.Literal) and o.language:
                        out.setdefault(term, {}).setdefault(o.language, []).append(o.value)
                        continue
                    key = c.key(p)
                elif isinstance(o, ox.Literal):
                    if c.fits(o, d):
                        value = o.value
                elif isinstance(o, ox.NamedNode) and d.get("@type") == "@vocab":
                    value = c.vocab_value(o.value)
                elif isinstance(o, ox.NamedNode) and d.get("@type") == "@id":
                    value = c.id(o.value)
                if value is None:
                    value = c.literal(o) if isinstance(o, ox.Literal) else ref(o, depth)
                out.setdefault(key, []).append(value)
        return {k: _single(v) for k, v in out.items()}

    nodes = []
    pending = sorted((s for s in props if s not in inline), key=_subject_key)
    while True:
        for s in pending:
            if s not in done:
                done.add(s)
                nodes.append(node(s, 0))
        # Blank nodes not reached yet sit in cycles (or beyond the nesting limit): one of them
        # becomes a top-level node, which reaches the rest.
        pending = sorted((s for s in props if s not in done), key=_subject_key)[:1]
        if not pending:
            break
    doc = {"@context": ctx, "@graph": [_ordered(n) for n in nodes]}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), labelled


def _single(value):
    if isinstance(value, dict):
        return {k: _single(v) for k, v in value.items()}
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _ordered(value):
    """Keys id, type first then sorted; arrays (sets in JSON-LD) sorted; recursively."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (k != "id", k != "type", k))
        return {k: _ordered(value[k]) for k in keys}
    if isinstance(value, list):
        items = [_ordered(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
    return value


# --- CSV and GeoJSON of events -------------------------------------------------------------------

EVENT_COLUMNS = ("event", "label", "date", "places", "oblasts", "lat", "lon", "kinds", "tactics",
                 "killed", "wounded", "sources")

_EVENT_FACTS = """
PREFIX kg:   <https://w3id.org/resistance-kg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX wgs:  <http://www.w3.org/2003/01/geo/wgs84_pos#>
SELECT ?event ?key ?value ?lat ?lon WHERE {
  ?event a kg:ProtestEvent .
  {
    ?event rdfs:label ?value FILTER(LANG(?value) = "en") BIND("label" AS ?key)
  } UNION {
    ?event kg:date ?value BIND("date" AS ?key)
  } UNION {
    ?event kg:place ?place . ?place rdfs:label ?value FILTER(LANG(?value) = "en")
    OPTIONAL { ?place wgs:lat ?lat ; wgs:long ?lon }
    BIND("places" AS ?key)
  } UNION {
    ?event kg:place/kg:inOblast/rdfs:label ?value FILTER(LANG(?value) = "en") BIND("oblasts" AS ?key)
  } UNION {
    ?event kg:eventKind/skos:prefLabel ?value FILTER(LANG(?value) = "en") BIND("kinds" AS ?key)
  } UNION {
    ?event kg:act/kg:tactic/skos:prefLabel ?value FILTER(LANG(?value) = "en") BIND("tactics" AS ?key)
  } UNION {
    ?claim kg:aboutEvent ?event ; kg:killed ?value BIND("killed" AS ?key)
  } UNION {
    ?claim kg:aboutEvent ?event ; kg:wounded ?value BIND("wounded" AS ?key)
  } UNION {
    { ?event kg:source ?s } UNION { ?event kg:act/kg:source ?s } UNION { ?c kg:aboutEvent ?event ; kg:source ?s }
    ?s kg:url ?value BIND("sources" AS ?key)
  }
}
"""


def event_records(dataset: dict[str, list[ox.Quad]]) -> list[dict]:
    """One record per event: the EVENT_COLUMNS, lists for the many-valued ones, sorted by date.

    ``killed`` and ``wounded`` are the highest figure among the casualty claims about the
    event (claims are attributed to a claimant in the graph); ``lat``/``lon`` are those of
    the first place; ``points`` holds every place's (lon, lat).
    """
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
                 for g in ("data", "ontology") for q in dataset[g])
    records: dict[str, dict] = {}
    points: dict[str, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
    for row in store.query(_EVENT_FACTS):
        event, key, value = row["event"].value, row["key"].value, row["value"].value
        rec = records.setdefault(event, {"event": event, "label": "", "date": "", "places": set(),
                                         "oblasts": set(), "kinds": set(), "tactics": set(),
                                         "killed": None, "wounded": None, "sources": set()})
        if key in ("label", "date"):
            rec[key] = value
        elif key in ("killed", "wounded"):
            rec[key] = max(int(value), rec[key] or 0)
        else:
            rec[key].add(value)
            if key == "places" and row["lat"] is not None:
                points[event][value] = (Decimal(row["lon"].value), Decimal(row["lat"].value))
    out = []
    for event, rec in records.items():
        for k in ("places", "oblasts", "kinds", "tactics", "sources"):
            rec[k] = sorted(rec[k])
        pts = [points[event][p] for p in rec["places"] if p in points[event]]
        rec["lon"], rec["lat"] = (pts[0] if pts else (None, None))
        rec["points"] = pts
        out.append(rec)
    return sorted(out, key=lambda r: (r["date"], r["event"]))


def events_csv(dataset: dict[str, list[ox.Quad]]) -> bytes:
    """CSV, one row per event; lists joined with '; ' (sources with a space)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(EVENT_COLUMNS)
    for rec in event_records(dataset):
        row = []
        for col in EVENT_COLUMNS:
            v = rec[col]
            if isinstance(v, list):
                v = (" " if col == "sources" else "; ").join(v)
            row.append("" if v is None else str(v))
        w.writerow(row)
    return buf.getvalue().encode("utf-8")


def events_geojson(dataset: dict[str, list[ox.Quad]]) -> bytes:
    """An RFC 7946 FeatureCollection: one Feature per event (Point, or MultiPoint for two places)."""
    features = []
    for rec in event_records(dataset):
        pts = [[float(lon), float(lat)] for lon, lat in rec["points"]]
        if not pts:
            geometry = None
        elif len(pts) == 1:
            geometry = {"type": "Point", "coordinates": pts[0]}
        else:
            geometry = {"type": "MultiPoint", "coordinates": pts}
        props = {k: rec[k] for k in EVENT_COLUMNS if k not in ("event", "lat", "lon")}
        features.append({"type": "Feature", "id": rec["event"], "geometry": geometry, "properties": props})
    doc = {"type": "FeatureCollection", "features": features}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


__all__ = [
    "GRAPHS",
    "Format",
    "canonical",
    "context",
    "event_records",
    "events_csv",
    "events_geojson",
    "export",
    "formats",
    "json_ld",
    "load_dataset",
    "resolve_format",
    "trig",
    "turtle",
]
