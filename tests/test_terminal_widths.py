"""The terminal report of the demo scenarios (the built-in lab, real HTTP) at 60, 80, 120 and 200
columns: the verdict is the first and the last line, nothing is broken mid-token, https and http
steps can be told apart, and a pipe gets no padding."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from rich.console import Console

from diagnose.demo import SCENARIOS, run_demo
from diagnose.model import Report
from diagnose.render.clients_panel import table_view
from diagnose.render.json_report import render_json
from diagnose.render.steps import short_digests, verdict
from diagnose.render.terminal import render_terminal
from tests import factories as f

WIDTHS = (60, 80, 120, 200)
_PIECES = re.compile(r"(?<=/)|(?=[?&])")


@pytest.fixture(scope="module")
def demo_reports() -> list[Report]:
    return run_demo(Console(file=io.StringIO()))


def _render(report: Report, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    render_terminal(report, console)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def _tokens(report: Report) -> set[str]:
    """Every piece of text that must appear whole: URL pieces between ``/``, ``?``, ``&`` and
    the words of the diagnosis, split the same way."""
    shown = table_view(report).pulls  # the pulls the table shows (the others feed the client panel)
    texts = [unquote(step.url) for pull in shown for step in pull.steps]
    d = report.diagnosis
    texts += [d.title, d.explanation, *d.known, *d.unknowable, *d.next_steps]
    tokens: set[str] = set()
    for text in texts:
        for word in short_digests(text).split():
            tokens.update(piece for piece in _PIECES.split(word) if len(piece) > 1)
    return tokens


@pytest.mark.parametrize("width", WIDTHS)
def test_demo_reports_fit_and_keep_every_token_whole(demo_reports: list[Report], width: int) -> None:
    assert len(demo_reports) == len(SCENARIOS)
    for report in demo_reports:
        text = _render(report, width)
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width, report.reference.input
        assert all(line == line.rstrip() for line in lines), "a pipe gets no padding"
        first = verdict(report)
        assert lines[0] and first.startswith(lines[0]), (lines[0], first)
        tail = " ".join(lines[-len(lines[0].split()) - 12 :])
        assert " ".join(tail.split()).endswith(" ".join(first.split())), "the verdict is the last line"
        flat = text.replace("│", " ")
        for token in _tokens(report):
            if len(token) <= 22:  # the narrowest cell; longer pieces may be cut, and none is
                assert token in flat, (width, report.reference.input, token)
        assert not re.search(r"[0-9a-f]{64}", text), "digests are shortened to 12 hex"


@pytest.mark.parametrize("width", WIDTHS)
def test_demo_https_and_http_steps_are_distinguishable(demo_reports: list[Report], width: int) -> None:
    """The lab speaks plain http: each pull's https ping fails and its http ping answers; both
    rows show their scheme (docker's endpoint fallback is visible)."""
    text = _render(demo_reports[0], width)
    assert "GET https://" in text
    assert "GET http://" in text
    assert "TLS: the port speaks plain HTTP" in " ".join(text.split()) or "TLS: the port" in text
    assert "— tls" not in text and "tls_error" not in text


def _replay_cli(tmp_path: Path, env: dict[str, str]) -> str:
    saved = tmp_path / "report.json"
    saved.write_text(render_json(f.report(f.scenario_plain_http())), encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    base["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-m", "diagnose", "replay", str(saved)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_cli_pipe_gets_no_colour_and_no_padding(tmp_path: Path) -> None:
    out = _replay_cli(tmp_path, {"COLUMNS": "120"})
    assert "\x1b[" not in out
    assert all(line == line.rstrip() for line in out.splitlines())
    assert max(len(line) for line in out.splitlines()) <= 120


def test_cli_respects_no_color_on_a_terminal(tmp_path: Path) -> None:
    coloured = _replay_cli(tmp_path, {"FORCE_COLOR": "1", "COLUMNS": "100"})
    assert "\x1b[31" in coloured or "\x1b[1;31" in coloured, "a terminal gets colour"
    plain = _replay_cli(tmp_path, {"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "100"})
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", plain), "NO_COLOR: no foreground colours"
