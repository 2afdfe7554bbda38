"""How real clients word and treat registry errors: shared Go-isms for the per-client models.

The modules in this package reproduce, as pure functions over recorded facts (status, headers,
body bytes, transport failure kind), the exact text a client would print. They must not do I/O,
must not decide outcomes or diagnoses (that is ``rules.py``), and must not raise on any registry
answer.

This module holds what both clients inherit from Go and from docker/distribution:

- ``go_quote``: Go's ``%q`` / ``strconv.Quote`` (escapes, ``\\x`` for invalid UTF-8 bytes);
- ``decode_errcode``: what ``json.Unmarshal(body, &errcode.Errors)`` yields, including the
  "bare ErrorCode" rule (docker/distribution registry/api/errcode/errors.go, Errors.UnmarshalJSON:
  an entry whose detail is null and whose message is empty or the code's default decodes to the
  ErrorCode alone) and the Go json error text when decoding fails;
- ``code_text``: ``ErrorCode.Error()`` (lower-cased, ``_`` -> space);
- ``classify_tls`` / ``looks_like_eof``: reading the Python/requests failure detail recorded by the
  transport to pick the matching Go wording.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from diagnose.errors_body import KNOWN_CODES, UNKNOWN, default_message, get_field, normalise_code

NO_SPACE_LEFT = "no space left on device"  # strings.ToLower(syscall.ENOSPC.Error())
NO_BASIC_AUTH_CREDENTIALS = "no basic auth credentials"  # docker/distribution registry/client/auth/session.go
NO_ERRORS_IN_BODY = (
    "no error details found in HTTP response body"  # registry/client/errors.go ErrNoErrorsInBody
)


_PLAIN_ASCII = re.compile(rb"[\x20-\x7e]*")


def go_quote(data: bytes | str) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints for a string or []byte)."""
    raw = data.encode("utf-8", errors="surrogateescape") if isinstance(data, str) else data
    if _PLAIN_ASCII.fullmatch(raw):
        # fast path (a large error page or JSON body): printable ASCII needs only \\ and \"
        return '"' + raw.decode("ascii").replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = ['"']
    i = 0
    while i < len(raw):
        char = None
        for width in (1, 2, 3, 4):
            try:
                decoded = raw[i : i + width].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(decoded) == 1:
                char = decoded
                i += width
                break
        if char is None:
            out.append(f"\\x{raw[i]:02x}")  # invalid UTF-8 byte
            i += 1
            continue
        out.append(_quote_rune(char))
    out.append('"')
    return "".join(out)


def longer_than_declared(reply_size: int | None, declared: int | None) -> bool:
    """The layer answer went past the size its manifest declared (``stream_limit`` cut it)."""
    return reply_size is not None and declared is not None and reply_size > declared


def stopped_at_declared_size(label: str, size: int) -> str:
    """Note for a ``--layers`` download cut at the size its manifest declared."""
    return (
        f"{label}: the registry sent more than the {size} bytes the manifest declared; diagnose "
        "stopped reading there (the client reads on, then reports the digest mismatch)"
    )


def go_quote_body(body: bytes | str) -> str:
    """``go_quote`` of a registry answer, cut at ``bounds.QUOTE_LIMIT`` bytes.

    The client prints the whole body; a report quotes its start and says how much more there
    was (the exchange keeps the answer). Quoting megabytes rune by rune also took minutes.
    """
    from diagnose.bounds import QUOTE_LIMIT

    raw = body.encode("utf-8", errors="surrogateescape") if isinstance(body, str) else body
    if len(raw) <= QUOTE_LIMIT:
        return go_quote(raw)
    return (
        f"{go_quote(raw[:QUOTE_LIMIT])}… ({len(raw) - QUOTE_LIMIT} more bytes; the exchange keeps the answer)"
    )


_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _quote_rune(char: str) -> str:
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char]
    # Go's unicode.IsPrint == letters, marks, numbers, punctuation, symbols and U+0020,
    # which is Python's str.isprintable().
    if char.isprintable():
        return char
    point = ord(char)
    if point < 0x80:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def _go_quote_char(char: str) -> str:
    """encoding/json quoteChar: how the scanner names an offending byte."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + go_quote(char)[1:-1] + "'"


def code_text(code: str) -> str:
    """``ErrorCode.Error()``: ``MANIFEST_UNKNOWN`` -> ``manifest unknown``."""
    return code.replace("_", " ").lower()


@dataclass(frozen=True, slots=True)
class GoErrcode:
    """One decoded entry of ``errcode.Errors``."""

    code: str  # a registered code, or UNKNOWN
    message: str
    detail: str | None = None  # compact JSON text
    bare: bool = False  # decoded as a bare ErrorCode (prints only the code text)

    @property
    def text(self) -> str:
        """Go's ``Error()`` of this entry: ``code text`` or ``code text: message``."""
        return code_text(self.code) if self.bare else f"{code_text(self.code)}: {self.message}"

    @property
    def has_default_message(self) -> bool:
        return self.message == default_message(self.code)


def _kind(value: Any) -> str:
    """The JSON value kind as Go's UnmarshalTypeError names it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_error(value: Any, go_type: str) -> str:
    # Go 1.6 UnmarshalTypeError.Error(); Go >= 1.8 adds "Go struct field ..." (not modelled).
    return f"json: cannot unmarshal {_kind(value)} into Go value of type {go_type}"


def _syntax_error(text: str) -> str:
    """Best-effort Go encoding/json syntax error text for a body that is not JSON."""
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        return "unexpected end of JSON input"
    if stripped[0] not in '{["-0123456789tfn':
        return f"invalid character {_go_quote_char(stripped[0])} looking for beginning of value"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip(" \t\r\n")):
            return "unexpected end of JSON input"
        if exc.msg.startswith("Extra data"):
            return f"invalid character {_go_quote_char(text[exc.pos])} after top-level value"
        # Go's scanner has a dozen context-specific wordings; this is the generic approximation.
        return f"invalid character {_go_quote_char(text[exc.pos])} looking for beginning of value"
    except RecursionError:
        return "exceeded max depth"  # Go encoding/json caps nesting at 10000
    except ValueError:
        pass
    return f"invalid character {_go_quote_char(stripped[0])} looking for beginning of value"


def decode_errcode(body: bytes) -> tuple[tuple[GoErrcode, ...], str | None]:
    """Model ``json.Unmarshal(body, &errcode.Errors{})``: (entries, None) or ((), Go error text).

    Unlike ``errors_body.parse_error_body`` (evidence), this is strict the way Go is: a ``null``
    entry decodes to a bare UNKNOWN, a non-object entry or a non-string code/message is a type
    error that makes the whole decode fail.
    """
    text = body.decode("utf-8", errors="replace")
    try:
        value = json.loads(text, parse_constant=_reject)
    except (ValueError, RecursionError):
        return (), _syntax_error(text)
    if value is None:
        return (), None
    if not isinstance(value, dict):
        return (), _type_error(value, "struct { Errors []errcode.Error }")
    _, entries = get_field(value, "errors")
    if entries is None:
        return (), None
    if not isinstance(entries, list):
        return (), _type_error(entries, "[]errcode.Error")
    decoded: list[GoErrcode] = []
    for entry in entries:
        if entry is None:
            decoded.append(GoErrcode(code=UNKNOWN, message="", bare=True))
            continue
        if not isinstance(entry, dict):
            return (), _type_error(entry, "errcode.Error")
        _, code = get_field(entry, "code")
        _, message = get_field(entry, "message")
        _, detail = get_field(entry, "detail")
        if code is not None and not isinstance(code, str):
            return (), _type_error(code, "errcode.ErrorCode")
        if message is not None and not isinstance(message, str):
            return (), _type_error(message, "string")
        normal = normalise_code(code)
        msg = message or ""
        bare = detail is None and (msg == "" or msg == KNOWN_CODES[normal][1])
        decoded.append(
            GoErrcode(
                code=normal,
                message=msg,
                detail=None
                if detail is None
                else json.dumps(detail, separators=(",", ":"), ensure_ascii=False),
                bare=bare,
            )
        )
    return tuple(decoded), None


def _reject(name: str) -> Any:
    raise ValueError(name)


def legacy_details(body: bytes) -> str | None:
    """The ``{"details": "..."}`` text if Go would decode a non-empty one, else None.

    docker/distribution registry/client/errors.go parseHTTPErrorResponse tries this first.
    """
    try:
        value = json.loads(body.decode("utf-8", errors="replace"), parse_constant=_reject)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    _, details = get_field(value, "details")
    if isinstance(details, str) and details:
        return details
    return None


def legacy_details_code(status: int) -> str:
    """Which code a legacy details body becomes (401 / 429 / anything else)."""
    return {401: "UNAUTHORIZED", 429: "TOOMANYREQUESTS"}.get(status, UNKNOWN)


# --- reading the transport's failure detail -------------------------------------------------

_PLAIN_HTTP = re.compile(r"wrong.version.number|record.layer.failure|unknown.protocol|http.request", re.I)
_UNKNOWN_CA = re.compile(r"self.signed|unable to get local issuer|unknown ca|unknown authority", re.I)
_EXPIRED = re.compile(r"expired|not yet valid", re.I)
# The server wanted a client certificate: TLS 1.3 alert 116 (OpenSSL "tlsv13 alert certificate
# required"), TLS 1.2 "bad certificate" (42).
_CLIENT_CERT = re.compile(r"certificate.required|alert bad certificate|bad_certificate", re.I)
_HOSTNAME = re.compile(r"hostname|doesn't match|does not match|ip address mismatch", re.I)


def classify_tls(detail: str) -> str:
    """``plain_http`` | ``client_certificate`` | ``unknown_authority`` | ``expired`` | ``hostname``
    | ``other``."""
    if _PLAIN_HTTP.search(detail):
        return "plain_http"
    if _CLIENT_CERT.search(detail):
        return "client_certificate"
    if _HOSTNAME.search(detail):
        return "hostname"
    if _EXPIRED.search(detail):
        return "expired"
    if _UNKNOWN_CA.search(detail) or "certificate_verify_failed" in detail.lower():
        return "unknown_authority"
    return "other"


def looks_like_eof(detail: str) -> bool:
    """The peer closed the connection without an answer (Go reports plain ``EOF``)."""
    lowered = detail.lower()
    return any(
        marker in lowered
        for marker in ("remotedisconnected", "closed connection without response", "eof", "unexpected_eof")
    )


def is_read_timeout(detail: str) -> bool:
    """The connection was made but the answer stalled (diagnose.transport_failures wording)."""
    lowered = detail.lower()
    return any(
        marker in lowered
        for marker in (
            "read timed out",
            "readtimeout",
            "(read timeout)",
            "while reading the body",
            "body too slow",
        )
    )


def host_of(host_port: str) -> str:
    """``registry:5000`` -> ``registry``; ``[::1]:5000`` -> ``::1``."""
    if host_port.startswith("["):
        return host_port[1 : host_port.find("]")] if "]" in host_port else host_port
    if host_port.count(":") == 1:
        return host_port.rsplit(":", 1)[0]
    return host_port


def go_method_op(method: str) -> str:
    """net/http url.Error Op: the method with only its first letter capitalised (``Get``)."""
    return method[:1].upper() + method[1:].lower()
