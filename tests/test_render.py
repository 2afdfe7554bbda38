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
    """What a non-terminal console (a pipe, a file) receives."""
    console = _console(width, **kwargs)
    render_terminal(report, console)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


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
    assert "v2-only · skopeo (c/image ≥ 5.24): not authorized (401) — the V2 API's answer" in flat
    assert "v2-then-v1 · docker 1.12: not found — the V1 API's answer" in flat
    assert "registry-1.docker.io" in text
    assert "requested access to the resource is denied" in flat
    assert "Error: image library/thisimagedoesntexist:latest not found" in flat
    assert report.diagnosis.title in flat
    assert "What the registry will not reveal" in text
    assert "Next steps" in text
    assert "v1 images" in text  # the fallback pull's extra step has its own row
    assert "rule unauthorized-hidden-by-v1" in text


def test_terminal_verdict_is_the_first_and_the_last_line() -> None:
    report = f.report(f.scenario_hub_anonymous_missing())
    lines = _rendered(report, width=200).splitlines()
    assert lines[0] == "✗ " + report.diagnosis.title
    assert lines[-1] == "✗ " + report.diagnosis.title
    ok = f.report(f.scenario_both_ok())
    assert _rendered(ok, width=200).splitlines()[-1] == "✓ " + ok.diagnosis.title


def test_terminal_shows_scheme_and_host_where_they_change() -> None:
    text = _rendered(f.report(f.scenario_hub_anonymous_missing()), width=200)
    assert "GET https://registry-1.docker.io/v2/library/thisimagedoesntexist/manifests/latest" in text
    assert "GET https://index.docker.io/v1/repositories/library/thisimagedoesntexist/images" in text
    assert "GET https://auth.docker.io/token?scope=repository:library/thisimagedoesntexist:pull" in text
    plain = _rendered(f.report(f.scenario_plain_http()), width=200)
    assert "GET https://127.0.0.1:5000/v2/" in plain and "GET http://127.0.0.1:5000/v2/" in plain
    assert "TLS: the port speaks plain HTTP" in plain


def test_terminal_aligns_steps_by_kind_not_position() -> None:
    """docker's V1 steps get rows of their own: the strict pull's cells there are empty."""
    text = _rendered(f.report(f.scenario_plain_http()), width=200)
    v1_row = next(line for line in text.splitlines() if line.startswith("v1 ping"))
    assert v1_row.split("GET")[0].strip() == "v1 ping", "no v2-only step beside the V1 ping"
    pings = [line for line in text.splitlines() if line.startswith("ping")]
    assert len(pings) == 2


@pytest.mark.parametrize(
    ("step", "failure", "words"),
    [
        (("ping", 401, "401 Bearer challenge"), None, "401 — asks for a Bearer token"),
        (("ping", 401, "401 Basic challenge"), None, "401 — asks for a user and password (Basic)"),
        (("v1 ping", 404, "404 (ignored; standalone=true)"), None, "404 — docker ignores it"),
        (("token", 200, "token (access: none)"), None, "200 — token grants no access"),
        (("token", 200, "token (access: pull)"), None, "200 — token grants pull"),
        (("manifest", 404, "404 MANIFEST_UNKNOWN"), None, "404 — no such manifest (MANIFEST_UNKNOWN)"),
        (("config", 200, "200 digest ok"), None, "200 — digest verified"),
        (
            ("ping", None, "tls"),
            ("tls", "x509: certificate signed by unknown authority"),
            "TLS: certificate signed by an unknown authority",
        ),
        (
            ("ping", None, "tls"),
            ("tls", "TLS with h:443: wrong version number (plain HTTP?)"),
            "TLS: the port speaks plain HTTP",
        ),
        (
            ("ping", None, "dns"),
            ("dns", "cannot resolve host 'x': Name or service not known"),
            "DNS: no such host",
        ),
        (("ping", None, "refused"), ("refused", "connection to h:1 refused"), "connection refused"),
        (("ping", None, "tls"), None, "TLS: handshake failed"),
    ],
)
def test_step_results_in_plain_words(step: Any, failure: Any, words: str) -> None:
    from diagnose.model import Exchange, PullStep, RecordedRequest, Strategy, TransportFailure
    from diagnose.render.steps import result_words

    label, status, result = step
    pull_step = PullStep(label, "GET", "https://h/v2/", status, result, exchange_id=1)
    exchange = None
    if failure is not None:
        exchange = Exchange(
            1,
            Strategy.V2_ONLY,
            label,
            RecordedRequest("GET", "https://h/v2/"),
            failure=TransportFailure(FailureKind(failure[0]), failure[1]),
        )
    assert words in result_words(pull_step, exchange)


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        (
            "GET /v2/library/thisimagedoesntexist/manifests/latest",
            30,
            ["GET /v2/library/", "thisimagedoesntexist/", "manifests/latest"],
        ),
        (
            "GET https://h.example/token?scope=a/b:pull&service=s",
            28,
            ["GET https://h.example/token", "?scope=a/b:pull&service=s"],
        ),
        ("GET https://registry-1.docker.io/v2/", 21, ["GET https://", "registry-1.docker.io/", "v2/"]),
        ("word " * 3, 10, ["word word", "word"]),
        ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),  # one piece longer than the line: cut
    ],
)
def test_fold_breaks_only_at_slash_query_and_ampersand(text: str, width: int, lines: list[str]) -> None:
    from diagnose.render.steps import fold

    assert fold(text, width) == lines


def test_digests_are_shortened_in_the_terminal_only() -> None:
    from diagnose.render.steps import short_digests

    digest = "sha256:" + "ab" * 32
    assert short_digests(f"manifest {digest} ok") == "manifest sha256:abababababab… ok"
    v2, fb = f.scenario_tag_missing()
    v2 = replace(v2, steps=(*v2.steps[:-1], replace(v2.steps[-1], url=f"https://r/v2/x/blobs/{digest}")))
    report = f.report((v2, fb))
    assert digest not in _rendered(report, width=200)
    assert "sha256:abababababab…" in _rendered(report, width=200)
    assert digest in render_markdown(report) and digest in render_json(report)


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
@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_every_scenario_renders_at_every_width(scenario: Any, width: int) -> None:
    text = _rendered(f.report(scenario()), width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert all(line == line.rstrip() for line in lines), "no padding when not a terminal"
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
    assert "not sent: no basic auth credentials" in text


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
                "hosts": {"docker-v2": "registry-1.docker.io", "crane": "index.docker.io"},
            },
            {"input": "Foo[bold]", "valid": False, "error": "invalid reference format: [bold] repository"},
        ],
        console,
    )
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "docker.io/library/ubuntu:latest" in text
    assert "docker (V2): registry-1.docker.io" in text  # stable ids in JSON, client names here
    assert "crane / go-containerregistry: index.docker.io" in text
    assert "invalid reference format: [bold] repository" in text
    assert "Foo[bold]" in text
    assert all(line == line.rstrip() for line in text.splitlines()), "no padding in a pipe"


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
    title = f"# ✗ {report.diagnosis.title} — `docker.io/library/thisimagedoesntexist:latest`"
    assert md.splitlines()[0] == title
    assert "- Rule: `unauthorized-hidden-by-v1`" in md
    for pull in report.pulls:
        assert f"```text\n{pull.message}\n```" in md
    assert "## Next steps" in md and "1. Check the spelling" in md
    assert "`docker login`" in md  # our own code spans survive escaping
    assert "<details>" in md and "</details>" in md
    for exchange in report.exchanges:
        assert f"<summary>#{exchange.id} · {exchange.strategy.value} · {exchange.step} · " in md
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
    report = f.report((v2, fb), diagnosis=diagnosis)
    md = render_markdown(report)
    assert "````text\nmanifest ```unknown``` <img src=x>\n````" in md
    assert "````http\n" in md  # the body's ``` cannot close the evidence block
    # ours (one per exchange, one per pull's curl commands), and the one quoted in the body
    assert md.count("</details>") == len(report.exchanges) + len(report.pulls) + 1
    assert "\\<b\\>hi\\</b\\> \\[x\\](http\\://e)" in md  # no link, no autolink


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


def test_each_pull_shows_an_origin_only_where_it_changes() -> None:
    """The table every renderer draws (``steps.table_rows``): a step names its host when the
    same pull's step before was elsewhere (or there was none), only the path otherwise; a row
    a pull has no step in does not count as its step before."""
    from diagnose.render.steps import relative_url, table_rows

    def shown(report: Report) -> list[tuple[str, list[str | None]]]:
        return [
            (row.label, [relative_url(c.step.url, c.previous_origin) if c else None for c in cells])
            for row, cells in table_rows(report, report.pulls)
        ]

    token = "https://auth.docker.io/token?scope=repository:library/busybox:pull&service=registry.docker.io"
    manifest = "https://registry-1.docker.io/v2/library/busybox/manifests/latest"
    assert shown(f.report(f.scenario_both_ok())) == [
        ("ping", ["https://registry-1.docker.io/v2/"] * 2),
        ("token", [token] * 2),
        ("manifest", [manifest] * 2),  # back from the token server: the host again
    ]
    assert shown(f.report(f.scenario_tag_missing())) == [
        ("ping", ["https://registry:5000/v2/"] * 2),
        ("manifest", ["/v2/busybox/manifests/x"] * 2),
        ("v1 ping", [None, "/v1/_ping"]),
        ("v1 images", [None, "/v1/repositories/busybox/images"]),
    ]
    markdown = render_markdown(f.report(f.scenario_tag_missing()))
    assert "`GET /v2/busybox/manifests/x`" in markdown and "`GET /v1/_ping`" in markdown
