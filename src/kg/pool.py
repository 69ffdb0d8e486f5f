"""Running queries where they can be stopped: a pool of worker processes over a read-only store.

pyoxigraph cannot interrupt a query that is running, and a hostile query can take minutes or
all the memory. So ``kg serve`` never evaluates a query in its own process: each query goes to
a worker process that opens the cached store read-only (milliseconds), evaluates it, and
sends back at most ``max_rows`` rows (or triples, already serialised). A worker that runs
past the time limit is killed and replaced; so is one that dies (a crash in the engine
takes down a worker, never the server). With several workers, a slow query occupies one of
them and cheap queries keep going through the others.

    pool = WorkerPool(store_path, workers=3, timeout=20)
    answer = pool.run("SELECT ...", "SELECT", max_rows=10_000)
    pool.close()
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import KgError, QueryError, QueryTimeout
from .results import Result

@dataclass(frozen=True)
class Answer:
    """What a worker sends back: rows (``result``) or serialised triples (``body``)."""

    result: Result | None = None
    body: bytes | None = None
    count: int = 0
    truncated: bool = False


class Busy(KgError):
    """Every worker stayed busy for longer than the caller was willing to wait."""


def _work(conn, store_path: str) -> None:
    """A worker's life: open the store read-only, answer jobs until the pipe closes."""
    import pyoxigraph as ox

    from .terms import Term

    store = ox.Store.read_only(store_path)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        text, max_rows, rdf_format = job
        try:
            answer = store.query(text)
            if isinstance(answer, ox.QueryBoolean):
                conn.send(("ok", Answer(Result((), (), bool(answer)))))
                continue
            if isinstance(answer, ox.QuerySolutions):
                variables = tuple(v.value for v in answer.variables)
                rows, truncated = [], False
                for solution in answer:
                    if len(rows) == max_rows:
                        truncated = True
                        break
                    rows.append({v: Term.from_oxigraph(solution[v]) for v in variables if solution[v] is not None})
                conn.send(("ok", Answer(Result(variables, tuple(rows)), count=len(rows), truncated=truncated)))
                continue
            quads, truncated = [], False
            for triple in answer:
                if len(quads) == max_rows:
                    truncated = True
                    break
                quads.append(ox.Quad(triple.subject, triple.predicate, triple.object))
            conn.send(("ok", Answer(body=_serialise(quads, rdf_format), count=len(quads), truncated=truncated)))
        except SyntaxError as e:
            conn.send(("error", f"invalid SPARQL: {e}"))
        except (OSError, ValueError, RuntimeError) as e:
            conn.send(("error", f"the query failed: {e}"))


def _serialise(quads, rdf_format: str) -> bytes:
    from . import export

    if rdf_format == "json-ld":
        return export.json_ld(quads)
    if rdf_format in ("n-triples", "rdf-xml"):
        import pyoxigraph as ox

        triples = [q.triple for q in export.canonical(quads)]
        if rdf_format == "rdf-xml":
            return ox.serialize(triples, format=ox.RdfFormat.RDF_XML)
        return b"".join(sorted(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).splitlines(keepends=True)))
    return export.turtle(quads)


class _Worker:
    def __init__(self, ctx, store_path: str):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_work, args=(child, store_path), daemon=True, name="kg-query-worker")
        self.process.start()
        child.close()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class WorkerPool:
    """``workers`` processes answering queries on the store at ``store_path``, each within ``timeout`` s."""

    def __init__(self, store_path: str | Path, *, workers: int = 3, timeout: float = 20.0, wait: float | None = None):
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.store_path = str(store_path)
        self.timeout = timeout
        self.wait = timeout if wait is None else wait
        self._ctx = mp.get_context("spawn")  # never fork a threaded server
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        for _ in range(workers):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.store_path)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker and put a fresh one in its place (in the background: spawning takes ~0.3 s)."""
        with self._lock:
            self._all.discard(worker)
        worker.stop()

        def respawn():
            if not self._closed:
                self._idle.put(self._spawn())

        threading.Thread(target=respawn, daemon=True).start()

    def run(self, text: str, *, max_rows: int, rdf_format: str = "turtle") -> Answer:
        """Evaluate ``text``; raises QueryTimeout, QueryError (bad query, crash) or Busy."""
        try:
            worker = self._idle.get(timeout=self.wait)
        except queue.Empty:
            raise Busy(f"all query workers are busy; try again in {self.timeout:g} s") from None
        try:
            worker.conn.send((text, max_rows, rdf_format))
            if not worker.conn.poll(self.timeout):
                self._replace(worker)
                worker = None
                raise QueryTimeout(f"the query ran longer than the time limit of {self.timeout:g} s and was stopped")
            status, payload = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            if worker is not None:
                self._replace(worker)
                worker = None
            raise QueryError("the query engine stopped while evaluating this query (the query was refused)") from None
        finally:
            if worker is not None:
                self._idle.put(worker)
        if status == "error":
            raise QueryError(payload)
        return payload

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.stop()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
