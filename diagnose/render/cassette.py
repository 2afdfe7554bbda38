"""Exchanges as a vcrpy cassette (YAML, format version 1), and back.

The file is what vcrpy itself writes (``{"version": 1, "interactions": [{"request": ...,
"response": ...}]}``), so a developer can replay a user's failing pull in a test with
``vcr.use_cassette(path, record_mode="none")``. Each interaction also carries a ``diagnose``
key (vcrpy ignores unknown interaction keys) with what a cassette cannot say: exchange id,
strategy, step and its kind, timing, redirect_of, note, body encoding/size/truncation, a
token answer's decoded claims, and the transport failure, if any.

A failure has no HTTP response, but vcrpy needs one per interaction: it gets a synthetic
``599 diagnose: transport failure`` response with an ``X-Diagnose-Failure`` header, marked
``diagnose.synthetic_response: true``; ``load_cassette`` drops it again. Binary (base64)
bodies are written as YAML ``!!binary`` bytes, which vcrpy serves as they are.

This module must not do I/O or redact (exchanges are redacted already); it renders strings.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import yaml

from diagnose.model import (
    Exchange,
    FailureKind,
    Headers,
    RecordedRequest,
    RecordedResponse,
    StepKind,
    Strategy,
    TokenClaims,
    TransportFailure,
    step_kind_of_label,
)
from diagnose.tokens import claims_from_mapping, claims_to_dict, legacy_body_claims

CASSETTE_VERSION = 1  # vcrpy's CASSETTE_FORMAT_VERSION (vcr/serialize.py)
SYNTHETIC_STATUS = 599


def _headers_to_dict(headers: Headers) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, value in headers:
        existing = next((key for key in result if key.lower() == name.lower()), None)
        result.setdefault(existing or name, []).append(value)
    return result


def _headers_from_dict(data: object) -> Headers:
    if not isinstance(data, dict):
        return ()
    pairs: list[tuple[str, str]] = []
    for name, values in data.items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(value)))
    return tuple(pairs)


def _interaction(exchange: Exchange) -> dict[str, Any]:
    request = exchange.request
    meta: dict[str, Any] = {
        "id": exchange.id,
        "strategy": str(exchange.strategy),
        "step": exchange.step,
        "kind": str(exchange.kind),
        "elapsed_ms": exchange.elapsed_ms,
    }
    if exchange.started_at:
        meta["started_at"] = exchange.started_at
    if exchange.token_claims is not None:
        meta["token_claims"] = claims_to_dict(exchange.token_claims)
    if exchange.redirect_of is not None:
        meta["redirect_of"] = exchange.redirect_of
    for key, value in (
        ("new_connection", exchange.new_connection),
        ("tls_handshake", exchange.tls_handshake),
    ):
        if value is not None:
            meta[key] = value
    if exchange.note:
        meta["note"] = exchange.note
    if exchange.failure is not None:
        meta["failure"] = {"kind": str(exchange.failure.kind), "detail": exchange.failure.detail}
    response = exchange.response
    if response is not None:
        body: str | bytes = response.body
        if response.body_encoding == "base64":
            try:
                body = base64.b64decode(response.body)
            except (binascii.Error, ValueError):
                body = response.body
        meta["body_encoding"] = response.body_encoding
        meta["body_size"] = response.body_size
        meta["body_truncated"] = response.body_truncated
        if response.body_sha256 is not None:
            meta["body_sha256"] = response.body_sha256
        recorded = {
            "status": {"code": response.status, "message": response.reason},
            "headers": _headers_to_dict(response.headers),
            "body": {"string": body},
        }
    else:
        meta["synthetic_response"] = True
        failure = exchange.failure
        marker = f"{failure.kind}: {failure.detail}" if failure else "no response"
        recorded = {
            "status": {"code": SYNTHETIC_STATUS, "message": "diagnose: transport failure"},
            "headers": {"X-Diagnose-Failure": [marker]},
            "body": {"string": ""},
        }
    return {
        "request": {
            "method": request.method,
            "uri": request.url,
            "body": request.body,
            "headers": _headers_to_dict(request.headers),
        },
        "response": recorded,
        "diagnose": meta,
    }


def render_cassette(exchanges: Sequence[Exchange]) -> str:
    """The exchanges, ordered by id, as a vcrpy version-1 YAML cassette."""
    data = {
        "version": CASSETTE_VERSION,
        "interactions": [_interaction(e) for e in sorted(exchanges, key=lambda e: e.id)],
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _response(raw: object, meta: dict[str, Any]) -> RecordedResponse | None:
    if not isinstance(raw, dict) or meta.get("synthetic_response"):
        return None
    raw_status = raw.get("status")
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    body_data = raw.get("body")
    body: object = body_data.get("string") if isinstance(body_data, dict) else body_data
    encoding = str(meta.get("body_encoding") or "utf-8")
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8") if encoding != "base64" else ""
        except UnicodeDecodeError:
            encoding = "base64"
        if encoding == "base64":
            text = base64.b64encode(body).decode("ascii")
    else:
        text = _text(body)
    size = meta.get("body_size")
    digest = meta.get("body_sha256")
    return RecordedResponse(
        status=int(status.get("code", 0)),
        reason=_text(status.get("message")),
        headers=_headers_from_dict(raw.get("headers")),
        body=text,
        body_size=size if isinstance(size, int) else len(text.encode("utf-8")),
        body_truncated=bool(meta.get("body_truncated", False)),
        body_encoding=encoding,
        body_sha256=digest if isinstance(digest, str) else None,
    )


def load_cassette(text: str, *, default_strategy: Strategy = Strategy.V2_ONLY) -> tuple[Exchange, ...]:
    """The exchanges of a cassette written by ``render_cassette`` (or by vcrpy itself).

    Interactions without a ``diagnose`` key (a plain vcrpy cassette) get ids in file order
    and ``default_strategy``. Raises ``ValueError`` when the text is not a cassette.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not a YAML cassette: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise ValueError("not a vcrpy cassette: no 'interactions' list")
    exchanges: list[Exchange] = []
    for index, item in enumerate(data["interactions"], start=1):
        if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
            raise ValueError(f"interaction {index} has no request")
        raw_request = item["request"]
        raw_meta = item.get("diagnose")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        body = raw_request.get("body")
        request = RecordedRequest(
            method=_text(raw_request.get("method")).upper(),
            url=_text(raw_request.get("uri")),
            headers=_headers_from_dict(raw_request.get("headers")),
            body=None if body is None else _text(body),
        )
        failure_data = meta.get("failure")
        failure = None
        if isinstance(failure_data, dict):
            try:
                kind = FailureKind(str(failure_data.get("kind")))
            except ValueError:
                kind = FailureKind.OTHER
            failure = TransportFailure(kind, _text(failure_data.get("detail")))
        try:
            strategy = Strategy(str(meta["strategy"])) if "strategy" in meta else default_strategy
        except ValueError:
            strategy = default_strategy
        redirect_of = meta.get("redirect_of")
        elapsed = meta.get("elapsed_ms", 0.0)
        step = _text(meta.get("step", ""))
        try:
            step_kind = StepKind(str(meta["kind"])) if "kind" in meta else step_kind_of_label(step)
        except ValueError:
            step_kind = StepKind.OTHER
        response = _response(item.get("response"), meta)
        claims_data = meta.get("token_claims")
        claims: TokenClaims | None
        if isinstance(claims_data, dict):
            claims = claims_from_mapping(claims_data)
        else:  # recorded before token_claims existed: the claims were inside the redacted body
            claims = legacy_body_claims(response.body) if response is not None else None
        exchanges.append(
            Exchange(
                id=int(meta.get("id", index)),
                strategy=strategy,
                step=step,
                request=request,
                response=response,
                failure=failure,
                elapsed_ms=float(elapsed) if isinstance(elapsed, int | float) else 0.0,
                redirect_of=redirect_of if isinstance(redirect_of, int) else None,
                note=_text(meta["note"]) if meta.get("note") else None,
                started_at=_text(meta.get("started_at", "")),
                kind=step_kind,
                token_claims=claims,
                new_connection=_flag(meta.get("new_connection")),
                tls_handshake=_flag(meta.get("tls_handshake")),
            )
        )
    return tuple(exchanges)


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
