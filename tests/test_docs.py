"""The documentation is checked: quick start, commands, queries and example outputs."""

from __future__ import annotations

import re
import shlex

import pytest

from kg import paths
from kg.catalogue import Catalogue
from kg.cli import cli, main

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the quick start must be one fenced code block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def test_quick_start_is_exactly_two_commands():
    assert _quick_start_commands() == ["uv run kg query gunfire-on-protesters", "uv run pytest"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _quick_start_commands()[1] in ci.splitlines()


def test_the_main_command_of_the_quick_start_works(capsys):
    argv = shlex.split(_quick_start_commands()[0])[2:]  # drop "uv run"
    assert main(argv[1:]) == 0
    assert "Nova Kakhovka" in capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_readme_and_has_help(command, capsys):
    assert f"kg {command}" in README
    assert main([command, "--help"]) == 0
    assert "Usage:" in capsys.readouterr().out


@pytest.mark.parametrize("query", sorted(Catalogue.load(paths.QUERIES_DIR).queries), ids=str)
def test_every_query_is_documented(query):
    q = Catalogue.load(paths.QUERIES_DIR).get(query)
    assert q.summary and q.description
    for p in q.params:
        assert re.search(rf"\b{re.escape(p.name)}\b", q.description), f"{query}: description omits '{p.name}'"
    assert f"### `{query}`" in README, f"README has no example for {query}"


def _console_examples():
    for block in re.findall(r"```console\n(.*?)```", README, re.DOTALL):
        commands = re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]
        for chunk in commands:
            command, _, output = chunk.partition("\n")
            yield command, [l for l in output.splitlines() if l != "..."]


@pytest.mark.parametrize("command, shown", list(_console_examples()), ids=lambda v: v if isinstance(v, str) else "")
def test_readme_examples_print_what_they_show(command, shown, capsys):
    argv = shlex.split(command)
    assert argv[:3] == ["uv", "run", "kg"]
    main(argv[3:])
    actual = capsys.readouterr().out.splitlines()
    assert len(actual) >= len(shown)
    for want, got in zip(shown, actual):
        # Wide tables are shown trimmed on the right in the README.
        assert got.rstrip().startswith(want.rstrip()), (command, want, got)
