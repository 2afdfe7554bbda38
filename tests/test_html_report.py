"""The HTML report in a real browser (headless Debian chromium): the page shows the verdict, the
steps, the diagnosis, a ms-precision waterfall and every exchange, and it makes no network
request. The screenshot is kept in ``test-artifacts/`` (or ``$DIAGNOSE_ARTIFACTS``)."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from diagnose.http import TransportOptions
from diagnose.lab import LAB_USERS, Lab
from diagnose.model import Report
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.render.html import render_html
from diagnose.render.steps import verdict
from diagnose.run import compare
from tests import factories as f
from tests.browser import load

ARTIFACTS = Path(os.environ.get("DIAGNOSE_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))


class _Text(HTMLParser):
    """The page's text, as a reader sees it (no tags, entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _text(dom: str) -> str:
    parser = _Text()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split())


def _lab_report(lab: Lab) -> Report:
    ref = parse_reference(f"{lab.registry_host}/alice/private-app")
    options = PullOptions(credentials=("alice", LAB_USERS["alice"]), tls_verify=False)
    return compare(ref, options, TransportOptions(timeout=10), auth_source="test")


def test_html_report_in_headless_chromium(lab: Lab, tmp_path: Path) -> None:
    anonymous = compare(
        parse_reference(f"{lab.registry_host}/library/thisimagedoesntexist"),
        PullOptions(tls_verify=False),
        TransportOptions(timeout=10),
        auth_source="test",
    )
    page = tmp_path / "report.html"
    page.write_text(render_html(anonymous), encoding="utf-8")
    loaded = load(page, ARTIFACTS / "html-report.png")
    assert loaded.page_requests == (), "the report made no network request"
    assert loaded.screenshot.stat().st_size > 10_000, "a screenshot was taken"
    text = _text(loaded.dom)
    title = verdict(anonymous)
    assert text.startswith(title), text[:200]
    assert text.endswith(title)
    assert "Side by side" in text and "Waterfall" in text and "Diagnosis" in text
    assert anonymous.diagnosis.title in text
    assert "TLS: the port speaks plain HTTP" in text
    assert "new connection" in text
    assert re.search(r"\+\d+\.\d ms · \d+\.\d ms · 401", text), "ms-precision waterfall"
    for exchange in anonymous.exchanges:
        assert f"#{exchange.id} · {exchange.strategy.value} · {exchange.step}" in text
    assert loaded.dom.count("<details") == len(anonymous.exchanges), "every exchange expandable"
    assert "curl -sS -i" in text


def test_the_no_network_check_can_fail(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<html><body><p>x</p><img src="http://127.0.0.1:9/pixel.png"></body></html>')
    loaded = load(leaky, tmp_path / "leaky.png", width=400, height=300)
    assert loaded.page_requests == ("http://127.0.0.1:9/pixel.png",)


def test_html_is_self_contained_and_escapes_registry_text(lab: Lab) -> None:
    html = render_html(_lab_report(lab))
    assert LAB_USERS["alice"] not in html
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.I)
    assert not re.search(r"\b(src|href)=[\"']?(https?:|//)", html, re.I)
    assert "default-src 'none'" in html
    assert "-u &quot;$REGISTRY_USER:$REGISTRY_PASSWORD&quot;" in html
    assert "Token claims decoded by diagnose" in html


@pytest.mark.parametrize("scenario", [f.scenario_tls, f.scenario_hub_anonymous_missing, f.scenario_both_ok])
def test_hostile_text_stays_text(scenario: object) -> None:
    from dataclasses import replace

    report = f.report(scenario())  # type: ignore[operator]
    evil = "<script>alert(1)</script>"
    report = replace(report, diagnosis=replace(report.diagnosis, explanation=evil, title=evil))
    html = render_html(report)
    assert "<script>" not in html and "&lt;script&gt;" in html
