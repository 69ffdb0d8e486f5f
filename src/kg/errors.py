"""Exceptions raised by the kg library.

The library raises these; only ``kg.cli`` prints them and picks an exit code.

    KgError                  base class: anything the user can fix
    ├── InputError           a data, ontology, shapes or query file cannot be read or parsed
    ├── QueryError           a query is unknown, malformed, or not allowed to run
    │   ├── ParameterError   a query parameter is unknown, missing or has a bad value
    │   ├── ReadOnlyError    the text is a SPARQL Update: nothing is ever changed
    │   └── QueryTimeout     a query ran longer than its time limit and was stopped
    └── EndpointError        a remote SPARQL endpoint failed or answered something unusable

This module imports nothing from the package.
"""

from __future__ import annotations


class KgError(Exception):
    """Base class: an error caused by input the user can correct."""


class InputError(KgError):
    """A file cannot be read or parsed; carries ``path`` and, where known, ``line``/``column``."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None, column: int | None = None):
        self.path = path
        self.line = line
        self.column = column
        self.reason = message
        where = path or ""
        if path and line:
            where += f":{line}"
            if column:
                where += f":{column}"
        super().__init__(f"{where}: {message}" if where else message)


class QueryError(KgError):
    """A query is unknown, malformed, or refused (updates, SERVICE without permission)."""


class ParameterError(QueryError):
    """A query parameter is unknown, missing, or has a value of the wrong type."""


class ReadOnlyError(QueryError):
    """The text is a SPARQL Update (INSERT, DELETE, LOAD...): only queries run, nothing is changed."""


class QueryTimeout(QueryError):
    """A query ran longer than its time limit and was stopped (its worker process was killed)."""


class EndpointError(KgError):
    """A remote SPARQL endpoint failed, timed out, or answered something that is not a result."""
