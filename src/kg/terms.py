"""RDF terms as plain values, independent of the engine that produced them.

Results from the embedded store and from remote endpoints are converted to :class:`Term`
so that formatting, comparison and Python conversion are the same for every backend.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .namespaces import RDF, XSD

XSD_STRING = XSD + "string"
LANG_STRING = RDF + "langString"
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^<>\"{}|^`\\\x00-\x20]*$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def is_iri(value: str) -> bool:
    """True if ``value`` is an absolute IRI that can be written between < and > safely."""
    return bool(_IRI.match(value))


@dataclass(frozen=True)
class Term:
    """An RDF term: kind is 'uri', 'literal' or 'bnode' (the SPARQL JSON results names)."""

    kind: str
    value: str
    datatype: str | None = None
    lang: str | None = None

    @staticmethod
    def iri(value: str) -> Term:
        if not is_iri(value):
            raise ValueError(f"not an absolute IRI: {value!r}")
        return Term("uri", value)

    @staticmethod
    def literal(value: str, datatype: str | None = None, lang: str | None = None) -> Term:
        if lang is not None and not _LANG.match(lang):
            raise ValueError(f"not a language tag: {lang!r}")
        if datatype is not None and not is_iri(datatype):
            raise ValueError(f"not a datatype IRI: {datatype!r}")
        value.encode("utf-8")  # raises UnicodeEncodeError on lone surrogates
        if lang:
            return Term("literal", value, LANG_STRING, lang.lower())
        return Term("literal", value, datatype or XSD_STRING)

    def to_sparql(self) -> str:
        """The term in SPARQL/N-Triples syntax, escaped: safe to place in a query."""
        if self.kind == "uri":
            if not is_iri(self.value):
                raise ValueError(f"not an absolute IRI: {self.value!r}")
            return f"<{self.value}>"
        if self.kind == "bnode":
            return f"_:{self.value}"
        body = '"' + "".join(_ESCAPES.get(c, c) for c in self.value) + '"'
        if self.lang:
            return f"{body}@{self.lang}"
        if self.datatype and self.datatype != XSD_STRING:
            return f"{body}^^<{self.datatype}>"
        return body

    def to_python(self):
        """A Python value: int, Decimal, float, bool, date for those XSD types; str otherwise."""
        if self.kind != "literal":
            return self.value
        dtype = (self.datatype or "").removeprefix(XSD)
        try:
            if dtype in ("integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger",
                         "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong"):
                return int(self.value)
            if dtype == "decimal":
                return Decimal(self.value)
            if dtype in ("double", "float"):
                return float(self.value)
            if dtype == "boolean":
                return self.value in ("true", "1")
            if dtype == "date":
                return dt.date.fromisoformat(self.value)
            if dtype == "dateTime":
                return dt.datetime.fromisoformat(self.value.replace("Z", "+00:00"))
        except (ValueError, InvalidOperation):
            pass
        return self.value

    def to_json(self) -> dict:
        """The term as a SPARQL 1.1 Query Results JSON binding."""
        out = {"type": self.kind, "value": self.value}
        if self.lang:
            out["xml:lang"] = self.lang
        elif self.kind == "literal" and self.datatype and self.datatype != XSD_STRING:
            out["datatype"] = self.datatype
        return out

    @staticmethod
    def from_json(binding: dict) -> Term:
        """Read a SPARQL 1.1 JSON binding (also the legacy 'typed-literal' type)."""
        kind = binding.get("type")
        value = binding.get("value")
        if not isinstance(value, str) or kind not in ("uri", "literal", "typed-literal", "bnode"):
            raise ValueError(f"not a SPARQL JSON term: {binding!r}")
        if kind == "typed-literal":
            kind = "literal"
        if kind == "literal":
            lang = binding.get("xml:lang")
            if lang:
                return Term("literal", value, LANG_STRING, lang.lower())
            return Term("literal", value, binding.get("datatype") or XSD_STRING)
        return Term(kind, value)

    @staticmethod
    def from_oxigraph(term) -> Term:
        import pyoxigraph as ox

        if isinstance(term, ox.NamedNode):
            return Term("uri", term.value)
        if isinstance(term, ox.BlankNode):
            return Term("bnode", term.value)
        if isinstance(term, ox.Literal):
            if term.language:
                return Term("literal", term.value, LANG_STRING, term.language.lower())
            return Term("literal", term.value, term.datatype.value)
        raise ValueError(f"unsupported term {term!r}")
