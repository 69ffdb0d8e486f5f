"""The catalogue of canned queries: ``queries/*.rq``, one query per file, named by its stem.

Each file is plain SPARQL with a grlc-style header of ``#+`` comment lines holding YAML
(``summary``, ``description``, ``tags``, ``defaults``, ``enumerate``), parsed strictly.
Parameters are the query's variables named ``?_name`` (required) or ``?__name`` (optional),
found by tokenising the query (a ``?_x`` in a comment or string is not a parameter). A
suffix gives the type, after grlc/BASIL: ``_iri``, ``_integer``, ``_xsd_date``; no suffix is
a plain string.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import sparqltext
from .errors import InputError, ParameterError, QueryError
from .namespaces import XSD
from .terms import Term

HEADER_KEYS = {"summary", "description", "tags", "defaults", "enumerate"}
TYPES = {"iri": "IRI", "integer": "integer", "xsd_integer": "integer", "xsd_date": "date", "string": "string"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")


@dataclass(frozen=True)
class Param:
    """A query parameter: its public name, SPARQL variable, type, and whether it is required."""

    name: str
    variable: str
    type: str
    required: bool
    default: str | None = None
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "required": self.required,
                "default": self.default, "choices": list(self.choices)}

    def convert(self, value) -> Term:
        """Check a user value against the type and choices; return it as an RDF term."""
        if self.choices and str(value) not in self.choices:
            raise ParameterError(f"parameter '{self.name}': {str(value)!r} is not one of "
                                 f"{', '.join(self.choices)}")
        try:
            if self.type == "date":
                if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                    value = value.isoformat()
                value = str(value)
                if not _DATE.match(value):
                    raise ValueError
                dt.date.fromisoformat(value)
                return Term.literal(value, XSD + "date")
            if self.type == "integer":
                if isinstance(value, bool):
                    raise ValueError
                value = str(value)
                if not _INTEGER.match(value):
                    raise ValueError
                return Term.literal(str(int(value)), XSD + "integer")
            if self.type == "IRI":
                return Term.iri(str(value))
            return Term.literal(str(value))
        except (ValueError, UnicodeEncodeError):
            accepted = {
                "date": "a date written YYYY-MM-DD, e.g. 2022-03-06",
                "integer": "a whole number, e.g. 3",
                "IRI": "an absolute IRI without spaces, quotes or angle brackets, e.g. https://example.org/x",
                "string": "text in UTF-8",
            }[self.type]
            raise ParameterError(f"parameter '{self.name}': {str(value)!r} is not {accepted}") from None


@dataclass(frozen=True)
class Query:
    """A canned query: its name (file stem), metadata, parameters and SPARQL text."""

    name: str
    path: Path
    summary: str
    description: str
    text: str
    form: str
    params: tuple[Param, ...] = ()
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "summary": self.summary, "description": self.description,
                "tags": list(self.tags), "params": [p.to_dict() for p in self.params],
                "file": self.path.name}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        names = [p.name for p in self.params]
        hint = f"; it takes {', '.join(names)}" if names else "; it takes no parameters"
        raise ParameterError(f"query '{self.name}' has no parameter '{name}'{hint}")

    def bind(self, values: dict, inline: bool = True) -> str:
        """The query text with parameter values bound (defaults applied, types checked)."""
        given = {self.param(str(k)).name: v for k, v in values.items() if v is not None}
        terms: dict[str, Term] = {}
        for p in self.params:
            value = given.get(p.name, p.default)
            if value is None:
                if p.required:
                    raise ParameterError(f"query '{self.name}' needs parameter '{p.name}' ({p.type}); "
                                         f"pass -p {p.name} VALUE")
                continue
            terms[p.variable] = p.convert(value)
        return sparqltext.bind_values(self.text, terms, inline)


def _split_header(text: str) -> tuple[str, int]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#+"):
            break
        lines.append(line[2:].removeprefix(" "))
    return "\n".join(lines), len(lines)


def _param_from_variable(variable: str) -> tuple[str, str, bool]:
    required = not variable.startswith("__")
    name = variable.lstrip("_")
    ptype = "string"
    for suffix in sorted(TYPES, key=len, reverse=True):
        if name.endswith("_" + suffix):
            name, ptype = name[: -len(suffix) - 1], TYPES[suffix]
            break
    return name, ptype, required


def _as_mapping(value, key: str, where: str) -> dict:
    """grlc writes defaults/enumerate as a list of one-key maps; a plain map is accepted too."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(i, dict) and len(i) == 1 for i in value):
        return {k: v for i in value for k, v in i.items()}
    raise InputError(f"'{key}' must map parameter names to values", where)


def load_query(path: str | Path) -> Query:
    """Read and check one ``.rq`` file; raises InputError naming file and line."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", where) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read: {e}", where) from None
    header, n_lines = _split_header(text)
    try:
        meta = yaml.safe_load(header) if header.strip() else {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"bad YAML in the '#+' header: {problem}", where,
                         (mark.line + 1) if mark else 1) from None
    if not isinstance(meta, dict):
        raise InputError("the '#+' header must be a YAML mapping (key: value lines)", where, 1)
    for key in meta:
        if key not in HEADER_KEYS:
            line = next((i for i, l in enumerate(header.splitlines(), 1) if l.startswith(f"{key}:")), 1)
            close = difflib.get_close_matches(str(key), sorted(HEADER_KEYS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"unknown header key '{key}'{hint}; allowed: {', '.join(sorted(HEADER_KEYS))}",
                             where, line)
    for key in ("summary", "description"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise InputError(f"the header needs a '{key}' (text)", where, 1)
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InputError("'tags' must be a list of words", where, 1)
    defaults = _as_mapping(meta.get("defaults"), "defaults", where)
    enumerate_ = _as_mapping(meta.get("enumerate"), "enumerate", where)

    body = "\n".join(text.splitlines()[n_lines:])
    try:
        sparqltext.check_size(body, where)
        form = sparqltext.check_read_only(body, where, allow_service="remote" in tags)
    except QueryError as e:
        raise InputError(str(e).removeprefix(where + ": ").removeprefix(where), where) from None

    for variable, line in sparqltext.parameters_in_subqueries(body):
        raise InputError(f"parameter ?{variable} is used inside a subquery, where bound values do not "
                         "reach; use it in the outermost WHERE group", where, line + n_lines)
    params = []
    for variable, _line in sparqltext.parameter_variables(body):
        name, ptype, required = _param_from_variable(variable)
        choices = enumerate_.get(name) or ()
        if not isinstance(choices, (list, tuple)):
            raise InputError(f"'enumerate' for '{name}' must be a list", where, 1)
        default = defaults.get(name)
        params.append(Param(name, variable, ptype, required and default is None,
                            None if default is None else str(default), tuple(str(c) for c in choices)))
    known = {p.name for p in params}
    for key in list(defaults) + list(enumerate_):
        if key not in known:
            raise InputError(f"the header names parameter '{key}', but the query has no ?_{key} or ?__{key} "
                             "variable", where, 1)
    return Query(path.stem, path, meta["summary"].strip(), meta["description"].strip(), body, form,
                 tuple(params), tuple(tags))


@dataclass
class Catalogue:
    """All canned queries of a folder, by name."""

    folder: Path
    queries: dict[str, Query] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path) -> Catalogue:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError("no such query folder", str(folder))
        return cls(folder, {q.name: q for q in map(load_query, sorted(folder.glob("*.rq")))})

    def get(self, name: str) -> Query:
        try:
            return self.queries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self.queries), n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise QueryError(f"unknown query '{name}'{hint}; run 'kg queries' to list them") from None

    def __iter__(self):
        return iter(self.queries.values())
