"""Go-isms every client model shares: ``*url.Error`` text per Go release, net errors, ``%v``.

The clients are Go programs, so part of what they print is Go's own wording, and that wording
changed between the Go releases the clients were built with. Each function takes the Go era
it models. This module must not do I/O and must not know about any one client.

Eras (the Go release a client binary was built with decides its wording):

- ``GO18`` Go 1.8-1.10 (Docker 17.06 ... 18.09): ``Get https://h/v2/: …`` unquoted, dial errors
  ``getsockopt: connection refused``;
- ``GO119`` Go 1.14-1.19 (Debian bookworm's docker.io 20.10, containerd 1.6, skopeo 1.9): the URL
  is quoted (``Get "https://h/v2/": …``, Go 1.14 net/url), ``connect: connection refused``,
  certificate errors are bare ``x509: …``;
- ``GO120`` Go >= 1.20 (current c/image, containerd 2.x, docker 29): certificate errors are
  wrapped ``tls: failed to verify certificate: x509: …`` (Go 1.20 crypto/tls).
"""

from __future__ import annotations

import json
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from diagnose.clients import classify_tls, go_method_op, go_quote, host_of, is_read_timeout, looks_like_eof
from diagnose.model import FailureKind


class GoEra(StrEnum):
    GO18 = "go1.8"
    GO119 = "go1.19"
    GO120 = "go1.20"


def url_error(method: str, url: str, inner: str, era: GoEra) -> str:
    """``*url.Error``: ``Get https://h/v2/: inner`` before Go 1.14, ``Get "https://h/v2/": inner`` after."""
    shown = url if era is GoEra.GO18 else go_quote(url)
    return f"{go_method_op(method)} {shown}: {inner}"


def transport_text(kind: FailureKind, host_port: str, detail: str, era: GoEra) -> str:
    """The inner text of a network failure (the part after ``Get URL: ``).

    ``detail`` is the transport's recorded Python-side text, read only to pick the TLS / timeout /
    EOF variant. Texts marked (derived) follow from Go's source, not from a recorded run.
    """
    if kind is FailureKind.REFUSED:
        op = "getsockopt" if era is GoEra.GO18 else "connect"  # Go 1.11 net: "connect:"
        return f"dial tcp {host_port}: {op}: connection refused"
    if kind is FailureKind.DNS:
        return f"dial tcp: lookup {host_of(host_port)}: no such host"  # (derived) resolver text varies
    if kind is FailureKind.TLS:
        variant = classify_tls(detail)
        if variant == "plain_http":
            # net/http transport: a TLS record header that reads "HTTP/" (Go >= 1.8)
            return "http: server gave HTTP response to HTTPS client"
        if variant == "client_certificate":
            # crypto/tls alert.go: alert 116 is "certificate required" (TLS 1.3, Go >= 1.13);
            # a TLS-1.2-only Go reads the server's handshake_failure alert. (derived)
            if era is GoEra.GO18:
                return "remote error: tls: handshake failure"
            return "remote error: tls: certificate required"
        prefix = "tls: failed to verify certificate: " if era is GoEra.GO120 else ""
        if variant == "unknown_authority":
            return f"{prefix}x509: certificate signed by unknown authority"
        if variant == "expired":
            return f"{prefix}x509: certificate has expired or is not yet valid"  # (derived)
        if variant == "hostname":
            return f"{prefix}x509: certificate is not valid for {host_of(host_port)}"  # (derived)
        return "remote error: tls: handshake failure"  # (derived)
    if kind is FailureKind.TIMEOUT:
        if is_read_timeout(detail):
            return f"read tcp {host_port}: i/o timeout"  # (derived)
        return f"dial tcp {host_port}: i/o timeout"  # (derived)
    if looks_like_eof(detail) and kind in (FailureKind.RESET, FailureKind.OTHER):
        return "EOF"
    if kind is FailureKind.RESET:
        return f"read tcp {host_port}: read: connection reset by peer"  # (derived) local address unknown
    if kind is FailureKind.TOO_MANY_REDIRECTS:
        return "stopped after 10 redirects"  # net/http defaultCheckRedirect
    return detail


def status_line(status: int, reason: str = "") -> str:
    """Go's ``resp.Status`` as a client sees it: ``404 Not Found`` (the server's reason phrase)."""
    return f"{status} {reason}".strip() if reason else f"{status} {status_text(status)}".strip()


def status_text(status: int) -> str:
    """``http.StatusText``: the registered phrase, "" for an unregistered code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def format_v(value: Any) -> str:
    """Go's ``fmt.Sprintf("%v", v)`` for a value decoded by ``json.Unmarshal`` into ``interface{}``.

    Objects print as ``map[k:v ...]`` with sorted keys, arrays as ``[a b]``, numbers as float64
    (``%v`` of float64 uses ``%g``), null as ``<nil>``.
    """
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(format_v(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{format_v(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def _go_float(number: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)`` as ``%v`` prints it (exponent from 1e21)."""
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    text = repr(number)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        digits = exponent.lstrip("+-").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def json_detail(text: str | None) -> Any:
    """The detail JSON text a model stored, decoded (None when absent or unreadable)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
