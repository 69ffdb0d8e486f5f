"""The query interface: a knowledge graph (data + ontology) and the canned-query catalogue.

    >>> from kg import KnowledgeGraph
    >>> kg = KnowledgeGraph.load()
    >>> rows = kg.query("gunfire-on-protesters", oblast="Kherson Oblast")

Queries run on an embedded pyoxigraph store (fast to build, fast to query). rdflib and pySHACL
are not imported on this path.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from . import paths, rdfio, sparqltext
from .catalogue import Catalogue, Query
from .errors import QueryError
from .results import Result
from .terms import Term


class LocalEngine:
    """Runs SPARQL on an in-memory pyoxigraph store."""

    def __init__(self, store: ox.Store):
        self.store = store

    def select(self, text: str) -> Result:
        # pyoxigraph evaluates lazily and reports evaluation failures (a failing SERVICE
        # call...) as OSError while iterating, so the whole read sits inside one guard.
        with _engine_errors():
            answer = self.store.query(text)
            if isinstance(answer, ox.QueryBoolean):
                return Result((), (), bool(answer))
            if not isinstance(answer, ox.QuerySolutions):
                raise QueryError("the query returns triples, not rows; use kg sparql for CONSTRUCT and DESCRIBE")
            variables = tuple(v.value for v in answer.variables)
            rows = []
            for solution in answer:
                row = {}
                for v in variables:
                    term = solution[v]
                    if term is not None:
                        row[v] = Term.from_oxigraph(term)
                rows.append(row)
        return Result(variables, tuple(rows))

    def construct(self, text: str) -> bytes:
        with _engine_errors():
            answer = self.store.query(text)
            if not isinstance(answer, ox.QueryTriples):
                raise QueryError("the query returns rows, not triples")
            from .export import turtle

            return turtle(ox.Quad(t.subject, t.predicate, t.object) for t in answer)


class RdflibEngine:
    """rdflib's in-memory SPARQL engine: the reference the differential tests and the benchmark
    compare the embedded store with. Slow on large graphs; never the default."""

    def __init__(self, graph):
        self.graph = graph

    @classmethod
    def load(cls, files: Sequence[str | Path]) -> RdflibEngine:
        return cls(rdfio.to_rdflib(q for f in files for q in rdfio.parse_file(f)))

    def select(self, text: str) -> Result:
        import rdflib

        try:
            answer = self.graph.query(text)
        except TimeoutError:
            raise  # a caller's time limit (the benchmark's alarm), not a problem with the query
        except Exception as e:  # noqa: BLE001 - rdflib raises many unrelated types for bad queries
            raise QueryError(f"rdflib could not run the query: {e}") from None
        if answer.type == "ASK":
            return Result((), (), bool(answer.askAnswer))
        variables = tuple(str(v) for v in answer.vars)
        rows = []
        for solution in answer:
            row = {}
            for v, value in zip(variables, solution):
                if value is None:
                    continue
                if isinstance(value, rdflib.URIRef):
                    row[v] = Term("uri", str(value))
                elif isinstance(value, rdflib.BNode):
                    row[v] = Term("bnode", str(value))
                elif value.language:
                    row[v] = Term.literal(str(value), lang=value.language.lower())
                else:
                    row[v] = Term.literal(str(value), str(value.datatype) if value.datatype else None)
            rows.append(row)
        return Result(variables, tuple(rows))


@contextmanager
def _engine_errors():
    """Turn pyoxigraph's parse and evaluation errors into QueryError."""
    try:
        yield
    except SyntaxError as e:
        raise QueryError(f"invalid SPARQL: {e}") from None
    except OSError as e:
        raise QueryError(f"the query failed: {e}") from None


class KnowledgeGraph:
    """The data, the ontology and the query catalogue, ready to answer questions."""

    def __init__(self, engine, catalogue: Catalogue):
        """``engine`` has ``select(text) -> Result`` and ``construct(text) -> bytes``."""
        self.engine = engine
        self.catalogue = catalogue
        # Where the embedded engine's SERVICE calls go (see kg.federation): a mirror per
        # service IRI, and the answer cache.
        self.service_mirrors: dict[str, str] = {}
        self.cache_dir: str | Path | None = None
        self.refresh = False

    @classmethod
    def load(cls, data: Sequence[str | Path] | None = None, *, ontology: str | Path | None = None,
             queries: str | Path | None = None, cache: bool = True,
             cache_dir: str | Path | None = None) -> KnowledgeGraph:
        """Load data files (default: the bundled data) with the ontology into an embedded store.

        With ``cache`` (the default) the store is built once per content of the data, ontology
        and shapes files and kept on disk (see :mod:`kg.store`); without, it is built in memory.
        """
        files = list(data) if data else paths.default_data_files()
        if cache:
            from .store import graph_store

            store = ox.Store.read_only(str(graph_store(files, ontology, cache_dir)))
        else:
            store = rdfio.load_store([*files, ontology or paths.ONTOLOGY])
        return cls(LocalEngine(store), Catalogue.load(queries or paths.QUERIES_DIR))

    @classmethod
    def remote(cls, endpoint: str, *, queries: str | Path | None = None, timeout: float | None = None,
               default_graphs: Sequence[str] = ()) -> KnowledgeGraph:
        """The same catalogue against a remote SPARQL 1.1 endpoint (see :mod:`kg.remote`)."""
        from .remote import DEFAULT_TIMEOUT, RemoteEngine

        engine = RemoteEngine(endpoint, timeout=timeout or DEFAULT_TIMEOUT, default_graphs=tuple(default_graphs))
        return cls(engine, Catalogue.load(queries or paths.QUERIES_DIR))

    def queries(self) -> list[Query]:
        """The canned queries, by name."""
        return list(self.catalogue)

    def run(self, name: str, params: dict | None = None, *, allow_service: bool = False) -> Result:
        """Run a canned query by name with parameter values; return engine-neutral terms.

        Queries tagged ``remote`` call other endpoints with SERVICE and run only when
        ``allow_service`` is true.
        """
        query = self.catalogue.get(name)
        if "remote" in query.tags and not allow_service:
            raise QueryError(f"query '{name}' calls a remote SPARQL endpoint (SERVICE); "
                             "pass --allow-service (allow_service=True) to run it")
        return self._run(query.bind(params or {}), "SELECT", allow_service)

    def query(self, name: str, **params) -> list[dict]:
        """Run a canned query; rows as dicts of Python values (str, int, date, None).

        Parameter names that are Python keywords take a trailing underscore: ``from_=``.
        """
        return self.run(name, {k.rstrip("_"): v for k, v in params.items()}).to_python()

    def sparql(self, text: str, *, allow_service: bool = False) -> Result | bytes:
        """Run any read-only query: rows for SELECT/ASK, Turtle bytes for CONSTRUCT/DESCRIBE."""
        sparqltext.check_size(text)
        form = sparqltext.check_read_only(text, allow_service=allow_service)
        return self._run(text, form, allow_service)

    def _run(self, text: str, form: str, allow_service: bool):
        def execute(t):
            return self.engine.construct(t) if form in ("CONSTRUCT", "DESCRIBE") else self.engine.select(t)

        if not (allow_service and isinstance(self.engine, LocalEngine) and sparqltext.calls_service(text)):
            return execute(text)
        from .federation import ServiceProxy

        with ServiceProxy(self.service_mirrors, cache_dir=self.cache_dir, refresh=self.refresh) as proxy:
            rewritten = proxy.rewrite(text)
            try:
                return execute(rewritten)
            except QueryError:
                if proxy.errors:  # the remote endpoint's own error says more than the engine's
                    raise proxy.errors[0] from None
                raise
