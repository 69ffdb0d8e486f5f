"""Linking our places, organisations and people to Wikidata: candidates, checks, links, enrichment.

Every request goes through :class:`kg.remote.RemoteEngine` (descriptive User-Agent, a timeout,
one request at a time, Retry-After on 429, backoff on 5xx; HTML, truncated JSON and answers
without bindings are errors) and through the on-disk cache (:mod:`kg.cache`). Values are
written into the SPARQL text with :meth:`kg.terms.Term.to_sparql` (escaped), never pasted.

The rules, so that a link is never a guess:

- a **candidate** has one of our names (English or Ukrainian label or alternative label; the
  same spellings are also tried as Russian labels) as its Wikidata label or alias, and is of
  the right kind (human settlement, oblast of Ukraine, country, organisation, human);
- a settlement candidate **matches** when Wikidata puts it in Ukraine (P17), in the same
  oblast (P131, transitively) and within the tolerance of our point (P625); an oblast
  candidate when it is in Ukraine; an organisation or person candidate by name and kind;
- a link is **unambiguous** when exactly one item matches. Only those are written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from . import __version__, paths, rdfio
from .atomic import write_atomic
from .errors import InputError
from .namespaces import ID, KG, PREFIXES, RDF, RDFS, SKOS, WD, XSD
from .terms import Term

WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"
WDT = "http://www.wikidata.org/prop/direct/"
PROV = "http://www.w3.org/ns/prov#"
UKRAINE = "Q212"
OBLAST_OF_UKRAINE = "Q3348196"
DEFAULT_TOLERANCE_KM = 5.0

# Our class -> (kind name, the Wikidata classes an item must be an instance of, via P31/P279*).
KINDS = {
    KG + "Settlement": ("settlement", ("Q486972",)),        # human settlement
    KG + "Oblast": ("oblast", (OBLAST_OF_UKRAINE,)),
    KG + "Country": ("country", ("Q6256",)),                 # country
    KG + "Organisation": ("organisation", ("Q43229",)),      # organization
    KG + "MediaOutlet": ("organisation", ("Q43229",)),
    KG + "Person": ("person", ("Q5",)),                      # human
}
KIND_CLASSES = dict(KINDS.values())  # kind name -> Wikidata classes
KIND_NAMES = {"Q486972": "human settlement", OBLAST_OF_UKRAINE: "oblast of Ukraine", "Q6256": "country",
              "Q43229": "organisation", "Q5": "human"}
_QID = re.compile(r"^Q[1-9][0-9]*$")
_POINT = re.compile(r"^\s*Point\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\)\s*$", re.IGNORECASE)

_PROLOGUE = f"""PREFIX wd: <{WD}>
PREFIX wdt: <{WDT}>
PREFIX rdfs: <{RDFS}>
PREFIX skos: <{SKOS}>
PREFIX schema: <http://schema.org/>
"""


def qid(iri: str) -> str:
    return iri.removeprefix(WD)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def parse_point(wkt: str) -> tuple[float, float] | None:
    """(lat, lon) from Wikidata's ``Point(lon lat)``; None if it is not one."""
    m = _POINT.match(wkt)
    if not m:
        return None
    lon, lat = float(m.group(1)), float(m.group(2))
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


# --- our entities ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Entity:
    """A place, organisation or person of our graph, with what the matching needs."""

    iri: str
    kind: str
    classes: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    oblast_label: str | None = None
    oblast_item: str | None = None
    lat: float | None = None
    lon: float | None = None
    items: tuple[str, ...] = ()
    label: str | None = None  # the English rdfs:label

    @property
    def name(self) -> str:
        return self.label or (self.labels[0][0] if self.labels else self.iri)

    @property
    def short(self) -> str:
        from .namespaces import shorten

        return shorten(self.iri)


_ENTITIES = f"""
PREFIX kg: <{KG}>
PREFIX rdfs: <{RDFS}>
PREFIX skos: <{SKOS}>
PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
SELECT ?entity ?class ?label ?labelKind ?oblastLabel ?oblastItem ?lat ?long ?item WHERE {{
  VALUES ?class {{ {" ".join(f"<{c}>" for c in KINDS)} }}
  ?entity a ?class .
  {{ ?entity rdfs:label ?label BIND("label" AS ?labelKind) }}
  UNION {{ ?entity skos:altLabel ?label BIND("alt" AS ?labelKind) }}
  UNION {{ ?entity skos:exactMatch ?item }}
  UNION {{ ?entity kg:inOblast ?oblast .
          OPTIONAL {{ ?oblast rdfs:label ?oblastLabel FILTER(LANG(?oblastLabel) = "en") }}
          OPTIONAL {{ ?oblast skos:exactMatch ?oblastItem }} }}
  UNION {{ ?entity wgs:lat ?lat ; wgs:long ?long }}
}}
"""


def entities(store: ox.Store) -> list[Entity]:
    """Every place, organisation and person in the store, sorted by IRI."""
    facts: dict[str, dict] = defaultdict(lambda: {"classes": set(), "labels": set(), "items": set()})
    for row in store.query(_ENTITIES):
        f = facts[row["entity"].value]
        f["classes"].add(row["class"].value)
        if row["label"] is not None and row["label"].language in ("en", "uk", "ru"):
            f["labels"].add((row["label"].value, row["label"].language))
            if row["labelKind"].value == "label" and row["label"].language == "en":
                f["label"] = row["label"].value
        if row["item"] is not None:
            f["items"].add(qid(row["item"].value))
        if row["oblastLabel"] is not None:
            f["oblast_label"] = row["oblastLabel"].value
        if row["oblastItem"] is not None:
            f["oblast_item"] = qid(row["oblastItem"].value)
        if row["lat"] is not None:
            try:
                f["lat"], f["lon"] = float(row["lat"].value), float(row["long"].value)
            except ValueError:
                pass
    out = []
    for iri, f in sorted(facts.items()):
        kind = next(KINDS[c][0] for c in sorted(f["classes"]))
        out.append(Entity(iri, kind, tuple(sorted(f["classes"])), tuple(sorted(f["labels"])),
                          f.get("oblast_label"), f.get("oblast_item"), f.get("lat"), f.get("lon"),
                          tuple(sorted(f["items"])), f.get("label")))
    return out


def load_entities(data: Sequence[str | Path] | None = None) -> list[Entity]:
    files = list(data) if data else paths.default_data_files()
    return entities(rdfio.load_store([*files, paths.ONTOLOGY]))


def find_entity(all_entities: list[Entity], name: str) -> Entity:
    """An entity by IRI, prefixed name (place:kherson) or local name (kherson)."""
    for e in all_entities:
        if name in (e.iri, e.short, e.short.split(":", 1)[-1]):
            return e
    import difflib

    close = difflib.get_close_matches(name, [e.short for e in all_entities], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; run 'kg link --all' to list them"
    raise InputError(f"no place, organisation or person called {name!r}{hint}")


# --- candidates --------------------------------------------------------------------------------

@dataclass
class Candidate:
    """A Wikidata item that carries one of the entity's names, with the evidence for and against."""

    item: str
    names: set[str] = field(default_factory=set)
    description: str | None = None
    countries: set[str] = field(default_factory=set)
    oblasts: set[str] = field(default_factory=set)
    points: set[tuple[float, float]] = field(default_factory=set)
    distance: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"item": WD + self.item, "names": sorted(self.names), "description": self.description,
                "countries": sorted(self.countries), "oblasts": sorted(self.oblasts),
                "distance_km": None if self.distance is None else round(self.distance, 1),
                "matches": self.matches, "problems": self.problems}


@dataclass
class Proposal:
    """The candidates for one entity and the decision: unambiguous, ambiguous or none."""

    entity: Entity
    candidates: list[Candidate]

    @property
    def matching(self) -> list[Candidate]:
        return [c for c in self.candidates if c.matches]

    @property
    def decision(self) -> str:
        n = len(self.matching)
        return "unambiguous" if n == 1 else ("ambiguous" if n > 1 else "none")

    def to_dict(self) -> dict:
        return {"entity": self.entity.iri, "label": self.entity.name, "kind": self.entity.kind,
                "linked": [WD + q for q in self.entity.items], "decision": self.decision,
                "candidates": [c.to_dict() for c in self.candidates]}


def _values(variable: str, terms: list[Term]) -> str:
    return f"VALUES ?{variable} {{ {' '.join(t.to_sparql() for t in terms)} }}"


def candidate_query(entity: Entity) -> str:
    """The Wikidata query for an entity's candidates (names bound as escaped literals)."""
    names = sorted({text for text, _ in entity.labels})
    terms = [Term.literal(text, lang=lang) for text in names for lang in ("en", "uk", "ru")]
    kinds = [Term.iri(WD + q) for q in KIND_CLASSES[entity.kind]]
    return _PROLOGUE + f"""SELECT DISTINCT ?item ?name ?country ?oblast ?coord ?description WHERE {{
  {_values("name", terms)}
  {_values("kind", kinds)}
  {{ ?item rdfs:label ?name }} UNION {{ ?item skos:altLabel ?name }}
  ?item wdt:P31/wdt:P279* ?kind .
  OPTIONAL {{ ?item wdt:P17 ?country }}
  OPTIONAL {{ ?item wdt:P131* ?oblast . ?oblast wdt:P31 wd:{OBLAST_OF_UKRAINE} }}
  OPTIONAL {{ ?item wdt:P625 ?coord }}
  OPTIONAL {{ ?item schema:description ?description FILTER(LANG(?description) = "en") }}
}}
LIMIT 500"""


def judge(entity: Entity, c: Candidate, tolerance_km: float, oblast_names: dict[str, str]) -> None:
    """Fill ``c.distance`` and ``c.problems`` by the rules in the module docstring."""
    if entity.lat is not None and c.points:
        c.distance = min(distance_km(entity.lat, entity.lon, lat, lon) for lat, lon in c.points)
    if entity.kind in ("settlement", "oblast") and UKRAINE not in c.countries:
        c.problems.append("not in Ukraine (P17)" if c.countries else "no country on Wikidata (P17)")
    if entity.kind == "settlement":
        if entity.oblast_item and entity.oblast_item not in c.oblasts:
            where = ", ".join(oblast_names.get(o, o) for o in sorted(c.oblasts)) or "no oblast"
            c.problems.append(f"in {where}, not {entity.oblast_label or entity.oblast_item} (P131)")
        if entity.lat is not None:
            if c.distance is None:
                c.problems.append("no coordinates on Wikidata (P625) to compare")
            elif c.distance > tolerance_km:
                c.problems.append(f"{c.distance:.1f} km from our point (tolerance {tolerance_km:g} km)")


def candidates(entity: Entity, engine, tolerance_km: float = DEFAULT_TOLERANCE_KM,
               oblast_names: dict[str, str] | None = None) -> Proposal:
    """Ask ``engine`` for the entity's candidates; judge and rank them."""
    by_item: dict[str, Candidate] = {}
    for row in engine.select(candidate_query(entity)).rows:
        item = row.get("item")
        if item is None or item.kind != "uri" or not _QID.match(qid(item.value)):
            continue
        c = by_item.setdefault(qid(item.value), Candidate(qid(item.value)))
        if "name" in row:
            c.names.add(f"{row['name'].value}@{row['name'].lang or ''}".rstrip("@"))
        if "country" in row:
            c.countries.add(qid(row["country"].value))
        if "oblast" in row:
            c.oblasts.add(qid(row["oblast"].value))
        if "coord" in row:
            point = parse_point(row["coord"].value)
            if point:
                c.points.add(point)
        if "description" in row:
            c.description = row["description"].value
    for c in by_item.values():
        judge(entity, c, tolerance_km, oblast_names or {})
    ranked = sorted(by_item.values(), key=lambda c: (not c.matches, len(c.problems),
                                                     c.distance if c.distance is not None else math.inf,
                                                     int(c.item[1:])))
    return Proposal(entity, ranked)


# --- checking existing links ---------------------------------------------------------------------

@dataclass
class Check:
    entity: Entity
    item: str
    labels: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    distance: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"entity": self.entity.iri, "item": WD + self.item, "ok": self.ok, "labels": sorted(self.labels),
                "distance_km": None if self.distance is None else round(self.distance, 1),
                "problems": self.problems}


def check_query(items: list[str]) -> str:
    kinds = sorted(KIND_NAMES)
    return _PROLOGUE + f"""SELECT ?item ?label ?kind ?country ?oblast ?coord WHERE {{
  {_values("item", [Term.iri(WD + q) for q in items])}
  {{ ?item rdfs:label ?label FILTER(LANG(?label) IN ("en", "uk", "ru")) }}
  UNION {{ {_values("kind", [Term.iri(WD + q) for q in kinds])} ?item wdt:P31/wdt:P279* ?kind }}
  UNION {{ ?item wdt:P17 ?country }}
  UNION {{ ?item wdt:P131* ?oblast . ?oblast wdt:P31 wd:{OBLAST_OF_UKRAINE} }}
  UNION {{ ?item wdt:P625 ?coord }}
}}"""


def check_links(selected: list[Entity], engine, tolerance_km: float = DEFAULT_TOLERANCE_KM,
                oblast_names: dict[str, str] | None = None, batch: int = 50) -> list[Check]:
    """Verify each existing link: label, kind, country, oblast, coordinates within tolerance."""
    pairs = [(e, q) for e in selected for q in e.items if _QID.match(q)]
    facts: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    items = sorted({q for _, q in pairs}, key=lambda q: int(q[1:]))
    for start in range(0, len(items), batch):
        for row in engine.select(check_query(items[start:start + batch])).rows:
            f = facts[qid(row["item"].value)]
            for key in ("label", "kind", "country", "oblast", "coord"):
                if key in row:
                    t = row[key]
                    f[key].add((t.value, t.lang) if key == "label" else (t.value if key == "coord" else qid(t.value)))
    out = []
    for entity, item in pairs:
        f = facts.get(item)
        check = Check(entity, item)
        out.append(check)
        if not f:
            check.problems.append("not found on the endpoint (deleted, merged or a typo?)")
            continue
        check.labels = {f"{text}@{lang}" for text, lang in f["label"]}
        ours = {text.casefold() for text, _ in entity.labels}
        if not any(text.casefold() in ours for text, _ in f["label"]):
            theirs = ", ".join(sorted(check.labels)) or "none"
            check.problems.append(f"no label in common (Wikidata: {theirs})")
        wanted = KIND_CLASSES[entity.kind]
        if not set(wanted) & f["kind"]:
            check.problems.append(f"not a {KIND_NAMES[wanted[0]]} (P31)")
        candidate = Candidate(item, countries=f["country"], oblasts=f["oblast"],
                              points={p for p in map(parse_point, f["coord"]) if p})
        judge(entity, candidate, tolerance_km, oblast_names or {})
        check.distance = candidate.distance
        check.problems += [p for p in candidate.problems if not p.startswith("no coordinates")]
    return out


# --- writing links ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    entity: Entity
    item: str
    evidence: str


def evidence(proposal: Proposal) -> str:
    c = proposal.matching[0]
    parts = [f"name {', '.join(sorted(c.names))}", KIND_NAMES[KIND_CLASSES[proposal.entity.kind][0]]]
    if proposal.entity.kind in ("settlement", "oblast"):
        parts.append("in Ukraine")
    if proposal.entity.kind == "settlement" and proposal.entity.oblast_label:
        parts.append(f"in {proposal.entity.oblast_label}")
    if c.distance is not None:
        parts.append(f"{c.distance:.1f} km from our point")
    others = len(proposal.candidates) - 1
    if others:
        parts.append(f"{others} other candidate{'s' * (others != 1)} ruled out")
    return "; ".join(parts)


def links_to_write(proposals: list[Proposal]) -> list[Link]:
    """The unambiguous proposals for entities that have no link yet."""
    return [Link(p.entity, p.matching[0].item, evidence(p))
            for p in proposals if p.decision == "unambiguous" and not p.entity.items]


def _link_quads(links: list[Link], endpoint: str, when: dt.datetime) -> list[ox.Quad]:
    from .remote import redact

    quads = []
    n = ox.NamedNode
    stamp = ox.Literal(when.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=n(XSD + "dateTime"))
    for link in links:
        entity, item = n(link.entity.iri), n(WD + link.item)
        local = link.entity.iri.rsplit("/", 1)[-1]
        record = n(f"{ID}link/{local}-{link.item}")
        activity = ox.BlankNode()
        quads += [
            ox.Quad(entity, n(SKOS + "exactMatch"), item),
            ox.Quad(record, n(RDF + "type"), n(KG + "LinkRecord")),
            ox.Quad(record, n(KG + "linkedEntity"), entity),
            ox.Quad(record, n(KG + "linkedItem"), item),
            ox.Quad(record, n(KG + "matchEvidence"), ox.Literal(link.evidence)),
            ox.Quad(record, n(PROV + "generatedAtTime"), stamp),
            ox.Quad(record, n(PROV + "wasGeneratedBy"), activity),
            ox.Quad(activity, n(RDF + "type"), n(PROV + "Activity")),
            ox.Quad(activity, n(RDFS + "label"), ox.Literal(f"kg link --write (kg {__version__})")),
            ox.Quad(activity, n(PROV + "used"), n(redact(endpoint))),
        ]
    return quads


def _declared_prefixes(text: str) -> dict[str, str]:
    declared = {}
    for line in text.splitlines():
        m = rdfio._PREFIX_DECL.match(line)
        if m:
            declared[m.group(1) or ""] = m.group(2)
    return declared


def link_block(original: str, links: list[Link], endpoint: str, when: dt.datetime) -> str:
    """Turtle to append to a data file: missing prefixes, the links and their PROV records."""
    from .export import _TurtleWriter

    declared = _declared_prefixes(original)
    usable = {p: ns for p, ns in PREFIXES.items() if declared.get(p, ns) == ns}
    writer = _TurtleWriter(_link_quads(links, endpoint, when), usable)
    body = "\n".join(writer.blocks())
    new = "".join(f"@prefix {p}: <{usable[p]}> .\n" for p in usable if p in writer.used and p not in declared)
    header = (f"\n# Wikidata links added by 'kg link --write' on {when:%Y-%m-%d} after checking "
              f"{len(links)} unambiguous candidate{'s' * (len(links) != 1)}; see kg:LinkRecord below.\n")
    return header + new + ("\n" if new else "") + body


def write_links(links: list[Link], files: Sequence[str | Path], endpoint: str,
                when: dt.datetime | None = None, check=None) -> dict[Path, list[Link]]:
    """Append each link to the data file that describes its entity, atomically per file.

    ``check(path_of_new_content)`` may veto the result (raise KgError) before it replaces the
    file: the caller validates the new data there. A file that changed since it was read is
    not overwritten.
    """
    when = when or dt.datetime.now(dt.UTC)
    by_file: dict[Path, list[Link]] = defaultdict(list)
    for link in links:
        home = next((Path(f) for f in files if link.entity.iri in rdfio.subject_lines(f)), None)
        if home is None:
            raise InputError(f"cannot tell which Turtle file describes {link.entity.short}; nothing was written")
        by_file[home].append(link)
    for path, file_links in by_file.items():
        original = path.read_bytes()
        text = original.decode("utf-8")
        new = text + ("" if text.endswith("\n") else "\n") + link_block(text, file_links, endpoint, when)
        new_bytes = new.encode("utf-8")
        digest = hashlib.sha256(original).digest()

        def produce(new_bytes=new_bytes, path=path, digest=digest) -> bytes:
            if check is not None:
                check(path, new_bytes)
            if hashlib.sha256(path.read_bytes()).digest() != digest:
                raise InputError("the file changed while the links were being checked; nothing was written", str(path))
            return new_bytes

        write_atomic(path, produce)
    return dict(by_file)


# --- enrichment ---------------------------------------------------------------------------------------

ENRICHMENT_GRAPH = "https://w3id.org/resistance-kg/graph/wikidata"


def enrich_query(items: list[str]) -> str:
    return _PROLOGUE + f"""CONSTRUCT {{
  ?item rdfs:label ?label ; wdt:P1082 ?population ; wdt:P625 ?coord .
}} WHERE {{
  {_values("item", [Term.iri(WD + q) for q in items])}
  {{ ?item rdfs:label ?label FILTER(LANG(?label) IN ("en", "uk", "ru")) }}
  UNION {{ ?item wdt:P1082 ?population }}
  UNION {{ ?item wdt:P625 ?coord }}
}}"""


def enrich(selected: list[Entity], engine, endpoint: str, when: dt.datetime | None = None,
           batch: int = 50) -> bytes:
    """Turtle about the linked Wikidata items only (labels en/uk/ru, population, coordinates).

    Statements are about ``wd:`` items, never about our entities, so loading the file next to
    the data adds facts without overwriting any curated one.
    """
    from .export import canonical, turtle
    from .remote import redact

    when = when or dt.datetime.now(dt.UTC)
    items = sorted({q for e in selected for q in e.items if _QID.match(q)}, key=lambda q: int(q[1:]))
    allowed = {WD + q for q in items}
    keep = {RDFS + "label", WDT + "P1082", WDT + "P625"}
    quads: list[ox.Quad] = []
    for start in range(0, len(items), batch):
        data = engine.construct(enrich_query(items[start:start + batch]))
        for t in ox.parse(data, format=ox.RdfFormat.TURTLE):
            if isinstance(t.subject, ox.NamedNode) and t.subject.value in allowed and t.predicate.value in keep:
                quads.append(ox.Quad(t.subject, t.predicate, t.object))
    n = ox.NamedNode
    graph = n(ENRICHMENT_GRAPH)
    quads += [
        ox.Quad(graph, n(RDF + "type"), n(PROV + "Entity")),
        ox.Quad(graph, n(PROV + "generatedAtTime"),
                ox.Literal(when.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=n(XSD + "dateTime"))),
        ox.Quad(graph, n(PROV + "wasDerivedFrom"), n(redact(endpoint))),
        ox.Quad(graph, n("http://purl.org/dc/terms/license"), n("http://creativecommons.org/publicdomain/zero/1.0/")),
    ]
    header = (f"# Facts about the linked Wikidata items, fetched by 'kg enrich' on {when:%Y-%m-%d} from "
              f"{redact(endpoint)}.\n# Wikidata data is CC0. Load this file next to the data; it states "
              "nothing about our own entities.\n")
    return header.encode("utf-8") + turtle(canonical(quads))


__all__ = [
    "WIKIDATA_SPARQL",
    "Candidate",
    "Check",
    "Entity",
    "Link",
    "Proposal",
    "candidates",
    "check_links",
    "enrich",
    "entities",
    "find_entity",
    "links_to_write",
    "load_entities",
    "write_links",
]
