"""Query results, engine-neutral, and their standard serialisations.

``json`` is the SPARQL 1.1 Query Results JSON format, ``xml`` the SPARQL Query Results XML
format, ``csv`` and ``tsv`` the SPARQL 1.1 CSV/TSV formats, ``table`` an aligned text table
for people.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .namespaces import shorten
from .terms import Term

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

FORMATS = ("table", "csv", "tsv", "json", "xml")


@dataclass(frozen=True)
class Result:
    """A SELECT result (``variables`` and ``rows``) or an ASK result (``boolean``)."""

    variables: tuple[str, ...]
    rows: tuple[dict[str, Term], ...]
    boolean: bool | None = None

    def to_python(self) -> list[dict]:
        """Rows as dicts of Python values; unbound variables are None."""
        return [{v: (row[v].to_python() if v in row else None) for v in self.variables} for row in self.rows]

    def to_json(self) -> dict:
        if self.boolean is not None:
            return {"head": {}, "boolean": self.boolean}
        return {"head": {"vars": list(self.variables)},
                "results": {"bindings": [{v: t.to_json() for v, t in row.items()} for row in self.rows]}}


def serialize(result: Result, fmt: str) -> str:
    """Serialise a result in one of FORMATS."""
    if fmt == "json":
        return json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "xml":
        return to_xml(result)
    if result.boolean is not None:
        return {"csv": "_askResult\r\n{}\r\n", "tsv": "?_askResult\n{}\n"}.get(fmt, "{}\n").format(
            "true" if result.boolean else "false")
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(result.variables)
        for row in result.rows:
            w.writerow([_csv_value(row.get(v)) for v in result.variables])
        return buf.getvalue()
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in result.variables)]
        for row in result.rows:
            lines.append("\t".join(row[v].to_sparql() if v in row else "" for v in result.variables))
        return "\n".join(lines) + "\n"
    if fmt == "table":
        return table(result)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    # XML 1.0 cannot carry these characters at all, not even escaped; they become U+FFFD.
    return escape(_XML_ILLEGAL.sub("\ufffd", value))


def to_xml(result: Result) -> str:
    """The SPARQL Query Results XML Format (https://www.w3.org/TR/rdf-sparql-XMLres/)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if result.boolean is not None:
        out += ["  <head/>", f"  <boolean>{'true' if result.boolean else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out.append("  <head>")
    out += [f'    <variable name={quoteattr(v)}/>' for v in result.variables]
    out += ["  </head>", "  <results>"]
    for row in result.rows:
        out.append("    <result>")
        for v in result.variables:
            term = row.get(v)
            if term is None:
                continue
            if term.kind == "uri":
                value = f"<uri>{_xml_text(term.value)}</uri>"
            elif term.kind == "bnode":
                value = f"<bnode>{_xml_text(term.value)}</bnode>"
            elif term.lang:
                value = f"<literal xml:lang={quoteattr(term.lang)}>{_xml_text(term.value)}</literal>"
            elif term.datatype and term.datatype != XSD_STRING:
                value = f"<literal datatype={quoteattr(term.datatype)}>{_xml_text(term.value)}</literal>"
            else:
                value = f"<literal>{_xml_text(term.value)}</literal>"
            out.append(f"      <binding name={quoteattr(v)}>{value}</binding>")
        out.append("    </result>")
    out += ["  </results>", "</sparql>"]
    return "\n".join(out) + "\n"


def _csv_value(term: Term | None) -> str:
    if term is None:
        return ""
    return "_:" + term.value if term.kind == "bnode" else term.value


def _cell(term: Term | None, width: int = 70) -> str:
    if term is None:
        return ""
    if term.kind == "uri":
        text = shorten(term.value)
    elif term.kind == "bnode":
        text = "_:" + term.value
    else:
        text = term.value
    text = " ".join(text.split())  # newlines and tabs would break the alignment
    return text if len(text) <= width else text[: width - 1] + "…"


def table(result: Result) -> str:
    """An aligned plain-text table; IRIs shortened with the project's prefixes."""
    header = list(result.variables)
    cells = [[_cell(row.get(v)) for v in header] for row in result.rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    numeric = [
        all(row.get(v) is None or (row[v].kind == "literal" and row[v].value.lstrip("-").isdigit())
            for row in result.rows)
        for v in header
    ]

    def line(values):
        return "  ".join((val.rjust(w) if num else val.ljust(w)) for val, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out) + "\n"
