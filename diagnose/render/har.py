"""HAR 1.2 export of every recorded exchange, for browser dev-tools and HAR viewers.

Rendering only: a pure function of a Report. Everything in a Report is already redacted
by the transport; this module adds nothing that was not recorded.
See http://www.softwareishard.com/blog/har-12-spec/ for the format.

Each pull is one HAR ``page`` (its ``pageref`` groups the pull's requests in a viewer) and every
``startedDateTime`` has millisecond precision, so a viewer's waterfall shows what ran when. A
request that got no response is still an entry: ``status: 0`` and an ``_error`` text, as
browsers write them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from diagnose.model import Exchange, Headers, PullResult, Report, header_value
from diagnose.urls import split_url

EPOCH = "1970-01-01T00:00:00.000Z"


def iso_ms(moment: datetime) -> str:
    """``2024-01-02T03:04:05.678Z``: UTC with milliseconds, the form HAR viewers sort by."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time as recorded (``Z`` or an offset); None when empty or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_times(report: Report) -> dict[int, datetime]:
    """When each exchange started. Recordings made before start times were kept (and hand-made
    ones) get a plausible sequence instead: the report's creation time plus the elapsed time of
    the same pull's earlier exchanges, so the order and durations stay true."""
    base = parse_time(report.created) or datetime(1970, 1, 1, tzinfo=UTC)
    times: dict[int, datetime] = {}
    for pull in report.pulls:
        cursor = base
        for exchange in sorted(pull.exchanges, key=lambda e: e.id):
            recorded = parse_time(exchange.started_at)
            start = recorded or cursor
            times[exchange.id] = start
            cursor = start + timedelta(milliseconds=exchange.elapsed_ms)
    return times


def page_id(pull: PullResult) -> str:
    return f"pull-{pull.strategy.value}"


def _headers(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _entry(exchange: Exchange, started: datetime, page: str) -> dict[str, Any]:
    request = exchange.request
    query = split_url(request.url).query
    elapsed = round(max(exchange.elapsed_ms, 0.0), 3)
    entry: dict[str, Any] = {
        "pageref": page,
        "startedDateTime": iso_ms(started),
        "time": elapsed,
        "request": {
            "method": request.method,
            "url": request.url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _headers(request.headers),
            "queryString": [{"name": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)],
            "headersSize": -1,
            "bodySize": len(request.body.encode()) if request.body else 0,
        },
        "cache": {},
        # Only the total is measured: HAR says unknown phases are -1, send/wait/receive required.
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": elapsed, "receive": 0},
        "comment": f"{exchange.strategy.value} / {exchange.step} (exchange {exchange.id})",
        "_diagnose": {
            "id": exchange.id,
            "strategy": exchange.strategy.value,
            "step": exchange.step,
            "redirect_of": exchange.redirect_of,
            "note": exchange.note,
            "proxy": exchange.proxy,
            "new_connection": exchange.new_connection,
            "tls_handshake": exchange.tls_handshake,
        },
    }
    if request.body:
        entry["request"]["postData"] = {
            "mimeType": header_value(request.headers, "Content-Type") or "",
            "text": request.body,
        }
    response = exchange.response
    if response is None:
        failure = exchange.failure
        detail = f"{failure.kind.value}: {failure.detail}" if failure else "no response"
        # HAR has no place for "no response"; status 0 plus _error is what browsers write.
        entry["response"] = {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": detail,
        }
        return entry
    content: dict[str, Any] = {
        "size": response.body_size if response.body_size is not None else len(response.body),
        "mimeType": header_value(response.headers, "Content-Type") or "",
        "text": response.body,
    }
    if response.body_encoding == "base64":
        content["encoding"] = "base64"
    if response.body_truncated:
        content["comment"] = "body truncated by diagnose"
    entry["response"] = {
        "status": response.status,
        "statusText": response.reason,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(response.headers),
        "content": content,
        "redirectURL": header_value(response.headers, "Location") or "",
        "headersSize": -1,
        "bodySize": response.body_size if response.body_size is not None else -1,
    }
    return entry


def har_document(report: Report) -> dict[str, Any]:
    """The HAR 1.2 document as plain JSON values."""
    times = start_times(report)
    pages: list[dict[str, Any]] = []
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    fallback = parse_time(report.created) or datetime(1970, 1, 1, tzinfo=UTC)
    for pull in report.pulls:
        page = page_id(pull)
        starts = [times[e.id] for e in pull.exchanges]
        pages.append(
            {
                "startedDateTime": iso_ms(min(starts) if starts else fallback),
                "id": page,
                "title": f"{pull.strategy.value} — {pull.client}: {pull.outcome.value}",
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            }
        )
        for exchange in pull.exchanges:
            entries.append((times[exchange.id], exchange.id, _entry(exchange, times[exchange.id], page)))
    entries.sort(key=lambda item: (item[0], item[1]))
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "diagnose", "version": report.tool_version},
            "pages": pages,
            "entries": [entry for _, _, entry in entries],
            "comment": f"diagnose compare {report.reference.canonical}",
        }
    }


def render_har(report: Report) -> str:
    """The report's exchanges as a HAR 1.2 document (JSON text)."""
    return json.dumps(har_document(report), indent=2) + "\n"
