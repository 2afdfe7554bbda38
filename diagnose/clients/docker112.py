"""How Docker Engine 1.12.6 words and treats pull errors (V2 first, then the V1 fallback).

Sources (read at the tag; each function cites file and line):
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

import base64
import dataclasses
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, quote_plus

from diagnose.challenge import Challenge, parse_challenges
from diagnose.clients import (
    NO_BASIC_AUTH_CREDENTIALS,
    NO_ERRORS_IN_BODY,
    NO_SPACE_LEFT,
    GoErrcode,
    classify_tls,
    code_text,
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
    OTHER = "other"  # any other Go error (a manifest docker 1.12 cannot unmarshal, ...)


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


def confirms_v2(headers: Headers) -> bool:
    """``foundVersion`` of M12 registry/auth.go:256-300 PingV2Registry: a
    Docker-Distribution-API-Version value, split on white space, that reads ``registry/2.0``
    with the type compared case-insensitively (D12 auth/api_version.go:28-58; D9)."""
    for value in header_values(headers, "Docker-Distribution-API-Version"):
        for version in value.split():
            kind, slash, number = version.partition("/")
            if slash and kind.lower() == "registry" and number == "2.0":
                return True
    return False


def ping_challenges(lines: Sequence[str]) -> tuple[Challenge, ...]:
    """D12 auth/authchallenge.go:117-165: one challenge per WWW-Authenticate line (the first
    scheme of a line; a second scheme on the same line is never read), scheme lower-cased."""
    out: list[Challenge] = []
    for line in lines:
        parsed = parse_challenges([line])
        if parsed:
            out.append(parsed[0])
    return tuple(out)


# D12 registry/api/errcode/register.go and registry/api/v2/errors.go: the codes docker 1.12 knows.
# Later distribution added PAGINATION_NUMBER_INVALID and RANGE_INVALID; 1.12 reads them as UNKNOWN
# (errcode ErrorCode.UnmarshalText falls back to ErrorCodeUnknown) (D14).
CODES_112 = frozenset(
    {
        "UNKNOWN",
        "UNSUPPORTED",
        "UNAUTHORIZED",
        "DENIED",
        "UNAVAILABLE",
        "TOOMANYREQUESTS",
        "DIGEST_INVALID",
        "SIZE_INVALID",
        "NAME_INVALID",
        "TAG_INVALID",
        "NAME_UNKNOWN",
        "MANIFEST_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNVERIFIED",
        "MANIFEST_BLOB_UNKNOWN",
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
    }
)


def _registered_in_112(entry: GoErrcode) -> GoErrcode:
    if entry.code in CODES_112:
        return entry
    bare = entry.detail is None and entry.message in ("", default_message("UNKNOWN"))
    return dataclasses.replace(entry, code="UNKNOWN", bare=bare)


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

    decoded, parse_error = decode_errcode(body)
    entries = tuple(_registered_in_112(entry) for entry in decoded)
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
            text=f"error parsing HTTP {status} response body: {parse_error}: {go_quote_body(body)}",
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


# The texts below come from Go 1.6's standard library (docker 1.12.6 was built with go1.6.4,
# Dockerfile:123), whose source was not read here: each says how it was established.

NO_TIMEOUT_HANG = (
    "(no output: docker 1.12 sets no timeout on this request and would wait for ever; diagnose gave up)"
)
"""M12 registry/registry.go:164-189 and D12 repository.go: only the V2 ping (registry/auth.go:265-268)
and the token fetch (D12 auth/session.go:220-225) have an ``http.Client.Timeout`` (15 s); every
other request has only the dialer's 30 s and the 10 s TLS handshake timeout, so a stalled
read never ends."""


def transport_error_text(
    kind: FailureKind, host_port: str, detail: str, *, client_timeout: bool = True
) -> str:
    """The inner text of a network failure as Go 1.6 worded it (the part after ``Get URL: ``).

    ``host_port`` is the address Go dialled: the resolved IP with its port, always (net.OpError;
    D5). ``detail`` is the transport's recorded Python-side detail, used to pick the TLS /
    timeout / EOF variant; for kinds with no Go equivalent it is returned unchanged.
    ``client_timeout`` says whether the request had an ``http.Client.Timeout`` (D4).
    """
    if kind is FailureKind.REFUSED:
        # observed with Go 1.6/1.7 daemons (e.g. moby/moby#27281-era reports)
        return f"dial tcp {host_port}: getsockopt: connection refused"
    if kind is FailureKind.DNS:
        # unverified: Go adds " on <resolver>:53" when its own resolver got an answer
        return f"dial tcp: lookup {host_of(host_port)}: no such host"
    if kind is FailureKind.TLS:
        return tls_error_text(classify_tls(detail), host_of(host_port))
    if kind is FailureKind.TIMEOUT:
        if client_timeout:
            if is_read_timeout(detail):
                return "net/http: request canceled"  # unverified: Go 1.6 Client.Timeout while reading
            # unverified: Go 1.6 Client.Timeout during the dial; whether Go 1.6 appended
            # " (Client.Timeout exceeded while awaiting headers)" is not known (observed from Go 1.7.3)
            return "net/http: request canceled while waiting for connection"
        if is_read_timeout(detail) or detail.startswith("not sent:"):
            return NO_TIMEOUT_HANG
        # observed wording of a dial that ran into the dialer's Timeout (registry/registry.go:170-174)
        return f"dial tcp {host_port}: i/o timeout"
    if looks_like_eof(detail) and kind in (FailureKind.RESET, FailureKind.OTHER):
        return "EOF"  # observed: docker-archive/docker-registry#1076
    if kind is FailureKind.RESET:
        # approximate: Go prints "read tcp <local>-><remote>: read: connection reset by peer";
        # the local address is not recorded, so only the remote one is shown.
        return f"read tcp {host_port}: read: connection reset by peer"
    if kind is FailureKind.TOO_MANY_REDIRECTS:
        return "stopped after 10 redirects"  # Go net/http defaultCheckRedirect
    return detail


def tls_error_text(variant: str, host: str) -> str:
    """A TLS failure as Go 1.6 crypto/tls and crypto/x509 word it (D3).

    Only OpenSSL's first complaint is recorded, so for a certificate with several faults this
    follows OpenSSL's order (usually the chain first); Go 1.6's x509 Verify reports expiry, then
    the host name, then the chain (unverified: the Go source was not read).
    """
    if variant == "plain_http":
        # observed: an https client against a plain-http port reads "HTTP/" as a TLS record
        # header whose length bytes are "P/" = 20527
        return "tls: oversized record received with length 20527"
    if variant == "expired":
        return "x509: certificate has expired or is not yet valid"  # observed (moby#20137)
    if variant == "hostname":
        if _is_ip(host):
            # observed form (moby#10802 era); unverified that the certificate has no IP SANs: with
            # other IP SANs Go says "x509: certificate is valid for <IPs>, not <ip>"
            return f"x509: cannot validate certificate for {host} because it doesn't contain any IP SANs"
        # observed form (moby#10802, moby#32960); the certificate's names are not recorded
        return f"x509: certificate is valid for {CERTIFICATE_NAMES_UNKNOWN}, not {host}"
    if variant == "unknown_authority":
        return "x509: certificate signed by unknown authority"  # observed (docker/for-win#23)
    # observed: Go 1.7 added "tls: " to alert texts (moby PR #23254); Go 1.6 prints the bare alert
    return "remote error: handshake failure"


CERTIFICATE_NAMES_UNKNOWN = "…"
"""Stands for the certificate's DNS names (or CN), which the recording does not hold."""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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
    return f"Error: Status {status} trying to pull repository {remote_name}: {go_quote_body(body)}"


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


def go_trim_space(text: str) -> str:
    """Go's ``strings.TrimSpace``: Unicode white space (``unicode.IsSpace``) at both ends.

    Python's ``str.isspace`` also counts the ASCII separators U+001C-U+001F, which Go keeps.
    """
    start, end = 0, len(text)
    while start < end and text[start].isspace() and text[start] not in _NOT_GO_SPACE:
        start += 1
    while end > start and text[end - 1].isspace() and text[end - 1] not in _NOT_GO_SPACE:
        end -= 1
    return text[start:end]


_NOT_GO_SPACE = frozenset("\x1c\x1d\x1e\x1f")


def daemon_message(text: str, *, flushed: bool) -> str:
    """What the CLI prints for a failed pull whose daemon status is not 401.

    Before anything was streamed the daemon answers with an HTTP error (M12
    api/server/router/image/image_routes.go:116-119) and engine-api client/request.go:148 prints
    ``Error response from daemon: %s`` with ``strings.TrimSpace`` (D13: the trailing newline of a
    multi-error ``errors:\\n…\\n`` text is dropped). Once ``Pulling repository …`` or ``Pulling
    from …`` was flushed the error travels in the JSON stream (image_routes.go:120-121) and
    cmd/docker/docker.go:84 prints it bare with ``Fprintln``.
    """
    return text if flushed else f"Error response from daemon: {go_trim_space(text)}"


# M12 api/server/httputils/errors.go:51-71 GetHTTPErrorStatusCode: pull errors carry no HTTP
# status of their own, so the first keyword found in the lower-cased text decides it.
_STATUS_KEYWORDS: tuple[tuple[str, int], ...] = (
    ("not found", 404),
    ("no such", 404),
    ("bad parameter", 400),
    ("no command", 400),
    ("conflict", 409),
    ("impossible", 406),
    ("wrong login/password", 401),
    ("unauthorized", 401),
    ("hasn't been activated", 403),
    ("this node", 406),
)


def daemon_http_status(text: str) -> int:
    """The HTTP status the 1.12 daemon answers ``POST /images/create`` with for this error."""
    lowered = text.lower()
    for keyword, status in _STATUS_KEYWORDS:
        if keyword in lowered:
            return status
    return 500  # errors.go:74-76


# M12 api/client/registry.go:50: ``fmt.Fprintf(cli.out, "\nPlease login prior to %s:\n", cmdName)``
LOGIN_PROMPT = "Please login prior to pull:"
# M12 api/client/registry.go:106-107 ConfigureAuth, when stdin is not a terminal
NON_TTY_LOGIN_ERROR = "Error: Cannot perform an interactive login from a non TTY device"


def username_prompt(stored_username: str | None) -> str:
    """M12 api/client/registry.go:60-66 promptWithDefault and :117: ``Username: `` or
    ``Username (alice): `` when a login for that registry is stored (no newline: it waits)."""
    if stored_username:
        return f"Username ({stored_username}): "
    return "Username: "


@dataclass(frozen=True, slots=True)
class CliFailure:
    """The lines the CLI prints for a failed pull, after its own progress output.

    ``lines`` is what it prints when stdin is not a terminal (CI, scripts, ``docker pull … |``);
    ``terminal_lines`` is what it prints in a terminal when that differs (the login prompt).
    """

    lines: tuple[str, ...]
    terminal_lines: tuple[str, ...] | None = None


def cli_failure(text: str, *, flushed: bool, stored_username: str | None) -> CliFailure:
    """How the 1.12 CLI ends a failed pull whose daemon error text is ``text`` (D1).

    A non-streamed error whose text makes the daemon answer 401 (``daemon_http_status``) never
    reaches the user: engine-api client/image_pull.go:35-41 calls the privilege function, which
    prints ``\\nPlease login prior to pull:`` (api/client/registry.go:50) and then either asks for a
    user name (terminal; after a login the pull is retried) or, when stdin is not a terminal, fails
    with ``Error: Cannot perform an interactive login from a non TTY device`` (registry.go:107),
    printed by cmd/docker/docker.go:84.
    """
    if not flushed and daemon_http_status(text) == 401:
        return CliFailure(
            lines=("", LOGIN_PROMPT, NON_TTY_LOGIN_ERROR),
            terminal_lines=("", LOGIN_PROMPT, username_prompt(stored_username)),
        )
    return CliFailure(lines=(daemon_message(text, flushed=flushed),))


def streamed_form(message: str, daemon_error: str) -> str:
    """``message`` as a build prints it whose progress output flushed the stream before the
    error: the daemon's error bare, never prefixed nor hidden behind a login prompt."""
    if message.endswith(daemon_error):
        return message
    suffix = "\n".join(cli_failure(daemon_error, flushed=False, stored_username=None).lines)
    progress = message[: -len(suffix)].removesuffix("\n") if message.endswith(suffix) else message
    return f"{progress}\n{daemon_error}" if progress else daemon_error


def login_hides_error_note(text: str) -> str:
    """A note for the report: the daemon's error that the login prompt hid from the user."""
    return f"the daemon answered 401 (api/server/httputils/errors.go), so the CLI never shows: {text}"


TERMINAL_VARIANT = "in a terminal instead (it then waits for a login and retries)"


def pulling_repository_line(full_name: str) -> str:
    """M12 distribution/pull_v1.go:76 progress line; it flushes the stream."""
    return f"Pulling repository {full_name}"


def pulling_from_line(tag_or_digest: str, remote_name: str) -> str:
    """M12 distribution/pull_v2.go:375, once the manifest arrived; it flushes the stream."""
    return f"{tag_or_digest}: Pulling from {remote_name}"


def digest_line(manifest_digest: str) -> str:
    """M12 distribution/pull_v2.go:402."""
    return f"Digest: {manifest_digest}"


def downloaded_status_line(familiar: str) -> str:
    """M12 distribution/pull.go:189-191 writeStatus (V2 pull_v2.go, V1 pull_v1.go:130)."""
    return f"Status: Downloaded newer image for {familiar}"


def legacy_registry_line(full_name: str) -> str:
    """M12 distribution/pull_v1.go:70, after a V1 pull (the two spaces are docker's)."""
    return (
        f"{full_name}: this image was pulled from a legacy registry.  "
        "Important: This registry version will not be supported in future versions of docker."
    )


def invalid_reference_error(text: str) -> str:
    """M12 reference/reference.go:56-58 ParseNamed, printed by the 1.12 CLI before any pull (D15;
    diagnose itself rejects a bad reference with its own message, before either pull)."""
    return f"Error parsing reference: {go_quote(text)} is not a valid repository/tag"


def default_tag_line(tag: str = "latest") -> str:
    """M12 api/client/image/pull.go:52-55 when the reference had no tag."""
    return f"Using default tag: {tag}"


def no_endpoints_error(reference: str) -> str:
    """M12 distribution/pull.go:178-179."""
    return f"no endpoints found for {reference}"


# --- manifests as docker 1.12 unmarshals them (D8) ---------------------------------------------

SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
SIGNED_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"

# D12 manifests.go:69-77 ManifestMediaTypes: every registered type but "" goes into Accept (one
# header each, in Go map order; a fixed order here). Registered by D12 manifest/schema2
# manifest.go:49, manifest/manifestlist/manifestlist.go and manifest/schema1/manifest.go:46-57.
ACCEPT = (SCHEMA2, MANIFEST_LIST, SIGNED_SCHEMA1, "application/json")


class ManifestKind(StrEnum):
    """Which Go type D12 UnmarshalManifest produced."""

    SCHEMA1 = "schema1"
    SCHEMA2 = "schema2"
    LIST = "list"


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def unmarshal_manifest(media_type: str, body: bytes) -> tuple[ManifestKind | None, str | None]:
    """D12 manifests.go:86-107 UnmarshalManifest: the Content-Type alone picks the parser.

    ``media_type`` is the header without parameters, lower-cased (mime.ParseMediaType). Schema2
    and manifest lists are plain ``json.Unmarshal`` (bare Go JSON error). Every other type,
    including an empty one, OCI types and the unsigned ``…manifest.v1+json``, falls to the
    schema1 parser registered for "" (schema1/manifest.go:50), which needs libtrust signatures
    (libtrust jsonsign.go:493-502): ``error unmarshalling content: <json error>`` or
    ``missing signature key``. Returns (kind, None) or (None, Go's error text).
    """
    syntax = None
    value: object = None
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        syntax = decode_errcode(body)[1] or "unexpected end of JSON input"
    if media_type in (SCHEMA2, MANIFEST_LIST):
        if syntax is not None:
            return None, syntax
        if not isinstance(value, dict):
            go_type = "schema2.Manifest" if media_type == SCHEMA2 else "manifestlist.ManifestList"
            return None, f"json: cannot unmarshal {_json_kind(value)} into Go value of type {go_type}"
        return (ManifestKind.SCHEMA2 if media_type == SCHEMA2 else ManifestKind.LIST), None
    if syntax is not None:
        return None, f"error unmarshalling content: {syntax}"
    if not isinstance(value, dict):
        return None, (
            "error unmarshalling content: json: cannot unmarshal "
            f"{_json_kind(value)} into Go value of type map[string]json.RawMessage"
        )
    if "signatures" not in value:
        return None, MISSING_SIGNATURE_KEY
    return ManifestKind.SCHEMA1, None


MISSING_SIGNATURE_KEY = "missing signature key"  # libtrust jsonsign.go:25 ErrMissingSignatureKey
PLUGIN_MANIFEST = "target is a plugin"  # M12 distribution/pull_v2.go:38 errMediaTypePlugin
MANIFEST_NOT_MODIFIED = "manifest not modified"  # D12 errors.go:17 ErrManifestNotModified (a 304)


def manifest_response_error(status: int, status_text: str, body: bytes) -> V2Error:
    """A manifest GET that was not a success (D12 registry/client/repository.go:475-496)."""
    if status == 304:
        return V2Error(V2ErrorKind.OTHER, text=MANIFEST_NOT_MODIFIED)
    return v2_response_error(status, status_text, body)


def schema1_problem(schema_version: int | None, layers: int, reference: str) -> str | None:
    """M12 distribution/pull_v2.go:798-806 verifySchema1Manifest (after "Pulling from")."""
    if schema_version != 1:
        return f"unsupported schema version {schema_version or 0} for {go_quote(reference)}"
    if layers == 0:
        return f"no FSLayers in manifest for {go_quote(reference)}"
    return None


def schema1_canonical(body: bytes) -> bytes | None:
    """The signed payload of a schema1 manifest (libtrust JSONSignature.Payload): the body up to
    the protected header's ``formatLength`` plus its ``formatTail``. M12 pull_v2.go:500 prints
    the sha256 of this, not of the bytes received. None when the signature block is unusable."""
    try:
        data = json.loads(body)
        protected = data["signatures"][0]["protected"]
        header = json.loads(_b64url(protected))
        length = header["formatLength"]
        tail = _b64url(header["formatTail"])
    except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(length, int | float) or isinstance(length, bool):
        return None
    return body[: int(length)] + tail


def _b64url(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("not a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the token request and answer (D12 registry/client/auth/session.go:362-443; D6, D10) -------


def token_url(realm: str, service: str | None, scope: str, account: str | None) -> str:
    """The token URL as D12 fetchTokenWithBasicAuth builds it (session.go:364-396).

    The realm's own query is parsed and re-encoded together with ``service``, ``scope`` and
    ``account`` by ``url.Values.Encode``, which sorts the keys (account, scope, service, …) and
    escapes like ``url.QueryEscape`` (``+`` for a space, ``%XX`` for ``:`` and ``/``).
    """
    base, _, query = realm.partition("?")
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    if service:
        params.setdefault("service", []).append(service)
    params.setdefault("scope", []).append(scope)
    if account:
        params.setdefault("account", []).append(account)
    encoded = "&".join(
        f"{quote_plus(key, safe='')}={quote_plus(value, safe='')}"
        for key in sorted(params)
        for value in params[key]
    )
    return f"{base}?{encoded}"


def token_answer(status: int, status_text: str, body: bytes) -> tuple[str | None, str | None]:
    """(token, None) or (None, Go's error text) for a token server's answer (session.go:404-429).

    Any 2xx or 3xx is a success (client.SuccessStatus); the body goes through a json.Decoder
    into ``getTokenResponse`` (session.go:354-360: fields matched case-insensitively, a wrong
    type fails the decode); ``access_token`` wins over ``token``; neither is ErrNoToken.
    """
    if not 200 <= status <= 399:
        return None, v2_response_error(status, status_text, body).text
    problem = _token_decode_error(body)
    if problem is not None:
        return None, f"unable to decode token response: {problem}"
    data = json.JSONDecoder().raw_decode(body.decode("utf-8", errors="replace").lstrip(" \t\r\n"))[0]
    fields = _go_fields(data) if isinstance(data, dict) else {}
    token = fields.get("access_token") or fields.get("token")
    if not isinstance(token, str) or not token:
        return None, NO_TOKEN
    return token, None


_TOKEN_FIELDS = {
    "token": "string",
    "access_token": "string",
    "expires_in": "int",
    "issued_at": "time.Time",
    "refresh_token": "string",
}


def _go_fields(data: dict[str, object]) -> dict[str, object]:
    """encoding/json's field matching: an exact key wins, else the last case-insensitive one."""
    out: dict[str, object] = {}
    for key, value in data.items():
        name = key.lower()
        if name in _TOKEN_FIELDS and (name not in out or key == name):
            out[name] = value
    return out


def _token_decode_error(body: bytes) -> str | None:
    text = body.decode("utf-8", errors="replace")
    if not text.strip(" \t\r\n"):
        return "EOF"
    try:
        data, _ = json.JSONDecoder().raw_decode(text.lstrip(" \t\r\n"))
    except RecursionError:
        return "exceeded max depth"
    except ValueError:
        syntax = decode_errcode(body)[1] or "unexpected EOF"
        return "unexpected EOF" if syntax == "unexpected end of JSON input" else syntax
    if data is None:
        return None
    if not isinstance(data, dict):
        return f"json: cannot unmarshal {_json_kind(data)} into Go value of type auth.getTokenResponse"
    for name, value in _go_fields(data).items():
        go_type = _TOKEN_FIELDS[name]
        if value is None:
            continue
        if go_type == "string" and not isinstance(value, str):
            return f"json: cannot unmarshal {_json_kind(value)} into Go value of type string"
        if go_type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            if isinstance(value, float) and value.is_integer() is False:
                return f"json: cannot unmarshal number {value} into Go value of type int"
            if not isinstance(value, float):
                return f"json: cannot unmarshal {_json_kind(value)} into Go value of type int"
        if go_type == "time.Time":
            problem = _time_error(json.dumps(value, ensure_ascii=False))
            if problem is not None:
                return problem
    return None


_TIME_LAYOUT = (
    ('"', r'"'),
    ("2006", r"\d{4}"),
    ("-", "-"),
    ("01", r"\d{2}"),
    ("-", "-"),
    ("02", r"\d{2}"),
    ("T", "T"),
    ("15", r"\d{2}"),
    (":", ":"),
    ("04", r"\d{2}"),
    (":", ":"),
    ("05", r"\d{2}(\.\d+)?"),
    ("Z07:00", r"Z|[+-]\d{2}:\d{2}"),
    ('"', r'"'),
)


def _time_error(raw: str) -> str | None:
    """time.Time.UnmarshalJSON: ``Parse(`"`+RFC3339+`"`, raw)`` and its ParseError text.

    (unverified) Go 1.6 ``time.ParseError.Error`` read from memory: the element names and the
    unescaped quoting; only the first element that does not match is reported.
    """
    layout = '"2006-01-02T15:04:05Z07:00"'
    at = 0
    for name, pattern in _TIME_LAYOUT:
        match = re.match(pattern, raw[at:])
        if match is None:
            rest = raw[at:]
            return f'parsing time "{raw}" as "{layout}": cannot parse "{rest}" as "{name}"'
        at += match.end()
    if at != len(raw):
        return f'parsing time "{raw}": extra text: {raw[at:]}'
    return None


# --- V2 texts after the manifest (M12 distribution/pull_v2.go, D12) ---------------------------

NO_SUPPORTED_PLATFORM = "no supported platform found in manifest list"  # M12 pull_v2.go:657
UNSUPPORTED_MANIFEST = "unsupported manifest format"  # M12 pull_v2.go:399 and :687
UNKNOWN_BLOB = "unknown blob"  # D12 blobs.go:23 ErrBlobUnknown (a blob GET answered 404)
NO_TOKEN = "authorization server did not include a token in the response"  # D12 auth/session.go:25


def config_error(inner: str) -> str:
    """M12 distribution/pull_v2.go:48-50 ImageConfigPullError (never falls back, errors.go:74)."""
    return f"error pulling image configuration: {inner}"


def config_verification_failed(digest: str) -> str:
    """M12 distribution/pull_v2.go:709."""
    return f"image config verification failed for digest {digest}"


def layer_verification_failed(digest: str) -> str:
    """M12 distribution/pull_v2.go:256."""
    return f"filesystem layer verification failed for digest {digest}"


def blob_error(status: int, status_text: str, body: bytes) -> str:
    """A blob GET that did not answer 2xx/3xx: D12 registry/client/repository.go:647-653 (404 is
    ``unknown blob``, anything else HandleErrorResponse) through transport/http_reader.go:241-246."""
    if status == 404:
        return UNKNOWN_BLOB
    return v2_response_error(status, status_text, body).text


# M12 distribution/xfer/download.go retries a layer up to 5 times (errors.go:86-117 says which
# errors are final); the emulation sends one request and says so.
LAYER_RETRY_NOTE = "docker 1.12 retries a failed layer download up to 5 times; one attempt was made here"


def layer_transport_error(inner: str) -> str:
    """A layer GET that failed in the transport: M12 distribution/errors.go:99-104 retryOnError
    unwraps the ``*url.Error``, so the ``Get URL:`` prefix is lost (config errors keep it)."""
    return inner


# --- V1 texts (M12 distribution/pull_v1.go, registry/session.go) -------------------------------

NO_DIGEST_ON_V1 = "Cannot pull by digest with v1 registry"  # M12 pull_v1.go:41 (ErrNoSupport)
NO_REGISTRY_ENDPOINT = "Could not reach any registry endpoint"  # M12 registry/session.go:357


class V1Body(StrEnum):
    """The Go type a V1 answer is decoded into (M12 registry/session.go, registry/types.go:20)."""

    IMAGE_LIST = "[]*registry.ImgData"  # session.go:467-470
    TAG = "string"  # session.go:351-354
    ANCESTRY = "[]string"  # session.go:232-235


def v1_decode_error(body: bytes, target: V1Body) -> str | None:
    """What ``json.NewDecoder(res.Body).Decode(&v)`` returns for this body, or None.

    A Decoder (unlike Unmarshal) says ``EOF`` for an empty body, ``unexpected EOF`` for a cut one
    and ignores anything after the first value. ``null`` decodes to the zero value.
    """
    text = body.decode("utf-8", errors="replace")
    if not text.strip(" \t\r\n"):
        return "EOF"
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip(" \t\r\n"))
    except RecursionError:
        return "exceeded max depth"
    except ValueError:
        syntax = decode_errcode(body)[1] or "unexpected EOF"
        return "unexpected EOF" if syntax == "unexpected end of JSON input" else syntax
    if value is None:
        return None
    if target is V1Body.TAG:
        wrong = not isinstance(value, str)
    elif target is V1Body.ANCESTRY:
        if not isinstance(value, list):
            wrong = True
        else:
            bad = next((item for item in value if item is not None and not isinstance(item, str)), None)
            if bad is not None:
                return f"json: cannot unmarshal {_json_kind(bad)} into Go value of type string"
            wrong = False
    else:
        if not isinstance(value, list):
            wrong = True
        else:
            bad = next((item for item in value if item is not None and not isinstance(item, dict)), None)
            if bad is not None:
                return f"json: cannot unmarshal {_json_kind(bad)} into Go value of type registry.ImgData"
            wrong = False
    if wrong:
        return f"json: cannot unmarshal {_json_kind(value)} into Go value of type {target.value}"
    return None


def v1_invalid_image_id(image_id: object) -> str | None:
    """M12 image/v1/imagev1.go:150-154 ValidateID, called by pull_v1.go:147."""
    text = image_id if isinstance(image_id, str) else ""
    if re.fullmatch(r"[a-f0-9]{64}", text):
        return None
    return f"image ID {go_quote_body(text)} is invalid"


# M12 distribution/pull_v1.go:258-277 asks for a layer's JSON up to 5 times, sleeping between.
V1_JSON_RETRY_NOTE = "docker 1.12 asks for a layer's JSON up to 5 times; one attempt was made here"


def v1_ancestry_error(status: int, image_id: str) -> str:
    """M12 registry/session.go:225-229 GetRemoteHistory for a non-200 answer."""
    if status == 401:
        return f"{code_text('UNAUTHORIZED')}: {default_message('UNAUTHORIZED')}"
    return f"Server error: {status} trying to fetch remote history for {image_id}"


def v1_ancestry_body_error(json_error: str) -> str:
    """M12 registry/session.go:232-235: the ancestry body is not a JSON list of strings."""
    return f"Error while reading the http response: {json_error}"


def v1_empty_history(image_id: str) -> str:
    """M12 distribution/pull_v1.go:193-194."""
    return f"empty history for image {image_id}"


def v1_json_error(status: int) -> str:
    """M12 registry/session.go:261-262 GetRemoteImageJSON for a non-200 answer."""
    return f"HTTP code {status}"


def v1_json_transport_error(url_error_text: str) -> str:
    """M12 registry/session.go:257-258: ``Failed to download json: %s`` around the url.Error."""
    return f"Failed to download json: {url_error_text}"


def v1_layer_error(status: int, image_id: str) -> str:
    """M12 registry/session.go:294-311 GetRemoteImageLayer: status 0 when the request failed."""
    return f"Server error: Status {status} while fetching image layer ({image_id})"


def v1_image_error(tag: str, full_name: str, inner: str) -> str:
    """M12 distribution/pull_v1.go:179-180: the last data endpoint's error, wrapped."""
    return f"Error pulling image ({tag}) from {full_name}, {inner}"


# --- the daemon log (M12 distribution/pull.go; logrus lines, shown as notes) ------------------


def note_confirmed_v2(host: str) -> str:
    """M12 registry/auth.go:256-300: the ping's version header sets foundVersion (confirmedV2)."""
    return f"{host} sent Docker-Distribution-API-Version: registry/2.0 (confirmedV2)"


def note_token_granted(scope: str, access: Sequence[str]) -> str:
    """What the token the daemon got allows (diagnose.facts reads this note)."""
    return f"token for {scope} granted: {', '.join(access) or 'nothing'}"


def note_v1_fallback(error_text: str) -> str:
    """M12 distribution/pull_v2.go:749-776 allowV1Fallback clears confirmedV2."""
    return f"V2 error allows V1 fallback (confirmedV2 cleared): {error_text}"


def log_skipping_v1(url: str) -> str:
    """M12 distribution/pull.go:121."""
    return f"skipping v1 endpoint {url} because v2 registry was detected"


def log_skipping_non_tls(url: str) -> str:
    """M12 distribution/pull.go:127."""
    return f"skipping non-TLS endpoint {url} for host/port that appears to use TLS"


def log_trying(name: str, url: str, version: int) -> str:
    """M12 distribution/pull.go:132."""
    return f"trying to pull {name} from {url} v{version}"


def log_next_endpoint(error_text: str) -> str:
    """M12 distribution/pull.go:167."""
    return f"attempting next endpoint for pull after error: {error_text}"


def log_not_continuing(error_text: str) -> str:
    """M12 distribution/pull.go:170."""
    return f"not continuing with pull after error: {error_text}"


def v1_credentials_withheld(host: str, *, basic: bool, token: bool) -> str:
    """M12 registry/session.go:100-130 authTransport.RoundTrip adds ``Authorization`` (Basic
    with the login on every request of a standalone registry, else the index's ``Token``) to
    every request of the session, whatever its host, so docker 1.12 sends it to each host the
    index names in ``X-Docker-Endpoints``. diagnose sends it only to the registry named."""
    sent = []
    if basic:
        sent.append("the login (Authorization: Basic)")
    if token:
        sent.append("the index's token (Authorization: Token)")
    what = " and ".join(sent)
    return (
        f"docker 1.12 would send {what} to {host}, a host the registry named in X-Docker-Endpoints; "
        "diagnose sent that request without credentials (they go only to the registry named and "
        "its token server)"
    )


__all__ = [
    "ACCEPT",
    "CERTIFICATE_NAMES_UNKNOWN",
    "CLIENT",
    "CODES_112",
    "FALLBACK_CODES",
    "LAYER_RETRY_NOTE",
    "LOGIN_PROMPT",
    "MANIFEST_LIST",
    "MANIFEST_NOT_MODIFIED",
    "MISSING_SIGNATURE_KEY",
    "NON_TTY_LOGIN_ERROR",
    "NO_DIGEST_ON_V1",
    "NO_REGISTRY_ENDPOINT",
    "NO_SUPPORTED_PLATFORM",
    "NO_TIMEOUT_HANG",
    "NO_TOKEN",
    "PLUGIN_MANIFEST",
    "SCHEMA2",
    "SIGNED_SCHEMA1",
    "TERMINAL_VARIANT",
    "UNKNOWN_BLOB",
    "UNSUPPORTED_MANIFEST",
    "V1_JSON_RETRY_NOTE",
    "CliFailure",
    "ManifestKind",
    "V1Body",
    "V2Error",
    "V2ErrorKind",
    "allow_v1_fallback",
    "blob_error",
    "cli_failure",
    "config_error",
    "config_verification_failed",
    "confirms_v2",
    "continue_on_error",
    "daemon_http_status",
    "daemon_message",
    "default_tag_line",
    "digest_line",
    "downloaded_status_line",
    "go_trim_space",
    "invalid_reference_error",
    "layer_transport_error",
    "layer_verification_failed",
    "legacy_registry_line",
    "log_next_endpoint",
    "log_not_continuing",
    "log_skipping_non_tls",
    "log_skipping_v1",
    "log_trying",
    "login_hides_error_note",
    "manifest_response_error",
    "no_basic_credentials_error",
    "no_endpoints_error",
    "note_confirmed_v2",
    "note_token_granted",
    "note_v1_fallback",
    "ping_challenges",
    "pulling_from_line",
    "pulling_repository_line",
    "schema1_canonical",
    "schema1_problem",
    "streamed_form",
    "tls_error_text",
    "token_answer",
    "token_url",
    "transport_error_text",
    "transport_v2_error",
    "unmarshal_manifest",
    "url_error",
    "username_prompt",
    "v1_ancestry_body_error",
    "v1_ancestry_error",
    "v1_credentials_withheld",
    "v1_decode_error",
    "v1_empty_history",
    "v1_image_error",
    "v1_images_error",
    "v1_invalid_image_id",
    "v1_json_error",
    "v1_json_transport_error",
    "v1_layer_error",
    "v1_ping_error",
    "v1_tag_not_found",
    "v1_transport_error",
    "v2_response_error",
]
