"""Redaction tables, token claims, and planted secrets that must never reach a recording."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from diagnose.model import Strategy, TokenAccess
from diagnose.redact import (
    recorded_body,
    redact_body,
    redact_headers,
    redact_url,
    scrub_text,
    scrub_value,
)
from diagnose.tokens import decode_claims, token_access, token_answer_claims
from diagnose.transport import Recorder, RecordingClient, TransportOptions
from tests.helpers_http import QuietHandler, echo_forms, serve


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


CLAIMS = {
    "iss": "auth.docker.io",
    "sub": "alice",
    "aud": "registry.docker.io",
    "exp": 1700000300,
    "nbf": 1700000000,
    "iat": 1700000000,
    "jti": "jti-value",
    "access": [{"type": "repository", "name": "library/busybox", "actions": ["pull"]}],
}
SIGNATURE = "SIGxyzSIGNATUREpartNeverKept"
JWT = f"{b64url({'alg': 'RS256', 'typ': 'JWT', 'kid': 'K'})}.{b64url(CLAIMS)}.{SIGNATURE}"


# ----------------------------------------------------------------------------- tokens


def test_decode_claims_and_access() -> None:
    claims = decode_claims(JWT)
    assert claims is not None and claims["sub"] == "alice"
    assert token_access(claims) == ("repository:library/busybox:pull",)


@pytest.mark.parametrize(
    "token",
    ["", "opaque-token", "a.b.c", "signature=abc,repository=x", f"{JWT}.extra", "eyJ!!.eyJ.x"],
)
def test_decode_claims_rejects_non_jwt(token: str) -> None:
    assert decode_claims(token) is None


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (None, ()),
        ({}, ()),
        ({"access": []}, ()),
        ({"access": [{"type": "repository", "name": "alpine", "actions": []}]}, ("repository:alpine:",)),
        (
            {"access": [{"type": "repository", "name": "a/b", "actions": ["pull", "push"]}]},
            ("repository:a/b:pull,push",),
        ),
    ],
)
def test_token_access(claims: dict[str, object] | None, expected: tuple[str, ...]) -> None:
    assert token_access(claims) == expected


# ----------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "Authorization",
            "Basic " + base64.b64encode(b"alice:pw").decode(),
            'Basic <redacted: user "alice">',
        ),
        ("Authorization", "Basic Og==", "Basic <redacted: empty credentials>"),
        (
            "authorization",
            "Basic " + base64.b64encode(b"bob:").decode(),
            'Basic <redacted: user "bob", empty password>',
        ),
        ("Authorization", "Basic !!notbase64", "Basic <redacted>"),
        ("Authorization", f"Bearer {JWT}", "Bearer <redacted>"),
        ("Proxy-Authorization", "Basic " + base64.b64encode(b"p:q").decode(), 'Basic <redacted: user "p">'),
        ("Authorization", "rawtoken", "<redacted>"),
        (
            "Authorization",
            'Token signature=abc123,repository="library/busybox",access=read',
            'Token signature=<redacted>,repository="library/busybox",access=read',
        ),
        ("Cookie", "session=s3cr3t; other=x", "session=<redacted>; other=<redacted>"),
        ("Set-Cookie", "session=s3cr3t; Path=/; HttpOnly", "session=<redacted>; Path=/; HttpOnly"),
        ("X-Docker-Token", "true", "true"),
        (
            "X-Docker-Token",
            'signature=abc123,repository="library/busybox",access=read',
            'signature=<redacted>,repository="library/busybox",access=read',
        ),
        ("X-Docker-Token", "opaque", "<redacted>"),
        (
            "WWW-Authenticate",
            'Token signature=abc123,repository="foo/bar",access=write',
            'Token signature=<redacted>,repository="foo/bar",access=write',
        ),
        (
            "WWW-Authenticate",
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
        ),
        (
            "Location",
            "https://s3/bucket/blob?X-Amz-Signature=abc&X-Amz-Expires=1200",
            "https://s3/bucket/blob?X-Amz-Signature=<redacted>&X-Amz-Expires=1200",
        ),
        ("X-Registry-Auth", "eyJhbGciOi", "<redacted>"),
        ("Content-Type", "application/json", "application/json"),
    ],
)
def test_redact_headers(name: str, value: str, expected: str) -> None:
    assert redact_headers(((name, value),)) == ((name, expected),)


def test_redact_headers_keeps_repeats_and_order() -> None:
    headers = (("Accept", "a"), ("Authorization", "Bearer x"), ("Accept", "b"))
    assert redact_headers(headers) == (
        ("Accept", "a"),
        ("Authorization", "Bearer <redacted>"),
        ("Accept", "b"),
    )


# ----------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://alice:pw@registry/v2/", "https://alice:<redacted>@registry/v2/"),
        ("https://tokenonly@registry/v2/", "https://<redacted>@registry/v2/"),
        (
            "https://b.s3.amazonaws.com/x?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=1200&X-Amz-SignedHeaders=host"
            "&X-Amz-Security-Token=FwoGZXIvYXdzE&X-Amz-Signature=f00dfeed",
            "https://b.s3.amazonaws.com/x?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=<redacted>%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=1200&X-Amz-SignedHeaders=host"
            "&X-Amz-Security-Token=<redacted>&X-Amz-Signature=<redacted>",
        ),
        (
            "https://production.cloudflare.docker.com/registry-v2/data?verify=1718881234-a1b2c3d4e5",
            "https://production.cloudflare.docker.com/registry-v2/data?verify=1718881234-<redacted>",
        ),
        (
            "https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2024-01-01T00%3A00Z&sr=b&sp=r&sig=abc%2Bdef",
            "https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2024-01-01T00%3A00Z&sr=b&sp=r&sig=<redacted>",
        ),
        (
            "https://storage.googleapis.com/b/o?X-Goog-Credential=sa%40p.iam%2F20240101&X-Goog-Signature=abc",
            "https://storage.googleapis.com/b/o?X-Goog-Credential=<redacted>%2F20240101&X-Goog-Signature=<redacted>",
        ),
        (
            "https://d1.cloudfront.net/x?Expires=1700000000&Signature=abc~def&Key-Pair-Id=K2",
            "https://d1.cloudfront.net/x?Expires=1700000000&Signature=<redacted>&Key-Pair-Id=K2",
        ),
        (
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository:library/x:pull",
            "https://auth.docker.io/token?service=registry.docker.io&scope=repository:library/x:pull",
        ),
        ("not a url [", "not a url ["),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(expected) == expected  # idempotent


def test_redact_url_scrubs_caller_secrets_in_path_and_query() -> None:
    assert (
        redact_url("https://r/v2/hunter2pw/x?q=hunter2pw", ["hunter2pw"])
        == "https://r/v2/<redacted>/x?q=<redacted>"
    )
    assert "p%40ss" not in redact_url("https://r/x?a=p%40ss-word", ["p@ss-word"])


# ----------------------------------------------------------------------------- bodies


def test_token_response_keeps_neither_token_nor_claims_in_the_body() -> None:
    body = json.dumps(
        {"token": JWT, "access_token": JWT, "expires_in": 300, "issued_at": "2024-01-01T00:00:00Z"}
    ).encode()
    text = redact_body(body, "application/json")
    assert SIGNATURE not in text and JWT not in text
    parsed = json.loads(text)
    assert parsed == {
        "token": "<redacted>",
        "access_token": "<redacted>",
        "expires_in": 300,
        "issued_at": "2024-01-01T00:00:00Z",
    }
    # The claims are evidence kept beside the body (Exchange.token_claims), read from the real answer.
    claims = token_answer_claims(body)
    assert claims is not None and claims.sub == "alice"
    assert claims.access == (TokenAccess("repository", "library/busybox", ("pull",)),)


def test_refresh_token_and_opaque_tokens() -> None:
    body = b'{"access_token": "opaque-abcdef", "refresh_token": "refresh-123456", "scope": "x"}'
    parsed = json.loads(redact_body(body, "application/json"))
    assert parsed == {"access_token": "<redacted>", "refresh_token": "<redacted>", "scope": "x"}


def test_json_without_secrets_keeps_its_text() -> None:
    body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}'
    assert redact_body(body, "application/json") == body.decode()


def test_truncated_json_token_is_still_redacted() -> None:
    body = ('{"token": "' + JWT + '", "expires_in": 300, "padding": "').encode()[:200]
    text = redact_body(body, "application/json")
    assert SIGNATURE not in text and CLAIMS["jti"] not in text
    assert '"token": "<redacted>"' in text


@pytest.mark.parametrize(
    ("body", "ctype", "expected"),
    [
        (
            b"grant_type=password&username=alice&password=pw%21&client_id=docker&access_type=offline",
            "application/x-www-form-urlencoded",
            "grant_type=password&username=alice&password=<redacted>&client_id=docker&access_type=offline",
        ),
        (
            b"grant_type=refresh_token&refresh_token=r3fr3sh&service=reg",
            None,
            "grant_type=refresh_token&refresh_token=<redacted>&service=reg",
        ),
    ],
)
def test_form_bodies(body: bytes, ctype: str | None, expected: str) -> None:
    assert redact_body(body, ctype) == expected


def test_secrets_in_plain_json_and_base64_forms() -> None:
    secret = "correct-horse-battery"
    basic = base64.b64encode(f"alice:{secret}".encode()).decode()
    text = f'error for {secret}; json "{json.dumps(secret)[1:-1]}"; b64 {basic}'
    scrubbed = scrub_text(text, [secret])
    assert secret not in scrubbed
    assert basic[8:] not in scrubbed


def test_binary_body_is_a_base64_prefix() -> None:
    body = bytes(range(256)) * 100
    text, encoding, truncated = recorded_body(body, "application/octet-stream", [], 65536)
    assert encoding == "base64" and truncated
    assert base64.b64decode(text) == body[:1024]


def test_text_body_capped_after_redaction() -> None:
    body = ("x" * 100 + '{"token": "' + JWT + '"}').encode()
    text, encoding, truncated = recorded_body(body, "text/plain", [], 120)
    assert encoding == "utf-8" and truncated and len(text.encode()) <= 120
    assert SIGNATURE not in text


# ----------------------------------------------------------------------------- end to end

PASSWORD = "pl4nted-Passw0rd"
COOKIE = "sessionCOOKIEvalue42"
AMZ_SIG = "a1b2c3d4e5f6SIGNATURE"
URL_PASSWORD = "urlPASSWORDinline"


class Planted(QuietHandler):
    """A registry that echoes secrets back in every place it can."""

    def do_GET(self) -> None:
        self.seen()
        port = self.server.server_address[1]
        if self.path.startswith("/v2/x/blobs"):
            location = f"http://localhost:{port}/storage?X-Amz-Signature={AMZ_SIG}&X-Amz-Expires=1200"
            self.reply(307, b"", [("Location", location), ("Set-Cookie", f"sid={COOKIE}; Path=/")])
        elif self.path.startswith("/storage"):
            self.reply(
                200,
                b"\x1f\x8b" + PASSWORD.encode() + b"\0" * 10,
                [("Content-Type", "application/octet-stream")],
            )
        elif self.path.startswith("/token"):
            body = json.dumps({"token": JWT, "access_token": JWT, "refresh_token": "opaque-refresh-99"})
            self.reply(200, body.encode(), [("Content-Type", "application/json")])
        else:
            echoed = f"you said {PASSWORD} and {JWT} at {self.path}".encode()
            self.reply(401, echoed, [("WWW-Authenticate", f'Bearer realm="http://127.0.0.1:{port}/token"')])

    def do_POST(self) -> None:
        seen = self.seen()
        self.reply(400, b"bad form: " + seen.body, [("Content-Type", "text/plain")])


def test_planted_secrets_never_reach_the_recording() -> None:
    recorder = Recorder()
    with serve(Planted) as server:
        base = server.url("")
        with RecordingClient(
            recorder, Strategy.V2_ONLY, TransportOptions(timeout=5), secrets=[PASSWORD]
        ) as c:
            c.send("ping", "GET", base + "/v2/", basic_auth=("alice", PASSWORD))
            c.send(
                "token",
                "GET",
                base + "/token?service=reg&scope=repository:x:pull",
                basic_auth=("alice", PASSWORD),
            )
            c.send(
                "manifest",
                "GET",
                base + "/v2/x/manifests/latest",
                headers=[("Authorization", f"Bearer {JWT}")],
            )
            c.send(
                "layer",
                "GET",
                base + "/v2/x/blobs/sha256:1",
                headers=[("Authorization", f"Bearer {JWT}"), ("Cookie", f"sid={COOKIE}")],
            )
            c.send(
                "token",
                "POST",
                base + "/token",
                body=f"grant_type=password&username=alice&password={PASSWORD}".encode(),
            )
            c.send("ping", "GET", base.replace("http://", f"http://alice:{URL_PASSWORD}@") + "/v2/")
            c.send("refresh", "GET", f"http://alice:{PASSWORD}@127.0.0.1:1/v2/")  # refused
            c.refuse("v1", "GET", base + f"/v1/{PASSWORD}", f"no basic auth credentials ({PASSWORD})")
    everything = repr(recorder.exchanges())
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, JWT, SIGNATURE, COOKIE, AMZ_SIG, URL_PASSWORD, basic, "opaque-refresh-99"):
        assert secret not in everything, secret
    # ... while the evidence survives
    assert (
        'Basic <redacted: user \\"alice\\">' in everything or 'Basic <redacted: user "alice">' in everything
    )
    assert "diagnose_token_claims" not in everything
    claims = [e.token_claims for e in recorder.exchanges() if e.token_claims is not None]
    assert len(claims) == 1 and claims[0].sub == "alice"
    assert "X-Amz-Expires=1200" in everything
    assert len(recorder.exchanges()) == 9  # the redirect is two exchanges; refuse() is one


# ----------------------------------------------------------------------------- echoed spellings

ECHOED = 'Pa55/w:rd "é+&<\\x~Q'


@pytest.mark.parametrize("form", echo_forms(ECHOED), ids=range(len(echo_forms(ECHOED))))
def test_scrub_text_catches_every_spelling_of_a_secret(form: str) -> None:
    scrubbed = scrub_text(f"before {form} after", [ECHOED])
    assert scrubbed.startswith("before ") and scrubbed.endswith(" after")
    assert form not in scrubbed and "<redacted>" in scrubbed


@pytest.mark.parametrize(
    "form",
    [
        json.dumps(json.dumps(ECHOED)),  # JSON quoted inside JSON
        "&quot;".join(ECHOED.split('"')),  # an HTML error page
        quote(quote(ECHOED, safe=""), safe=""),  # percent-encoded twice
        quote("".join(f"\\u{ord(c):04x}" for c in ECHOED), safe=""),  # \u escapes in a URL query
        base64.b64encode(f"alice:{ECHOED}".encode()).decode(),  # Basic value, any alignment
    ],
)
def test_scrub_text_catches_nested_spellings(form: str) -> None:
    assert "5/w" not in scrub_text(form, [ECHOED]).replace("\\", "")
    assert form not in scrub_text(form, [ECHOED])


def test_long_tokens_are_scrubbed_whole_and_fast() -> None:
    import time

    token = "opaqueTOKEN" + "x7" * 600
    started = time.monotonic()
    for form in (token, quote(token), token.encode().hex(), base64.b64encode(token.encode()).decode()):
        assert scrub_text(f"a {form} b", [token]) == "a <redacted> b"
    body = json.dumps({"message": "lorem ipsum dolor sit amet " * 2500})
    scrub_text(body, [token, ECHOED, f"alice:{ECHOED}"])
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("text", ["sha256:" + "ab" * 32, "library/busybox:latest", "registry 127.0.0.1:5000"])
def test_scrub_text_leaves_evidence_alone(text: str) -> None:
    assert scrub_text(text, [ECHOED, "hunter2", "alice:hunter2"]) == text


def test_scrub_value_reaches_every_string_of_a_result() -> None:
    from diagnose.model import Outcome, PullError, PullResult, RegistryError

    error = PullError(
        step="manifest",
        registry_errors=(RegistryError("DENIED", f"you sent {ECHOED}", json.dumps({"p": ECHOED})),),
        challenge_error=f"invalid_token {ECHOED}",
        detail=ECHOED,
    )
    result = PullResult(Strategy.V2_ONLY, Outcome.DENIED, None, ECHOED, "c", error=error, notes=(ECHOED,))
    scrubbed = scrub_value(result, lambda t: scrub_text(t, [ECHOED]))
    assert "5/w" not in repr(scrubbed).replace("\\", "")
    assert scrubbed.outcome is Outcome.DENIED and scrubbed.strategy is Strategy.V2_ONLY
    assert scrubbed.error is not None and scrubbed.error.registry_errors[0].code == "DENIED"
