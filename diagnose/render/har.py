"""HAR 1.2 export of every recorded exchange, for browser dev-tools and HAR viewers.

Rendering only: a pure function of a Report. Everything in a Report is already redacted
by the transport; this module adds nothing that was not recorded.
See http://www.softwareishard.com/blog/har-12-spec/ for the format.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from diagnose.model import Exchange, Headers, Report, header_value
from diagnose.urls import split_url


def _headers(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _entry(exchange: Exchange, started: str) -> dict[str, Any]:
    request = exchange.request
    query = split_url(request.url).query
    entry: dict[str, Any] = {
        "startedDateTime": started,
        "time": round(exchange.elapsed_ms, 3),
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
        "timings": {"send": 0, "wait": round(exchange.elapsed_ms, 3), "receive": 0},
        "comment": f"{exchange.strategy.value} / {exchange.step} (exchange {exchange.id})",
        "_diagnose": {
            "id": exchange.id,
            "strategy": exchange.strategy.value,
            "step": exchange.step,
            "redirect_of": exchange.redirect_of,
            "note": exchange.note,
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


def render_har(report: Report) -> str:
    """The report's exchanges as a HAR 1.2 document (JSON text)."""
    started = report.created or "1970-01-01T00:00:00+00:00"
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "diagnose", "version": report.tool_version},
            "comment": f"diagnose compare {report.reference.canonical}",
            "entries": [_entry(exchange, started) for exchange in report.exchanges],
        }
    }
    return json.dumps(document, indent=2) + "\n"
