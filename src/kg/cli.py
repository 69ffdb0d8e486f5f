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
def validate(files, ontology, shapes, fmt):
    """Check data files against the ontology and SHACL shapes.

    FILES default to the bundled data. Files are parsed strictly first (errors name
    file:line:column), then checked for unknown or misspelled classes and properties,
    then validated with SHACL. Nothing is written.

    Exit status: 0 conforms, 1 violations found, 2 unreadable input or usage error.
    """
    from .validate import validate as run_validation

    report = run_validation(list(files) or paths.default_data_files(), ontology or paths.ONTOLOGY,
                            shapes or paths.SHAPES)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    return EXIT_OK if report.conforms else EXIT_INVALID


def _print_report(report) -> None:
    files = ", ".join(_display_path(f) for f in report.files)
    if report.conforms:
        click.echo(f"{files}: conforms ({report.events} events, {report.triples} triples).")
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
    except BrokenPipeError:
        return EXIT_OK
    return rv if isinstance(rv, int) else EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
