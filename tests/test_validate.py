"""kg validate: the bundled data conforms; every invalid fixture fails precisely."""

from __future__ import annotations

import json

import pytest

from kg import paths
from kg.cli import main
from kg.validate import validate

from .conftest import FIXTURES, header

INVALID = sorted((FIXTURES / "invalid").glob("*.ttl"))
MALFORMED = sorted((FIXTURES / "malformed").glob("*.ttl"))


def test_bundled_data_conforms():
    report = validate(paths.default_data_files(), paths.ONTOLOGY, paths.SHAPES)
    assert report.conforms, [v.to_dict() for v in report.violations]
    assert report.events == 20


def test_minimal_valid_fixture_conforms():
    report = validate([FIXTURES / "valid" / "minimal.ttl"], paths.ONTOLOGY, paths.SHAPES)
    assert report.conforms, [v.to_dict() for v in report.violations]


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_reports_its_constraint(fixture):
    expect = header(fixture)
    report = validate([fixture], paths.ONTOLOGY, paths.SHAPES)
    assert not report.conforms
    found = {(v.focus, v.constraint, v.path) for v in report.violations}
    assert (expect["focus"], expect["constraint"], expect.get("path")) in found, found
    # Every violation points at the subject's line in the fixture.
    for v in report.violations:
        assert v.file and v.file.endswith(fixture.name) and v.line, v


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_exits_1_and_names_the_subject(fixture, capsys):
    assert main(["validate", str(fixture)]) == 1
    out = capsys.readouterr().out
    assert header(fixture)["focus"] in out


@pytest.mark.parametrize("fixture", MALFORMED, ids=lambda p: p.stem)
def test_malformed_file_exits_2_naming_file_and_line(fixture, capsys):
    assert main(["validate", str(fixture)]) == 2
    err = capsys.readouterr().err
    line = header(fixture).get("line")
    if line:
        assert f"{fixture.name}:{line}:" in err, err
    else:
        assert fixture.name in err and "no triples" in err, err


def test_file_without_events_is_an_error(tmp_path, capsys):
    f = tmp_path / "places-only.ttl"
    f.write_text("<https://example.org/a> <http://www.w3.org/2000/01/rdf-schema#label> \"A\" .\n")
    assert main(["validate", str(f)]) == 2
    assert "no protest events" in capsys.readouterr().err


def test_missing_file_and_unknown_extension_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.ttl")]) == 2
    assert "no such file" in capsys.readouterr().err
    odd = tmp_path / "data.xyz"
    odd.write_text("x")
    assert main(["validate", str(odd)]) == 2
    assert "unknown RDF file extension" in capsys.readouterr().err


def test_bad_option_is_a_usage_error(capsys):
    assert main(["validate", "--format", "yaml"]) == 2


def test_json_report_groups_nothing_when_valid(capsys):
    assert main(["validate", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["conforms"] is True and report["violations"] == [] and report["events"] == 20


def test_text_report_groups_problems_by_event(capsys):
    fixture = FIXTURES / "invalid" / "category-intervention-despite-wounded.ttl"
    assert main(["validate", str(fixture)]) == 1
    out = capsys.readouterr().out
    assert "event:test-rally  (" in out and "does not agree with the facts" in out


def test_validation_never_writes(tmp_path):
    fixture = FIXTURES / "invalid" / "event-without-date.ttl"
    copy = tmp_path / fixture.name
    copy.write_bytes(fixture.read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    main(["validate", str(copy)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_every_invalid_fixture_differs_from_the_valid_one_by_a_defect():
    # Guards the fixture set itself: an invalid fixture identical to the base would prove nothing.
    base = (FIXTURES / "valid" / "minimal.ttl").read_text().split("\n@prefix", 1)[1]
    for f in INVALID:
        assert f.read_text().split("\n@prefix", 1)[1] != base, f.name


def test_a_folder_stands_for_its_rdf_files(capsys, tmp_path):
    assert main(["validate", "data"]) == 0
    assert "conforms (20 events" in capsys.readouterr().out
    assert main(["validate", str(tmp_path)]) == 2
    assert "holds no RDF files" in capsys.readouterr().err
