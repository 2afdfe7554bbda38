"""Renderers: terminal (rich, recorded console), JSON contract round trip, Markdown."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
from rich.console import Console

from diagnose.model import SCHEMA, FailureKind, Report
from diagnose.render.json_report import render_json, report_from_dict, report_to_dict
from diagnose.render.markdown import render_markdown
from diagnose.render.terminal import render_reference_table, render_terminal
from tests import factories as f

ALL_SCENARIOS = [
    f.scenario_both_ok,
    f.scenario_hub_anonymous_missing,
    f.scenario_basic_no_credentials,
    f.scenario_tag_missing,
    f.scenario_only_on_v1,
    f.scenario_rate_limited,
    f.scenario_tls,
    f.scenario_credentials_rejected,
]


def _console(width: int = 100, **kwargs: Any) -> Console:
    return Console(record=True, width=width, file=io.StringIO(), color_system=None, **kwargs)


def _rendered(report: Report, width: int = 100, **kwargs: Any) -> str:
    console = _console(width, **kwargs)
    render_terminal(report, console)
    return console.export_text()


def _flat(text: str) -> str:
    """The rendered text with borders and line breaks removed, to find wrapped sentences."""
    for ch in "│╭╮╰╯─":
        text = text.replace(ch, " ")
    return " ".join(text.split())


# --- terminal ---------------------------------------------------------------------------------


def test_terminal_shows_both_pulls_messages_and_diagnosis() -> None:
    report = f.report(f.scenario_hub_anonymous_missing())
    text = _rendered(report)
    flat = _flat(text)
    assert "v2-only — skopeo (c/image ≥ 5.24)" in text
    assert "v2-then-v1 — docker 1.12" in text
    assert "registry-1.docker.io" in text
    assert "requested access to the resource is denied" in flat
    assert "Error: image library/thisimagedoesntexist:latest not found" in flat
    assert report.diagnosis.title in flat
    assert "What the registry will not reveal" in text
    assert "Next steps" in text
    assert "v1 images" in text  # the fallback pull's extra step has its own row
    assert "rule unauthorized-hidden-by-v1" in text


def test_terminal_shows_host_once_and_other_hosts_in_full() -> None:
    text = _rendered(f.report(f.scenario_hub_anonymous_missing()), width=200)
    assert "https://" not in text
    assert "GET /v2/library/thisimagedoesntexist/manifests/latest" in text
    assert "index.docker.io/v1/repositories/library/thisimagedoesntexist/images" in text
    assert "auth.docker.io/token?scope=repository:library/thisimagedoesntexist:pull" in text


def test_registry_text_is_printed_literally_not_as_markup() -> None:
    v2, fb = f.scenario_tag_missing()
    v2 = replace(v2, message="manifest [bold]unknown[/bold] [link=http://x]y[/link]")
    step = replace(v2.steps[-1], result="404 [red]boom[/red]", label="[i]manifest")
    v2 = replace(v2, steps=(*v2.steps[:-1], step))
    diagnosis = replace(f.report((v2, fb)).diagnosis, title="title with [bold]markup[/]", explanation="x")
    text = _rendered(f.report((v2, fb), diagnosis=diagnosis), width=200)
    assert "manifest [bold]unknown[/bold] [link=http://x]y[/link]" in text
    assert "[red]boom[/red]" in text
    assert "[i]manifest" in text
    assert "title with [bold]markup[/]" in text


@pytest.mark.parametrize("scenario", ALL_SCENARIOS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("width", [80, 100, 200])
def test_every_scenario_renders_at_every_width(scenario: Any, width: int) -> None:
    text = _rendered(f.report(scenario()), width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "Diagnosis" in text


def test_no_colour_when_console_says_no_color() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, no_color=True)
    render_terminal(f.report(), console)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[3" not in output and "\x1b[9" not in output  # no foreground colours
    coloured = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="standard")
    render_terminal(f.report(), coloured)
    assert "\x1b[3" in coloured.file.getvalue()  # type: ignore[attr-defined]


def test_client_side_refusal_step_has_no_status() -> None:
    text = _rendered(f.report(f.scenario_basic_no_credentials(), auth=f.ANONYMOUS), width=160)
    assert "client_side" in text
    assert "—" in text


def test_reference_table_shows_fields_hosts_and_errors() -> None:
    console = _console(100)
    render_reference_table(
        [
            {
                "input": "ubuntu",
                "valid": True,
                "domain": "docker.io",
                "path": "library/ubuntu",
                "tag": "latest",
                "digest": None,
                "familiar": "ubuntu:latest",
                "canonical": "docker.io/library/ubuntu:latest",
                "error": None,
                "hosts": {"docker 1.12": "registry-1.docker.io", "crane": "index.docker.io"},
            },
            {"input": "Foo[bold]", "valid": False, "error": "invalid reference format: [bold] repository"},
        ],
        console,
    )
    text = console.export_text()
    assert "docker.io/library/ubuntu:latest" in text
    assert "docker 1.12: registry-1.docker.io" in text
    assert "crane: index.docker.io" in text
    assert "invalid reference format: [bold] repository" in text
    assert "Foo[bold]" in text


# --- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ALL_SCENARIOS, ids=lambda s: s.__name__)
def test_json_round_trip(scenario: Any) -> None:
    report = f.report(scenario())
    data = json.loads(render_json(report))
    assert report_from_dict(data) == report
    assert report_from_dict(report_to_dict(report)) == report


def test_json_contract_shape() -> None:
    report = f.report(f.scenario_hub_anonymous_missing())
    data = json.loads(render_json(report))
    assert list(data)[:5] == ["schema", "tool", "created", "reference", "auth"]
    assert data["schema"] == SCHEMA == "diagnose/v1"
    assert data["tool"] == {"name": "diagnose", "version": "0.1.0"}
    assert data["reference"]["canonical"] == "docker.io/library/thisimagedoesntexist:latest"
    assert data["reference"]["registry"] == "docker.io"
    assert data["auth"] == {"mode": "anonymous", "source": "none", "username": None}
    strategies = [p["strategy"] for p in data["pulls"]]
    assert strategies == ["v2-only", "v2-then-v1"]
    assert data["pulls"][1]["protocol"] == "v1"
    assert data["pulls"][0]["error"]["challenge_error"] == "insufficient_scope"
    ids = [e["id"] for e in data["exchanges"]]
    assert ids == sorted(ids) and len(ids) == len(report.exchanges)
    first = data["exchanges"][0]
    assert set(first) >= {
        "id",
        "strategy",
        "step",
        "request",
        "response",
        "failure",
        "elapsed_ms",
        "redirect_of",
    }
    assert data["diagnosis"]["id"] == "unauthorized-hidden-by-v1"
    assert data["diagnosis"]["differ"] is True
    assert isinstance(data["diagnosis"]["next_steps"], list)


def test_json_repeated_headers_become_a_list_and_survive() -> None:
    v2, fb = f.scenario_tag_missing()
    ex = v2.exchanges[0]
    assert ex.response is not None
    headers = (("WWW-Authenticate", 'Basic realm="a"'), ("WWW-Authenticate", "Negotiate"), ("X", "1"))
    v2 = replace(
        v2, exchanges=(replace(ex, response=replace(ex.response, headers=headers)), *v2.exchanges[1:])
    )
    report = f.report((v2, fb))
    data = report_to_dict(report)
    assert data["exchanges"][0]["response"]["headers"]["WWW-Authenticate"] == ['Basic realm="a"', "Negotiate"]
    assert report_from_dict(json.loads(render_json(report))) == report


def test_json_failure_exchange() -> None:
    data = report_to_dict(f.report(f.scenario_tls()))
    first = data["exchanges"][0]
    assert first["response"] is None
    assert first["failure"] == {
        "kind": FailureKind.TLS.value,
        "detail": "x509: certificate signed by unknown authority",
    }


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"schema": "diagnose/v0"}, "schema is 'diagnose/v0'"),
        ({}, "schema is None"),
        ([], "expected a JSON object"),
        ({"schema": "diagnose/v1"}, "reference: expected an object"),
    ],
)
def test_json_rejects_garbage_with_one_line_value_error(data: Any, words: str) -> None:
    with pytest.raises(ValueError) as info:
        report_from_dict(data)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("pulls", 0, "outcome"), "exploded", "pulls[0].outcome: 'exploded' is not one of"),
        (("exchanges", 0, "id"), "one", "exchanges[0].id: expected an integer"),
        (("exchanges", 0, "request"), None, "exchanges[0].request: expected an object"),
        (("pulls", 0, "exchange_ids"), [999], "no exchange with id 999"),
        (("diagnosis", "differ"), "yes", "diagnosis.differ: expected true or false"),
    ],
)
def test_json_rejects_damaged_fields(path: tuple[Any, ...], value: Any, words: str) -> None:
    data = json.loads(render_json(f.report()))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValueError, match="malformed diagnose/v1 report") as info:
        report_from_dict(data)
    assert words in str(info.value)


def test_json_without_exchange_ids_assigns_exchanges_by_strategy() -> None:
    report = f.report()
    data = json.loads(render_json(report))
    for pull in data["pulls"]:
        del pull["exchange_ids"]
    assert report_from_dict(data) == report


# --- Markdown -----------------------------------------------------------------------------------


def test_markdown_has_summary_messages_diagnosis_and_every_exchange() -> None:
    report = f.report(f.scenario_hub_anonymous_missing())
    md = render_markdown(report)
    assert md.startswith("# Pull diagnosis: `docker.io/library/thisimagedoesntexist:latest`")
    assert report.diagnosis.title in md
    assert "(rule `unauthorized-hidden-by-v1`)" in md
    for pull in report.pulls:
        assert f"```text\n{pull.message}\n```" in md
    assert "## Next steps" in md and "1. Check the spelling" in md
    assert "`docker login`" in md  # our own code spans survive escaping
    assert "<details>" in md and "</details>" in md
    for exchange in report.exchanges:
        assert f"**#{exchange.id}**" in md
        assert f"{exchange.request.method} {exchange.request.url}" in md
    assert "< 401 Unauthorized" in md
    assert '< WWW-Authenticate: Bearer realm="https://auth.docker.io/token"' in md


def test_markdown_registry_text_cannot_break_out() -> None:
    v2, fb = f.scenario_tag_missing()
    ex = v2.exchanges[-1]
    assert ex.response is not None
    evil = "```\n</details><script>alert(1)</script>\n```"
    v2 = replace(
        v2,
        message="manifest ```unknown``` <img src=x>",
        exchanges=(*v2.exchanges[:-1], replace(ex, response=replace(ex.response, body=evil))),
    )
    diagnosis = replace(f.report((v2, fb)).diagnosis, explanation="said “<b>hi</b> [x](http://e)”")
    md = render_markdown(f.report((v2, fb), diagnosis=diagnosis))
    assert "````text\nmanifest ```unknown``` <img src=x>\n````" in md
    assert "````http\n" in md  # the body's ``` cannot close the evidence block
    assert md.count("</details>") == 2  # ours, and the one quoted inside the fenced body
    assert md.rstrip().endswith("</details>")
    assert "\\<b\\>hi\\</b\\> \\[x\\](http://e)" in md


def test_markdown_long_body_is_cut_and_failures_are_shown() -> None:
    md = render_markdown(f.report(f.scenario_tls()))
    assert "!! tls: x509: certificate signed by unknown authority" in md
    v2, fb = f.scenario_tag_missing()
    ex = v2.exchanges[-1]
    assert ex.response is not None
    big = replace(ex, response=replace(ex.response, body="x" * 5000, body_size=5000))
    md = render_markdown(f.report((replace(v2, exchanges=(*v2.exchanges[:-1], big)), fb)))
    assert "x" * 5000 not in md
    assert "… (5000 bytes)" in md
