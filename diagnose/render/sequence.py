"""A mermaid ``sequenceDiagram`` of one pull: client ↔ registry ↔ token server ↔ blob storage.

Every exchange is an arrow with its status in words; a request that got no answer is a lost
message (``-x``) with a note saying why; the exchange where the pull failed is shaded and
marked. Text in the diagram is reduced to characters mermaid cannot read as syntax (others
become ``#NN;`` entity codes), so a registry's text cannot change the diagram. Pure functions;
this module must not decide anything about the pull.
"""

from __future__ import annotations

import re

from diagnose.model import Exchange, FailureKind, PullResult
from diagnose.render.steps import failure_words, origin, outcome_words, result_words, short_request
from diagnose.urls import split_url

_SAFE = re.compile(r"[^A-Za-z0-9 /._:?=&,()@+\-—…'’“”✗→]")


def mermaid_text(text: str, limit: int = 90) -> str:
    """``text`` on one line, cut at ``limit``, every character that could be syntax as ``#NN;``."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SAFE.sub(lambda m: f"#{ord(m.group(0))};", text)


def _role(exchange: Exchange, exchanges: dict[int, Exchange]) -> str:
    kind = step_kind_of(exchange)
    if kind.startswith("token"):
        return "token server"
    if exchange.redirect_of is not None:
        first = exchanges.get(exchange.redirect_of)
        while first is not None and first.redirect_of is not None:
            first = exchanges.get(first.redirect_of)
        if first is not None and _is_blob(first):
            return "blob storage"  # where the registry sends blob downloads (S3, a CDN, …)
        if (
            first is not None
            and split_url(first.request.url).netloc != split_url(exchange.request.url).netloc
        ):
            return "redirect target"
    if kind.startswith("v1"):
        return "V1 registry"
    return "registry"


def _is_blob(exchange: Exchange) -> bool:
    path = split_url(exchange.request.url).path
    return "/blobs/" in path or "/layer" in path or step_kind_of(exchange).startswith(("layer", "config"))


def step_kind_of(exchange: Exchange) -> str:
    return re.sub(r"\s*\((?:get|head)\)$", "", exchange.step.strip().lower())


def sequence_diagram(pull: PullResult) -> str:
    """The mermaid source for ``pull`` (without the code fence)."""
    exchanges = {e.id: e for e in pull.exchanges}
    ordered = sorted(pull.exchanges, key=lambda e: e.id)
    steps = {s.exchange_id: s for s in pull.steps if s.exchange_id is not None}
    # One participant per role and host: a registry that serves its own blob redirects still
    # shows the storage as a participant of its own.
    participants: dict[tuple[str, str], str] = {}
    lines = ["sequenceDiagram", f"    participant C as {mermaid_text(pull.client, 60)}"]
    for exchange in ordered:
        key = (_role(exchange, exchanges), split_url(exchange.request.url).netloc or "?")
        if key not in participants:
            participants[key] = f"P{len(participants) + 1}"
            label = f"{key[0]} {key[1]}"
            lines.append(f"    participant {participants[key]} as {mermaid_text(label, 60)}")
    failed_at = pull.error.exchange_id if pull.error is not None else None
    for exchange in ordered:
        target = participants[(_role(exchange, exchanges), split_url(exchange.request.url).netloc or "?")]
        scheme = split_url(exchange.request.url).scheme or "?"
        path = short_request(exchange.request.url, origin(exchange.request.url))
        request = f"{exchange.request.method} {path} ({scheme})"
        step = steps.get(exchange.id)
        failing = exchange.id == failed_at
        if failing:
            lines.append("    rect rgba(255, 80, 80, 0.18)")
        indent = "        " if failing else "    "
        if exchange.failure is not None and exchange.failure.kind is FailureKind.CLIENT_SIDE:
            words = failure_words(exchange.failure.kind, exchange.failure.detail)
            lines.append(f"{indent}Note over C: {mermaid_text(f'{request}: {words}')}")
        elif exchange.failure is not None or exchange.response is None:
            words = (
                failure_words(exchange.failure.kind, exchange.failure.detail)
                if exchange.failure is not None
                else "no answer"
            )
            lines.append(f"{indent}C-x{target}: {mermaid_text(request)}")
            lines.append(f"{indent}Note over C,{target}: {mermaid_text(words)}")
        else:
            lines.append(f"{indent}C->>{target}: {mermaid_text(request)}")
            status = exchange.response.status
            words = (
                result_words(step, exchange)
                if step is not None
                else f"{status} {exchange.response.reason}".strip()
            )
            lines.append(f"{indent}{target}-->>C: {mermaid_text(words)}")
        if failing:
            marker = mermaid_text("✗ the pull failed here: " + outcome_words(pull))
            lines.append(f"{indent}Note right of C: {marker}")
            lines.append("    end")
    if not ordered:
        lines.append("    Note over C: no request was sent")
    elif failed_at is None and not pull.ok:
        lines.append(f"    Note over C: {mermaid_text('✗ ' + outcome_words(pull))}")
    elif pull.ok:
        lines.append("    Note over C: pulled")
    return "\n".join(lines)
