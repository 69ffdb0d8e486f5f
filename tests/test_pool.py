"""The query worker pool: a time limit that really stops the query, crashes contained, caps."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from kg.errors import QueryError, QueryTimeout
from kg.pool import Busy, WorkerPool
from kg.store import graph_store

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return graph_store(cache_dir=tmp_path_factory.mktemp("pool-cache"))


def count(pool) -> int:
    return int(pool.run(COUNT, max_rows=1).result.rows[0]["n"].value)


def wait_for_workers(pool, n, limit=30):
    deadline = time.monotonic() + limit
    while pool._idle.qsize() < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return pool._idle.qsize()


def test_a_query_over_the_time_limit_is_killed_and_its_worker_replaced(store):
    with WorkerPool(store, workers=1, timeout=1) as pool:
        first = next(iter(pool._all)).process
        with pytest.raises(QueryTimeout, match="time limit of 1 s"):
            pool.run(SLOW, max_rows=10)
        first.join(5)
        assert not first.is_alive()  # the evaluation really stopped: its process is gone
        assert wait_for_workers(pool, 1) == 1
        assert count(pool) > 1000


def test_a_worker_that_dies_is_replaced(store):
    with WorkerPool(store, workers=2, timeout=10) as pool:
        before = count(pool)
        for w in list(pool._all):
            os.kill(w.process.pid, signal.SIGKILL)
            w.process.join(5)
        for _ in range(2):  # each dead worker is found out by the query it gets
            with pytest.raises(QueryError, match="engine stopped"):
                pool.run(COUNT, max_rows=1)
        assert wait_for_workers(pool, 2) == 2
        assert count(pool) == before


def test_busy_when_every_worker_is_taken(store):
    with WorkerPool(store, workers=1, timeout=2, wait=0.2) as pool:
        slow = threading.Thread(target=lambda: pytest.raises(QueryTimeout, pool.run, SLOW, max_rows=1))
        slow.start()
        deadline = time.monotonic() + 10
        while pool._idle.qsize() and time.monotonic() < deadline:  # until the slow query holds the worker
            time.sleep(0.01)
        with pytest.raises(Busy, match="busy"):
            pool.run(COUNT, max_rows=1)
        slow.join()


def test_rows_are_capped_and_the_cut_is_reported(store):
    with WorkerPool(store, workers=1, timeout=10) as pool:
        answer = pool.run("SELECT * WHERE { ?s ?p ?o }", max_rows=7)
        assert len(answer.result.rows) == 7 and answer.truncated
        answer = pool.run("SELECT * WHERE { ?s ?p ?o } LIMIT 7", max_rows=7)
        assert len(answer.result.rows) == 7 and not answer.truncated
        answer = pool.run("CONSTRUCT WHERE { ?s ?p ?o }", max_rows=5, rdf_format="n-triples")
        assert answer.body.count(b"\n") == 5 and answer.truncated
        with pytest.raises(QueryError, match="invalid SPARQL"):
            pool.run("SELECT ?x WHERE { ?x }", max_rows=1)
