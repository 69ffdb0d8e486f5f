"""The command line: the only module that prints and chooses exit codes.

Exit codes: 0 success (or data conforms), 1 data does not conform, 2 unreadable input,
bad usage, a refused or failing query.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__, paths
from .errors import KgError
from .results import FORMATS

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kg")
def cli() -> None:
    """A sourced knowledge graph of civilian protests under Russian occupation (March 2022).

    Validate the data, ask the canned questions by name, or run your own SPARQL.
    Run 'kg COMMAND --help' for the options of each command.
    """


def _data_option(f):
    return click.option(
        "--data",
        "data",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="RDF data file to use instead of the bundled data/ files (repeatable).",
    )(f)


def _ontology_option(f):
    return click.option(
        "--ontology",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Ontology file (default: the bundled ontology/kg.ttl).",
    )(f)


# --- validate ---------------------------------------------------------------------------

@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@_ontology_option
@click.option("--shapes", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="SHACL shapes file (default: the bundled ontology/shapes.ttl).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Report format: text for people, json for machines.")
@click.option("--engine", type=click.Choice(["fast", "pyshacl"]), default="fast", show_default=True,
              help="fast: the shapes run as SPARQL on an embedded Oxigraph store (same results, for large data); "
                   "pyshacl: the reference validator.")
def validate(files, ontology, shapes, fmt, engine):
    """Check data files against the ontology and SHACL shapes.

    FILES (or folders of .ttl/.nt/... files) default to the bundled data. Files are parsed strictly first (errors name
    file:line:column), then checked for unknown or misspelled classes and properties,
    then validated with SHACL. Nothing is written.

    Exit status: 0 conforms, 1 violations found, 2 unreadable input or usage error.
    """
    from .validate import validate as run_validation

    report = run_validation(_expand(files) or paths.default_data_files(), ontology or paths.ONTOLOGY,
                            shapes or paths.SHAPES, engine=engine)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    return EXIT_OK if report.conforms else EXIT_INVALID


def _expand(files) -> list[Path]:
    """Files as given; a folder stands for the RDF files directly inside it."""
    out: list[Path] = []
    for f in files:
        if f.is_dir():
            found = sorted(p for p in f.iterdir() if p.suffix in paths.RDF_SUFFIXES)
            if not found:
                raise click.UsageError(f"{f}: the folder holds no RDF files ({', '.join(paths.RDF_SUFFIXES)})")
            out += found
        else:
            out.append(f)
    return out


def _print_report(report) -> None:
    files = ", ".join(_display_path(f) for f in report.files)
    if report.conforms:
        click.echo(f"{files}: conforms ({report.events} event{'s' * (report.events != 1)}, "
                   f"{report.triples} triples).")
        return
    groups = report.grouped()
    n = len(report.violations)
    click.echo(f"{files}: {n} problem{'s' * (n != 1)} in {len(groups)} "
               f"event{'s' * (len(groups) != 1)} or entit{'ies' if len(groups) != 1 else 'y'}.\n")
    for concerns, items in groups.items():
        first = items[0]
        where = f"  ({_display_path(first.file)}:{first.line})" if first.file and first.line else ""
        click.echo(f"{concerns}{where}")
        for v in items:
            detail = []
            if v.path:
                detail.append(v.path)
            if v.focus != concerns:
                detail.append(f"on {v.focus}")
            if v.value:
                detail.append(f"value {v.value}")
            prefix = f"[{'; '.join(detail)}] " if detail else ""
            click.echo(f"  - {prefix}{v.message}")
        click.echo("")


def _display_path(p: str) -> str:
    try:
        return str(Path(p).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


# --- queries, query, sparql ----------------------------------------------------------------

def _format_option(f):
    return click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="table",
                        show_default=True,
                        help="table for people; csv, tsv, json and xml are the SPARQL 1.1 results formats.")(f)


def _endpoint_options(f):
    f = click.option("--wikidata-endpoint", metavar="URL", default=None,
                     help="With --allow-service: send SERVICE <https://query.wikidata.org/sparql> calls to this "
                          "mirror instead.")(f)
    f = click.option("--graph", "graphs", multiple=True, metavar="IRI",
                     help="With --endpoint: query this named graph as the default graph (repeatable).")(f)
    f = click.option("--timeout", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
                     help="With --endpoint: seconds to wait for the server to connect and to send each part of the answer (default 60).")(f)
    return click.option("--endpoint", metavar="URL",
                        help="Run against this SPARQL 1.1 endpoint instead of the local files "
                             "(credentials from KG_ENDPOINT_TOKEN or KG_ENDPOINT_USER/KG_ENDPOINT_PASSWORD).")(f)


def _load_graph(data, endpoint=None, timeout=None, graphs=(), wikidata_endpoint=None):
    from .graph import KnowledgeGraph

    if wikidata_endpoint:
        if endpoint:
            raise click.UsageError("--wikidata-endpoint applies to local runs; the remote store makes its own "
                                   "SERVICE calls")
        from .federation import WIKIDATA_SPARQL

        graph = KnowledgeGraph.load(list(data) or None)
        graph.service_mirrors = {WIKIDATA_SPARQL: wikidata_endpoint}
        return graph
    if endpoint:
        if data:
            raise click.UsageError("--data and --endpoint exclude each other: the data is on the server")
        return KnowledgeGraph.remote(endpoint, timeout=timeout, default_graphs=graphs)
    if timeout is not None or graphs:
        raise click.UsageError("--timeout and --graph apply only with --endpoint")
    return KnowledgeGraph.load(list(data) or None)


def _emit(content: bytes, output: Path | None, what: str) -> None:
    """Write bytes to standard output, or atomically to a file (then say so on stderr)."""
    from .atomic import write_atomic

    if output is None or str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        write_atomic(output, content)
        _echo_err(f"wrote {_display_path(str(output))} ({what}{len(content):,} bytes)")


def _write_result(result, fmt: str) -> None:
    from .results import serialize

    click.echo(serialize(result, fmt), nl=False)
    if fmt == "table" and result.boolean is None:
        n = len(result.rows)
        _echo_err(f"({n} row{'s' * (n != 1)})")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table for people, json for machines.")
def queries(fmt):
    """List the canned queries: name, summary and parameters."""
    from .catalogue import Catalogue

    catalogue = Catalogue.load(paths.QUERIES_DIR)
    if fmt == "json":
        click.echo(json.dumps([q.to_dict() for q in catalogue], indent=2, ensure_ascii=False))
        return EXIT_OK
    width = max(len(q.name) for q in catalogue)
    for q in catalogue:
        click.echo(f"{q.name.ljust(width)}  {q.summary}")
        if q.params:
            described = ", ".join(_param_text(p) for p in q.params)
            click.echo(f"{' ' * width}  parameters: {described}")
    click.echo("\nRun 'kg query NAME' to run one, 'kg query NAME --help' for its description.")
    return EXIT_OK


def _param_text(p) -> str:
    text = f"{p.name} ({p.type}{', required' if p.required else ''}"
    if p.choices:
        text += ": " + "|".join(p.choices)
    if p.default is not None:
        text += f", default {p.default}"
    return text + ")"


@cli.command(add_help_option=False)
@click.argument("name", required=False)
@click.option("-p", "--param", "params", type=(str, str), multiple=True, metavar="NAME VALUE",
              help="A query parameter (repeatable), e.g. -p oblast 'Kherson Oblast'.")
@_format_option
@_data_option
@_endpoint_options
@click.option("--allow-service", is_flag=True,
              help="Allow queries tagged 'remote' to call other SPARQL endpoints with SERVICE.")
@click.option("-h", "--help", "show_help", is_flag=True, help="Show the query's description and parameters.")
@click.pass_context
def query(ctx, name, params, fmt, data, endpoint, timeout, graphs, wikidata_endpoint, allow_service, show_help):
    """Run a canned query by NAME (see 'kg queries').

    Results go to stdout, messages to stderr. 'kg query NAME --help' describes the query
    and its parameters.
    """
    from .catalogue import Catalogue
    from .sparqltext import projection

    if not name:
        if show_help:
            click.echo(ctx.get_help())
            return EXIT_OK
        raise click.UsageError("missing query NAME; run 'kg queries' to list them", ctx)
    if show_help:
        q = Catalogue.load(paths.QUERIES_DIR).get(name)
        click.echo(f"Usage: kg query {q.name} [-p NAME VALUE]... [--format table|csv|tsv|json] "
                   "[--data FILE]... [--endpoint URL]\n")
        click.echo(f"  {q.summary}\n")
        for line in q.description.splitlines():
            click.echo(f"  {line}")
        click.echo("\nParameters:")
        for p in q.params or ():
            click.echo(f"  {p.name:<10} {_param_text(p).removeprefix(p.name + ' ')}")
        if not q.params:
            click.echo("  (none)")
        click.echo(f"\nResult columns: {', '.join(projection(q.text))}")
        return EXIT_OK
    values: dict[str, str] = {}
    for key, value in params:
        if key in values:
            raise click.UsageError(f"parameter '{key}' given twice")
        values[key] = value
    graph = _load_graph(data, endpoint, timeout, graphs, wikidata_endpoint)
    _write_result(graph.run(name, values, allow_service=allow_service), fmt)
    return EXIT_OK


@cli.command()
@click.argument("text", required=False)
@click.option("-f", "--file", "file", type=click.Path(path_type=Path, dir_okay=False),
              help="Read the query from a .rq file.")
@_format_option
@_data_option
@_endpoint_options
@click.option("--allow-service", is_flag=True,
              help="Allow SERVICE calls to remote SPARQL endpoints (refused by default).")
def sparql(text, file, fmt, data, endpoint, timeout, graphs, wikidata_endpoint, allow_service):
    """Run your own read-only SPARQL query (TEXT, or -f FILE; '-' reads stdin).

    SELECT and ASK print rows in --format; CONSTRUCT and DESCRIBE print Turtle.
    Updates (INSERT, DELETE, LOAD, CLEAR, DROP...) are refused.
    """
    from .errors import InputError

    if (text is None) == (file is None):
        raise click.UsageError("give the query as TEXT or with -f FILE (not both)")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read query: {e}", str(file)) from None
    elif text == "-":
        text = sys.stdin.read()
    graph = _load_graph(data, endpoint, timeout, graphs, wikidata_endpoint)
    answer = graph.sparql(text, allow_service=allow_service)
    if isinstance(answer, bytes):
        click.echo(answer.decode("utf-8"), nl=False)
    else:
        _write_result(answer, fmt)
    return EXIT_OK


# --- export ---------------------------------------------------------------------------------

@cli.command()
@click.option("--format", "fmt", default=None, metavar="FORMAT",
              help="turtle, json-ld, nt, nquads, trig, csv, geojson, xml... (names, aliases and media types "
                   "from rdflib's registry; see --list-formats). Default: guessed from -o, else turtle.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default=None,
              help="File to write (atomically: a failed export leaves an existing file untouched). "
                   "Default: standard output.")
@_data_option
@click.option("--list-formats", is_flag=True, help="List the export formats with media types and extensions.")
def export(fmt, output, data, list_formats):
    """Export the graph for other datasets and tools.

    RDF formats carry the data; nquads, trig and trix carry the data, the ontology and
    the shapes as three named graphs. turtle, nt, nquads, trig and json-ld are sorted and
    stable: the same input gives byte-identical output. json-ld is compacted with
    ontology/context.jsonld, written inline. csv and geojson hold one row / feature per
    event (date, places, oblasts, lat, lon, kinds, tactics, killed, wounded, source URLs).
    """
    from . import export as ex

    if list_formats:
        rows = [(f.name, f.media_type, f.extension, ", ".join(f.aliases)) for f in ex.formats().values()]
        widths = [max(len(r[i]) for r in rows + [("format", "media type", "extension", "")]) for i in range(3)]
        click.echo(f"{'format'.ljust(widths[0])}  {'media type'.ljust(widths[1])}  {'extension'.ljust(widths[2])}  also")
        for r in rows:
            click.echo(f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].ljust(widths[2])}  {r[3]}".rstrip())
        return EXIT_OK
    to_stdout = output is None or str(output) == "-"
    form = ex.resolve_format(fmt, None if to_stdout else output)
    _emit(ex.export(ex.load_dataset(list(data) or None), form), output, f"{form.name}, ")
    return EXIT_OK


# --- push -----------------------------------------------------------------------------------

@cli.command()
@click.option("--endpoint", required=True, metavar="URL",
              help="The store's Graph Store Protocol URL, e.g. http://localhost:7878/store (Oxigraph) or "
                   "http://localhost:3030/DATASET/data (Fuseki).")
@click.option("--graph", metavar="IRI", default=None,
              help="The named graph to write (default: the store's default graph).")
@click.option("--append", is_flag=True, help="Add to the graph (POST) instead of replacing it (PUT).")
@_data_option
@_ontology_option
@click.option("--shapes", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="SHACL shapes file (default: the bundled ontology/shapes.ttl).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True, metavar="SECONDS",
              help="Seconds to wait for the server to connect and to answer.")
def push(endpoint, graph, append, data, ontology, shapes, timeout):
    """Upload the data and the ontology to a triple store (SPARQL 1.1 Graph Store Protocol).

    The data is validated first, exactly as 'kg validate' does, and nothing is sent if it
    does not conform. PUT replaces the graph; --append POSTs. Redirects are not followed.
    Credentials come from KG_ENDPOINT_TOKEN (Bearer) or KG_ENDPOINT_USER and
    KG_ENDPOINT_PASSWORD (Basic), never from the command line. Then query the store with
    'kg query NAME --endpoint QUERY-URL' (add --graph IRI if you pushed to a named graph).
    """
    from . import export as ex
    from .remote import graph_store_url, put_graph, redact
    from .validate import validate as run_validation

    graph_store_url(endpoint, graph)  # a bad URL or graph IRI fails before the slow validation
    files = list(data) or paths.default_data_files()
    report = run_validation(files, ontology or paths.ONTOLOGY, shapes or paths.SHAPES)
    if not report.conforms:
        _print_report(report)
        _echo_err("error: refusing to push data that does not validate; nothing was sent")
        return EXIT_INVALID
    dataset = ex.load_dataset(files, ontology=ontology, shapes=shapes)
    quads = dataset["data"] + dataset["ontology"]
    body = ex.turtle(ex.canonical(quads))
    status = put_graph(endpoint, body, graph=graph, append=append, timeout=timeout)
    target = f"graph <{graph}>" if graph else "the default graph"
    _echo_err(f"{'appended' if append else 'replaced'} {target} at {redact(endpoint)}: {len(dataset['data'])} data "
              f"+ {len(dataset['ontology'])} ontology triples (HTTP {status})")
    return EXIT_OK


# --- Wikidata: link, enrich ---------------------------------------------------------------

def _wikidata_options(f):
    f = click.option("--refresh", is_flag=True, help="Ask the endpoint again even if the answer is cached.")(f)
    f = click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                     help="Where answers are cached (default: $KG_CACHE_DIR, else ~/.cache/resistance-kg).")(f)
    f = click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
                     metavar="SECONDS", help="Seconds to wait for the endpoint to connect and to answer.")(f)
    f = click.option("--endpoint", default="https://query.wikidata.org/sparql", show_default=True, metavar="URL",
                     help="The Wikidata SPARQL endpoint, or a mirror with the same data (e.g. QLever's).")(f)
    return click.option("--entity", "names", multiple=True, metavar="NAME",
                        help="Only this entity: IRI, prefixed name (place:novyi-hai) or local name (repeatable).")(f)


def _wikidata_engine(endpoint, timeout, cache_dir, refresh):
    from .cache import CachedEngine
    from .remote import RemoteEngine

    return CachedEngine(RemoteEngine(endpoint, timeout=timeout), cache_dir, refresh=refresh)


def _select_entities(data, names):
    from . import wikidata as wd

    everything = wd.load_entities(list(data) or None)
    chosen = [wd.find_entity(everything, n) for n in names] if names else everything
    oblast_names = {q: e.name for e in everything if e.kind == "oblast" for q in e.items}
    return everything, chosen, oblast_names


@cli.command()
@_wikidata_options
@click.option("--all", "every", is_flag=True, help="Look up every entity, linked or not (default: the unlinked ones).")
@click.option("--check", is_flag=True, help="Verify the existing links instead of looking for new ones.")
@click.option("--write", is_flag=True,
              help="Record the unambiguous new links in the data files, with how and when (PROV).")
@click.option("--tolerance", type=click.FloatRange(min=0), default=5.0, show_default=True, metavar="KM",
              help="How far Wikidata's point may be from ours for a settlement to match.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_data_option
def link(names, endpoint, timeout, cache_dir, refresh, every, check, write, tolerance, fmt, data):
    """Find or verify Wikidata items for places, organisations and people.

    Without options: for each unlinked entity, query the endpoint for items with one of its
    names (English, Ukrainian or Russian label or alias) and the right kind, and print the
    ranked candidates with the evidence (matched name, oblast, distance). A settlement
    matches only in Ukraine, in the same oblast and within --tolerance km of our point.

    --check verifies the existing links (exit status 1 if any disagrees). --write records
    the links that are unambiguous (exactly one match), never the ambiguous ones, appending
    them to the data file with a kg:LinkRecord; the file is replaced atomically and only if
    the result still validates. Nothing is written if any request fails.
    """
    from . import wikidata as wd

    if check and write:
        raise click.UsageError("--check verifies existing links and --write adds new ones; use one at a time")
    _, chosen, oblast_names = _select_entities(data, names)
    engine = _wikidata_engine(endpoint, timeout, cache_dir, refresh)
    if check:
        checks = wd.check_links([e for e in chosen if e.items], engine, tolerance, oblast_names)
        if fmt == "json":
            click.echo(json.dumps([c.to_dict() for c in checks], indent=2, ensure_ascii=False))
        else:
            _print_checks(checks)
        return EXIT_OK if all(c.ok for c in checks) else EXIT_INVALID
    todo = chosen if (every or names) else [e for e in chosen if not e.items]
    proposals = [wd.candidates(e, engine, tolerance, oblast_names) for e in todo]
    if fmt == "json":
        click.echo(json.dumps([p.to_dict() for p in proposals], indent=2, ensure_ascii=False))
    else:
        _print_proposals(proposals, oblast_names)
    if write:
        _write_links(wd, proposals, list(data) or paths.default_data_files(), endpoint)
    return EXIT_OK


def _print_proposals(proposals, oblast_names) -> None:
    for p in proposals:
        e = p.entity
        where = f", {e.oblast_label}" if e.oblast_label else ""
        linked = f"; linked to {', '.join('wd:' + q for q in e.items)}" if e.items else ""
        verdict = {"unambiguous": f"unambiguous: wd:{p.matching[0].item}" if p.matching else "",
                   "ambiguous": f"ambiguous: {len(p.matching)} items match, none is linked",
                   "none": "no matching item"}[p.decision]
        click.echo(f"{e.short}  {e.name} ({e.kind}{where}{linked}) -> {verdict}")
        for c in p.candidates:
            oblasts = ", ".join(oblast_names.get(o, "wd:" + o) for o in sorted(c.oblasts)) or "-"
            km = f"{c.distance:.1f} km" if c.distance is not None else "-"
            why = "match" if c.matches else "; ".join(c.problems)
            click.echo(f"  wd:{c.item:<11} {', '.join(sorted(c.names))[:48]:<48}  {oblasts[:24]:<24}  {km:>9}  {why}")
        click.echo("")
    counts = {d: sum(p.decision == d for p in proposals) for d in ("unambiguous", "ambiguous", "none")}
    _echo_err(f"{len(proposals)} entities: {counts['unambiguous']} unambiguous, {counts['ambiguous']} ambiguous, "
              f"{counts['none']} without a match")


def _print_checks(checks) -> None:
    for c in checks:
        km = f", {c.distance:.1f} km from our point" if c.distance is not None else ""
        status = "ok" if c.ok else "MISMATCH"
        click.echo(f"{c.entity.short}  wd:{c.item}  {status}{km}")
        for problem in c.problems:
            click.echo(f"  - {problem}")
    bad = sum(not c.ok for c in checks)
    _echo_err(f"{len(checks)} links checked: {len(checks) - bad} ok, {bad} mismatched")


def _write_links(wd, proposals, files, endpoint) -> None:
    import os
    import tempfile

    from .errors import InputError
    from .validate import validate as run_validation

    links = wd.links_to_write(proposals)
    if not links:
        _echo_err("nothing to write: no unlinked entity has exactly one matching item")
        return

    def still_valid(path, new_bytes):
        fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent, prefix=f".{path.stem}.check.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(new_bytes)
            others = [f for f in files if Path(f).resolve() != path.resolve()]
            report = run_validation([*others, Path(tmp)], paths.ONTOLOGY, paths.SHAPES)
        finally:
            os.unlink(tmp)
        if not report.conforms:
            first = report.violations[0]
            raise InputError(f"with the new links the data would not validate ({first.focus}: {first.message}); "
                             "nothing was written", str(path))

    written = wd.write_links(links, [Path(f) for f in files], endpoint, check=still_valid)
    for path, file_links in written.items():
        for link in file_links:
            _echo_err(f"linked {link.entity.short} to wd:{link.item} in {_display_path(str(path))}")


@cli.command()
@_wikidata_options
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default=None,
              help="Turtle file to write (atomically). Default: standard output.")
@_data_option
def enrich(names, endpoint, timeout, cache_dir, refresh, output, data):
    """Fetch population, labels (en, uk, ru) and coordinates of the linked Wikidata items.

    The result is a separate Turtle file whose statements are about the Wikidata items
    only, so it never overwrites a curated fact; load it next to the data, e.g.
    'kg query NAME --data data/events.ttl --data wikidata.ttl'.
    """
    from . import wikidata as wd

    _, chosen, _ = _select_entities(data, names)
    _emit(wd.enrich(chosen, _wikidata_engine(endpoint, timeout, cache_dir, refresh), endpoint), output, "")
    return EXIT_OK


# --- synth ----------------------------------------------------------------------------------

@cli.command()
@click.option("--events", type=click.IntRange(min=1, max=10_000_000), required=True, metavar="N",
              help="How many protest events to generate.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed gives the same file.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default=None,
              help="Turtle file to write (atomically). Default: standard output.")
def synth(events, seed, output):
    """Generate synthetic protest data shaped like the real data (for benchmarks and tests).

    Deterministic, valid against the shapes, realistic in proportions: thousands of
    settlements in 24 oblasts, three years of dates, 1-3 sources per event, acts of the
    forces in about a third of the events, casualty claims, some events in two places.
    Every name says it is synthetic.
    """
    from .synth import generate

    _emit(generate(events, seed).encode("utf-8"), output, f"{events:,} events, ")
    return EXIT_OK


# --- serve ------------------------------------------------------------------------------

@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0 picks a free one).")
@_data_option
@click.option("--timeout", type=click.FloatRange(min=0.1, max=3600), default=20.0, show_default=True,
              metavar="SECONDS", help="Time limit per query; a query over it is stopped and answered with 503.")
@click.option("--max-rows", type=click.IntRange(min=1, max=10_000_000), default=10_000, show_default=True,
              help="Rows (or triples) per answer; more are cut and the answer says so (KG-Truncated header).")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=3, show_default=True,
              help="Query worker processes: how many queries run at once.")
@click.option("--quiet", is_flag=True, help="Do not log each request.")
def serve(host, port, data, timeout, max_rows, workers, quiet):
    """Serve the graph over HTTP until interrupted: web pages, the canned queries, and a
    read-only SPARQL 1.1 endpoint.

    \b
    /                    overview: map and timeline of the events, the questions
    /queries[.json]      the canned queries, as forms (or JSON)
    /queries/NAME        run one: ?param=value; NAME.json and NAME.csv for machines
    /id/...              a page per event, place, source... with its facts and sources
    /sparql              SPARQL 1.1 Protocol (GET/POST); JSON, XML, CSV, TSV, Turtle, JSON-LD

    Nothing can be changed (updates get 403), nothing is fetched from elsewhere (SERVICE,
    LOAD, FROM get 400), and every query runs in a worker process under the time limit.
    """
    import signal

    from .server import Service, make_server

    def stop(signum, frame):  # SIGTERM (a service manager, docker stop) stops as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    service = Service.start(data or None, workers=workers, timeout=timeout, max_rows=max_rows)
    try:
        try:
            server = make_server(service, host, port, quiet=quiet)
        except OSError as e:
            raise KgError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        shown = f"[{server.server_address[0]}]" if ":" in server.server_address[0] else server.server_address[0]
        click.echo(f"Serving {len(data) or 'the bundled'} data file{'s' if len(data) != 1 else ''} at "
                   f"http://{shown}:{server.server_address[1]}/  (SPARQL endpoint: /sparql; Ctrl-C stops)", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            _echo_err("Stopped.")
        finally:
            server.server_close()
    finally:
        service.close()
    return EXIT_OK


# --- entry point ----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (tests call this in-process)."""
    try:
        rv = cli.main(args=argv, prog_name="kg", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return EXIT_ERROR
    except click.exceptions.Abort:
        _echo_err("Aborted.")
        return EXIT_ERROR
    except KgError as e:
        _echo_err(f"error: {e}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _echo_err("Interrupted.")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return rv if isinstance(rv, int) else EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
