"""The Markdown ticket: renders with a Markdown library, its mermaid diagrams parse with mermaid's
own parser, and its evidence (Accept, Authorization scheme and user, line endings, curl commands)
comes from real pulls against the lab on 127.0.0.1."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from markdown_it import MarkdownIt

from diagnose.http import TransportOptions
from diagnose.lab import LAB_USERS, Lab
from diagnose.model import Report
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.render.markdown import render_markdown, visible_line_endings
from diagnose.render.sequence import mermaid_text, sequence_diagram
from diagnose.render.steps import shown_pulls
from diagnose.run import compare
from tests import factories as f
from tests.js_tools import parse_mermaid

SCENARIOS = [
    f.scenario_both_ok,
    f.scenario_hub_anonymous_missing,
    f.scenario_basic_no_credentials,
    f.scenario_plain_http,
    f.scenario_only_on_v1,
    f.scenario_tls,
    f.scenario_credentials_rejected,
]


def _lab_report(lab: Lab, path: str, user: str | None = None) -> Report:
    ref = parse_reference(f"{lab.registry_host}/{path}")
    creds = (user, LAB_USERS[user]) if user else None
    options = PullOptions(credentials=creds, tls_verify=False)
    return compare(ref, options, TransportOptions(timeout=10), auth_source="test")


def _mermaid_blocks(md: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    return [t.content for t in tokens if t.type == "fence" and t.info.strip() == "mermaid"]


def test_every_scenario_renders_and_every_diagram_parses() -> None:
    reports = [f.report(scenario()) for scenario in SCENARIOS]
    diagrams: list[str] = []
    for report in reports:
        md = render_markdown(report)
        page = MarkdownIt("commonmark").enable("table").render(md)
        assert page.count("<table>") == 1, "the side-by-side table renders as a table"
        assert page.count("<details>") == len(report.exchanges) + len(report.pulls)
        blocks = _mermaid_blocks(md)
        assert len(blocks) == len(report.pulls), "one sequence diagram per pull"
        diagrams += blocks
    results = parse_mermaid(diagrams)
    assert [r for r in results if not r["ok"]] == []
    assert {r["type"] for r in results} == {"sequence"}


def test_the_mermaid_check_can_fail() -> None:
    results = parse_mermaid(["sequenceDiagram\n    C->>>R: nope", "sequenceDiagram\n    C->>R: fine"])
    assert [r["ok"] for r in results] == [False, True]


def test_registry_text_cannot_change_a_diagram() -> None:
    v2, _ = f.scenario_tag_missing()
    hostile = "https://registry:5000/v2/x;Note over C: pwned\n    C->>P1: fake #1; end"
    ex = replace(v2.exchanges[-1], request=replace(v2.exchanges[-1].request, url=hostile))
    v2 = replace(v2, exchanges=(*v2.exchanges[:-1], ex), client="evil; participant X")
    diagram = sequence_diagram(v2)
    assert ";" not in re.sub(r"#\d+;", "", diagram) and "pwned" in diagram
    arrows = [line for line in diagram.splitlines() if re.match(r"\s*C->>", line)]
    assert len(arrows) == len(v2.exchanges), "no extra message was injected"
    assert parse_mermaid([diagram])[0]["ok"]
    assert mermaid_text("a;b#c<d>") == "a#59;b#35;c#60;d#62;"


def test_failing_step_is_marked_in_the_diagram() -> None:
    v2, _ = f.scenario_basic_no_credentials()
    diagram = sequence_diagram(v2)
    assert "rect rgba(255, 80, 80, 0.18)" in diagram
    assert "✗ the pull failed here: not authorized (401)" in diagram


def test_line_endings_are_visible() -> None:
    assert visible_line_endings("a\r\nb\rc\n") == "a␍␊\nb␍c\n"
    v2, fb = f.scenario_tag_missing()
    ex = v2.exchanges[-1]
    assert ex.response is not None
    crlf = replace(ex, response=replace(ex.response, body='{"errors":[]}\r\n\r\nend\r'))
    md = render_markdown(f.report((replace(v2, exchanges=(*v2.exchanges[:-1], crlf)), fb)))
    assert '{"errors":[]}␍␊\n␍␊\nend␍' in md
    assert "\\x0d" not in md


def test_ticket_of_a_real_token_pull_shows_accept_and_authorization_without_secrets(lab: Lab) -> None:
    report = _lab_report(lab, "alice/private-app", user="alice")
    md = render_markdown(report)
    password = LAB_USERS["alice"]
    assert password not in md
    assert "> Accept: application/vnd.oci.image.index.v1+json" in md
    assert "> Authorization: Bearer <redacted>" in md
    assert '> Authorization: Basic <redacted: user "alice">' in md  # the token request's login
    assert '-u "$REGISTRY_USER:$REGISTRY_PASSWORD"' in md
    assert '-H "Authorization: Bearer $TOKEN"' in md
    assert "-H 'Accept: application/vnd.oci.image.index.v1+json'" in md
    blocks = _mermaid_blocks(md)
    assert len(blocks) == len(shown_pulls(report))  # one diagram per pull the table shows
    assert all(r["ok"] for r in parse_mermaid(blocks))


def test_ticket_of_a_basic_auth_pull(lab_basic: Lab) -> None:
    report = _lab_report(lab_basic, "alice/private-app", user="alice")
    md = render_markdown(report)
    assert LAB_USERS["alice"] not in md
    assert '> Authorization: Basic <redacted: user "alice">' in md
    assert '-u "$REGISTRY_USER:$REGISTRY_PASSWORD"' in md
    assert "Bearer $TOKEN" not in md


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_markdown_is_deterministic(scenario: Any) -> None:
    report = f.report(scenario())
    assert render_markdown(report) == render_markdown(report)


def test_blob_storage_is_a_participant_of_its_own(lab: Lab) -> None:
    """The lab answers blob requests with 307 to presigned storage URLs: the diagram shows the
    registry, the token server and the blob storage, and mermaid parses it."""
    report = _lab_report(lab, "library/redirected")
    diagram = sequence_diagram(report.pulls[0])
    assert "as registry 127.0.0.1:" in diagram
    assert "as token server 127.0.0.1:" in diagram
    assert "as blob storage 127.0.0.1:" in diagram
    assert "307 Temporary Redirect" in diagram
    assert parse_mermaid([diagram])[0]["ok"]
