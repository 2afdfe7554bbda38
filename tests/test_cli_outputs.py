"""Every output format through the command line: --html, --cassette, --curl, '-' as stdout for
each output option, and ``diagnose export`` of a saved report."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from diagnose.lab import LAB_USERS, Lab
from diagnose.render.cassette import load_cassette
from diagnose.render.json_report import render_json, report_from_dict
from tests import factories as f
from tests.test_cli import run


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(render_json(f.report(f.scenario_plain_http())) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("option", "starts"),
    [
        ("--markdown", "# ✗ "),
        ("--html", "<!DOCTYPE html>"),
        ("--har", '{\n  "log"'),
        ("--cassette", "version: 1"),
    ],
)
def test_dash_means_stdout_for_every_output_option(
    capsys: pytest.CaptureFixture[str], saved: Path, option: str, starts: str
) -> None:
    result = run(capsys, "replay", str(saved), option, "-")
    assert result.code == 1, result.err
    assert result.out.startswith(starts), result.out[:80]
    assert "Diagnosis" not in result.out.split("\n")[0]
    assert not Path("-").exists()


def test_only_one_output_may_use_stdout(capsys: pytest.CaptureFixture[str], saved: Path) -> None:
    both = run(capsys, "replay", str(saved), "--markdown", "-", "--har", "-")
    assert both.code == 2 and "only one output can go to stdout" in both.err
    with_json = run(capsys, "replay", str(saved), "--json", "--html", "-")
    assert with_json.code == 2 and "--json and --html" in with_json.err


@pytest.mark.parametrize("fmt", ["json", "markdown", "html", "har", "cassette"])
def test_export_writes_each_format(
    capsys: pytest.CaptureFixture[str], saved: Path, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    result = run(capsys, "export", str(saved), "--format", fmt, "-o", str(target))
    assert result.code == 0, result.err
    text = target.read_text(encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    original = report_from_dict(json.loads(saved.read_text()))
    if fmt == "json":
        assert report_from_dict(json.loads(text)) == original
    elif fmt == "har":
        assert len(json.loads(text)["log"]["entries"]) == len(original.exchanges)
    elif fmt == "cassette":
        assert yaml.safe_load(text)["version"] == 1
        assert [e.id for e in load_cassette(text)] == [e.id for e in original.exchanges]
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and original.diagnosis.title in text
    else:
        assert text.startswith(f"# ✗ {original.diagnosis.title}")
    to_stdout = run(capsys, "export", str(saved), "--format", fmt)
    assert to_stdout.out == text


def test_export_refuses_a_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = run(capsys, "export", str(tmp_path / "nope.json"))
    assert missing.code == 2 and "cannot read" in missing.err
    bad = run(capsys, "export", str(tmp_path / "nope.json"), "--format", "pdf")
    assert bad.code == 2


def test_compare_writes_html_and_cassette_and_prints_curl(
    capsys: pytest.CaptureFixture[str], lab: Lab, tmp_path: Path
) -> None:
    page, tape = tmp_path / "r.html", tmp_path / "r.yaml"
    result = run(
        capsys,
        "compare",
        f"{lab.registry_host}/alice/private-app",
        "--no-tls-verify",
        "--creds",
        f"alice:{LAB_USERS['alice']}",
        "--html",
        str(page),
        "--cassette",
        str(tape),
        "--curl",
    )
    assert result.code == 0, result.err
    assert "Reproduce by hand" in result.out
    assert '-u "$REGISTRY_USER:$REGISTRY_PASSWORD"' in result.out
    assert '-H "Authorization: Bearer $TOKEN"' in result.out
    for text in (result.out, page.read_text(), tape.read_text()):
        assert LAB_USERS["alice"] not in text
    assert "Waterfall" in page.read_text()
    assert len(load_cassette(tape.read_text())) >= 4
