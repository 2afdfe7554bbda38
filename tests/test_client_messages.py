# ruff: noqa: E501  -- table rows hold exact client messages; splitting them hurts review
"""Table tests: registry answer -> the exact text docker 1.12.6 / skopeo would print.

Rows follow the sources cited in diagnose/clients/*.py (moby v1.12.6 and its vendored
docker/distribution for docker 1.12; containers/image for skopeo).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from diagnose.clients import decode_errcode, go_quote
from diagnose.clients import docker112 as d12
from diagnose.clients import skopeo as sk
from diagnose.clients.docker112 import V2Error, V2ErrorKind
from diagnose.clients.skopeo import CImage
from diagnose.model import FailureKind, Headers
from diagnose.pullers.options import PullOptions
from diagnose.pullers.v2_then_v1 import dial_address, pull_endpoints
from diagnose.reference import parse_reference

HUB_401_BODY = (
    b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required",'
    b'"detail":[{"Type":"repository","Class":"","Name":"library/foo","Action":"pull"}]}]}\n'
)
HUB_CHALLENGE: Headers = (
    (
        "Www-Authenticate",
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/foo:pull",error="insufficient_scope"',
    ),
)
INVALID_TOKEN: Headers = (("WWW-Authenticate", 'Bearer realm="r",service="s",error="invalid_token"'),)
PLAIN_BEARER: Headers = (("WWW-Authenticate", 'Bearer realm="r",service="s"'),)
BASIC: Headers = (("WWW-Authenticate", 'Basic realm="Registry Realm"'),)
MANIFEST_UNKNOWN_BODY = (
    b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'
)
MANIFEST_UNKNOWN_BARE = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
TOOMANY = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}'
HTML = b"<html><head><title>404 Not Found</title></head><body>nginx</body></html>"

# --- docker 1.12: V2 error parsing (D12 HandleErrorResponse) -----------------------------------


@pytest.mark.parametrize(
    ("status", "status_text", "body", "kind", "codes", "text"),
    [
        pytest.param(
            401, "401 Unauthorized", HUB_401_BODY, V2ErrorKind.ERROR, ("UNAUTHORIZED",),
            "unauthorized: authentication required", id="hub-401-json",
        ),
        pytest.param(
            401, "401 Unauthorized", b"<html>401</html>", V2ErrorKind.ERROR, ("UNAUTHORIZED",),
            "unauthorized: authentication required", id="401-html-becomes-unauthorized",
        ),
        pytest.param(
            401, "401 Unauthorized", b"", V2ErrorKind.ERROR, ("UNAUTHORIZED",),
            "unauthorized: authentication required", id="401-empty",
        ),
        pytest.param(
            401, "401 Unauthorized", b'{"details":"incorrect username or password"}', V2ErrorKind.ERROR,
            ("UNAUTHORIZED",), "unauthorized: incorrect username or password", id="hub-token-legacy-details",
        ),
        pytest.param(
            429, "429 Too Many Requests", b'{"details":"slow down"}', V2ErrorKind.ERROR, ("TOOMANYREQUESTS",),
            "toomanyrequests: slow down", id="legacy-details-429",
        ),
        pytest.param(
            403, "403 Forbidden", b'{"details":"nope"}', V2ErrorKind.ERROR, ("UNKNOWN",),
            "unknown: nope", id="legacy-details-other",
        ),
        pytest.param(
            404, "404 Not Found", MANIFEST_UNKNOWN_BODY, V2ErrorKind.ERROR, ("MANIFEST_UNKNOWN",),
            "manifest unknown: manifest unknown", id="registry2-missing-tag",
        ),
        pytest.param(
            404, "404 Not Found", MANIFEST_UNKNOWN_BARE, V2ErrorKind.ERROR_CODE, ("MANIFEST_UNKNOWN",),
            "manifest unknown", id="bare-error-code",
        ),
        pytest.param(
            401, "401 Unauthorized", b'{"errors":[{"code":"UNAUTHORIZED","message":""}]}',
            V2ErrorKind.ERROR_CODE, ("UNAUTHORIZED",), "unauthorized", id="bare-unauthorized-empty-message",
        ),
        pytest.param(
            429, "429 Too Many Requests", TOOMANY, V2ErrorKind.ERROR, ("TOOMANYREQUESTS",),
            "toomanyrequests: You have reached your pull rate limit.", id="rate-limited",
        ),
        pytest.param(
            403, "403 Forbidden", b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
            V2ErrorKind.ERROR_CODE, ("DENIED",), "denied", id="denied-default-no-detail",
        ),
        pytest.param(
            404, "404 Not Found", b'{"errors":[{"code":"TAG_EXPIRED","message":"Tag x has expired"}]}',
            V2ErrorKind.ERROR, ("UNKNOWN",), "unknown: Tag x has expired", id="quay-unregistered-code",
        ),
        pytest.param(
            400, "400 Bad Request",
            b'{"errors":[{"code":"NAME_INVALID","message":"bad"},{"code":"UNSUPPORTED","message":"x","detail":1}]}',
            V2ErrorKind.ERRORS, ("NAME_INVALID", "UNSUPPORTED"),
            "errors:\nname invalid: bad\nunsupported: x\n", id="several-errors",
        ),
        pytest.param(
            404, "404 Not Found", HTML, V2ErrorKind.UNEXPECTED_BODY, (),
            "error parsing HTTP 404 response body: invalid character '<' looking for beginning of value: "
            '"<html><head><title>404 Not Found</title></head><body>nginx</body></html>"',
            id="html-404",
        ),
        pytest.param(
            405, "405 Method Not Allowed", b"Method not allowed\n", V2ErrorKind.UNEXPECTED_BODY, (),
            "error parsing HTTP 405 response body: invalid character 'M' looking for beginning of value: "
            '"Method not allowed\\n"',
            id="plain-text-observed-c-image-1007",
        ),
        pytest.param(
            404, "404 Not Found", b'{"errors":[]}', V2ErrorKind.UNEXPECTED_BODY, (),
            'error parsing HTTP 404 response body: no error details found in HTTP response body: "{\\"errors\\":[]}"',
            id="no-errors-in-body",
        ),
        pytest.param(
            404, "404 Not Found", b"", V2ErrorKind.UNEXPECTED_BODY, (),
            'error parsing HTTP 404 response body: unexpected end of JSON input: ""', id="empty-404",
        ),
        pytest.param(
            400, "400 Bad Request", b"true", V2ErrorKind.UNEXPECTED_BODY, (),
            "error parsing HTTP 400 response body: json: cannot unmarshal bool into Go value of type "
            'struct { Errors []errcode.Error }: "true"',
            id="quay-true",
        ),
        pytest.param(
            404, "404 Not Found", b'{"errors":"x"}', V2ErrorKind.UNEXPECTED_BODY, (),
            "error parsing HTTP 404 response body: json: cannot unmarshal string into Go value of type "
            '[]errcode.Error: "{\\"errors\\":\\"x\\"}"',
            id="errors-not-a-list",
        ),
        pytest.param(
            500, "500 Internal Server Error", HUB_401_BODY, V2ErrorKind.UNEXPECTED_STATUS, (),
            "received unexpected HTTP status: 500 Internal Server Error", id="5xx",
        ),
        pytest.param(
            302, "302 Found", b"", V2ErrorKind.UNEXPECTED_STATUS, (),
            "received unexpected HTTP status: 302 Found", id="3xx",
        ),
    ],
)  # fmt: skip
def test_docker112_v2_response_error(
    status: int, status_text: str, body: bytes, kind: V2ErrorKind, codes: tuple[str, ...], text: str
) -> None:
    err = d12.v2_response_error(status, status_text, body)
    assert (err.kind, err.codes, err.text) == (kind, codes, text)


# --- docker 1.12: fallback rules (M12 distribution/errors.go, pull_v2.go) ---------------------

URL = "https://127.0.0.1:5000/v2/x/manifests/latest"


@pytest.mark.parametrize(
    ("err", "allow_v1", "next_endpoint"),
    [
        pytest.param(d12.v2_response_error(401, "401 Unauthorized", HUB_401_BODY), True, True, id="401-error"),
        pytest.param(d12.v2_response_error(404, "404 Not Found", MANIFEST_UNKNOWN_BODY), True, True, id="manifest-unknown"),
        pytest.param(
            d12.v2_response_error(404, "404 Not Found", b'{"errors":[{"code":"NAME_UNKNOWN","message":"x"}]}'),
            True, True, id="name-unknown",
        ),
        # a bare ErrorCode is not an errcode.Error: allowV1Fallback's type check misses it, but
        # continueOnError's default branch says "continue" (confirmedV2 kept)
        pytest.param(d12.v2_response_error(404, "404 Not Found", MANIFEST_UNKNOWN_BARE), False, True, id="bare-code"),
        pytest.param(d12.v2_response_error(429, "429 Too Many Requests", TOOMANY), False, False, id="toomanyrequests"),
        pytest.param(
            d12.v2_response_error(403, "403 Forbidden", b'{"errors":[{"code":"DENIED","message":"no","detail":{}}]}'),
            False, False, id="denied-error",
        ),
        pytest.param(
            d12.v2_response_error(
                401, "401 Unauthorized",
                b'{"errors":[{"code":"UNAUTHORIZED","message":"a"},{"code":"DENIED","message":"b"}]}',
            ),
            True, True, id="list-first-decides",
        ),
        pytest.param(
            d12.v2_response_error(
                403, "403 Forbidden",
                b'{"errors":[{"code":"DENIED","message":"b"},{"code":"UNAUTHORIZED","message":"a"}]}',
            ),
            False, False, id="list-first-denied",
        ),
        pytest.param(
            d12.v2_response_error(
                404, "404 Not Found",
                b'{"errors":[{"code":"MANIFEST_UNKNOWN"},{"code":"UNAUTHORIZED","message":"a"}]}',
            ),
            False, True, id="list-first-bare",
        ),
        pytest.param(d12.v2_response_error(404, "404 Not Found", HTML), False, True, id="unparsable-body"),
        pytest.param(d12.v2_response_error(503, "503 Service Unavailable", b""), False, True, id="5xx"),
        pytest.param(d12.no_basic_credentials_error("GET", URL), True, True, id="no-basic-credentials"),
        pytest.param(
            d12.transport_v2_error("GET", URL, "x509: certificate signed by unknown authority"),
            False, True, id="transport",
        ),
        pytest.param(
            V2Error(V2ErrorKind.TRANSPORT, text="write /var/lib/docker/x: no space left on device"),
            False, False, id="enospc",
        ),
    ],
)  # fmt: skip
def test_docker112_fallback_rules(err: V2Error, allow_v1: bool, next_endpoint: bool) -> None:
    assert d12.allow_v1_fallback(err) is allow_v1
    assert d12.continue_on_error(err) is next_endpoint


def test_docker112_no_basic_credentials_text() -> None:
    err = d12.no_basic_credentials_error("GET", "https://host/v2/name/manifests/latest")
    # 1.10 output in moby/moby#19159
    assert err.text == "Get https://host/v2/name/manifests/latest: no basic auth credentials"


# --- docker 1.12: V1 leg and CLI wrapping -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "remote", "tag", "body", "text"),
    [
        pytest.param(404, "library/foo", "latest", b"", "Error: image library/foo:latest not found", id="hub-404"),
        pytest.param(404, "bmerry/abacuscm", "latest", b"404 page not found\n",
                     "Error: image bmerry/abacuscm:latest not found", id="registry2-no-v1-issue-27281"),
        pytest.param(404, "library/foo", None, b"", "Error: image library/foo not found", id="pull-all-tags"),
        pytest.param(401, "library/foo", "latest", b"{}", "unauthorized: authentication required", id="401"),
        pytest.param(500, "library/foo", "latest", b'oops "x"\n\xff',
                     'Error: Status 500 trying to pull repository library/foo: "oops \\"x\\"\\n\\xff"', id="500-quoted"),
        pytest.param(403, "team/app", "1", b"",
                     'Error: Status 403 trying to pull repository team/app: ""', id="403-empty"),
    ],
)  # fmt: skip
def test_docker112_v1_images_error(status: int, remote: str, tag: str | None, body: bytes, text: str) -> None:
    assert d12.v1_images_error(status, remote, tag, body) == text


def test_docker112_v1_transport_and_wrapping() -> None:
    url = "https://index.docker.io/v1/repositories/library/hello-world/images"
    inner = d12.transport_error_text(
        FailureKind.TLS, "index.docker.io:443", "CERTIFICATE_VERIFY_FAILED self-signed"
    )
    # observed in docker/for-win#23 (TLS-intercepting proxy)
    assert d12.v1_transport_error(url, FailureKind.TLS, inner) == (
        "Error while pulling image: Get https://index.docker.io/v1/repositories/library/hello-world/images: "
        "x509: certificate signed by unknown authority"
    )
    assert d12.v1_transport_error(url, FailureKind.TIMEOUT, "whatever") == (
        f"Network timed out while trying to connect to {url}. "
        "You may want to check your internet connection or if you are behind a proxy."
    )
    assert d12.v1_ping_error("https://xx:5000/v1/_ping", "EOF") == "Get https://xx:5000/v1/_ping: EOF"
    assert d12.v1_tag_not_found("x", "docker.io/library/busybox") == (
        "Tag x not found in repository docker.io/library/busybox"
    )
    assert d12.pulling_repository_line("docker.io/library/foo") == "Pulling repository docker.io/library/foo"
    assert d12.daemon_message("Error: image library/foo:latest not found", flushed=True) == (
        "Error: image library/foo:latest not found"
    )
    # docker-archive/docker-registry#1076
    assert d12.daemon_message("Get https://xx:5000/v1/_ping: EOF", flushed=False) == (
        "Error response from daemon: Get https://xx:5000/v1/_ping: EOF"
    )
    assert d12.url_error("HEAD", "https://h/v2/", "EOF") == "Head https://h/v2/: EOF"
    assert d12.default_tag_line() == "Using default tag: latest"


@pytest.mark.parametrize(
    ("kind", "detail", "docker", "skopeo"),
    [
        pytest.param(FailureKind.REFUSED, "Connection refused",
                     "dial tcp 127.0.0.1:5000: getsockopt: connection refused",
                     "dial tcp 127.0.0.1:5000: connect: connection refused", id="refused"),
        pytest.param(FailureKind.DNS, "Name or service not known",
                     "dial tcp: lookup 127.0.0.1: no such host", "dial tcp: lookup 127.0.0.1: no such host", id="dns"),
        pytest.param(FailureKind.TLS, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
                     "x509: certificate signed by unknown authority",
                     "tls: failed to verify certificate: x509: certificate signed by unknown authority", id="unknown-ca"),
        pytest.param(FailureKind.TLS, "[SSL: WRONG_VERSION_NUMBER] wrong version number",
                     "tls: oversized record received with length 20527",
                     "http: server gave HTTP response to HTTPS client", id="tls-to-plain-http"),
        pytest.param(FailureKind.TIMEOUT, "ConnectTimeoutError",
                     "net/http: request canceled while waiting for connection",
                     "dial tcp 127.0.0.1:5000: i/o timeout", id="connect-timeout"),
        pytest.param(FailureKind.RESET, "Connection reset by peer",
                     "read tcp 127.0.0.1:5000: read: connection reset by peer",
                     "read tcp 127.0.0.1:5000: read: connection reset by peer", id="reset"),
        pytest.param(FailureKind.OTHER, "RemoteDisconnected('Remote end closed connection without response')",
                     "EOF", "EOF", id="eof"),
        pytest.param(FailureKind.TOO_MANY_REDIRECTS, "Exceeded 30 redirects.",
                     "stopped after 10 redirects", "stopped after 10 redirects", id="redirects"),
        pytest.param(FailureKind.CLIENT_SIDE, "no basic auth credentials",
                     "no basic auth credentials", "no basic auth credentials", id="client-side-passthrough"),
    ],
)  # fmt: skip
def test_transport_error_text(kind: FailureKind, detail: str, docker: str, skopeo: str) -> None:
    assert d12.transport_error_text(kind, "127.0.0.1:5000", detail) == docker
    assert sk.transport_error_text(kind, "127.0.0.1:5000", detail) == skopeo


def test_dns_strips_port() -> None:
    assert d12.transport_error_text(FailureKind.DNS, "registry.invalid:443", "") == (
        "dial tcp: lookup registry.invalid: no such host"
    )


# --- skopeo: registryHTTPResponseToError, per c/image version ----------------------------------

CUR, V24, V23 = CImage.CURRENT, CImage.V5_24, CImage.V5_23


@pytest.mark.parametrize(
    ("status", "headers", "body", "version", "text", "code"),
    [
        # decision table row 1/2: Hub, anonymous, nonexistent or private repo
        pytest.param(401, HUB_CHALLENGE, HUB_401_BODY, CUR, "requested access to the resource is denied", "DENIED",
                     id="hub-insufficient-scope-current"),
        pytest.param(401, HUB_CHALLENGE, HUB_401_BODY, V24, "requested access to the resource is denied", "DENIED",
                     id="hub-insufficient-scope-5.24"),
        # observed in containers/skopeo#897 (2020)
        pytest.param(401, HUB_CHALLENGE, HUB_401_BODY, V23,
                     "errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required\n",
                     "DENIED", id="hub-insufficient-scope-5.23-merged"),
        pytest.param(401, INVALID_TOKEN, HUB_401_BODY, CUR, "authentication required", "UNAUTHORIZED",
                     id="invalid-token"),
        pytest.param(
            401, (("WWW-Authenticate", 'Bearer realm="r",error="insufficient_scope",error_description="no pull"'),),
            HUB_401_BODY, CUR, "denied: no pull", "DENIED", id="error-description-used"),
        pytest.param(403, HUB_CHALLENGE, b'{"errors":[{"code":"DENIED","message":"x","detail":{}}]}', CUR,
                     "denied: x", "DENIED", id="challenge-ignored-unless-401"),
        pytest.param(401, PLAIN_BEARER, HUB_401_BODY, CUR, "authentication required", "UNAUTHORIZED",
                     id="bearer-without-error"),
        pytest.param(401, PLAIN_BEARER, HUB_401_BODY, V23, "unauthorized: authentication required", "UNAUTHORIZED",
                     id="bearer-without-error-5.23"),
        # decision table row 7: Basic auth registry, no credentials
        pytest.param(401, BASIC, HUB_401_BODY, CUR, "authentication required", "UNAUTHORIZED", id="basic-current"),
        pytest.param(401, BASIC, HUB_401_BODY, V23, "unauthorized: authentication required", "UNAUTHORIZED",
                     id="basic-5.23"),
        pytest.param(401, BASIC, b"<html>Unauthorized</html>", CUR, "authentication required", "UNAUTHORIZED",
                     id="401-non-json"),
        pytest.param(401, (), b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', CUR,
                     "unauthorized", "UNAUTHORIZED", id="bare-unauthorized-not-trimmed"),
        # decision table rows 5/6: missing tag
        pytest.param(404, (), MANIFEST_UNKNOWN_BODY, CUR, "manifest unknown", "MANIFEST_UNKNOWN", id="missing-tag"),
        pytest.param(404, (), MANIFEST_UNKNOWN_BODY, V23, "manifest unknown: manifest unknown", "MANIFEST_UNKNOWN",
                     id="missing-tag-5.23"),
        pytest.param(404, (), MANIFEST_UNKNOWN_BARE, CUR, "manifest unknown", "MANIFEST_UNKNOWN", id="missing-tag-bare"),
        pytest.param(404, (), b'{"errors":[{"code":"UNKNOWN","message":"Not Found"}]}', CUR, "unknown: Not Found",
                     "UNKNOWN", id="redhat-unknown-not-found"),
        pytest.param(429, (), TOOMANY, CUR, "toomanyrequests: You have reached your pull rate limit.",
                     "TOOMANYREQUESTS", id="rate-limited"),
        pytest.param(401, (), b'{"details":"incorrect username or password"}', CUR,
                     "unauthorized: incorrect username or password", "UNAUTHORIZED", id="legacy-details"),
        pytest.param(404, (), b"404 page not found\n", CUR, 'StatusCode: 404, "404 page not found\\n"', None,
                     id="plain-404-current"),
        pytest.param(404, (), b"404 page not found\n", V23, "StatusCode: 404, 404 page not found\n", None,
                     id="plain-404-5.23-unquoted"),
        pytest.param(404, (), HTML, CUR,
                     'StatusCode: 404, "<html><head><title>404 Not Found</title></head><bo..."', None,
                     id="html-truncated-50"),
        pytest.param(404, (), HTML, V23,
                     "StatusCode: 404, <html><head><title>404 Not Found</title></head><bo...", None,
                     id="html-truncated-50-5.23"),
        pytest.param(404, (), b"x" * 49 + "é".encode(), CUR, 'StatusCode: 404, "' + "x" * 49 + '\\xc3..."', None,
                     id="byte-slicing-cuts-rune"),
        pytest.param(400, (), b"", CUR, 'StatusCode: 400, ""', None, id="empty-body"),
        pytest.param(404, (), b'{"errors":[]}', CUR, 'StatusCode: 404, "{\\"errors\\":[]}"', None, id="no-errors"),
        pytest.param(500, HUB_CHALLENGE, HUB_401_BODY, CUR, "received unexpected HTTP status: 500 Internal Server Error",
                     None, id="5xx"),
        pytest.param(
            400, (), b'{"errors":[{"code":"NAME_INVALID","message":"bad"},{"code":"UNSUPPORTED","message":"x"}]}',
            CUR, "name invalid: bad", "NAME_INVALID", id="first-error-only"),
        pytest.param(
            400, (), b'{"errors":[{"code":"NAME_INVALID","message":"bad"},{"code":"UNSUPPORTED","message":"x"}]}',
            V23, "errors:\nname invalid: bad\nunsupported: x\n", "NAME_INVALID", id="all-errors-5.23"),
    ],
)  # fmt: skip
def test_skopeo_registry_error_text(
    status: int, headers: Headers, body: bytes, version: CImage, text: str, code: str | None
) -> None:
    status_text = {400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found",
                   429: "429 Too Many Requests", 500: "500 Internal Server Error"}[status]  # fmt: skip
    assert sk.registry_error_text(status, status_text, headers, body, version=version) == (text, code)


def test_skopeo_wrappers_decision_table() -> None:
    inner, code = sk.registry_error_text(401, "401 Unauthorized", HUB_CHALLENGE, HUB_401_BODY)
    # decision table row 1, and observed in containers/skopeo#1929
    assert sk.manifest_error("latest", "docker.io/library/foo", inner) == (
        "reading manifest latest in docker.io/library/foo: requested access to the resource is denied"
    )
    assert sk.exit_code(code) == 1
    inner, code = sk.registry_error_text(404, "404 Not Found", (), MANIFEST_UNKNOWN_BODY)
    assert sk.manifest_error("x", "docker.io/library/busybox", inner) == (
        "reading manifest x in docker.io/library/busybox: manifest unknown"
    )
    assert sk.exit_code(code) == 2
    assert sk.exit_code(None) == 1
    # decision table row 10
    dns = sk.transport_error_text(FailureKind.DNS, "host:443", "")
    assert sk.ping_error("host", sk.go_url_error("GET", "https://host/v2/", dns)) == (
        'pinging container registry host: Get "https://host/v2/": dial tcp: lookup host: no such host'
    )


@pytest.mark.parametrize(
    ("status", "status_text", "body", "version", "text"),
    [
        pytest.param(401, "401 Unauthorized", b'{"details":"incorrect username or password"}', CUR,
                     "unable to retrieve auth token: invalid username/password: unauthorized: incorrect username or password",
                     id="hub-wrong-password"),
        pytest.param(401, "401 Unauthorized", b'{"details":"incorrect username or password"}', V23,
                     "unable to retrieve auth token: invalid username/password: unauthorized: incorrect username or password",
                     id="hub-wrong-password-5.23"),
        pytest.param(401, "401 Unauthorized", b"<html>no</html>", CUR,
                     "unable to retrieve auth token: invalid username/password: authentication required",
                     id="401-html-current"),
        pytest.param(401, "401 Unauthorized", b"<html>no</html>", V23,
                     "unable to retrieve auth token: invalid username/password: unauthorized: authentication required",
                     id="401-html-5.23"),
        pytest.param(429, "429 Too Many Requests", b"", CUR, "too many requests to registry", id="429"),
        pytest.param(403, "403 Forbidden", b'{"errors":[{"code":"DENIED","message":"access forbidden"}]}', CUR,
                     "Requesting bearer token: received unexpected HTTP status: 403 Forbidden", id="gitlab-403-current"),
        pytest.param(403, "403 Forbidden", b"", V24,
                     "Requesting bearer token: invalid status code from registry 403 (Forbidden)", id="403-5.24"),
        pytest.param(500, "500 Internal Server Error", b"", V23,
                     "Requesting bearer token: invalid status code from registry 500 (Internal Server Error)",
                     id="500-5.23"),
    ],
)  # fmt: skip
def test_skopeo_token_error(status: int, status_text: str, body: bytes, version: CImage, text: str) -> None:
    assert sk.token_error(status, status_text, body, version=version) == text


def test_go_url_error_quotes() -> None:
    assert sk.go_url_error("GET", "https://host/v2/", "EOF") == 'Get "https://host/v2/": EOF'
    assert d12.url_error("GET", "https://host/v2/", "EOF") == "Get https://host/v2/: EOF"


@pytest.mark.parametrize(
    ("data", "quoted"),
    [
        (b"plain", '"plain"'),
        (b'a"b\\c', '"a\\"b\\\\c"'),
        (b"\n\r\t\x00\x7f", '"\\n\\r\\t\\x00\\x7f"'),
        (b"\xff\xfe", '"\\xff\\xfe"'),
        ("é€😀".encode(), '"é€😀"'),
        ("\u00ad\u200b".encode(), '"\\u00ad\\u200b"'),
        ("é".encode()[:1], '"\\xc3"'),
    ],
)
def test_go_quote(data: bytes, quoted: str) -> None:
    assert go_quote(data) == quoted


def test_decode_errcode_null_entry_and_type_errors() -> None:
    entries, err = decode_errcode(b'{"errors":[null]}')
    assert err is None and entries[0].code == "UNKNOWN" and entries[0].bare
    assert entries[0].text == "unknown"
    assert decode_errcode(b'{"errors":[{"code":5}]}')[1] == (
        "json: cannot unmarshal number into Go value of type errcode.ErrorCode"
    )
    assert (
        decode_errcode(b'{"errors":["x"]}')[1]
        == "json: cannot unmarshal string into Go value of type errcode.Error"
    )
    assert decode_errcode(b"null") == ((), None)
    assert decode_errcode(b"{}") == ((), None)
    assert decode_errcode(b'{"errors":[1')[1] == "unexpected end of JSON input"
    assert decode_errcode(b"{} x")[1] == "invalid character 'x' after top-level value"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            sk.CImage.CURRENT,
            'choosing image instance: no image found in image index for architecture "amd64", variant "", OS "linux"',
        ),
        (
            sk.CImage.V5_23,
            'choosing image instance: no image found in image index for architecture amd64, variant "", OS linux',
        ),
    ],
)
def test_no_platform_error_wording(version: sk.CImage, expected: str) -> None:
    assert sk.no_platform_error("image index", "linux", "amd64", "", version=version) == expected


# --- docker 1.12.6 against its source: one row per point of the fidelity audit (issue 11) -------
# Each row: what the model gives, what docker 1.12.6 prints, and where that was read (moby/moby at
# v1.12.6 = 78d18021; D12 = its vendored docker/distribution 07f32ac). Rows marked "unverified"
# follow Go 1.6 standard-library wording that could not be read from a source (README lists them).

M12 = "moby/moby v1.12.6 "
D12 = "moby/moby v1.12.6 vendor/src/github.com/docker/distribution/"
NOT_TTY = "Error: Cannot perform an interactive login from a non TTY device"
WRONG_PASSWORD = "Get https://h.example/v2/a/b/manifests/latest: unauthorized: incorrect username or password"
LOOKUP = {"localhost": ("127.0.0.1", "::1"), "lvh.me": ("127.0.0.1",), "reg.example": ("192.0.2.7",)}


def _lookup(host: str) -> tuple[str, ...]:
    return LOOKUP.get(host, (host,) if host[:1].isdigit() else ())


def _endpoints(ref: str, options: PullOptions | None = None) -> list[str]:
    endpoints = pull_endpoints(parse_reference(ref), options or PullOptions(), _lookup)
    return [f"{e.url} v{e.version}" for e in endpoints]


SIGNED_SCHEMA1 = (
    b'{\n   "schemaVersion": 1,\n   "fsLayers": []\n,"signatures":[{"protected":"'
    + base64.urlsafe_b64encode(b'{"formatLength":42,"formatTail":"Cn0"}').rstrip(b"=")
    + b'"}]}'
)

AUDIT_ROWS = [
    # D1: the 401 -> login path
    pytest.param(lambda: d12.cli_failure(WRONG_PASSWORD, flushed=False, stored_username="alice").lines,
                 ("", "Please login prior to pull:", NOT_TTY),
                 M12 + "api/server/httputils/errors.go:63; engine-api client/image_pull.go:35-41; "
                 "api/client/registry.go:50, :106-107", id="D1-not-a-terminal"),
    pytest.param(lambda: d12.cli_failure(WRONG_PASSWORD, flushed=False, stored_username="alice").terminal_lines,
                 ("", "Please login prior to pull:", "Username (alice): "),
                 M12 + "api/client/registry.go:50, :60-66, :117", id="D1-terminal-stored-login"),
    pytest.param(lambda: d12.cli_failure("unauthorized", flushed=False, stored_username=None).terminal_lines,
                 ("", "Please login prior to pull:", "Username: "),
                 M12 + "api/client/registry.go:60-66 promptWithDefault", id="D1-terminal-anonymous"),
    pytest.param(lambda: d12.cli_failure("Error pulling image (x) from h/a, unauthorized: authentication required",
                                         flushed=True, stored_username=None).lines,
                 ("Error pulling image (x) from h/a, unauthorized: authentication required",),
                 M12 + "api/server/router/image/image_routes.go:116-121 (streamed: no HTTP status)",
                 id="D1-streamed-is-never-401"),
    pytest.param(lambda: d12.daemon_http_status("unauthorized: x; image not found"), 404,
                 M12 + "api/server/httputils/errors.go:52-70 (first keyword wins)", id="D1-keyword-order"),
    pytest.param(lambda: d12.daemon_http_status("received unexpected HTTP status: 500 Internal Server Error"),
                 500, M12 + "api/server/httputils/errors.go:74-76", id="D1-default-500"),
    # D2
    pytest.param(lambda: _endpoints("registry-1.docker.io/foo"),
                 ["https://registry-1.docker.io v2", "https://registry-1.docker.io v1"],
                 M12 + "reference/reference.go:174-187; registry/service_v2.go:13; service_v1.go:12",
                 id="D2-registry-1-is-a-private-host"),
    # D3 (Go 1.6 texts: observed in dated reports, the Go source not read)
    pytest.param(lambda: d12.tls_error_text("hostname", "reg.example"),
                 "x509: certificate is valid for …, not reg.example",
                 "unverified: Go 1.6 crypto/x509 HostnameError (observed form, moby#10802); names not recorded",
                 id="D3-hostname-name"),
    pytest.param(lambda: d12.tls_error_text("hostname", "10.0.0.5"),
                 "x509: cannot validate certificate for 10.0.0.5 because it doesn't contain any IP SANs",
                 "unverified: Go 1.6 crypto/x509 HostnameError for an IP (observed form)", id="D3-hostname-ip"),
    pytest.param(lambda: d12.tls_error_text("other", "h"), "remote error: handshake failure",
                 "unverified: Go 1.6 crypto/tls alert text; 'tls: ' arrived in Go 1.7 (moby PR #23254)",
                 id="D3-alert"),
    # D4
    pytest.param(lambda: d12.transport_error_text(FailureKind.TIMEOUT, "10.0.0.5:443",
                                                  "connecting to 10.0.0.5:443 timed out after 10 s",
                                                  client_timeout=False),
                 "dial tcp 10.0.0.5:443: i/o timeout",
                 M12 + "registry/registry.go:164-189 (no Client.Timeout; dialer 30 s); text observed",
                 id="D4-dial-timeout-without-client-timeout"),
    pytest.param(lambda: d12.transport_error_text(FailureKind.TIMEOUT, "10.0.0.5:443",
                                                  "no response from h within 10 s (read timeout)",
                                                  client_timeout=False),
                 d12.NO_TIMEOUT_HANG, M12 + "registry/registry.go:164-189; " + D12 + "registry/client/repository.go",
                 id="D4-stalled-read-hangs"),
    pytest.param(lambda: d12.transport_error_text(FailureKind.TIMEOUT, "10.0.0.5:443",
                                                  "connecting to 10.0.0.5:443 timed out after 10 s"),
                 "net/http: request canceled while waiting for connection",
                 M12 + "registry/auth.go:265-268 (15 s); unverified: Go 1.6 Client.Timeout text",
                 id="D4-ping-timeout"),
    # D5
    pytest.param(lambda: dial_address("https://localhost:1/v2/", _lookup), "127.0.0.1:1",
                 "Go net.OpError prints the resolved address (unverified: RFC 6724 order)", id="D5-resolved"),
    pytest.param(lambda: dial_address("https://10.0.0.5/v1/_ping", _lookup), "10.0.0.5:443",
                 "Go net.OpError: the port is always printed", id="D5-default-port"),
    # D6
    pytest.param(lambda: d12.token_url("https://auth.example/token?x=1", "svc", "repository:a/b:pull", "alice"),
                 "https://auth.example/token?account=alice&scope=repository%3Aa%2Fb%3Apull&service=svc&x=1",
                 D12 + "registry/client/auth/session.go:369-396 (url.Values.Encode sorts)", id="D6-sorted-query"),
    # D7
    pytest.param(lambda: _endpoints("lvh.me:5000/x"),
                 ["https://lvh.me:5000 v2", "http://lvh.me:5000 v2", "https://lvh.me:5000 v1", "http://lvh.me:5000 v1"],
                 M12 + "registry/config.go:90, :149-175 (names are resolved)", id="D7-name-on-loopback"),
    pytest.param(lambda: _endpoints("10.1.2.3:5000/x", PullOptions(insecure_registries=("10.1.2.3",))),
                 ["https://10.1.2.3:5000 v2", "https://10.1.2.3:5000 v1"],
                 M12 + "registry/config.go:103-117 (a bare IP is an exact index name)", id="D7-bare-ip"),
    pytest.param(lambda: _endpoints("ubuntu", PullOptions(insecure_registries=("docker.io",))),
                 ["https://registry-1.docker.io v2", "https://index.docker.io v1"],
                 M12 + "registry/config.go:120-126", id="D7-hub-always-secure"),
    # D8
    pytest.param(lambda: d12.unmarshal_manifest("application/json", b'{"schemaVersion":2}'),
                 (None, "missing signature key"),
                 D12 + "manifests.go:86-107; manifest/schema1/manifest.go:54; libtrust jsonsign.go:499-502",
                 id="D8-json-type-is-schema1"),
    pytest.param(lambda: d12.unmarshal_manifest("application/vnd.oci.image.manifest.v1+json", b'{"layers":[]}'),
                 (None, "missing signature key"), D12 + "manifests.go:98-104 (unknown type -> \"\")",
                 id="D8-oci-type"),
    pytest.param(lambda: d12.unmarshal_manifest("", b"<html>"),
                 (None, "error unmarshalling content: invalid character '<' looking for beginning of value"),
                 "moby/moby v1.12.6 vendor/src/github.com/docker/libtrust/jsonsign.go:495-497",
                 id="D8-not-json"),
    pytest.param(lambda: d12.unmarshal_manifest(d12.SCHEMA2, b"<html>"),
                 (None, "invalid character '<' looking for beginning of value"),
                 D12 + "manifest/schema2/manifest.go:98-107", id="D8-schema2-bare-json-error"),
    pytest.param(lambda: d12.schema1_canonical(SIGNED_SCHEMA1),
                 b'{\n   "schemaVersion": 1,\n   "fsLayers": []\n}',
                 M12 + "distribution/pull_v2.go:500; libtrust jsonsign.go:524-535", id="D8-schema1-digest-payload"),
    # D9
    pytest.param(lambda: [c.scheme for c in d12.ping_challenges(['Basic realm="r", Bearer realm="t"'])],
                 ["basic"], D12 + "registry/client/auth/authchallenge.go:127-165 (one per line)",
                 id="D9-one-challenge-per-line"),
    pytest.param(lambda: d12.confirms_v2((("docker-distribution-api-version", "Registry/2.0"),)), True,
                 D12 + "registry/client/auth/api_version.go:46-57 (type lower-cased)", id="D9-version-type-case"),
    # D10
    pytest.param(lambda: d12.token_answer(201, "201 Created", b'{"token":"a","access_token":"b"}'), ("b", None),
                 D12 + "registry/client/auth/session.go:404, :420-425", id="D10-2xx-and-access-token-wins"),
    pytest.param(lambda: d12.token_answer(200, "200 OK", b'{"token":"a","expires_in":"3600"}'),
                 (None, "unable to decode token response: json: cannot unmarshal string into Go value of type int"),
                 D12 + "registry/client/auth/session.go:354-360, :409-414", id="D10-typed-decode"),
    pytest.param(lambda: d12.token_answer(200, "200 OK", b"<html>"),
                 (None, "unable to decode token response: invalid character '<' looking for beginning of value"),
                 D12 + "registry/client/auth/session.go:409-414", id="D10-not-json"),
    pytest.param(lambda: d12.token_answer(200, "200 OK", b"{}"),
                 (None, "authorization server did not include a token in the response"),
                 D12 + "registry/client/auth/session.go:25, :427-429", id="D10-no-token"),
    # D11
    pytest.param(lambda: d12.v1_decode_error(b'{"x":1}', d12.V1Body.IMAGE_LIST),
                 "json: cannot unmarshal object into Go value of type []*registry.ImgData",
                 M12 + "registry/session.go:467-470", id="D11a-image-list"),
    pytest.param(lambda: d12.v1_decode_error(b"42", d12.V1Body.TAG),
                 "json: cannot unmarshal number into Go value of type string",
                 M12 + "registry/session.go:351-354", id="D11b-tag-body"),
    pytest.param(lambda: d12.v1_json_transport_error("Get https://h/v1/images/x/json: EOF"),
                 "Failed to download json: Get https://h/v1/images/x/json: EOF",
                 M12 + "registry/session.go:256-258", id="D11c-json-transport"),
    pytest.param(lambda: d12.v1_layer_error(0, "abc"), "Server error: Status 0 while fetching image layer (abc)",
                 M12 + "registry/session.go:294-306", id="D11d-layer-transport"),
    pytest.param(lambda: d12.v1_ancestry_body_error(d12.v1_decode_error(b"", d12.V1Body.ANCESTRY) or ""),
                 "Error while reading the http response: EOF", M12 + "registry/session.go:232-235",
                 id="D11e-ancestry-body"),
    pytest.param(lambda: d12.v1_empty_history("abc"), "empty history for image abc",
                 M12 + "distribution/pull_v1.go:193-194", id="D11e-empty-history"),
    pytest.param(lambda: d12.v1_invalid_image_id("zz"), 'image ID "zz" is invalid',
                 M12 + "image/v1/imagev1.go:150-154; distribution/pull_v1.go:147", id="D11h-image-id"),
    pytest.param(lambda: d12.downloaded_status_line("h:5000/a:latest"), "Status: Downloaded newer image for h:5000/a:latest",
                 M12 + "distribution/pull_v1.go:130; pull.go:189-191", id="D11i-status-line"),
    # D12
    pytest.param(lambda: d12.blob_error(404, "404 Not Found", b'{"errors":[{"code":"BLOB_UNKNOWN"}]}'), "unknown blob",
                 D12 + "registry/client/repository.go:647-651; blobs.go:23", id="D12-unknown-blob"),
    pytest.param(lambda: d12.config_error(d12.blob_error(404, "404 Not Found", b"")),
                 "error pulling image configuration: unknown blob", M12 + "distribution/pull_v2.go:44-50",
                 id="D12-config"),
    pytest.param(lambda: d12.layer_transport_error("dial tcp 10.0.0.5:443: i/o timeout"),
                 "dial tcp 10.0.0.5:443: i/o timeout", M12 + "distribution/errors.go:99-104 (url.Error unwrapped)",
                 id="D12-layer-transport"),
    # D13
    pytest.param(lambda: d12.daemon_message("errors:\nname invalid: a\nunsupported: b\n", flushed=False),
                 "Error response from daemon: errors:\nname invalid: a\nunsupported: b",
                 "moby/moby v1.12.6 vendor/src/github.com/docker/engine-api/client/request.go:148",
                 id="D13-trim-space"),
    # D14
    pytest.param(lambda: d12.v2_response_error(416, "416 Requested Range Not Satisfiable",
                                               b'{"errors":[{"code":"RANGE_INVALID","message":"bad range"}]}').text,
                 "unknown: bad range", D12 + "registry/api/errcode/register.go, registry/api/v2/errors.go",
                 id="D14-unregistered-code"),
    pytest.param(lambda: d12.manifest_response_error(304, "304 Not Modified", b"").text, "manifest not modified",
                 D12 + "registry/client/repository.go:475-476; errors.go:17", id="D14-304"),
    # D15
    pytest.param(lambda: d12.invalid_reference_error("Foo"),
                 'Error parsing reference: "Foo" is not a valid repository/tag',
                 M12 + "reference/reference.go:56-58", id="D15-reference"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "docker", "source"), AUDIT_ROWS)
def test_docker112_audit_table(model: Callable[[], object], docker: object, source: str) -> None:
    assert source.startswith(("moby/moby v1.12.6", "unverified", "Go ")), source
    assert model() == docker


def test_docker112_audit_table_covers_every_point() -> None:
    covered = {param.id.split("-", 1)[0].rstrip("abcdefghi") for param in AUDIT_ROWS}
    assert covered == {f"D{n}" for n in range(1, 16)}
