"""Query results, engine-neutral, and their standard serialisations.

``json`` is the SPARQL 1.1 Query Results JSON format, ``csv`` and ``tsv`` the SPARQL 1.1
CSV/TSV formats, ``table`` an aligned text table for people.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from .namespaces import shorten
from .terms import Term

FORMATS = ("table", "csv", "tsv", "json")


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
