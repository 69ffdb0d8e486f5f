"""Reading RDF files strictly, with errors that name ``file:line:column``.

pyoxigraph's parsers are the gate: rdflib's Turtle parser accepts invalid IRIs (spaces,
quotes), literal subjects and bad escapes, which would then travel into exports and
remote stores. Everything that reads data goes through :func:`parse_file`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from .errors import InputError
from .namespaces import XSD

_POSITION = re.compile(r"(?:at line (\d+) between columns (\d+) and \d+|at line (\d+)(?: column (\d+))?)")


def rdf_format(path: Path) -> ox.RdfFormat:
    """The RDF format of a file, from its extension; raises InputError if unknown."""
    fmt = ox.RdfFormat.from_extension(path.suffix.lstrip(".")) if path.suffix else None
    if fmt is None:
        raise InputError(
            f"unknown RDF file extension {path.suffix!r}; use .ttl, .nt, .nq, .trig, .rdf or .jsonld",
            str(path),
        )
    return fmt


@contextmanager
def file_errors(path: Path):
    """Turn the operating system's errors while reading ``path`` into InputError."""
    try:
        yield
    except FileNotFoundError:
        raise InputError("no such file", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not an RDF file", str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", str(path)) from None


def _read_bytes(path: Path) -> bytes:
    with file_errors(path):
        return path.read_bytes()


def parse_file(path: str | Path) -> list[ox.Quad]:
    """Parse one RDF file strictly into quads; raises InputError naming file, line and column.

    An empty file (no triples) is an error: it is almost always a truncated download or
    a failed export, never something a user means to validate or query.
    """
    path = Path(path)
    fmt = rdf_format(path)
    data = _read_bytes(path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError("the file is not valid UTF-8", str(path), line) from None
    try:
        # Blank node labels are local to a file: two files' _:b1 are different nodes.
        quads = list(ox.parse(data, format=fmt, base_iri=path.resolve().as_uri(), rename_blank_nodes=True))
    except SyntaxError as e:
        raise _syntax_error(path, e) from None
    if not quads:
        raise InputError("the file holds no triples (empty or only comments/prefixes)", str(path))
    return quads


def _syntax_error(path: Path, e: SyntaxError) -> InputError:
    msg = str(e.msg if getattr(e, "msg", None) else e)
    if "LoadDocumentCallback" in msg:
        msg = "it references a remote @context, and remote contexts are never fetched; inline the context"
    line, col = getattr(e, "lineno", None), getattr(e, "offset", None)
    if not line:
        m = _POSITION.search(msg)
        if m:
            line = int(m.group(1) or m.group(3))
            col = int(m.group(2) or m.group(4) or 0) or None
    # pyoxigraph prefixes its message with the position we already report.
    msg = re.sub(r"^Parser error at line \d+ between columns \d+ and \d+: ", "", msg)
    msg = re.sub(r"^Parser error at line \d+(?: column \d+)?: ", "", msg)
    return InputError(f"invalid {rdf_format(path).name}: {msg}", str(path), line, col)


def load_store(paths: Iterable[str | Path], store: ox.Store | None = None) -> ox.Store:
    """Parse files strictly into a (new, in-memory) pyoxigraph Store, all in the default graph."""
    store = store if store is not None else ox.Store()
    for path in paths:
        quads = parse_file(path)
        store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads)
    return store


def to_rdflib(quads: Iterable[ox.Quad], graph=None):
    """Copy pyoxigraph quads into an rdflib Graph (imported lazily: rdflib is slow to import)."""
    import rdflib

    graph = graph if graph is not None else rdflib.Graph()
    def conv(t):
        if isinstance(t, ox.NamedNode):
            return rdflib.URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            return rdflib.BNode(t.value)  # oxigraph's ids are unique per parse
        if isinstance(t, ox.Literal):
            if t.language:
                return rdflib.Literal(t.value, lang=t.language)
            if t.datatype.value == XSD + "string":  # RDF 1.1: the same term; rdflib's parsers omit it
                return rdflib.Literal(t.value)
            return rdflib.Literal(t.value, datatype=rdflib.URIRef(t.datatype.value))
        raise InputError(f"unsupported RDF term {t!r} (RDF-star triples are not supported)")

    for q in quads:
        graph.add((conv(q.subject), conv(q.predicate), conv(q.object)))
    return graph


_PREFIX_DECL = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_SUBJECT = re.compile(r"^(<[^>\s]*>|[A-Za-z][\w.-]*:(?:[\w\-.:%]|\\.)*|:(?:[\w\-.:%]|\\.)*)")


def subject_lines(path: str | Path) -> dict[str, int]:
    """Map each subject IRI written at the start of a line to the line number (1-based).

    Used only to point validation messages at the right place in a Turtle file; a
    subject this heuristic cannot find simply has no line.
    """
    path = Path(path)
    if path.suffix not in (".ttl", ".trig", ".n3"):
        return {}
    prefixes: dict[str, str] = {}
    lines: dict[str, int] = {}
    in_long_string = False
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text.count('"""') % 2 == 1:
            in_long_string = not in_long_string
            continue
        if in_long_string:
            continue
        m = _PREFIX_DECL.match(text)
        if m:
            prefixes[m.group(1) or ""] = m.group(2)
            continue
        m = _SUBJECT.match(text)
        if not m:
            continue
        token = m.group(1)
        if token.startswith("<"):
            iri = token[1:-1]
        else:
            prefix, _, local = token.partition(":")
            if prefix not in prefixes:
                continue
            iri = prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
        lines.setdefault(iri, number)
    return lines
