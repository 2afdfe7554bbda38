"""A ticket-ready Markdown rendering of a report: summary, messages, diagnosis, evidence.

Registry text goes into fenced code blocks or inline code with a fence long enough never to be
closed by the text itself, so a body cannot inject Markdown or HTML into the ticket. This module
must not do I/O, decide anything (the rules do) or re-redact (the transport already did).
"""

from __future__ import annotations

from diagnose.model import Exchange, Report, header_value
from diagnose.render.safe_text import md_block, md_code, md_sentence, sanitize_report

BODY_EXCERPT = 600
"""Characters of a body shown per exchange; the JSON report keeps the full recorded body."""

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


def _exchange_md(exchange: Exchange) -> str:
    request = exchange.request
    lines = [f"{request.method} {request.url}"]
    for name in KEY_HEADERS:
        value = header_value(request.headers, name)
        if value is not None:
            lines.append(f"> {name}: {value}")
    if exchange.response is not None:
        response = exchange.response
        lines.append(f"< {response.status} {response.reason}".rstrip())
        for name in KEY_HEADERS:
            for key, value in response.headers:
                if key.lower() == name.lower():
                    lines.append(f"< {key}: {value}")
        body = response.body
        if response.body_encoding != "utf-8":
            body = f"({response.body_encoding} body, {response.body_size or len(body)} bytes)"
        elif len(body) > BODY_EXCERPT:
            body = body[:BODY_EXCERPT] + f"… ({response.body_size or len(body)} bytes)"
        elif response.body_truncated:
            body += " … (truncated)"
        if body.strip():
            lines.append("")
            lines.append(body)
    if exchange.failure is not None:
        lines.append(f"!! {exchange.failure.kind.value}: {exchange.failure.detail}")
    if exchange.note:
        lines.append(f"note: {exchange.note}")
    head = f"**#{exchange.id}** {exchange.strategy.value} · {_md_escape(exchange.step)}"
    head += f" · {exchange.elapsed_ms:.0f} ms"
    if exchange.redirect_of is not None:
        head += f" · redirect of #{exchange.redirect_of}"
    return f"{head}\n\n{_block(chr(10).join(lines), 'http')}"


def render_markdown(report: Report) -> str:
    """The report as Markdown for a ticket."""
    report = sanitize_report(report)
    diagnosis = report.diagnosis
    auth = report.auth.mode.value + (f" as {md_code(report.auth.username)}" if report.auth.username else "")
    out: list[str] = [
        f"# Pull diagnosis: {_code(report.reference.canonical)}",
        "",
        f"**{_md_escape(diagnosis.title)}** (rule {_code(diagnosis.id)})",
        "",
        f"- Reference: {_code(report.reference.input)} → {_code(report.reference.canonical)}",
        f"- Identity: {auth} (source: {_md_escape(report.auth.source)})",
        f"- Tool: diagnose {report.tool_version}" + (f", {report.created}" if report.created else ""),
    ]
    if report.options:
        out.append("- Options: " + ", ".join(_code(f"{k}={v}") for k, v in report.options))
    out += ["", "## What each client prints", ""]
    for pull in report.pulls:
        protocol = f" via {pull.protocol.value}" if pull.protocol is not None else ""
        out.append(f"**{pull.strategy.value}** — {_md_escape(pull.client)}: {pull.outcome.value}{protocol}")
        out.append("")
        out.append(_block(pull.message or "(nothing)"))
        out.append("")
        for variant in pull.variants:
            out += [f"{_md_escape(variant.when)}:", "", _block(variant.message), ""]
    heading = "Why they differ" if diagnosis.differ else "What happened"
    out += ["## Diagnosis", "", f"### {heading}", "", _md_escape(diagnosis.explanation), ""]
    for title, items in (
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
    out += ["## Steps", ""]
    for pull in report.pulls:
        out += [
            f"### {pull.strategy.value}",
            "",
            "| # | step | request | status | result |",
            "|---|---|---|---|---|",
        ]
        for n, step in enumerate(pull.steps, 1):
            status = "—" if step.status is None else str(step.status)
            cells = [
                str(n),
                _code(step.label),
                _code(f"{step.method} {step.url}"),
                status,
                _code(step.result),
            ]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        if pull.notes:
            out += ["", "Notes:", "", *(f"- {_code(note)}" for note in pull.notes)]
        out.append("")
    exchanges = report.exchanges
    out += [
        "<details>",
        f"<summary>All {len(exchanges)} HTTP exchanges (secrets redacted)</summary>",
        "",
    ]
    for exchange in exchanges:
        out += [_exchange_md(exchange), ""]
    out += ["</details>", ""]
    return "\n".join(out)
