"""Pure classification of a transport exception into a ``TransportFailure``.

It maps requests/urllib3/socket/ssl exceptions to a kind and a one-line, plain-words detail
(the OS or TLS reason, never a repr chain). It must not send, record or redact anything:
``transport.RecordingClient`` calls it and redacts the result.
"""

from __future__ import annotations

import errno
import http.client
import os
import re
import socket
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

import requests
import requests.exceptions
import urllib3
import urllib3.exceptions

from diagnose.model import FailureKind, TransportFailure


def origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL": the send itself reports invalid_url
        return "", url, None
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


SEND_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,  # includes ssl.SSLError, socket.timeout, ConnectionError
    ValueError,  # includes UnicodeError from IDNA-invalid host names
)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (urllib3 ``reason``, causes, contexts, args)."""
    seen: list[BaseException] = []
    queue: list[BaseException | None] = [exc]
    while queue:
        current = queue.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        reason = getattr(current, "reason", None)
        queue.append(reason if isinstance(reason, BaseException) else None)
        queue.extend([current.__cause__, current.__context__])
        queue.extend(a for a in current.args if isinstance(a, BaseException))
    return seen


def is_timeout(exc: BaseException) -> bool:
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for history's sake; a refused
    # connection is not a timeout (requests makes the same exception in adapters.py).
    return any(
        isinstance(e, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError | TimeoutError)
        and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in _chain(exc)
    )


def _first(chain: Sequence[BaseException], *kinds: type[BaseException]) -> BaseException | None:
    return next((e for e in chain if isinstance(e, kinds)), None)


_SSL_NOISE = re.compile(r"^\[[A-Z0-9_: ]+\]\s*|\s*\(_ssl\.c:\d+\)$")


def _clean_ssl(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError) and len(exc.args) >= 2 and isinstance(exc.args[1], str):
        text = _SSL_NOISE.sub("", exc.args[1]).strip()
    else:
        text = _one_line(exc)
    if "WRONG_VERSION_NUMBER" in str(exc) or "wrong version number" in text:
        text += " (the server does not seem to speak TLS on this port: plain HTTP?)"
    return text


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _endpoint(url: str) -> str:
    _, host, port = origin(url)
    return f"{host}:{port}" if port else host or url


def failure_from_exception(
    exc: BaseException, *, url: str, timeout: float, reading_body: bool = False, proxy: str | None = None
) -> TransportFailure:
    """Map a requests/urllib3/socket/ssl exception to a ``TransportFailure`` with a one-line,
    plain-words detail (the OS or TLS reason, not a repr chain). Not redacted here."""
    chain = _chain(exc)
    where = _endpoint(url)
    proxy_error = _first(chain, requests.exceptions.ProxyError, urllib3.exceptions.ProxyError)
    via_proxy = "via proxy: " if proxy_error else ""
    proxy_where = _endpoint(proxy) if proxy else "the proxy"

    # The proxy answered the CONNECT itself (407 credentials, 502/503 upstream, 403 policy):
    # http.client raises OSError("Tunnel connection failed: <status> <reason>").
    tunnel = next((e for e in chain if str(e).startswith("Tunnel connection failed")), None)
    if tunnel is not None:
        status = str(tunnel).removeprefix("Tunnel connection failed:").strip() or "no status"
        return TransportFailure(
            FailureKind.PROXY, f"proxy {proxy_where} refused the tunnel to {where}: {status}"
        )
    if proxy_error is not None and _first(chain, ConnectionRefusedError):
        return TransportFailure(
            FailureKind.PROXY, f"cannot connect to proxy {proxy_where}: connection refused"
        )

    invalid = _first(
        chain,
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.URLRequired,
        urllib3.exceptions.LocationValueError,
        UnicodeError,
    )
    if invalid is not None:
        return TransportFailure(FailureKind.INVALID_URL, f"invalid URL: {_one_line(invalid)}")

    gai = _first(chain, socket.gaierror)
    if gai is not None or _first(chain, urllib3.exceptions.NameResolutionError):
        reason = gai.strerror if isinstance(gai, socket.gaierror) and gai.strerror else "lookup failed"
        host = origin(url)[1]
        return TransportFailure(FailureKind.DNS, f"{via_proxy}cannot resolve host {host!r}: {reason}")

    cert = _first(chain, ssl.SSLCertVerificationError)
    if cert is not None:
        return TransportFailure(FailureKind.TLS, f"{via_proxy}TLS with {where}: {_clean_ssl(cert)}")

    if is_timeout(exc):
        if _first(
            chain,
            requests.exceptions.ConnectTimeout,
            urllib3.exceptions.ConnectTimeoutError,
        ):
            detail = f"connecting to {where} timed out after {timeout:g} s"
        elif reading_body:
            detail = f"no data for {timeout:g} s while reading the body from {where}"
        else:
            detail = f"no response from {where} within {timeout:g} s (read timeout)"
        return TransportFailure(FailureKind.TIMEOUT, via_proxy + detail)

    tls = _first(chain, ssl.SSLError) or _first(
        chain,
        requests.exceptions.SSLError,
        urllib3.exceptions.SSLError,
    )
    if tls is not None:
        deepest = _first(chain, ssl.SSLError) or tls
        return TransportFailure(FailureKind.TLS, f"{via_proxy}TLS with {where}: {_clean_ssl(deepest)}")

    if _first(chain, ConnectionRefusedError):
        return TransportFailure(FailureKind.REFUSED, f"{via_proxy}connection to {where} refused")

    incomplete = _first(
        chain,
        urllib3.exceptions.IncompleteRead,
        http.client.IncompleteRead,
    )
    if incomplete is not None:
        partial = getattr(incomplete, "partial", None)
        expected = getattr(incomplete, "expected", None)
        got = partial if isinstance(partial, int) else len(partial) if isinstance(partial, bytes) else "?"
        detail = (
            f"connection closed before the body was complete ({got} bytes read, {expected} more expected)"
        )
        return TransportFailure(FailureKind.RESET, via_proxy + detail)
    # RemoteDisconnected subclasses ConnectionResetError: test it first.
    if _first(chain, http.client.RemoteDisconnected):
        return TransportFailure(
            FailureKind.RESET, f"{via_proxy}{where} closed the connection without a response"
        )
    if _first(chain, ConnectionResetError):
        return TransportFailure(FailureKind.RESET, f"{via_proxy}connection reset by {where}")
    if _first(
        chain,
        BrokenPipeError,
        ConnectionAbortedError,
    ):
        return TransportFailure(FailureKind.RESET, f"{via_proxy}connection to {where} aborted")
    if _first(
        chain,
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.ProtocolError,
    ):
        return TransportFailure(
            FailureKind.RESET, f"{via_proxy}connection to {where} broken: {_one_line(chain[-1])}"
        )
    if _first(
        chain,
        urllib3.exceptions.DecodeError,
        requests.exceptions.ContentDecodingError,
    ):
        return TransportFailure(FailureKind.OTHER, "could not decode the body (Content-Encoding)")

    os_error = next((e for e in chain if isinstance(e, OSError) and e.errno), None)
    if isinstance(os_error, OSError) and os_error.errno is not None:
        if "CA certificate bundle" in str(os_error):
            return TransportFailure(FailureKind.TLS, _one_line(os_error))
        name = errno.errorcode.get(os_error.errno, "")
        return TransportFailure(
            FailureKind.OTHER,
            f"{via_proxy}{where}: {os.strerror(os_error.errno).lower()}" + (f" ({name})" if name else ""),
        )
    if any("CA certificate bundle" in str(e) for e in chain):
        return TransportFailure(FailureKind.TLS, _one_line(exc))
    return TransportFailure(FailureKind.OTHER, via_proxy + _one_line(chain[-1]))
