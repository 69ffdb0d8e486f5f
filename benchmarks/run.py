"""Benchmark: the embedded Oxigraph store against rdflib in memory and bare pyoxigraph, at scale.

    uv run python benchmarks/run.py                  # 1,000 / 10,000 / 100,000 events
    uv run python benchmarks/run.py --sizes 1000     # a quick run
    uv run python benchmarks/run.py --json out.json  # also write the figures as JSON

For each size it generates synthetic data (kg synth), then measures every step in a fresh
child process so that each peak RSS is that step's own: building the store (vs pyoxigraph's
bulk load of the same files), each canned query first run and warm (vs rdflib in memory and
vs bare pyoxigraph running the same SPARQL text on the same store), `kg query` end to end as a
process, validation, and Turtle / JSON-LD export (vs rdflib's serialisers). It prints a table
with a ratio beside every figure and the targets of issue 6, and writes JSON. Speed is checked
here, not in the unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

RDFLIB_QUERY_LIMIT = 50_000  # from this many events on, rdflib runs each query once (first = warm)
RDFLIB_QUERY_CAP = 180  # seconds; an rdflib query that takes longer is stopped and reported as "> 180 s"


# --- steps, each run in its own process -------------------------------------------------------------

def _params(name: str) -> dict:
    return {"protests-on-date": {"date": "2023-06-15"}, "protests-in-oblast": {"oblast": "Kherson Oblast (synthetic)"},
            "gunfire-on-protesters": {"oblast": "Donetsk Oblast (synthetic)"}}.get(name, {})


def _catalogue():
    from kg import paths
    from kg.catalogue import Catalogue

    return [q for q in Catalogue.load(paths.QUERIES_DIR) if "remote" not in q.tags]


def _timed(fn, warm_runs: int = 3) -> dict:
    t = time.perf_counter()
    rows = fn()
    first = time.perf_counter() - t
    warm = []
    for _ in range(warm_runs):
        t = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t)
    return {"first": first, "warm": statistics.median(warm) if warm else first, "rows": rows}


def step_bare_load(data: str, work: str) -> dict:
    import pyoxigraph as ox

    from kg import paths

    t = time.perf_counter()
    store = ox.Store(work)
    for f in (data, str(paths.ONTOLOGY)):
        store.bulk_load(path=f, format=ox.RdfFormat.TURTLE)
    store.flush()
    return {"seconds": time.perf_counter() - t}


def step_store_build(data: str, work: str) -> dict:
    from kg import KnowledgeGraph

    t = time.perf_counter()
    KnowledgeGraph.load([data], cache_dir=work)
    return {"seconds": time.perf_counter() - t}


def step_queries_ours(data: str, work: str) -> dict:
    from kg import KnowledgeGraph

    t = time.perf_counter()
    graph = KnowledgeGraph.load([data], cache_dir=work)
    out = {"open": time.perf_counter() - t, "queries": {}}
    for q in _catalogue():
        text = q.bind(_params(q.name))
        out["queries"][q.name] = _timed(lambda text=text: len(graph.engine.select(text).rows))
    return out


def step_queries_bare(data: str, work: str) -> dict:
    import pyoxigraph as ox

    from kg import KnowledgeGraph

    KnowledgeGraph.load([data], cache_dir=work)  # make sure the same store exists
    store = ox.Store.read_only(str(next(p for p in (Path(work) / "stores").iterdir() if not p.name.startswith("."))))
    out = {"queries": {}}
    for q in _catalogue():
        text = q.bind(_params(q.name))

        def run(text=text):
            answer = store.query(text)
            names = [v.value for v in answer.variables]
            return sum(1 for solution in answer for _ in [[solution[n] for n in names]])

        out["queries"][q.name] = _timed(run)
    return out


def step_queries_rdflib(data: str, work: str, events: int) -> dict:
    from kg import paths
    from kg.graph import RdflibEngine

    t = time.perf_counter()
    engine = RdflibEngine.load([data, paths.ONTOLOGY])
    out = {"parse": time.perf_counter() - t, "queries": {}}
    import signal

    def give_up(signum, frame):
        raise TimeoutError

    signal.signal(signal.SIGALRM, give_up)
    warm = 1 if events < RDFLIB_QUERY_LIMIT else 0
    for q in _catalogue():
        text = q.bind(_params(q.name))
        signal.alarm(RDFLIB_QUERY_CAP)
        try:
            out["queries"][q.name] = _timed(lambda text=text: len(engine.select(text).rows), warm_runs=warm)
        except TimeoutError:  # rdflib is pure Python, so an alarm can stop it
            out["queries"][q.name] = {"first": None, "warm": None, "capped": RDFLIB_QUERY_CAP}
        finally:
            signal.alarm(0)
    return out


def step_export(data: str, work: str, fmt: str, writer: str) -> dict:
    from kg import export as ex
    from kg import rdfio

    dataset = {"data": rdfio.parse_file(data), "ontology": [], "shapes": []}
    if writer == "ours":
        chosen = ex.resolve_format(fmt)  # looks formats up in rdflib's plugin registry: not serialising
        t = time.perf_counter()
        size = len(ex.export(dataset, chosen))
    else:
        graph = rdfio.to_rdflib(dataset["data"])
        t = time.perf_counter()
        size = len(graph.serialize(format=fmt, encoding="utf-8"))
    return {"seconds": time.perf_counter() - t, "bytes": size}


def step_rdflib_parse(data: str, work: str) -> dict:
    import rdflib

    t = time.perf_counter()
    rdflib.Graph().parse(data, format="turtle")
    return {"seconds": time.perf_counter() - t}



# --- the orchestrator -----------------------------------------------------------------------------

def child(step: str, *args, timeout: float = 3600) -> dict:
    """Run a step in a fresh process; add its wall time and peak RSS (MB)."""
    argv = [sys.executable, __file__, "--step", step, *map(str, args)]
    return measure(argv, timeout, parse_json=True)


def measure(argv: list[str], timeout: float = 3600, parse_json: bool = False, env=None) -> dict:
    t = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        return {"error": proc.stderr.decode(errors="replace")[-500:], "wall": wall}
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1]) if parse_json else {}
    result["wall"] = wall
    return result


def cli(*args, env=None, timeout: float = 3600) -> dict:
    """``kg ARGS`` as a fresh process (through this script, to read its peak RSS); wall time included."""
    return measure([sys.executable, __file__, "--step", "cli", "--", *map(str, args)], timeout, parse_json=True, env=env)


def step_cli(*args) -> dict:
    import contextlib
    import io

    from kg.cli import main as kg_main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = kg_main(list(args))
    return {"exit": code}


STEPS = {"cli": step_cli, "bare_load": step_bare_load, "store_build": step_store_build, "queries_ours": step_queries_ours,
         "queries_bare": step_queries_bare, "queries_rdflib": step_queries_rdflib, "export": step_export,
         "rdflib_parse": step_rdflib_parse}


def ratio(a, b) -> str:
    if not a or not b:
        return ""
    return f"{a / b:.1f}x"


def bench(events: int, folder: Path) -> dict:
    data = folder / f"synth-{events}.ttl"
    if not data.exists():
        # In a child: on Linux a process's peak RSS is inherited by the children it starts, so
        # this process must stay small for the other steps' figures to be their own.
        generated = cli("synth", "--events", events, "--seed", 1, "-o", data)
        if "error" in generated:
            raise SystemExit(f"kg synth failed: {generated['error']}")
    res: dict = {"events": events, "bytes": data.stat().st_size}

    def fresh(name):
        path = folder / f"{name}-{events}"
        shutil.rmtree(path, ignore_errors=True)
        return path

    res["bare_load"] = child("bare_load", data, fresh("bare"))
    store_dir = fresh("cache")
    res["store_build"] = child("store_build", data, store_dir)
    res["queries_ours"] = child("queries_ours", data, store_dir)
    res["queries_bare"] = child("queries_bare", data, store_dir)
    res["queries_rdflib"] = child("queries_rdflib", data, store_dir, events)
    env = {**os.environ, "KG_CACHE_DIR": str(store_dir)}
    res["cli_query"] = cli("query", "gunfire-on-protesters", "--data", data, env=env)
    cli("query", "gunfire-on-protesters", env=env)  # builds the bundled data's store once
    res["cli_query_bundled"] = cli("query", "gunfire-on-protesters", env=env)
    res["validate"] = cli("validate", data, timeout=1800)
    for fmt in ("turtle", "json-ld"):
        res[f"export_{fmt}_ours"] = child("export", data, "-", fmt, "ours")
        res[f"export_{fmt}_rdflib"] = child("export", data, "-", fmt, "rdflib")
    return res


def report(results: list[dict]) -> str:
    lines = []
    add = lines.append
    for r in results:
        n = r["events"]
        add(f"\n## {n:,} events ({r['bytes'] / 1e6:.1f} MB of Turtle)\n")
        add("| step | kg (embedded Oxigraph) | baseline | ratio | peak RSS (kg / baseline) |")
        add("|---|---|---|---|---|")
        b, s = r["bare_load"], r["store_build"]
        add(f"| build the store (vs bare `bulk_load`) | {s.get('seconds', 0):.2f} s | {b.get('seconds', 0):.2f} s "
            f"| {ratio(s.get('seconds'), b.get('seconds'))} (target ≤ 2x) | {s.get('rss_mb', 0):.0f} / {b.get('rss_mb', 0):.0f} MB |")
        rd = r["queries_rdflib"]
        add(f"| rdflib: parse the data | | {rd.get('parse', 0):.2f} s | | — / {rd.get('rss_mb', 0):.0f} MB |")
        ours, bare = r["queries_ours"].get("queries", {}), r["queries_bare"].get("queries", {})
        for name, q in ours.items():
            base = rd.get("queries", {}).get(name, {})
            bq = bare.get(name, {})
            if base.get("capped"):
                rdflib_text, vs_rdflib = f"> {base['capped']} s", f"> {base['capped'] / q['warm']:.0f}x"
            else:
                rdflib_text, vs_rdflib = f"{(base.get('warm') or 0) * 1000:.0f} ms", ratio(base.get("warm"), q["warm"])
            add(f"| query `{name}` warm ({q['rows']} rows; first {q['first'] * 1000:.0f} ms) | {q['warm'] * 1000:.1f} ms "
                f"| rdflib {rdflib_text} · bare {bq.get('warm', 0) * 1000:.1f} ms "
                f"| {vs_rdflib} faster than rdflib · {ratio(q['warm'], bq.get('warm'))} of bare | |")
        for key, label in (("cli_query", "`kg query gunfire-on-protesters --data` (process, cached store)"),
                           ("cli_query_bundled", "`kg query gunfire-on-protesters` on the bundled data")):
            c = r[key]
            add(f"| {label} | {c.get('wall', 0):.2f} s | | | {c.get('rss_mb', 0):.0f} MB |")
        v = r["validate"]
        add(f"| `kg validate` (fast engine, process) | {v.get('wall', 0):.1f} s | | target < 60 s | {v.get('rss_mb', 0):.0f} MB (target < 2048) |")
        for fmt in ("turtle", "json-ld"):
            o, b = r[f"export_{fmt}_ours"], r[f"export_{fmt}_rdflib"]
            add(f"| export {fmt} (serialise only) | {o.get('seconds', 0):.2f} s | rdflib {b.get('seconds', 0):.2f} s "
                f"| {ratio(b.get('seconds'), o.get('seconds'))} faster | {o.get('rss_mb', 0):.0f} / {b.get('rss_mb', 0):.0f} MB |")
        errors = {k: v["error"] for k, v in r.items() if isinstance(v, dict) and "error" in v}
        if errors:
            add("\nErrors: " + json.dumps(errors, indent=1))
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated numbers of events")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json", help="where to write JSON")
    parser.add_argument("--work", type=Path, default=None, help="folder for data and stores (default: a temp folder)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.step:
        args = ns.args
        if ns.step == "queries_rdflib":
            args = [args[0], args[1], int(args[2])]
        import resource

        out = STEPS[ns.step](*args)
        out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return 0
    work = ns.work or Path(tempfile.mkdtemp(prefix="kg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    print(f"# kg benchmark — {machine()}")
    for size in (int(s) for s in ns.sizes.split(",")):
        t = time.perf_counter()
        results.append(bench(size, work))
        print(report(results[-1:]), flush=True)
        print(f"\n({size:,} events measured in {time.perf_counter() - t:.0f} s)", flush=True)
        ns.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    print(f"\nJSON: {ns.json}")
    if ns.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
