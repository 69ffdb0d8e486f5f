"""A fast SHACL validator for the subset of SHACL that ``ontology/shapes.ttl`` uses.

pySHACL is the reference, and the tests check that this validator reports exactly the same
results on the bundled data, on every invalid fixture and on synthetic data. pySHACL walks
the graph focus node by focus node from Python; on 100,000 events that takes many minutes
(and rdflib's memory store alone needs ~3 GB). Here each constraint of each shape becomes
one SPARQL query over the whole embedded Oxigraph store: the engine finds every violation of
that constraint at once.

Supported: node shapes with ``sh:targetClass`` / ``sh:targetSubjectsOf``; property shapes
whose ``sh:path`` is an IRI, an ``sh:inversePath`` or a sequence; ``sh:minCount``,
``sh:maxCount``, ``sh:class``, ``sh:datatype``, ``sh:nodeKind``, ``sh:pattern`` (with
``sh:flags``), ``sh:languageIn``, ``sh:hasValue``, ``sh:in``, ``sh:minInclusive``,
``sh:maxInclusive``, ``sh:minExclusive``, ``sh:maxExclusive``, ``sh:qualifiedValueShape`` with
``sh:qualifiedMinCount`` / ``sh:qualifiedMaxCount``, ``sh:or`` (of shapes built from these),
SPARQL-based constraints (``sh:sparql`` with ``sh:select`` and ``sh:prefixes``), and
``sh:message``. Anything else raises :class:`UnsupportedShape`, and ``kg validate`` then falls
back to pySHACL, so a new shape can never be silently ignored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from .errors import KgError
from .namespaces import RDF, RDFS, SH, XSD

_TYPE = f"<{RDF}type>/<{RDFS}subClassOf>*"
_HANDLED = {SH + k for k in (
    "path", "message", "minCount", "maxCount", "class", "datatype", "nodeKind", "pattern", "flags", "languageIn",
    "hasValue", "in", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive", "qualifiedValueShape",
    "qualifiedMinCount", "qualifiedMaxCount", "or", "sparql", "targetClass", "targetSubjectsOf", "property",
    "name", "description", "order", "group")} | {RDF + "type", RDFS + "label", RDFS + "comment"}
_CAST = {XSD + t for t in ("integer", "decimal", "date", "dateTime", "boolean", "double", "float")}


class UnsupportedShape(KgError):
    """The shapes use a SHACL feature this validator does not implement."""


@dataclass
class Found:
    """One validation result, in pySHACL's terms."""

    focus: object
    message: str
    constraint: str
    path: str | None = None
    value: object = None


@dataclass
class _Shape:
    node: object
    path: str | None = None          # SPARQL property path text
    path_text: str | None = None     # the path as the reports write it
    message: str | None = None
    values: dict[str, list] = field(default_factory=lambda: defaultdict(list))


class _Shapes:
    def __init__(self, quads: list[ox.Quad]):
        self.out: dict[object, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for q in quads:
            self.out[q.subject][q.predicate.value].append(q.object)

    def one(self, node, prop):
        vals = self.out.get(node, {}).get(prop, [])
        return vals[0] if vals else None

    def all(self, node, prop) -> list:
        return list(self.out.get(node, {}).get(prop, []))

    def rdf_list(self, node) -> list:
        items = []
        while node is not None and not (isinstance(node, ox.NamedNode) and node.value == RDF + "nil"):
            items.append(self.one(node, RDF + "first"))
            node = self.one(node, RDF + "rest")
        return items


def _term(t) -> str:
    return str(t)  # pyoxigraph writes N-Triples syntax: escaped, safe in SPARQL text


def _shorten(iri: str) -> str:
    from .namespaces import shorten

    return shorten(iri)


class Validator:
    """Compile the shapes once; ``run(store)`` returns the results for a store (data + ontology)."""

    def __init__(self, shapes_quads: list[ox.Quad]):
        self.g = _Shapes(shapes_quads)
        self.queries: list[tuple[str, callable]] = []
        node_shapes = {q.subject for q in shapes_quads
                       if q.predicate.value == RDF + "type" and q.object.value == SH + "NodeShape"}
        node_shapes |= {q.subject for q in shapes_quads if q.predicate.value in (SH + "targetClass",
                                                                                   SH + "targetSubjectsOf")}
        for unsupported in (SH + "targetNode", SH + "targetObjectsOf", SH + "deactivated", SH + "severity",
                            SH + "closed", SH + "node", SH + "and", SH + "not", SH + "xone"):
            for q in shapes_quads:
                if q.predicate.value == unsupported:
                    raise UnsupportedShape(f"sh:{unsupported[len(SH):]} is not supported by the fast validator")
        for shape in sorted(node_shapes, key=str):
            self._compile_node_shape(shape)

    # --- compiling ---------------------------------------------------------------------------

    def _targets(self, shape) -> str:
        parts = [f"{{ ?this {_TYPE} {_term(c)} }}" for c in self.g.all(shape, SH + "targetClass")]
        parts += [f"{{ ?this {_term(p)} ?any }}" for p in self.g.all(shape, SH + "targetSubjectsOf")]
        if not parts:
            raise UnsupportedShape(f"shape {shape} has no sh:targetClass or sh:targetSubjectsOf")
        return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join(parts) + " } }"

    def _path(self, node) -> tuple[str, str]:
        if isinstance(node, ox.NamedNode):
            return _term(node), _shorten(node.value)
        inverse = self.g.one(node, SH + "inversePath")
        if inverse is not None:
            return "^" + _term(inverse), "^" + _shorten(inverse.value)
        items = self.g.rdf_list(node) if self.g.one(node, RDF + "first") is not None else []
        if items and all(isinstance(i, ox.NamedNode) for i in items):
            return "/".join(_term(i) for i in items), "/".join(_shorten(i.value) for i in items)
        raise UnsupportedShape(f"unsupported sh:path {node}")

    def _message(self, node) -> str | None:
        m = self.g.one(node, SH + "message")
        return m.value if m is not None else None

    def _check_keys(self, node) -> None:
        for prop in self.g.out.get(node, {}):
            if prop not in _HANDLED:
                raise UnsupportedShape(f"{_shorten(prop)} on {node} is not supported by the fast validator")

    def _conforms(self, node, var: str) -> str:
        """A SPARQL expression true when ``var`` conforms to the shape ``node`` (no counts needed)."""
        self._check_keys(node)
        path = self.g.one(node, SH + "path")
        if path is not None:  # a property shape used as a value shape: checks on the values of var
            sparql_path, _ = self._path(path)
            checks = []
            for v in self.g.all(node, SH + "hasValue"):
                checks.append(f"EXISTS {{ {var} {sparql_path} {_term(v)} }}")
            n = self.g.one(node, SH + "minCount")
            if n is not None:
                checks.append(f"EXISTS {{ SELECT (COUNT(DISTINCT ?q) AS ?c) WHERE {{ {var} {sparql_path} ?q }} "
                              f"HAVING (COUNT(DISTINCT ?q) >= {int(n.value)}) }}" if int(n.value) > 1
                              else f"EXISTS {{ {var} {sparql_path} ?q }}")
            other = set(self.g.out.get(node, {})) - {SH + "path", SH + "hasValue", SH + "minCount", SH + "message"}
            if other:
                raise UnsupportedShape(f"value shape {node} uses {sorted(other)}")
            return "(" + " && ".join(checks or ["true"]) + ")"
        return "(" + " && ".join(self._value_checks(node, var) or ["true"]) + ")"

    def _value_checks(self, node, var: str) -> list[str]:
        """Expressions that are true when ``var`` satisfies each value-type constraint of ``node``."""
        return [expr for _, expr in self._value_constraints(node, var)]

    def _value_constraints(self, node, var: str) -> list[tuple[str, str]]:
        out = []
        for c in self.g.all(node, SH + "class"):
            out.append(("ClassConstraintComponent", f"EXISTS {{ {var} {_TYPE} {_term(c)} }}"))
        for d in self.g.all(node, SH + "datatype"):
            if d.value == RDF + "langString":
                expr = f"(isLiteral({var}) && LANG({var}) != \"\")"
            else:
                expr = f"(isLiteral({var}) && sameTerm(DATATYPE({var}), {_term(d)}))"
                if d.value in _CAST:  # well-formed lexical form, as pySHACL requires
                    expr = f"({expr} && COALESCE({_term(d)}(STR({var})) = {_term(d)}(STR({var})), false))"
            out.append(("DatatypeConstraintComponent", expr))
        for k in self.g.all(node, SH + "nodeKind"):
            test = {"IRI": f"isIRI({var})", "BlankNode": f"isBlank({var})", "Literal": f"isLiteral({var})",
                    "BlankNodeOrIRI": f"(isBlank({var}) || isIRI({var}))",
                    "BlankNodeOrLiteral": f"(isBlank({var}) || isLiteral({var}))",
                    "IRIOrLiteral": f"(isIRI({var}) || isLiteral({var}))"}.get(k.value[len(SH):])
            if test is None:
                raise UnsupportedShape(f"sh:nodeKind {k}")
            out.append(("NodeKindConstraintComponent", test))
        for p in self.g.all(node, SH + "pattern"):
            flags = self.g.one(node, SH + "flags")
            flag_text = f", {_term(ox.Literal(flags.value))}" if flags is not None else ""
            out.append(("PatternConstraintComponent",
                        f"(!isBlank({var}) && REGEX(STR({var}), {_term(ox.Literal(p.value))}{flag_text}))"))
        for lst in self.g.all(node, SH + "languageIn"):
            tags = [t.value for t in self.g.rdf_list(lst)]
            test = " || ".join(f"LANGMATCHES(LANG({var}), {_term(ox.Literal(t))})" for t in tags) or "false"
            out.append(("LanguageInConstraintComponent", f"(isLiteral({var}) && ({test}))"))
        for lst in self.g.all(node, SH + "in"):
            members = ", ".join(_term(t) for t in self.g.rdf_list(lst))
            out.append(("InConstraintComponent", f"({var} IN ({members}))"))
        for key, op in (("minInclusive", ">="), ("maxInclusive", "<="), ("minExclusive", ">"), ("maxExclusive", "<")):
            for bound in self.g.all(node, SH + key):
                out.append((key[0].upper() + key[1:] + "ConstraintComponent",
                            f"COALESCE({var} {op} {_term(bound)}, false)"))
        for lst in self.g.all(node, SH + "or"):
            alternatives = [self._conforms(s, var) for s in self.g.rdf_list(lst)]
            out.append(("OrConstraintComponent", "(" + " || ".join(alternatives) + ")"))
        return out

    def _compile_node_shape(self, shape) -> None:
        self._check_keys(shape)
        targets = self._targets(shape)
        message = self._message(shape)
        # Node-level value constraints (e.g. sh:or of property shapes): the value node is the focus.
        for component, expr in self._value_constraints(shape, "?this"):
            self._add(f"SELECT ?this WHERE {{ {targets} FILTER(!{expr}) }}",
                      component, message, None, value_is_focus=True)
        for prop in self.g.all(shape, SH + "property"):
            self._compile_property(prop, targets)
        for constraint in self.g.all(shape, SH + "sparql"):
            self._compile_sparql(constraint, targets)

    def _compile_property(self, prop, targets: str) -> None:
        self._check_keys(prop)
        path_node = self.g.one(prop, SH + "path")
        if path_node is None:
            raise UnsupportedShape(f"property shape {prop} has no sh:path")
        path, path_text = self._path(path_node)
        message = self._message(prop)
        for component, expr in self._value_constraints(prop, "?value"):
            self._add(f"SELECT ?this ?value WHERE {{ {targets} ?this {path} ?value . FILTER(!{expr}) }}",
                      component, message, path_text)
        self._count(prop, "minCount", targets, path, None, message, path_text)
        self._count(prop, "maxCount", targets, path, None, message, path_text)
        qualified = self.g.one(prop, SH + "qualifiedValueShape")
        if qualified is not None:
            ok = self._conforms(qualified, "?value")
            self._count(prop, "qualifiedMinCount", targets, path, ok, message, path_text)
            self._count(prop, "qualifiedMaxCount", targets, path, ok, message, path_text)
        for v in self.g.all(prop, SH + "hasValue"):
            self._add(f"SELECT ?this WHERE {{ {targets} FILTER NOT EXISTS {{ ?this {path} {_term(v)} }} }}",
                      "HasValueConstraintComponent", message, path_text)

    def _count(self, prop, key: str, targets: str, path: str, ok: str | None, message, path_text) -> None:
        """sh:minCount / sh:maxCount (``ok`` None) or their qualified forms: one GROUP BY query.

        A minimum also counts focus nodes with no value at all (OPTIONAL); a minimum of 0 is no
        constraint."""
        n = self.g.one(prop, SH + key)
        if n is None:
            return
        limit = int(n.value)
        minimum = key.lower().endswith("mincount")
        if minimum and limit <= 0:
            return
        values = f"?this {path} ?value" + (f" FILTER({ok})" if ok else "")
        pattern = f"OPTIONAL {{ {values} }}" if minimum else values
        component = key[0].upper() + key[1:] + "ConstraintComponent"
        self._add(f"SELECT ?this WHERE {{ {targets} {pattern} }} "
                  f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) {'<' if minimum else '>'} {limit})",
                  component, message, path_text)

    def _compile_sparql(self, constraint, targets: str) -> None:
        select = self.g.one(constraint, SH + "select")
        if select is None:
            raise UnsupportedShape(f"SPARQL constraint {constraint} has no sh:select")
        prefixes = ""
        for holder in self.g.all(constraint, SH + "prefixes"):
            for decl in self.g.all(holder, SH + "declare"):
                prefix, ns = self.g.one(decl, SH + "prefix"), self.g.one(decl, SH + "namespace")
                prefixes += f"PREFIX {prefix.value}: <{ns.value}>\n"
        body = select.value.replace("$this", "?this")
        m = re.search(r"\bWHERE\s*\{", body, re.IGNORECASE)
        if m is None:
            raise UnsupportedShape(f"cannot read the SPARQL constraint {constraint}")
        # The constraint's own query, restricted to the shape's focus nodes (pySHACL pre-binds
        # $this to each of them; binding all of them at once gives the same results).
        text = prefixes + body[:m.end()] + f" {targets} " + body[m.end():]
        self._add(text, "SPARQLConstraintComponent", self._message(constraint), None, template=True)

    def _add(self, text, component, message, path_text, value_is_focus=False, template=False) -> None:
        def results(store: ox.Store):
            for row in store.query(text, use_default_graph_as_union=True):
                focus = row["this"]
                value = focus if value_is_focus else _get(row, "value")
                msg = message or f"{component} not met"
                if template:
                    msg = re.sub(r"\{[?$](\w+)\}", lambda m, row=row: _lexical(_get(row, m.group(1))), msg)
                yield Found(focus, msg, component, path_text, value)

        self.queries.append((text, results))

    def run(self, store: ox.Store) -> list[Found]:
        return [found for _, results in self.queries for found in results(store)]


def _get(row, name):
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _lexical(term) -> str:
    return "" if term is None else term.value
