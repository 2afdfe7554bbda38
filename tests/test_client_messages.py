# ruff: noqa: E501  -- table rows hold exact client messages; splitting them hurts review
"""Table tests: registry answer -> the exact text docker 1.12.6 / skopeo would print.

Rows come from reference/client-behaviours.md §1.4-§1.7, §3 and the decision table in §5, and from
the sources cited in diagnose/clients/*.py.
"""

from __future__ import annotations

import pytest

from diagnose.clients import decode_errcode, go_quote
from diagnose.clients import docker112 as d12
from diagnose.clients import skopeo as sk
from diagnose.clients.docker112 import V2Error, V2ErrorKind
from diagnose.clients.skopeo import CImage
from diagnose.model import FailureKind, Headers

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
