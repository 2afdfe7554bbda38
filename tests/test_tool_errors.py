"""A bug in diagnose is the tool's own failure, never a registry outcome.

A puller or a rule that raises gives an ``internal_error`` pull / ``internal-error`` diagnosis
with the evidence kept and exit code 3; and the test suite fails whenever any report a test
produces holds one (tests/conftest.py ``no_tool_errors``). The last test proves that on a copy
of the project whose manifest parser raises.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose.http import HttpClient
from diagnose.lab import Lab
from diagnose.model import AuthInfo, AuthMode, ImageReference, Outcome, PullResult, StepKind, Strategy
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.render.json_report import render_json, report_from_dict
from diagnose.run import build_report, guarded, guarded_diagnose
from diagnose.transport import Recorder, RecordingClient, TransportOptions

ROOT = Path(__file__).resolve().parent.parent
ANONYMOUS = AuthInfo(AuthMode.ANONYMOUS, "none")


def _buggy_puller(ref: ImageReference, client: HttpClient, options: PullOptions) -> PullResult:
    client.send("ping", "GET", f"http://{ref.domain}/v2/", kind=StepKind.PING)
    raise KeyError("mediaType")


@pytest.mark.tool_error_expected
def test_a_puller_bug_is_an_internal_error_that_keeps_the_evidence(lab: Lab) -> None:
    ref = parse_reference(f"{lab.registry_host}/library/busybox")
    with RecordingClient(Recorder(), Strategy.V2_ONLY, TransportOptions(timeout=5)) as client:
        result = guarded(_buggy_puller, ref, client, PullOptions())
    assert result.outcome is Outcome.INTERNAL_ERROR
    assert result.outcome is not Outcome.PROTOCOL_ERROR
    assert result.tool_error is not None and result.tool_error.startswith("KeyError: 'mediaType'")
    assert [e.kind for e in result.exchanges] == [StepKind.PING]  # the evidence is kept
    assert result.exchanges[0].response is not None and result.exchanges[0].response.status == 401
    report = build_report(ref, (result,), ANONYMOUS)
    assert report.diagnosis.id == "internal-error"
    assert "a bug in diagnose" in report.diagnosis.title
    assert report_from_dict(json.loads(render_json(report))) == report


@pytest.mark.tool_error_expected
def test_a_rule_bug_is_an_internal_error_diagnosis() -> None:
    not_a_pull = object()
    diagnosis = guarded_diagnose([not_a_pull], ANONYMOUS)  # type: ignore[list-item]
    assert diagnosis.id == "internal-error"
    assert diagnosis.tool_error is not None and diagnosis.tool_error.startswith("AttributeError")
    assert "facts.py" in diagnosis.tool_error  # where in diagnose it broke


def _copy_project(target: Path) -> None:
    skip = shutil.ignore_patterns("__pycache__", "node_modules", ".hypothesis", "*.pyc")
    shutil.copytree(ROOT / "diagnose", target / "diagnose", ignore=skip)
    shutil.copytree(ROOT / "tests", target / "tests", ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


CANARY = """
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pulls
from diagnose.transport import TransportOptions


def test_canary_only_counts_exchanges(lab):
    ref = parse_reference(f"{lab.registry_host}/library/busybox:1.36")
    pulls = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=5))
    assert all(p.exchanges for p in pulls)  # true even when every puller crashed half-way
"""


def test_raising_inside_manifest_parsing_fails_the_suite_and_exits_3(tmp_path: Path, lab: Lab) -> None:
    """A deliberate bug in a puller (parse_manifest raises) must not pass for a registry answer."""
    _copy_project(tmp_path)
    common = tmp_path / "diagnose" / "pullers" / "common.py"
    text = common.read_text(encoding="utf-8")
    docstring = '    """Parse a manifest or index; None when the body is not a usable manifest."""\n'
    assert text.count(docstring) == 1
    common.write_text(
        text.replace(docstring, docstring + '    raise RuntimeError("deliberate bug in manifest parsing")\n'),
        encoding="utf-8",
    )
    (tmp_path / "tests" / "test_canary.py").write_text(CANARY, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}

    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_canary.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = suite.stdout + suite.stderr
    assert suite.returncode != 0, out[-3000:]
    assert "test_canary_only_counts_exchanges" in out
    assert "diagnose reported a bug of its own" in out and "deliberate bug in manifest parsing" in out

    saved = tmp_path / "report.json"
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "diagnose",
            "compare",
            f"{lab.registry_host}/library/busybox:1.36",
            "--no-tls-verify",
            "--timeout",
            "5",
            "--save",
            str(saved),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 3, cli.stdout[-2000:] + cli.stderr[-2000:]
    assert "Traceback" not in cli.stderr
    assert "internal error" in cli.stderr
    report = json.loads(saved.read_text(encoding="utf-8"))
    crashed = [p for p in report["pulls"] if p["outcome"] == "internal_error"]
    assert crashed and all("deliberate bug in manifest parsing" in p["tool_error"] for p in crashed)
    assert all(p["exchange_ids"] for p in crashed)  # the evidence up to the bug is kept
    assert report["diagnosis"]["id"] == "internal-error"
