"""How Docker Engine 1.12.6 words and treats pull errors (V2 first, then the V1 fallback).

Sources (read through the search tool and summarised in reference/client-behaviours.md §1.3-§1.7):
- M12 = moby/moby v1.12.6 ``78d18021ecba00c00730dec9d56de6896f9e708d``: distribution/errors.go
  (shouldV2Fallback, continueOnError), distribution/pull_v2.go (allowV1Fallback),
  distribution/pull_v1.go, registry/session.go (GetRepositoryData), engine-api client/request.go;
- D12 = docker/distribution as vendored in M12 (hack/vendor.sh pins
  ``07f32ac1831ed0fc71960b7da5d6bb83cb6881b5``): registry/client/errors.go (HandleErrorResponse,
  parseHTTPErrorResponse, UnexpectedHTTPStatusError, UnexpectedHTTPResponseError),
  registry/api/errcode/errors.go and register.go, registry/client/auth/session.go.
- Go 1.6 (docker 1.12.x was built with go1.6.x, e.g. the ``go/go1.6.3`` User-Agent in
  moby/moby#27281): url.Error prints ``Get https://...: inner`` without quotes.

Everything here is a pure function of recorded facts. It must not do I/O, decide outcomes, or raise
on any registry answer. ``text`` fields equal what Go's ``err.Error()`` would return; what the CLI
finally shows also depends on ``daemon_message`` (streamed or not).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from diagnose.clients import (
    NO_BASIC_AUTH_CREDENTIALS,
    NO_ERRORS_IN_BODY,
    NO_SPACE_LEFT,
    classify_tls,
    code_text,
    decode_errcode,
    go_method_op,
    go_quote,
    host_of,
    is_read_timeout,
    legacy_details,
    legacy_details_code,
    looks_like_eof,
)
from diagnose.errors_body import default_message
from diagnose.model import FailureKind

CLIENT = "docker 1.12.6"

# M12 distribution/errors.go shouldV2Fallback: the codes that make docker try the next endpoint
# (and, through allowV1Fallback, V1 even on a confirmed V2 registry).
FALLBACK_CODES = frozenset({"UNAUTHORIZED", "MANIFEST_UNKNOWN", "NAME_UNKNOWN"})


class V2ErrorKind(StrEnum):
    """The Go type of the error D12's HandleErrorResponse (or the transport) returned."""

    ERROR = "error"  # errcode.Error: "<code text>: <message>"
    ERROR_CODE = "error_code"  # bare errcode.ErrorCode: detail null and default/empty message
    ERRORS = "errors"  # errcode.Errors with several entries: "errors:\n<e1>\n<e2>\n"
    UNEXPECTED_BODY = "unexpected_body"  # *UnexpectedHTTPResponseError (4xx other than 401)
    UNEXPECTED_STATUS = "unexpected_status"  # *UnexpectedHTTPStatusError (outside 400-499)
    TRANSPORT = "transport"  # *url.Error around a network failure
    NO_BASIC_CREDENTIALS = "no_basic_credentials"  # *url.Error around auth.ErrNoBasicAuthCredentials


@dataclass(frozen=True, slots=True)
class V2Error:
    """A V2 error as docker 1.12 holds it; ``text`` is Go's ``err.Error()``."""

    kind: V2ErrorKind
    codes: tuple[str, ...] = ()
    text: str = ""
    bare: tuple[bool, ...] = ()  # per entry of ``codes``: decoded as a bare ErrorCode

    @property
    def first_code(self) -> str | None:
        return self.codes[0] if self.codes else None

    @property
    def first_is_error(self) -> bool:
        """The first entry is an errcode.Error (not a bare ErrorCode)."""
        return bool(self.codes) and not (self.bare and self.bare[0])


def _single(code: str, message: str, *, bare: bool) -> V2Error:
    if bare:
        return V2Error(V2ErrorKind.ERROR_CODE, (code,), code_text(code), (True,))
    return V2Error(V2ErrorKind.ERROR, (code,), f"{code_text(code)}: {message}", (False,))


def v2_response_error(status: int, status_text: str, body: bytes) -> V2Error:
    """D12 HandleErrorResponse for a non-2xx V2 answer (1.12 does not read WWW-Authenticate).

    ``status_text`` is Go's ``resp.Status``, e.g. ``"500 Internal Server Error"``.
    """
    if not 400 <= status < 500:
        # D12 UnexpectedHTTPStatusError: "received unexpected HTTP status: %s"
        return V2Error(V2ErrorKind.UNEXPECTED_STATUS, text=f"received unexpected HTTP status: {status_text}")

    # D12 parseHTTPErrorResponse: the legacy {"details": "..."} form first, as Error.WithMessage.
    details = legacy_details(body)
    if details is not None:
        return _single(legacy_details_code(status), details, bare=False)

    entries, parse_error = decode_errcode(body)
    if parse_error is None and not entries:
        parse_error = NO_ERRORS_IN_BODY
    if parse_error is not None:
        if status == 401:
            # D12 HandleErrorResponse: ErrorCodeUnauthorized.WithDetail(body) -> an Error with the
            # default message: "unauthorized: authentication required".
            return _single("UNAUTHORIZED", default_message("UNAUTHORIZED"), bare=False)
        # D12 UnexpectedHTTPResponseError: "error parsing HTTP %d response body: %s: %q"
        return V2Error(
            V2ErrorKind.UNEXPECTED_BODY,
            text=f"error parsing HTTP {status} response body: {parse_error}: {go_quote(body)}",
        )
    codes = tuple(entry.code for entry in entries)
    bare = tuple(entry.bare for entry in entries)
    if len(entries) == 1:
        # A one-element errcode.Errors prints as its element and is judged by it (errors.go).
        return V2Error(V2ErrorKind.ERROR_CODE if bare[0] else V2ErrorKind.ERROR, codes, entries[0].text, bare)
    # D12 errcode Errors.Error(): "errors:\n" + each + "\n"
    text = "errors:\n" + "".join(entry.text + "\n" for entry in entries)
    return V2Error(V2ErrorKind.ERRORS, codes, text, bare)


def url_error(method: str, url: str, inner: str) -> str:
    """Go 1.6 ``*url.Error``: ``Get https://host/v2/x/manifests/latest: inner`` (no quotes before Go 1.14)."""
    return f"{go_method_op(method)} {url}: {inner}"


def transport_error_text(kind: FailureKind, host_port: str, detail: str) -> str:
    """The inner text of a network failure as Go 1.6 worded it (the part after ``Get URL: ``).

    ``detail`` is the transport's recorded Python-side detail, used to pick the TLS / timeout /
    EOF variant; for kinds with no Go equivalent it is returned unchanged.
    """
    if kind is FailureKind.REFUSED:
        # observed with Go 1.6/1.7 daemons (e.g. moby/moby#27281-era reports)
        return f"dial tcp {host_port}: getsockopt: connection refused"
    if kind is FailureKind.DNS:
        # (derived) Go adds " on <resolver>:53" when the resolver answered
        return f"dial tcp: lookup {host_of(host_port)}: no such host"
    if kind is FailureKind.TLS:
        variant = classify_tls(detail)
        if variant == "plain_http":
            # observed: an https client against a plain-http port reads "HTTP/" as a TLS record
            # header whose length bytes are "P/" = 20527
            return "tls: oversized record received with length 20527"
        if variant == "expired":
            return "x509: certificate has expired or is not yet valid"  # (derived)
        if variant == "hostname":
            return f"x509: certificate is not valid for {host_of(host_port)}"  # (derived, approximate)
        if variant == "unknown_authority":
            return "x509: certificate signed by unknown authority"  # observed (docker/for-win#23)
        return "remote error: tls: handshake failure"  # (derived)
    if kind is FailureKind.TIMEOUT:
        if is_read_timeout(detail):
            return "net/http: request canceled"  # (derived) Client.Timeout while reading
        # (derived) Go 1.6 http.Client.Timeout firing during the dial
        return "net/http: request canceled while waiting for connection"
    if looks_like_eof(detail) and kind in (FailureKind.RESET, FailureKind.OTHER):
        return "EOF"  # observed: docker-archive/docker-registry#1076
    if kind is FailureKind.RESET:
        # (derived) Go prints "read tcp <local>-><remote>: read: connection reset by peer";
        # the local address is not recorded, so only the remote one is shown.
        return f"read tcp {host_port}: read: connection reset by peer"
    if kind is FailureKind.TOO_MANY_REDIRECTS:
        return "stopped after 10 redirects"  # Go net/http defaultCheckRedirect
    return detail


def transport_v2_error(method: str, url: str, inner: str) -> V2Error:
    """A V2 request that failed in the transport (``inner`` from ``transport_error_text``)."""
    return V2Error(V2ErrorKind.TRANSPORT, text=url_error(method, url, inner))


def no_basic_credentials_error(method: str, url: str) -> V2Error:
    """D12 auth/session.go: a Basic challenge with an empty username or password fails client-side."""
    return V2Error(V2ErrorKind.NO_BASIC_CREDENTIALS, text=url_error(method, url, NO_BASIC_AUTH_CREDENTIALS))


def allow_v1_fallback(err: V2Error) -> bool:
    """M12 distribution/pull_v2.go allowV1Fallback: does this tag-manifest error send docker to V1?

    Only an errcode.Error (or a list whose first entry is one) with UNAUTHORIZED, MANIFEST_UNKNOWN
    or NAME_UNKNOWN qualifies (a type check: a bare ErrorCode does not), and a url.Error wrapping
    ``no basic auth credentials``. Such errors become fallbackError{confirmedV2: false}, so V1 is
    tried even after the ping proved a V2 registry.
    """
    if err.kind is V2ErrorKind.NO_BASIC_CREDENTIALS:
        return True
    if err.kind in (V2ErrorKind.ERROR, V2ErrorKind.ERRORS):
        return err.first_is_error and err.first_code in FALLBACK_CODES
    return False


def continue_on_error(err: V2Error) -> bool:
    """M12 distribution/errors.go continueOnError: try the next endpoint after this error?

    An errcode.Error decides by shouldV2Fallback; an unparsable body says yes; **anything else,
    including a bare ErrorCode** (it is not an errcode.Error) and url/transport errors, says yes
    unless the text mentions ENOSPC. A list is judged by its first entry. When this is true but
    ``allow_v1_fallback`` is not, the next endpoint is tried with confirmedV2 kept, so V1 is skipped
    when the registry sent ``Docker-Distribution-Api-Version: registry/2.0``.
    """
    if err.kind in (V2ErrorKind.ERROR, V2ErrorKind.ERRORS) and err.first_is_error:
        return err.first_code in FALLBACK_CODES
    if err.kind is V2ErrorKind.UNEXPECTED_BODY:
        return True
    return NO_SPACE_LEFT not in err.text


def v1_images_error(status: int, remote_name: str, tag: str | None, body: bytes) -> str:
    """What the V1 ``GET /v1/repositories/<remote>/images`` failure ends the pull with.

    M12 registry/session.go GetRepositoryData: 401 -> ``errcode.ErrorCodeUnauthorized.WithArgs()``
    (prints ``unauthorized: authentication required``); 404 -> an error containing ``HTTP code: 404``
    that M12 distribution/pull_v1.go turns into ``Error: image <remote>:<tag> not found`` (or
    without ``:<tag>`` for ``pull -a``); any other non-200 ->
    ``Error: Status %d trying to pull repository %s: %q`` with the raw body.
    """
    if status == 401:
        return f"{code_text('UNAUTHORIZED')}: {default_message('UNAUTHORIZED')}"
    if status == 404:
        if tag is None:
            return f"Error: image {remote_name} not found"
        return f"Error: image {remote_name}:{tag} not found"
    return f"Error: Status {status} trying to pull repository {remote_name}: {go_quote(body)}"


def v1_transport_error(url: str, kind: FailureKind, inner: str) -> str:
    """M12 registry/session.go GetRepositoryData when the request itself fails."""
    if kind is FailureKind.TIMEOUT:
        return (
            f"Network timed out while trying to connect to {url}. "
            "You may want to check your internet connection or if you are behind a proxy."
        )
    return f"Error while pulling image: {url_error('GET', url, inner)}"


def v1_ping_error(url: str, inner: str) -> str:
    """M12 registry/endpoint_v1.go: a transport failure on ``GET /v1/_ping`` (a fallbackError)."""
    return url_error("GET", url, inner)


def v1_tag_not_found(tag: str, full_name: str) -> str:
    """M12 distribution/pull_v1.go: the tag lookup answered 404 on a data endpoint."""
    return f"Tag {tag} not found in repository {full_name}"


def daemon_message(text: str, *, flushed: bool) -> str:
    """What the CLI prints for a failed pull.

    Before anything was streamed the daemon answers with an HTTP error and engine-api
    client/request.go prints ``Error response from daemon: %s``; once ``Pulling repository ...``
    was flushed the error travels in the JSON stream and is printed bare (M12
    pkg/streamformatter/streamformatter.go, pkg/jsonmessage/jsonmessage.go).
    """
    return text if flushed else f"Error response from daemon: {text}"


def pulling_repository_line(full_name: str) -> str:
    """M12 distribution/pull_v1.go progress line; it flushes the stream."""
    return f"Pulling repository {full_name}"


def default_tag_line(tag: str = "latest") -> str:
    """M12 api/client/image/pull.go when the reference had no tag."""
    return f"Using default tag: {tag}"


__all__ = [
    "CLIENT",
    "FALLBACK_CODES",
    "V2Error",
    "V2ErrorKind",
    "allow_v1_fallback",
    "continue_on_error",
    "daemon_message",
    "default_tag_line",
    "no_basic_credentials_error",
    "pulling_repository_line",
    "transport_error_text",
    "transport_v2_error",
    "url_error",
    "v1_images_error",
    "v1_ping_error",
    "v1_tag_not_found",
    "v1_transport_error",
    "v2_response_error",
]
