"""go-containerregistry's crane: ``Error: <METHOD> <url>: <diagnostics>``.

crane's requests are the strict V2 pull's (ping, anonymous or Basic token GET, manifest GET), so
it reads the v2-only pull; docker.io is served as ``index.docker.io``. Registry errors print as
``CODE: message`` with ``; <detail as Go %v>`` appended, several as ``multiple errors returned:
a; b``; a body without errors as ``unexpected status code <n> <text>[: <body>]``. The Bearer
``error=`` is not read. Pure: no I/O, never raises on a registry answer.

Sources: google/go-containerregistry 3f4ff3ca pkg/v1/remote/transport/error.go (Error.Error,
responseErr, Diagnostic.String), transport/ping.go, transport/bearer.go, pkg/name/registry.go
(index.docker.io), cmd/crane/main.go (cobra ``Error: %v``, exit 1).
"""

from __future__ import annotations

import json
from typing import Any

from diagnose.bounds import clip
from diagnose.clients.base import ClientModel, Prediction, PullFacts, body_bytes, host_of_url
from diagnose.clients.go import GoEra, format_v, status_text, transport_text, url_error
from diagnose.model import Exchange, Strategy


def _hub_url(url: str) -> str:
    """pkg/name: docker.io's registry is addressed as index.docker.io."""
    return url.replace("://registry-1.docker.io/", "://index.docker.io/", 1)


def diagnostics(exchange: Exchange) -> str:
    """transport.Error.responseErr for a recorded answer."""
    response = exchange.response
    assert response is not None
    body = body_bytes(response)
    errors = _errors(body)
    if len(errors) == 1:
        return errors[0]
    if errors:
        return "multiple errors returned: " + "; ".join(errors)
    head = f"unexpected status code {response.status} {status_text(response.status)}"
    if not body:
        if exchange.request.method == "HEAD":
            return f"{head} (HEAD responses have no body, use GET for details)"
        return head
    return f"{head}: {clip(body.decode('utf-8', errors='replace'))}"


def _errors(body: bytes) -> list[str]:
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        return []
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return []
    out = []
    for entry in data["errors"]:
        if not isinstance(entry, dict):
            continue
        code = entry.get("code") if isinstance(entry.get("code"), str) else ""
        message = entry.get("message") if isinstance(entry.get("message"), str) else ""
        text = f"{code}: {message}"
        if entry.get("detail") is not None:
            text += f"; {format_v(entry['detail'])}"
        out.append(text)
    return out


def crane_error(facts: PullFacts) -> str:
    exchange = facts.failing
    if exchange is None:
        return facts.pull.message
    url = _hub_url(exchange.request.url)
    if exchange.failure is not None:
        inner = transport_text(exchange.failure.kind, host_of_url(url), exchange.failure.detail, GoEra.GO120)
        return url_error(exchange.request.method, url, inner, GoEra.GO120)
    if exchange.response is None:
        return facts.pull.message
    if facts.step == "token" and exchange.response.status == 200:
        return facts.pull.message  # (derived) a token answer without a token: not modelled
    return f"{exchange.request.method} {url}: {diagnostics(exchange)}"


def _predict(facts: PullFacts) -> Prediction:
    if facts.pull.ok:
        return "", 0
    return f"Error: {crane_error(facts)}", 1


MODELS: tuple[ClientModel, ...] = (
    ClientModel(
        "crane",
        "crane (go-containerregistry)",
        Strategy.V2_ONLY,
        "google/go-containerregistry 3f4ff3ca pkg/v1/remote/transport/error.go, transport/ping.go, "
        "transport/bearer.go, pkg/name/registry.go, cmd/crane/main.go",
        _predict,
    ),
)
