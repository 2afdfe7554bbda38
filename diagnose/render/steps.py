"""What every human-facing renderer says about a step: its kind, its words, its row.

Shared by the terminal, Markdown and HTML reports so they agree: the pulls are aligned by what
each step did (ping beside ping, token beside token), statuses and results are plain words
("TLS: the port speaks plain HTTP", "404 — docker ignores it"), the scheme and host are shown
where they change, and long paths fold only at ``/``, ``?`` and ``&``. Pure functions only:
this module must not print, decide a diagnosis or hold client wording (``clients/`` does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from diagnose.model import (
    Exchange,
    FailureKind,
    Outcome,
    Protocol,
    PullResult,
    PullStep,
    Report,
    StepKind,
    TokenClaims,
)
from diagnose.urls import split_url

# ---------------------------------------------------------------------------------------------
# Step kinds


def step_kind(step: PullStep, exchange: Exchange | None = None) -> str:
    """What a step did, as a key to align pulls by: ``ping``, ``token``, ``layer`` …

    The puller's typed kind (``Exchange.kind``) when it recorded one; otherwise read from the
    label (older reports, hand-made steps). A retried request (``layer 1/3 (GET)``) is the same
    kind as the first try.
    """
    if exchange is not None and exchange.kind is not StepKind.OTHER:
        return exchange.kind.value.replace("_", " ")
    label = step.label.strip().lower()
    label = re.sub(r"\s*\((?:get|head)\)$", "", label)
    return re.sub(r"^(layer) \d+/\d+$", r"\1", label)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the side-by-side table: a kind, and each pull's step of that kind (or None)."""

    kind: str
    steps: tuple[PullStep | None, ...]

    @property
    def label(self) -> str:
        """What the row is called: the first pull's own label for it (``layer 2/3``)."""
        return next((s.label for s in self.steps if s is not None), self.kind)


def _lcs_pairs(left: Sequence[str], right: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of two key lists."""
    n, m = len(left), len(right)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if left[i] == right[j]:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if left[i] == right[j]:
            pairs.append((i, j))
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def align(pulls: Sequence[PullResult]) -> tuple[Row, ...]:
    """The pulls' steps in rows by kind: same kinds share a row, the rest keep their order.

    Each pull is merged into the rows so far along a longest common subsequence of kinds, so
    docker's extra V1 steps get rows of their own instead of pairing with unrelated V2 steps.
    """
    rows: list[tuple[str, list[PullStep | None]]] = []
    for index, pull in enumerate(pulls):
        exchanges = {e.id: e for e in pull.exchanges}
        kinds = [step_kind(s, exchanges.get(s.exchange_id or -1)) for s in pull.steps]
        pairs = _lcs_pairs([kind for kind, _ in rows], kinds)
        merged: list[tuple[str, list[PullStep | None]]] = []
        r = s = 0
        for row_at, step_at in [*pairs, (len(rows), len(kinds))]:
            merged.extend(rows[r:row_at])  # rows this pull has nothing for
            for extra in range(s, step_at):  # this pull's steps no earlier pull had
                cells: list[PullStep | None] = [None] * len(pulls)
                cells[index] = pull.steps[extra]
                merged.append((kinds[extra], cells))
            if row_at < len(rows) and step_at < len(kinds):
                rows[row_at][1][index] = pull.steps[step_at]
                merged.append(rows[row_at])
            r, s = row_at + 1, step_at + 1
        rows = merged
    return tuple(Row(kind, tuple(cells)) for kind, cells in rows)


@dataclass(frozen=True, slots=True)
class Cell:
    """One pull's step in a row, with its exchange and the origin of that pull's step before
    (a renderer shows the origin only where it changes)."""

    step: PullStep
    exchange: Exchange | None
    previous_origin: str | None


def table_rows(report: Report, pulls: Sequence[PullResult]) -> Iterator[tuple[Row, list[Cell | None]]]:
    """The side-by-side table every renderer draws: ``align``'s rows, each pull's cell in them."""
    exchanges = {e.id: e for e in report.exchanges}
    previous: list[str | None] = [None] * len(pulls)
    for row in align(pulls):
        cells: list[Cell | None] = []
        for index, step in enumerate(row.steps):
            if step is None:
                cells.append(None)
                continue
            exchange = exchanges.get(step.exchange_id) if step.exchange_id is not None else None
            cells.append(Cell(step, exchange, previous[index]))
            previous[index] = origin(step.url) or previous[index]
        yield row, cells


# ---------------------------------------------------------------------------------------------
# Plain words

_REGISTRY_CODES = {
    "UNAUTHORIZED": "not authorized",
    "DENIED": "access denied",
    "NAME_UNKNOWN": "no such repository",
    "MANIFEST_UNKNOWN": "no such manifest",
    "BLOB_UNKNOWN": "no such blob",
    "TOOMANYREQUESTS": "too many requests",
    "NAME_INVALID": "invalid repository name",
    "TAG_INVALID": "invalid tag",
    "MANIFEST_INVALID": "manifest invalid",
    "DIGEST_INVALID": "digest mismatch",
    "UNSUPPORTED": "not supported",
}


def failure_words(kind: FailureKind | str, detail: str = "") -> str:
    """A transport failure in words a person reads: ``TLS: certificate signed by an unknown
    authority``, ``DNS: no such host``."""
    kind = str(kind)
    low = detail.lower()
    if kind == FailureKind.TLS:
        if "wrong version number" in low or "plain http" in low or "http response to https" in low:
            return "TLS: the port speaks plain HTTP"
        if any(s in low for s in ("unknown authority", "local issuer", "self-signed", "self signed")):
            return "TLS: certificate signed by an unknown authority"
        if any(
            s in low for s in ("hostname mismatch", "not valid for", "doesn't match", "ip address mismatch")
        ):
            return "TLS: certificate not valid for this host name"
        if "expired" in low:
            return "TLS: certificate has expired"
        return "TLS: handshake failed"
    words = {
        FailureKind.DNS: "DNS: no such host",
        FailureKind.REFUSED: "connection refused",
        FailureKind.RESET: "connection reset by the server",
        FailureKind.TIMEOUT: "timed out",
        FailureKind.TOO_MANY_REDIRECTS: "too many redirects",
        FailureKind.BODY_TOO_LARGE: "answer too large",
        FailureKind.INVALID_URL: "invalid URL",
    }
    if kind in words:
        return words[FailureKind(kind)]
    if kind == FailureKind.CLIENT_SIDE:
        return "not sent: " + (detail.split(" (")[0] if detail else "refused by the client")
    return "failed: " + (detail or kind)


def result_words(step: PullStep, exchange: Exchange | None = None) -> str:
    """A step's status and result in plain words: ``401 — asks for a Bearer token``."""
    if exchange is not None and exchange.failure is not None and step.status is None:
        return failure_words(exchange.failure.kind, exchange.failure.detail)
    result = step.result.strip()
    if step.status is None:
        try:
            return failure_words(FailureKind(result))
        except ValueError:
            return result or "no answer"
    status = str(step.status)
    rest = result[len(status) :].strip(" :·-—") if result.startswith(status) else result
    words = _rest_words(step, rest)
    return f"{status} — {words}" if words else status


def _rest_words(step: PullStep, rest: str) -> str:
    kind = step_kind(step)
    ignored = re.fullmatch(r"\(ignored; standalone=(true|false)\)", rest)
    if ignored:
        if ignored.group(1) == "true":
            return "docker ignores it (standalone: Basic auth on every V1 request)"
        return "docker ignores it"
    challenge = re.fullmatch(r"(\w[\w, ]*) challenge", rest)
    if challenge:
        schemes = challenge.group(1)
        if schemes.lower() == "bearer":
            return "asks for a Bearer token"
        if schemes.lower() == "basic":
            return "asks for a user and password (Basic)"
        if schemes.lower() == "no":
            return "no challenge"
        return f"asks for {schemes} auth"
    access = re.fullmatch(r"token \(access: (.*)\)", rest)
    if access:
        granted = access.group(1)
        return "token grants no access" if granted == "none" else f"token grants {granted}"
    codes = rest.split()
    if codes and all(c in _REGISTRY_CODES for c in codes):
        return "; ".join(f"{_REGISTRY_CODES[c]} ({c})" for c in codes)
    if rest == "digest ok":
        return "digest verified"
    if kind == "ping" and rest == "OK":
        return "V2 API here"
    return rest


_OUTCOME_WORDS = {
    Outcome.OK: "pulled",
    Outcome.UNAUTHORIZED: "not authorized (401)",
    Outcome.DENIED: "access denied",
    Outcome.NOT_FOUND: "not found",
    Outcome.AUTH_FAILED: "credentials rejected",
    Outcome.RATE_LIMITED: "rate limited",
    Outcome.TLS_ERROR: "TLS error",
    Outcome.CONNECTION_ERROR: "could not connect",
    Outcome.TIMEOUT: "timed out",
    Outcome.PROTOCOL_ERROR: "answer not understood",
    Outcome.UNSUPPORTED: "unsupported (platform or media type)",
    Outcome.INTEGRITY_ERROR: "digest mismatch",
    Outcome.SERVER_ERROR: "server error",
}


def outcome_words(pull: PullResult) -> str:
    """``not found — the V1 API's answer``: the outcome and which API gave it, in words."""
    words = _OUTCOME_WORDS.get(pull.outcome, pull.outcome.value)
    if pull.protocol is Protocol.V1:
        return f"{words} — the V1 API's answer"
    if pull.protocol is Protocol.V2 and not pull.ok:
        return f"{words} — the V2 API's answer"
    return words


def claims_words(claims: TokenClaims) -> str:
    """A token's decoded claims in one line: diagnose's annotation, shown beside the body."""
    parts = [f"sub={claims.sub!r}" if claims.sub is not None else "no sub"]
    if claims.access is None:
        parts.append("no access claim")
    elif not claims.access:
        parts.append("access: none")
    else:
        parts.append("access: " + ", ".join(entry.scope for entry in claims.access))
    if claims.iss:
        parts.append(f"iss={claims.iss}")
    if claims.exp is not None:
        parts.append(f"exp={claims.exp}")
    return "; ".join(parts)


def shown_pulls(report: Report) -> tuple[PullResult, ...]:
    """The pulls the side-by-side table shows (``Report.table``; empty means every pull)."""
    if not report.table:
        return report.pulls
    wanted = set(report.table)
    return tuple(p for p in report.pulls if p.strategy in wanted) or report.pulls


def verdict(report: Report) -> str:
    """The one line a person reads first and last: what is wrong, in words."""
    mark = "✓" if all(p.ok for p in report.pulls) else "✗"
    return f"{mark} {report.diagnosis.title}"


# ---------------------------------------------------------------------------------------------
# URLs, digests, folding


def origin(url: str) -> str:
    """``https://host:port`` of a recorded URL ("" when it cannot be split)."""
    parts = split_url(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


_READABLE = re.compile(r"%(?:3[aA]|2[fF]|2[cC])")


def relative_url(url: str, previous_origin: str | None) -> str:
    """The URL without its origin when the step before had the same one (as recorded)."""
    here = origin(url)
    return url if here != previous_origin else url[len(here) :] or "/"


def short_request(url: str, previous_origin: str | None) -> str:
    """The URL as a step shows it: the origin only when it differs from the step before."""
    parts = split_url(url)
    here = origin(url)
    rest = parts.path or "/"
    if parts.query:
        # ``scope=repository:library/x:pull`` shown with its ``:`` ``/`` ``,`` decoded: readable,
        # and it folds at ``/``. Nothing else is decoded: a decoded query could turn a scrubbed
        # URL back into a spelling of a secret. The curl commands keep the exact URL.
        rest += "?" + _READABLE.sub(lambda m: unquote(m.group(0)), parts.query)
    if not here:
        return url
    return rest if here == previous_origin else here + rest


_DIGEST = re.compile(r"\b((?:sha256|sha384|sha512):)?([0-9a-f]{12})[0-9a-f]{20,}\b")


def short_digests(text: str) -> str:
    """Digests and V1 image IDs shortened to 12 hex digits, as ``docker images`` shows IDs
    (whole in JSON and Markdown)."""
    return _DIGEST.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}…", text)


_BREAK = re.compile(r"(?<=/)(?<!:/)|(?=[?&])|(?<= )")


def fold(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken only after ``/`` or a space, or before
    ``?`` and ``&``; a single piece longer than ``width`` is the only thing ever cut."""
    width = max(width, 8)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        pieces = [p for p in _BREAK.split(paragraph) if p]
        line = ""
        for piece in pieces:
            if len(line) + len(piece) <= width:
                line += piece
                continue
            if line.strip():
                lines.append(line.rstrip())
            line = piece.lstrip(" ") if line.strip() else line + piece
            while len(line) > width:
                lines.append(line[:width])
                line = line[width:]
        lines.append(line.rstrip())
    return lines
