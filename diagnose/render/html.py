"""One self-contained HTML report: verdict, side-by-side steps, diagnosis, a waterfall per pull,
and every exchange expandable, with the curl command that repeats it.

The page loads nothing: no script, no font, no image, no stylesheet from anywhere; its
Content-Security-Policy forbids every fetch, so opening a user's report cannot call out. All
text is escaped (``html.escape``); registry text is shown, never interpreted. Pure: this module
must not do I/O or decide anything (the rules do).
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import datetime

from diagnose.model import Exchange, PullResult, Report
from diagnose.render.curl import curl_command, curl_note
from diagnose.render.har import start_times
from diagnose.render.markdown import KEY_HEADERS, REQUEST_HEADERS, visible_line_endings
from diagnose.render.safe_text import printable, sanitize_report
from diagnose.render.steps import (
    claims_words,
    origin,
    outcome_words,
    relative_url,
    result_words,
    shown_pulls,
    table_rows,
    verdict,
)

BODY_LIMIT = 4000
"""Characters of a body shown per exchange; the JSON report keeps the whole recorded body."""

_CSS = """
:root { color-scheme: light dark; --bad: #c62828; --good: #2e7d32; --muted: #6b7280; --bar: #1e88e5;
  --conn: #f9a825; --line: #d1d5db; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
  max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.35rem; } h1.bad, p.verdict.bad { color: var(--bad); }
h1.good, p.verdict.good { color: var(--good); }
code, pre { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: rgba(127,127,127,.08);
  padding: .6rem .8rem; border-radius: 4px; }
table.steps { border-collapse: collapse; width: 100%; }
table.steps th, table.steps td { border-bottom: 1px solid var(--line); padding: .35rem .5rem;
  vertical-align: top; text-align: left; }
table.steps td code { overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.status-bad { color: var(--bad); font-weight: 600; } .status-ok { color: var(--good); }
.waterfall { display: grid; grid-template-columns: minmax(16rem, 34%) 1fr; gap: 2px 1rem;
  margin-bottom: 1.5rem; }
.waterfall .label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.track { position: relative; height: 1.25rem; background: rgba(127,127,127,.07); overflow: hidden; }
.bar { position: absolute; top: .2rem; height: .85rem; background: var(--bar); min-width: 2px;
  border-radius: 2px; }
.bar.failed { background: var(--bad); }
.bar .conn { position: absolute; left: 0; top: 0; bottom: 0; width: 3px; background: var(--conn); }
.track .t { position: absolute; top: 0; font-size: 11px; white-space: nowrap; padding-left: 4px; }
details.exchange { border-bottom: 1px solid var(--line); padding: .25rem 0; }
details.exchange summary { cursor: pointer; }
"""


def _e(text: object) -> str:
    return html.escape(printable(str(text)), quote=True)


def _status_class(exchange: Exchange | None, ok: bool) -> str:
    if exchange is not None and exchange.response is None:
        return "status-bad"
    return "status-ok" if ok else "status-bad"


def _steps_table(report: Report) -> str:
    pulls = shown_pulls(report)
    head = "".join(
        f"<th>{_e(p.strategy.value)}<br><span class=muted>{_e(p.client)}</span></th>" for p in pulls
    )
    rows = [f"<table class=steps><thead><tr><th>step</th>{head}</tr></thead><tbody>"]
    for row, found in table_rows(report, pulls):
        cells = [f"<th>{_e(row.label)}</th>"]
        for cell in found:
            if cell is None:
                cells.append("<td></td>")
                continue
            step = cell.step
            url = relative_url(step.url, cell.previous_origin)
            ok = step.status is not None and step.status < 400
            words = result_words(step, cell.exchange)
            cells.append(
                f"<td><code>{_e(step.method)} {_e(url)}</code><br>"
                f"<span class={_status_class(cell.exchange, ok)}>{_e(words)}</span></td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _clients(report: Report) -> str:
    parts = ["<h2>What each client prints</h2>"]
    for pull in shown_pulls(report):
        css = "status-ok" if pull.ok else "status-bad"
        parts.append(
            f"<p><b>{_e(pull.strategy.value)}</b> · {_e(pull.client)}: "
            f"<span class={css}>{_e(outcome_words(pull))}</span></p>"
        )
        parts.append(f"<pre>{_e(pull.message or '(prints nothing)')}</pre>")
        for variant in pull.variants:
            parts.append(f"<p class=muted>{_e(variant.when)}:</p><pre>{_e(variant.message)}</pre>")
    return "\n".join(parts)


def _diagnosis(report: Report) -> str:
    d = report.diagnosis
    heading = "Why they differ" if d.differ else "What happened"
    parts = [
        "<h2>Diagnosis</h2>",
        f"<p><b>{_e(d.title)}</b> <span class=muted>(rule {_e(d.id)})</span></p>",
        f"<h3>{heading}</h3><p>{_e(d.explanation)}</p>",
    ]
    for title, items, tag in (
        ("What is known", d.known, "ul"),
        ("What the registry will not reveal", d.unknowable, "ul"),
        ("Next steps", d.next_steps, "ol"),
    ):
        if items:
            lis = "".join(f"<li>{_e(item)}</li>" for item in items)
            parts.append(f"<h3>{title}</h3><{tag}>{lis}</{tag}>")
    return "\n".join(parts)


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _waterfall(pull: PullResult, starts: dict[int, datetime]) -> str:
    """Each exchange of ``pull`` as a bar from its start to its end, ms precision. The first
    request to an origin opened a connection (and a TLS handshake for https): marked."""
    ordered = sorted(pull.exchanges, key=lambda e: (starts[e.id], e.id))
    if not ordered:
        return "<p class=muted>no request was sent</p>"
    t0 = min(starts[e.id] for e in ordered)
    ends = [(starts[e.id] - t0).total_seconds() * 1000 + max(e.elapsed_ms, 0.0) for e in ordered]
    total = max(max(ends), 0.001)
    seen: set[str] = set()
    rows = [f'<div class=waterfall data-pull="{_e(pull.strategy.value)}">']
    for exchange in ordered:
        offset = (starts[exchange.id] - t0).total_seconds() * 1000
        left = 100 * offset / total
        width = 100 * max(exchange.elapsed_ms, 0.0) / total
        setup = _setup_words(exchange, seen)
        failed = exchange.response is None
        answer = (
            str(exchange.response.status)
            if exchange.response is not None
            else exchange.failure.kind.value
            if exchange.failure is not None
            else "no answer"
        )
        label = f"#{exchange.id} {exchange.step} · {exchange.request.method} {exchange.request.url}"
        timing = f"+{_ms(offset)} · {_ms(exchange.elapsed_ms)} · {answer}"
        if setup:
            timing += f" · {setup}"
        opened = setup.startswith("new")
        conn = "<span class=conn title='connection set-up'></span>" if opened else ""
        rows.append(
            f'<div class=label title="{_e(label)}"><a href="#x{exchange.id}">{_e(label)}</a></div>'
            f'<div class=track><div class="bar{" failed" if failed else ""}" '
            f'style="left:{left:.3f}%;width:{width:.3f}%">{conn}</div>'
            f'<span class=t style="{_label_position(left, width)}">{_e(timing)}</span></div>'
        )
    rows.append("</div>")
    return "\n".join(rows)


def _setup_words(exchange: Exchange, seen: set[str]) -> str:
    """Connection set-up this exchange paid for: as recorded, else inferred (the first request
    of a pull to an origin must open a connection, and an https one a TLS handshake)."""
    here = origin(exchange.request.url)
    first = here not in seen
    seen.add(here)
    if exchange.new_connection is not None:
        if not exchange.new_connection:
            return "connection reused"
        return "new connection + TLS" if exchange.tls_handshake else "new connection"
    if not first or exchange.failure is not None:
        return ""
    return "new connection + TLS" if here.startswith("https:") else "new connection"


def _label_position(left: float, width: float) -> str:
    """After the bar while there is room, else ending where the bar starts (never off the track)."""
    if left + width <= 55:
        return f"left:{left + width:.3f}%"
    return f"right:{100 - left:.3f}%;padding-right:4px" if left >= 45 else "right:0"


def _exchange(exchange: Exchange, insecure: bool) -> str:
    request = exchange.request
    lines = [f"{request.method} {request.url}"]
    for name in REQUEST_HEADERS:
        lines += [f"> {k}: {v}" for k, v in request.headers if k.lower() == name.lower()]
    response = exchange.response
    body = ""
    if response is not None:
        lines.append(f"< {response.status} {response.reason}".rstrip())
        for name in KEY_HEADERS:
            lines += [f"< {k}: {v}" for k, v in response.headers if k.lower() == name.lower()]
        if response.body_encoding != "utf-8":
            body = f"({response.body_encoding} body, {response.body_size or len(response.body)} bytes)"
        else:
            body = response.body[:BODY_LIMIT]
            if len(response.body) > BODY_LIMIT or response.body_truncated:
                body += f"… ({response.body_size or len(response.body)} bytes)"
            body = visible_line_endings(body)
    if exchange.failure is not None:
        lines.append(f"!! {exchange.failure.kind.value}: {exchange.failure.detail}")
    if exchange.note:
        lines.append(f"note: {exchange.note}")
    answer = (
        f"{response.status} {response.reason}"
        if response is not None
        else exchange.failure.kind.value
        if exchange.failure is not None
        else "no answer"
    )
    summary = (
        f"#{exchange.id} · {exchange.strategy.value} · {exchange.step} · "
        f"{request.method} {request.url} → {answer} · {_ms(exchange.elapsed_ms)}"
    )
    note = curl_note(exchange)
    parts = [
        f'<details class=exchange id="x{exchange.id}"><summary>{_e(summary)}</summary>',
        f"<pre>{_e(chr(10).join(lines))}</pre>",
    ]
    if body.strip():
        parts.append(f"<pre>{_e(body)}</pre>")
    if exchange.token_claims is not None:
        claims = claims_words(exchange.token_claims)
        note_text = "Token claims decoded by diagnose (the token is not kept)"
        parts.append(f"<p class=muted>{note_text}: <code>{_e(claims)}</code></p>")
    parts.append("<p class=muted>Reproduce by hand" + (f" ({_e(note)})" if note else "") + ":</p>")
    parts.append(f"<pre>{_e(curl_command(exchange, insecure=insecure))}</pre></details>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    """The report as one HTML page that needs nothing else."""
    starts = start_times(report)
    raw = {e.id: e for e in report.exchanges}
    report = sanitize_report(report)
    ok = all(p.ok for p in report.pulls)
    css = "good" if ok else "bad"
    options = dict(report.options)
    insecure = options.get("tls_verify", options.get("tls-verify")) == "false"
    auth = report.auth.mode.value + (f" as {report.auth.username}" if report.auth.username else "")
    body = [
        f"<h1 class={css}>{_e(verdict(report))}</h1>",
        f"<p><code>{_e(report.reference.canonical)}</code> · {_e(auth)} · "
        f"diagnose {_e(report.tool_version)}{' · ' + _e(report.created) if report.created else ''}</p>",
        "<h2>Side by side</h2>",
        _steps_table(report),
        _clients(report),
        _diagnosis(report),
        "<h2>Waterfall</h2>",
    ]
    for pull in shown_pulls(report):
        body.append(f"<h3>{_e(pull.strategy.value)} · {_e(pull.client)}</h3>")
        body.append(_waterfall(pull, starts))
    body.append(f"<h2>Exchanges ({len(report.exchanges)}, secrets redacted)</h2>")
    for exchange in report.exchanges:
        body.append(_exchange(_with_raw_body(exchange, raw.get(exchange.id)), insecure))
    body.append(f"<p class='verdict {css}'><b>{_e(verdict(report))}</b></p>")
    title = f"{verdict(report)} — {report.reference.canonical}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            # Nothing may be fetched: no script, font, image or stylesheet from anywhere.
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _with_raw_body(clean: Exchange, raw: Exchange | None) -> Exchange:
    """The sanitised exchange, but with the raw body, whose line endings are shown as ␍␊
    (``printable`` would have turned them into ``\\x0d``); ``_e`` neutralises the rest."""
    if raw is None or raw.response is None or clean.response is None:
        return clean
    return replace(clean, response=replace(clean.response, body=raw.response.body))
