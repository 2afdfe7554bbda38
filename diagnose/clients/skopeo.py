"""How skopeo (containers/image) words pull errors, for the c/image versions users meet.

Sources (read in the upstream repositories):
- CURRENT: containers/image docker/errors.go in its newest stored version (V1 detection marked
  deprecated, i.e. >= v5.33; ``httpResponseToError`` wraps ``received unexpected HTTP status``),
  docker/distribution_error.go and docker/docker_client.go at
  ``2f691efd90a81c1e4d540fade94c3049aa64270a`` (fetchManifest ``reading manifest %s in %s: %w``,
  detectPropertiesHelper ``pinging container registry %s: %w``, getBearerToken
  ``httpResponseToError(res, "Requesting bearer token")``). Reference: CIH ``df7e80d2``.
- V5_24: c/image 5.24 - 5.32 (skopeo 1.11 - 1.16): the same registry error rewording (5.24 commits
  d112de3 / 6fa5cda: first error only, default messages trimmed); token errors other than
  401/429 read ``Requesting bearer token: invalid status code from registry %d (%s)``
  (docker/errors.go at ``2f691efd``).
- V5_23: c/image <= 5.23 (Debian bookworm's skopeo 1.9.x): ``registryHTTPResponseToError`` only
  rewrote an unparsable body as ``StatusCode: %d, %s`` (unquoted; containers/image#1037), so the
  WWW-Authenticate error and the body errors print merged (``errors:\\n<e1>\\n<e2>\\n``, observed
  in containers/skopeo#897) and defaults are not trimmed (``unauthorized: authentication required``).
  The 5.23 file was read in its pre-5.24 stored version, not at the v5.23.0 tag.

Pure functions of recorded facts: no I/O, no outcome decisions, never raise on a registry answer.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus

from diagnose.challenge import Challenge, parse_challenges
from diagnose.clients import (
    NO_ERRORS_IN_BODY,
    GoErrcode,
    classify_tls,
    decode_errcode,
    go_method_op,
    go_quote,
    go_quote_body,
    host_of,
    is_read_timeout,
    legacy_details,
    legacy_details_code,
    looks_like_eof,
)
from diagnose.errors_body import default_message
from diagnose.model import FailureKind, Headers, header_values


class CImage(StrEnum):
    """Which containers/image error wording to model."""

    CURRENT = "current"  # >= 5.33 (skopeo >= 1.17)
    V5_24 = "5.24"  # 5.24 - 5.32 (skopeo 1.11 - 1.16)
    V5_23 = "5.23"  # <= 5.23 (Debian bookworm skopeo 1.9.x)


CLIENTS = {
    CImage.CURRENT: "skopeo >= 1.17 (containers/image >= 5.33)",
    CImage.V5_24: "skopeo 1.11-1.16 (containers/image 5.24-5.32)",
    CImage.V5_23: "skopeo 1.9 (containers/image 5.23, Debian bookworm)",
}

# RFC 6750 §3.1 error= values c/image turns into registry errors (distribution_error.go)
_BEARER_ERROR_CODES = {"invalid_token": "UNAUTHORIZED", "insufficient_scope": "DENIED"}
_BODY_SAMPLE = 50  # c/image docker/errors.go: the first 50 bytes of an unparsable body


class _Unexpected:
    """c/image's unexpectedHTTPResponseError (body not JSON, or no errors in it)."""

    __slots__ = ("body", "parse_error", "status")

    def __init__(self, status: int, parse_error: str, body: bytes) -> None:
        self.status = status
        self.parse_error = parse_error
        self.body = body

    @property
    def text(self) -> str:
        # "error parsing HTTP %d response body: %s: %q"
        return (
            f"error parsing HTTP {self.status} response body: {self.parse_error}: {go_quote_body(self.body)}"
        )


_Entry = GoErrcode | _Unexpected


def _parse_body(status: int, body: bytes) -> list[_Entry]:
    """c/image docker/distribution_error.go parseHTTPErrorResponse, as a list of entries."""
    details = legacy_details(body)
    if details is not None:
        return [GoErrcode(code=legacy_details_code(status), message=details)]
    entries, parse_error = decode_errcode(body)
    if parse_error is None and not entries:
        parse_error = NO_ERRORS_IN_BODY
    if parse_error is not None:
        return [_Unexpected(status, parse_error, body)]
    return list(entries)


def _docker_challenges(headers: Headers) -> tuple[Challenge, ...]:
    """docker/distribution's challenge parser: one challenge per header line."""
    out: list[Challenge] = []
    for value in header_values(headers, "WWW-Authenticate"):
        parsed = parse_challenges([value])
        if parsed:
            out.append(parsed[0])
    return tuple(out)


def _handle_error_response(status: int, headers: Headers, body: bytes) -> list[_Entry]:
    """c/image docker/distribution_error.go handleErrorResponse (4xx only)."""
    if status == 401:  # dockerChallenge.ResponseChallenges only reads challenges on a 401
        for challenge in _docker_challenges(headers):
            if challenge.scheme != "bearer":
                continue
            code = _BEARER_ERROR_CODES.get(challenge.error or "")
            if code is None:
                continue
            message = challenge.error_description or default_message(code)
            # mergeErrors: the header's error goes in front of the body's
            return [GoErrcode(code=code, message=message), *_parse_body(status, body)]
    entries = _parse_body(status, body)
    if status == 401 and isinstance(entries[0], _Unexpected):
        # ErrorCodeUnauthorized.WithDetail(body): an Error with the default message
        return [GoErrcode(code="UNAUTHORIZED", message=default_message("UNAUTHORIZED"))]
    return entries


def _entry_code(entry: _Entry) -> str | None:
    return entry.code if isinstance(entry, GoErrcode) else None


def registry_error_text(
    status: int,
    status_text: str,
    headers: Headers,
    body: bytes,
    *,
    version: CImage = CImage.CURRENT,
) -> tuple[str, str | None]:
    """c/image registryHTTPResponseToError: (text, first error code or None).

    ``status_text`` is Go's ``resp.Status`` (``"500 Internal Server Error"``).
    """
    if not 400 <= status < 500:
        return f"received unexpected HTTP status: {status_text}", None
    entries = _handle_error_response(status, headers, body)
    first = entries[0]
    if version is CImage.V5_23:
        if len(entries) == 1 and isinstance(first, _Unexpected):
            sample = first.body[:_BODY_SAMPLE].decode("utf-8", errors="replace")
            if len(first.body) > _BODY_SAMPLE:
                sample += "..."
            return f"StatusCode: {status}, {sample}", None
        if len(entries) == 1:
            return first.text, _entry_code(first)
        return "errors:\n" + "".join(entry.text + "\n" for entry in entries), _entry_code(first)

    # >= 5.24: keep only the first error ("Discarding non-primary errors" at debug level).
    if isinstance(first, _Unexpected):
        sample_bytes = first.body[:_BODY_SAMPLE]  # Go slices bytes; a cut rune shows as \x..
        quoted = go_quote(sample_bytes + b"..." if len(first.body) > _BODY_SAMPLE else sample_bytes)
        return f"StatusCode: {status}, {quoted}", None
    if not first.bare and first.has_default_message:
        return first.message, first.code
    return first.text, first.code


def manifest_error(reference_in_repo: str, repo: str, inner: str) -> str:
    """c/image docker_client.go fetchManifest (lower-cased since 5.14): ``reading manifest …``.

    ``repo`` is ``reference.Name()``: the fully qualified ``docker.io/library/foo``.
    """
    return f"reading manifest {reference_in_repo} in {repo}: {inner}"


def ping_error(registry: str, inner: str) -> str:
    """c/image docker_client.go detectPropertiesHelper (since 5.14)."""
    return f"pinging container registry {registry}: {inner}"


def token_error(status: int, status_text: str, body: bytes, *, version: CImage = CImage.CURRENT) -> str:
    """c/image docker/errors.go httpResponseToError(res, "Requesting bearer token")."""
    if status == 429:
        return "too many requests to registry"
    if status == 401:
        if version is CImage.V5_23:
            # <= 5.23 wrapped handleErrorResponse directly: no StatusCode rewording, no trimming
            entries = _handle_error_response(status, (), body)
            inner = (
                entries[0].text
                if len(entries) == 1
                else "errors:\n" + "".join(entry.text + "\n" for entry in entries)
            )
        else:
            inner, _ = registry_error_text(status, status_text, (), body, version=version)
        return f"unable to retrieve auth token: invalid username/password: {inner}"
    if version is CImage.CURRENT:
        return f"Requesting bearer token: received unexpected HTTP status: {status_text}"
    try:
        phrase = HTTPStatus(status).phrase  # Go http.StatusText (same phrases for registered codes)
    except ValueError:
        phrase = ""
    return f"Requesting bearer token: invalid status code from registry {status} ({phrase})"


def go_url_error(method: str, url: str, inner: str) -> str:
    """Go >= 1.14 ``*url.Error``: ``Get "https://host/v2/": inner``."""
    return f"{go_method_op(method)} {go_quote(url)}: {inner}"


def proxy_error_text(detail: str) -> str:
    """Go net/http's proxy errors (transport.go dialConn), from the transport's recorded detail.

    A CONNECT answered with a non-200 status fails with the status text alone
    (``errors.New(text)`` after cutting the code: ``Proxy Authentication Required``); a proxy
    that cannot be reached fails with ``proxyconnect tcp: dial tcp HOST:PORT: …``.
    """
    if "refused the tunnel" in detail:
        status = detail.rsplit(": ", 1)[-1]
        code, _, text = status.partition(" ")
        return text if code.isdigit() and text else status
    if detail.startswith("cannot connect to proxy "):
        proxy = detail.removeprefix("cannot connect to proxy ").split(":", 2)
        return f"proxyconnect tcp: dial tcp {proxy[0]}:{proxy[1]}: connect: connection refused"
    return detail


def transport_error_text(kind: FailureKind, host_port: str, detail: str) -> str:
    """The inner text of a network failure in modern Go (>= 1.20) wording.

    Marked (derived) where it follows from Go's source rather than a recorded skopeo run.
    """
    if kind is FailureKind.REFUSED:
        return f"dial tcp {host_port}: connect: connection refused"
    if kind is FailureKind.PROXY:
        return proxy_error_text(detail)
    if kind is FailureKind.DNS:
        # (derived) Go adds " on <resolver>:53" when a resolver answered
        return f"dial tcp: lookup {host_of(host_port)}: no such host"
    if kind is FailureKind.TLS:
        variant = classify_tls(detail)
        if variant == "plain_http":
            return "http: server gave HTTP response to HTTPS client"
        if variant == "client_certificate":
            # crypto/tls alert.go: TLS 1.3 alert 116, the server wanted a client certificate (derived)
            return "remote error: tls: certificate required"
        if variant == "unknown_authority":
            return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
        if variant == "expired":
            # (derived) Go appends ": current time … is after …"
            return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
        if variant == "hostname":
            # (derived, approximate) Go lists the names the certificate is valid for
            host = host_of(host_port)
            return f"tls: failed to verify certificate: x509: certificate is not valid for {host}"
        return "remote error: tls: handshake failure"  # (derived)
    if kind is FailureKind.TIMEOUT:
        if is_read_timeout(detail):
            return f"read tcp {host_port}: i/o timeout"  # (derived)
        return f"dial tcp {host_port}: i/o timeout"  # (derived)
    if looks_like_eof(detail) and kind in (FailureKind.RESET, FailureKind.OTHER):
        return "EOF"
    if kind is FailureKind.RESET:
        # (derived) Go prints "read tcp <local>-><remote>: read: connection reset by peer"
        return f"read tcp {host_port}: read: connection reset by peer"
    if kind is FailureKind.TOO_MANY_REDIRECTS:
        return "stopped after 10 redirects"
    return detail


def no_platform_error(
    index_kind: str, os_name: str, arch: str, variant: str, *, version: CImage = CImage.CURRENT
) -> str:
    """ChooseInstance found no entry for the platform, wrapped by image/unparsed.go.

    ``index_kind`` is "manifest list" (Docker) or "image index" (OCI). Current c/image quotes
    every value (%q); 5.23 quotes only the variant (observed with skopeo 1.9.3 against
    distribution 2.8, tests/realreg).
    """
    if version is CImage.V5_23:
        values = f'architecture {arch}, variant "{variant}", OS {os_name}'
    else:
        values = f'architecture "{arch}", variant "{variant}", OS "{os_name}"'
    return f"choosing image instance: no image found in {index_kind} for {values}"


def exit_code(first_code: str | None) -> int:
    """skopeo cmd/skopeo/utils.go isNotFoundImageError: 2 for MANIFEST_UNKNOWN, else 1.

    Models CURRENT / V5_24 (the first error is an ErrorCoder). In <= 5.23 the error was an
    errcode.Errors list, which errors.As cannot see through (derived), so it exits 1 there.
    """
    return 2 if first_code == "MANIFEST_UNKNOWN" else 1


UnexpectedBody = _Unexpected
"""docker/distribution's UnexpectedHTTPResponseError (a body that is not an error list)."""


def handle_error_response(status: int, headers: Headers, body: bytes) -> list[GoErrcode | UnexpectedBody]:
    """docker/distribution registry/client/errors.go HandleErrorResponse for a 4xx answer.

    The version that reads the Bearer ``error=`` first (distribution >= 2.6, vendored by docker
    >= 1.13 and by containers/image <= 5.23) and merges it in front of the body's errors.
    """
    return _handle_error_response(status, headers, body)


# ---------------------------------------------------------------------------------------------
# The strict pull's own messages after the manifest answered (used by pullers/v2_only.py, which
# must not word anything itself). CURRENT wording; sources next to each.

COPY_DONE = "Writing manifest to image destination"
"""skopeo copy's last progress line on success (containers/image copy/copy.go)."""

INVALID_MANIFEST = "invalid manifest body"
"""The inner text for a 200 manifest answer that is not a manifest c/image can parse."""


def index_kind(is_docker_list: bool) -> str:
    """How ChooseInstance names an index: manifest/docker_schema2_list.go says ``manifest list``,
    manifest/oci_index.go ``image index``."""
    return "manifest list" if is_docker_list else "image index"


def manifest_digest_mismatch(reference: str) -> str:
    """docker/docker_image_src.go GetManifest, via manifest.MatchesDigest, for a pull by digest."""
    return f"Manifest does not match provided manifest digest {reference}"


def config_digest_mismatch(computed: str, expected: str) -> str:
    """image/docker_schema2.go ConfigBlob: the config blob's bytes do not hash to its digest."""
    return f"Download config.json digest {computed} does not match expected {expected}"


def layer_digest_mismatch(digest: str, computed: str) -> str:
    """copy/blob.go digest verification (internal/putblobdigest), wrapped as ``reading blob``."""
    return f"reading blob {digest}: Digest did not match, expected {digest}, got {computed}"


def blob_error(digest: str, inner: str) -> str:
    """copy/blob.go: every blob failure is wrapped as ``reading blob <digest>: …``."""
    return f"reading blob {digest}: {inner}"


def blob_status_error(status: int, status_text: str, registry_text: str) -> str:
    """docker/errors.go httpResponseToError(res, "fetching blob"): 401 keeps the registry's error,
    429 is ErrTooManyRequests, anything else is the unexpected status."""
    if status == 401:
        return f"fetching blob: {registry_text}"
    if status == 429:
        return "too many requests to registry"
    return f"fetching blob: received unexpected HTTP status: {status_text}"


def unsupported_manifest_type(media_type: str) -> str:
    """manifest.FromBlob / NormalizedMIMEType: a manifest type c/image cannot read."""
    return f"unsupported manifest type {media_type or 'unknown'}"
