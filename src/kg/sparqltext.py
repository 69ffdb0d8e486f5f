"""Reading SPARQL text without executing it: tokens, parameters, the query form, safety checks,
and binding parameter values into the text.

Why bind in the text, as if by a VALUES block first in the WHERE group: rdflib's
``initBindings`` binds before evaluation in memory but becomes a trailing VALUES block on remote
stores, and the two can give different rows (a trailing VALUES joins after OPTIONAL, FILTER and
GROUP BY). Binding first inside the outermost group gives every engine the same query text and
the same meaning: the values are joined before any FILTER or OPTIONAL of that group is
evaluated. Where that meaning allows it, the value replaces the variable (see
:func:`bind_values`), which lets the engine use it as a constant. Values are
written by :meth:`kg.terms.Term.to_sparql`, which escapes every literal and validates every
IRI, so a value can never change the query's structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import QueryError, ReadOnlyError
from .terms import Term

MAX_QUERY_CHARS = 200_000
MAX_NESTING = 64

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
  | (?P<word>[^\s{}()\[\]<>"'\#?$,;=!|&*+/^]+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

QUERY_FORMS = {"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"}
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    line: int


def tokens(text: str) -> Iterator[Token]:
    """The query's tokens, comments and whitespace excluded."""
    line = 1
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind not in ("ws", "comment"):
            yield Token(kind, m.group(), m.start(), line)
        line += m.group().count("\n")


def check_size(text: str, where: str = "query") -> None:
    """Refuse queries too large or nested too deeply for the engine to handle safely.

    pyoxigraph crashes the whole process on a query nested a few thousand levels deep and
    cannot be interrupted, so the limits are checked before the query reaches it.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"{where}: the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    depth = 0
    for t in tokens(text):
        if t.kind == "open":
            depth += 1
            if depth > MAX_NESTING:
                raise QueryError(f"{where}:{t.line}: brackets are nested more than {MAX_NESTING} levels deep; "
                                 "simplify the query")
        elif t.kind == "close":
            depth -= 1


def query_form(text: str) -> str | None:
    """SELECT, CONSTRUCT, DESCRIBE or ASK; the update keyword for an update; None if unclear."""
    expect_iri = False
    for t in tokens(text):
        if expect_iri:
            expect_iri = t.kind == "word"  # after PREFIX comes 'name:' then the IRI
            continue
        if t.kind == "word":
            word = t.text.upper()
            if word in ("PREFIX", "BASE"):
                expect_iri = word == "PREFIX"
                continue
            return word
        if t.kind == "iri":
            continue
        return None
    return None


def check_read_only(text: str, where: str = "query", allow_service: bool = False) -> str:
    """Return the query form; refuse updates (ReadOnlyError), and SERVICE unless explicitly allowed."""
    form = query_form(text)
    if form in UPDATE_WORDS:
        raise ReadOnlyError(f"{where}: {form} is a SPARQL Update; only queries (SELECT, ASK, CONSTRUCT, DESCRIBE) "
                            "are allowed: this is read-only and nothing is ever changed")
    if form not in QUERY_FORMS:
        raise QueryError(f"{where}: not a SPARQL query (expected SELECT, ASK, CONSTRUCT or DESCRIBE"
                         + (f", found {form!r})" if form else ")"))
    if not allow_service:
        for t in tokens(text):
            if t.kind == "word" and t.text.upper() == "SERVICE":
                raise QueryError(f"{where}:{t.line}: the query calls a remote endpoint with SERVICE; "
                                 "pass --allow-service (allow_service=True) if you mean it")
    return form


def parameter_variables(text: str) -> list[tuple[str, int]]:
    """Variables named ?_x or ?__x (grlc's parameter convention), with their first line."""
    seen: dict[str, int] = {}
    for t in tokens(text):
        if t.kind == "var" and t.text[1:].startswith("_"):
            seen.setdefault(t.text[1:], t.line)
    return list(seen.items())


def projection(text: str) -> list[str]:
    """The variables a SELECT query projects, in order (``?x`` and ``(... AS ?x)``)."""
    out: list[str] = []
    depth = 0
    started = False
    prev: Token | None = None
    for t in tokens(text):
        if not started:
            started = t.kind == "word" and t.text.upper() == "SELECT"
            continue
        if t.kind == "open":
            if depth == 0 and t.text == "{":
                break
            depth += 1
        elif t.kind == "close":
            depth -= 1
        elif t.kind == "word" and depth == 0 and t.text.upper() == "WHERE":
            break
        elif t.kind == "var" and (depth == 0 or (prev and prev.kind == "word" and prev.text.upper() == "AS")):
            out.append(t.text)
        prev = t
    return out


def parameters_in_subqueries(text: str) -> list[tuple[str, int]]:
    """Parameter variables used inside a nested SELECT, where bound values cannot reach."""
    found = []
    depth = 0
    sub_depths: list[int] = []  # depths at which a nested SELECT's group started
    for t in tokens(text):
        if t.kind == "open":
            depth += 1
        elif t.kind == "close":
            if sub_depths and depth == sub_depths[-1]:
                sub_depths.pop()
            depth -= 1
        elif t.kind == "word" and t.text.upper() == "SELECT" and depth > 0:
            sub_depths.append(depth)
        elif t.kind == "var" and t.text[1:].startswith("_") and sub_depths:
            found.append((t.text[1:], t.line))
    return found


def _where_group_open(text: str) -> int:
    """Index just after the '{' that opens the outermost WHERE group."""
    form = None
    depth = 0
    skip_template = False
    saw_where = False
    for t in tokens(text):
        if form is None:
            if t.kind == "word" and t.text.upper() in QUERY_FORMS:
                form = t.text.upper()
                skip_template = form == "CONSTRUCT"
            continue
        if t.kind == "word" and depth == 0 and t.text.upper() == "WHERE":
            saw_where = True
            skip_template = False
            continue
        if t.kind == "open":
            if depth == 0 and t.text == "{":
                if skip_template:
                    skip_template = False  # the CONSTRUCT template; the pattern comes next
                    depth += 1
                    continue
                if form == "CONSTRUCT" and saw_where and _is_short_construct(text):
                    break
                return t.start + 1
            depth += 1
        elif t.kind == "close":
            depth -= 1
    raise QueryError("cannot find the query's WHERE group to bind parameters into")


def _is_short_construct(text: str) -> bool:
    """CONSTRUCT WHERE { ... } (no template): its group allows triples only, not VALUES."""
    toks = [t for t in tokens(text) if t.kind in ("word", "open")]
    for a, b in zip(toks, toks[1:]):
        if a.text.upper() == "CONSTRUCT":
            return b.text.upper() == "WHERE"
    return False


def bind_values(text: str, values: dict[str, Term], inline: bool = True) -> str:
    """Return the query with parameter values bound.

    A variable whose every occurrence is in a FILTER of the outermost WHERE group (anything
    inside that FILTER, EXISTS patterns included) or a triple-pattern term of that group is
    replaced by its value: there the replacement means exactly what a VALUES block first in the
    group means, and engines can use the constant (Oxigraph pushes such filters down to the
    index scans; joined from VALUES it evaluates them after the whole join). Any other variable
    (in the projection, a BIND, a nested group, SELECT *) is bound by
    ``VALUES (?v ...) { (term ...) }`` first in the WHERE group; ``inline=False`` binds every
    variable so (the tests compare the two).
    """
    if not values:
        return text
    places = _substitution_places(text, set(values)) if inline else {}
    edits = sorted(((start, end, is_bound, name) for name in values
                    for start, end, is_bound in places.get(name) or ()), reverse=True)
    rest = {name: term for name, term in values.items() if places.get(name) is None}
    pos = _where_group_open(text) if rest else 0  # before every substituted place
    for start, end, is_bound, name in edits:
        # BOUND takes a variable, not a value: BOUND(?v) of a bound ?v is true.
        text = text[:start] + ("true" if is_bound else values[name].to_sparql()) + text[end:]
    if rest:
        names = " ".join(f"?{name}" for name in rest)
        terms = " ".join(term.to_sparql() for term in rest.values())
        text = f"{text[:pos]} VALUES ({names}) {{ ({terms}) }} {text[pos:]}"
    return text


def _substitution_places(text: str, names: set[str]) -> dict[str, list[tuple[int, int, bool]] | None]:
    """For each variable, the spans a constant replaces (see bind_values), or None.

    A span is (start, end, is_bound): the variable itself, or ``BOUND(?v)`` as a whole."""
    places: dict[str, list[tuple[int, int, bool]] | None] = {name: [] for name in names}
    try:
        group_open = _where_group_open(text)
    except QueryError:
        return {name: None for name in names}
    if _selects_all(text):
        return {name: None for name in names}
    depth = 0  # brackets of any kind, counted from the outermost WHERE group's '{'
    filter_depth: int | None = None  # depth of the bracket that opened the current top-level FILTER
    awaiting_filter = closed = False
    prev: Token | None = None
    toks = list(tokens(text))
    for i, t in enumerate(toks):
        if t.start < group_open or closed:
            if t.kind == "var" and t.text[1:] in names:
                places[t.text[1:]] = None  # projection, CONSTRUCT template, GROUP BY, ORDER BY...
            continue
        if t.kind == "open":
            depth += 1
            if awaiting_filter:
                filter_depth, awaiting_filter = depth, False
        elif t.kind == "close":
            if depth == filter_depth:
                filter_depth = None
            depth -= 1
            closed = depth < 0
        elif t.kind == "word" and depth == 0 and t.text.upper() == "FILTER":
            awaiting_filter = True
        elif t.kind == "var" and t.text[1:] in names:
            name = t.text[1:]
            after_keyword = prev is not None and prev.kind == "word" and prev.text.upper() in ("VALUES", "GRAPH")
            in_triple = depth == 0 and not awaiting_filter and not after_keyword
            found = places[name]
            if found is not None and filter_depth is not None and _bound_call(toks, i):
                found.append((toks[i - 2].start, toks[i + 1].start + 1, True))
            elif found is not None and (filter_depth is not None or in_triple):
                found.append((t.start, t.start + len(t.text), False))
            else:
                places[name] = None
        prev = t
    return places


def _bound_call(toks: list[Token], i: int) -> bool:
    """Whether toks[i] is the variable of ``BOUND ( ?v )``."""
    return (i >= 2 and i + 1 < len(toks) and toks[i - 2].kind == "word" and toks[i - 2].text.upper() == "BOUND"
            and toks[i - 1].text == "(" and toks[i + 1].text == ")")


def _selects_all(text: str) -> bool:
    """SELECT * (or SELECT DISTINCT *): every variable of the pattern is projected."""
    words = [t.text.upper() for t in tokens(text)]
    if "SELECT" not in words:
        return False
    following = [w for w in words[words.index("SELECT") + 1:] if w not in ("DISTINCT", "REDUCED")]
    return bool(following) and following[0] == "*"


def calls_service(text: str) -> bool:
    """Whether the query contains a SERVICE clause."""
    return any(t.kind == "word" and t.text.upper() == "SERVICE" for t in tokens(text))


def rewrite_services(text: str, replace) -> str:
    """The query with each ``SERVICE <iri>`` target replaced by ``replace(iri)`` (an absolute IRI).

    Only full ``<IRI>`` targets are accepted: a variable or prefixed name after SERVICE is
    refused, so that every remote call the query can make is known before it runs.
    """
    out, last, pending = [], 0, None
    for t in tokens(text):
        if pending is not None:
            if t.kind == "word" and t.text.upper() == "SILENT":
                continue
            if t.kind != "iri":
                raise QueryError(f"query:{t.line}: SERVICE must name its endpoint as a full <IRI> here, "
                                 f"not {t.text!r}")
            target = replace(t.text[1:-1])
            out.append(text[last:t.start] + Term.iri(target).to_sparql())
            last = t.start + len(t.text)
            pending = None
        elif t.kind == "word" and t.text.upper() == "SERVICE":
            pending = t
    return "".join(out) + text[last:]
