"""A ticket-ready Markdown rendering of a report: verdict, side-by-side steps, diagnosis, a
sequence diagram per pull, curl commands to reproduce each step, and every exchange.

Registry text goes into fenced code blocks or inline code with a fence long enough never to be
closed by the text itself, so a body cannot inject Markdown or HTML into the ticket. This module
must not do I/O, decide anything (the rules do) or re-redact (the transport already did).
"""

from __future__ import annotations

import html

from diagnose.model import Exchange, PullResult, Report
from diagnose.render.clients_panel import clients_markdown
from diagnose.render.curl import curl_script
from diagnose.render.identities import identity_lines
from diagnose.render.safe_text import md_block, md_code, md_sentence, printable, sanitize_report
from diagnose.render.sequence import sequence_diagram
from diagnose.render.steps import (
    claims_words,
    outcome_words,
    relative_url,
    result_words,
    shown_pulls,
    table_rows,
    verdict,
)

BODY_EXCERPT = 600
"""Characters of a body shown per exchange; the JSON report keeps the full recorded body."""

REQUEST_HEADERS = ("Accept", "Authorization", "X-Docker-Token", "Content-Type")
"""Request headers that decide an answer: the Accept list proves what a client can read; the
Authorization value was reduced to its scheme and user at record time (never the secret)."""

KEY_HEADERS = (
    "WWW-Authenticate",
    "Docker-Distribution-Api-Version",
    "Content-Type",
    "Location",
    "Retry-After",
    "ratelimit-limit",
    "ratelimit-remaining",
    "docker-ratelimit-source",
    "X-Docker-Token",
    "X-Docker-Endpoints",
    "Authorization",
)
"""Headers worth a line in a ticket (values were redacted at record time)."""


def _code(text: str) -> str:
    return md_code(text)


def _block(text: str, lang: str = "text") -> str:
    return md_block(text, lang)


def _md_escape(text: str) -> str:
    """Our own sentences keep their code spans; what they quote from a registry must not
    become HTML, a link or a heading (``safe_text.md_sentence``)."""
    return md_sentence(text)


def visible_line_endings(text: str) -> str:
    """Line endings shown as ``␍␊`` / ``␍`` so a CRLF or a lone CR is evidence, not ``\\x0d``."""
    text = text.replace("\r\n", "␍␊\n")
    return text.replace("\r", "␍")


def _body_excerpt(exchange: Exchange) -> str:
    response = exchange.response
    if response is None:
        return ""
    body = response.body
    if response.body_encoding != "utf-8":
        return f"({response.body_encoding} body, {response.body_size or len(body)} bytes)"
    if len(body) > BODY_EXCERPT:
        body = body[:BODY_EXCERPT] + f"… ({response.body_size or len(body)} bytes)"
    elif response.body_truncated:
        body += " … (truncated)"
    return printable(visible_line_endings(body))


def _exchange_md(exchange: Exchange, raw: Exchange) -> str:
    """One exchange in ``<details>``: the request headers that matter, the answer, its body."""
    request = exchange.request
    lines = [f"{request.method} {request.url}"]
    for name in REQUEST_HEADERS:
        for key, value in request.headers:
            if key.lower() == name.lower():
                lines.append(f"> {key}: {value}")
    if exchange.response is not None:
        response = exchange.response
        lines.append(f"< {response.status} {response.reason}".rstrip())
        for name in KEY_HEADERS:
            for key, value in response.headers:
                if key.lower() == name.lower():
                    lines.append(f"< {key}: {value}")
        body = _body_excerpt(raw)
        if body.strip():
            lines.append("")
            lines.append(body)
    if exchange.failure is not None:
        lines.append(f"!! {exchange.failure.kind.value}: {exchange.failure.detail}")
    if exchange.note:
        lines.append(f"note: {exchange.note}")
    answer = (
        str(exchange.response.status)
        if exchange.response is not None
        else exchange.failure.kind.value
        if exchange.failure is not None
        else "no answer"
    )
    summary = (
        f"#{exchange.id} · {exchange.strategy.value} · {exchange.step} · "
        f"{request.method} {request.url} → {answer} · {exchange.elapsed_ms:.0f} ms"
    )
    if exchange.redirect_of is not None:
        summary += f" · redirect of #{exchange.redirect_of}"
    return "\n".join(
        [
            "<details>",
            f"<summary>{html.escape(summary)}</summary>",
            "",
            _block("\n".join(lines), "http"),
            "",
            *_claims_md(exchange),
            "</details>",
        ]
    )


def _claims_md(exchange: Exchange) -> list[str]:
    """Decoded token claims: diagnose's own annotation, beside the recorded body, never in it."""
    if exchange.token_claims is None:
        return []
    words = claims_words(exchange.token_claims)
    return [f"Token claims decoded by diagnose (the token is not kept): {_code(words)}", ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _side_by_side(report: Report) -> list[str]:
    """The steps of the shown pulls, aligned by kind; the origin shown where it changes."""
    pulls = shown_pulls(report)
    header = ["step", *(f"{p.strategy.value} ({_md_escape(p.client)})" for p in pulls)]
    out = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row, found in table_rows(report, pulls):
        cells = [_code(row.label)]
        for cell in found:
            if cell is None:
                cells.append("")
                continue
            url = relative_url(cell.step.url, cell.previous_origin)
            words = _md_escape(result_words(cell.step, cell.exchange))
            cells.append(f"{_code(f'{cell.step.method} {url}')}<br>{words}")
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return out


def clients_section(report: Report) -> list[str]:
    """What each pull's client prints, verbatim."""
    out = ["## What each client prints", ""]
    for pull in shown_pulls(report):
        out.append(
            f"**{pull.strategy.value}** — {_md_escape(pull.client)}: {_md_escape(outcome_words(pull))}"
        )
        out.append("")
        out.append(_block(pull.message or "(nothing)"))
        out.append("")
        for variant in pull.variants:
            out += [f"{_md_escape(variant.when)}:", "", _block(variant.message), ""]
    return out


def _diagram(pull: PullResult) -> list[str]:
    return [
        f"### {pull.strategy.value} — {_md_escape(pull.client)}",
        "",
        _block(sequence_diagram(pull), "mermaid"),
        "",
    ]


def _reproduce(report: Report) -> list[str]:
    insecure = dict(report.options).get("tls_verify", dict(report.options).get("tls-verify")) == "false"
    out = [
        "## Reproduce by hand",
        "",
        "Each step as a `curl` command; credentials come from the environment, never inline.",
        "",
    ]
    for pull in shown_pulls(report):
        exchanges = sorted(pull.exchanges, key=lambda e: e.id)
        out += [
            "<details>",
            f"<summary>{html.escape(pull.strategy.value)}: {len(exchanges)} commands</summary>",
            "",
            _block(curl_script(exchanges, insecure=insecure), "sh"),
            "",
            "</details>",
            "",
        ]
    return out


def render_markdown(report: Report) -> str:
    """The report as Markdown for a ticket."""
    raw_exchanges = {e.id: e for e in report.exchanges}
    report = sanitize_report(report)
    diagnosis = report.diagnosis
    auth = report.auth.mode.value + (f" as {md_code(report.auth.username)}" if report.auth.username else "")
    out: list[str] = [
        f"# {_md_escape(verdict(report))} — {_code(report.reference.canonical)}",
        "",
        f"- Reference: {_code(report.reference.input)} → {_code(report.reference.canonical)}",
        f"- Identity: {auth} (source: {_md_escape(report.auth.source)})",
        *(f"  - {_md_escape(line)}" for line in identity_lines(report)),
        f"- Rule: {_code(diagnosis.id)}",
        f"- Tool: diagnose {report.tool_version}" + (f", {report.created}" if report.created else ""),
    ]
    if report.options:
        out.append("- Options: " + ", ".join(_code(f"{k}={v}") for k, v in report.options))
    out += ["", "## Side by side", "", *_side_by_side(report), ""]
    out += clients_section(report)
    out += clients_markdown(report)
    heading = "Why they differ" if diagnosis.differ else "What happened"
    out += ["## Diagnosis", "", f"**{_md_escape(diagnosis.title)}**", ""]
    out += [f"### {heading}", "", _md_escape(diagnosis.explanation), ""]
    for title, items in (
        ("Also found", tuple(f"{f.title}. {f.explanation}" for f in diagnosis.findings)),
        ("What is known", diagnosis.known),
        ("What the registry will not reveal", diagnosis.unknowable),
    ):
        if items:
            out += [f"### {title}", "", *(f"- {_md_escape(i)}" for i in items), ""]
    if diagnosis.next_steps:
        out += [
            "## Next steps",
            "",
            *(f"{n}. {_md_escape(s)}" for n, s in enumerate(diagnosis.next_steps, 1)),
            "",
        ]
    out += ["## Sequence diagrams", ""]
    for pull in shown_pulls(report):
        out += _diagram(pull)
    out += _reproduce(report)
    exchanges = report.exchanges
    out += [f"## Exchanges ({len(exchanges)}, secrets redacted)", ""]
    for exchange in exchanges:
        out += [_exchange_md(exchange, raw_exchanges.get(exchange.id, exchange)), ""]
    out += [f"**{_md_escape(verdict(report))}**", ""]
    return "\n".join(out)
