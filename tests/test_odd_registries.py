"""Registries that misbehave: each gives an outcome with evidence and a documented exit code.

Every server here is a small handler on 127.0.0.1 (tests/helpers_http.py). The CLI runs
in-process through ``cli.main``; a traceback or exit code 3 is a failure of diagnose.
"""

from __future__ import annotations

import hashlib
import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from diagnose import cli
from tests.helpers_http import OpenV2Handler, QuietHandler, serve

VERSION = ("Docker-Distribution-API-Version", "registry/2.0")


def compare(capsys: pytest.CaptureFixture[str], host: str, *extra: str) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", f"{host}/library/x", "--no-tls-verify", "--timeout", "2", "--json", *extra])
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), json.loads(captured.out)


def outcomes(report: dict) -> dict[str, str]:
    return {p["strategy"]: p["outcome"] for p in report["pulls"]}


class HtmlUnauthorized(QuietHandler):
    """A proxy in front of the registry: 401 with an HTML page and a challenge nobody speaks."""

    def do_GET(self) -> None:
        self.seen()
        self.reply(
            401,
            b"<html><body>Login required</body></html>",
            [("Content-Type", "text/html"), ("WWW-Authenticate", "Negotiate")],
        )


class BrokenRealm(QuietHandler):
    """A Bearer challenge whose realm is not a URL: the token cannot even be requested."""

    def do_GET(self) -> None:
        self.seen()
        self.reply(401, b"{}", [VERSION, ("WWW-Authenticate", 'Bearer realm="unterminated, ,,=;')])


class TokenServerSaysHtml(QuietHandler):
    """/v2/ asks for a Bearer token from this same server, whose token endpoint answers HTML."""

    def do_GET(self) -> None:
        self.seen()
        host = self.headers.get("Host", "")
        if self.path.startswith("/token"):
            self.reply(200, b"<html>maintenance</html>", [("Content-Type", "text/html")])
        else:
            challenge = f'Bearer realm="http://{host}/token",service="x"'
            self.reply(401, b'{"errors":[]}', [VERSION, ("WWW-Authenticate", challenge)])


class ManifestNotJson(OpenV2Handler):
    def answer(self) -> None:
        self.reply(200, b"\x89PNG not a manifest", [VERSION, ("Content-Type", "application/json")])


class RedirectLoop(OpenV2Handler):
    def answer(self) -> None:
        self.reply(302, b"", [("Location", self.path)])


class Hangs(OpenV2Handler):
    """Answers the ping, then never answers the manifest request."""

    def answer(self) -> None:
        time.sleep(30)


class EndlessBody(OpenV2Handler):
    """Claims a 5 GB manifest and streams zeros until the client goes away."""

    def answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
        self.send_header("Content-Length", str(5 * 1024**3))
        self.end_headers()
        chunk = b"0" * 65536
        try:
            for _ in range(5 * 1024**3 // len(chunk)):
                self.wfile.write(chunk)
        except OSError:
            return


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (HtmlUnauthorized, {"v2-only": "unauthorized", "v2-then-v1": "unauthorized"}),
        (BrokenRealm, {"v2-only": "protocol_error"}),
        (TokenServerSaysHtml, {"v2-only": "protocol_error", "v2-then-v1": "protocol_error"}),
        (ManifestNotJson, {"v2-only": "protocol_error"}),
        (RedirectLoop, {"v2-only": "protocol_error"}),
        (Hangs, {"v2-only": "timeout"}),
        (EndlessBody, {"v2-only": "protocol_error"}),
    ],
    ids=["html-401", "broken-realm", "token-html", "manifest-not-json", "redirect-loop", "hangs", "5gb-body"],
)
def test_misbehaviour_is_an_outcome_not_a_traceback(
    capsys: pytest.CaptureFixture[str], handler: type[BaseHTTPRequestHandler], expected: dict[str, str]
) -> None:
    with serve(handler) as server:
        started = time.monotonic()
        code, report = compare(capsys, f"127.0.0.1:{server.port}")
        elapsed = time.monotonic() - started
    assert code == 1
    got = outcomes(report)
    for strategy, outcome in expected.items():
        assert got[strategy] == outcome, report["pulls"]
    assert report["diagnosis"]["title"]
    for exchange in report["exchanges"]:
        body = (exchange["response"] or {}).get("body", "")
        assert len(body) <= 64 * 1024 + 1024, "recorded bodies are capped"
    assert elapsed < 60, "a hanging or endless server must not hold diagnose"


def test_redirect_loop_is_recorded_hop_by_hop(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(RedirectLoop) as server:
        _code, report = compare(capsys, f"127.0.0.1:{server.port}")
    hops = [e for e in report["exchanges"] if e["strategy"] == "v2-only" and e["redirect_of"] is not None]
    assert len(hops) >= 10
    assert any((e["failure"] or {}).get("kind") == "too_many_redirects" for e in report["exchanges"])


PASSWORD = "s3cretPassw0rd"


class EchoesAuthorization(QuietHandler):
    """Basic registry whose error page quotes the request's Authorization header back."""

    def do_GET(self) -> None:
        seen = self.seen()
        if self.path == "/v2/":
            self.reply(401, b"{}", [VERSION, ("WWW-Authenticate", 'Basic realm="r"')])
            return
        echoed = ", ".join(seen.values("Authorization")).encode()
        self.reply(400, b"bad request from " + echoed, [VERSION, ("Content-Type", "text/plain")])


class RealmWithUserinfo(QuietHandler):
    """The challenge's realm carries user:password, and nothing listens there."""

    def do_GET(self) -> None:
        self.seen()
        self.reply(
            401, b"{}", [VERSION, ("WWW-Authenticate", f'Bearer realm="http://bob:{PASSWORD}@127.0.0.1:1/t"')]
        )


class PresignedToClosedPort(OpenV2Handler):
    """Blobs redirect to a presigned URL on a port where nothing listens."""

    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": "sha256:" + "a" * 64,
            },
            "layers": [],
        }
    ).encode()

    def answer(self) -> None:
        if "/manifests/" in self.path:
            self.reply(
                200,
                self.manifest,
                [VERSION, ("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")],
            )
        else:
            location = (
                f"http://127.0.0.1:1/bucket/blob?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={PASSWORD}"
            )
            self.reply(307, b"", [("Location", location)])


class DeepJson(OpenV2Handler):
    def answer(self) -> None:
        body = b"[" * 100_000 + b"]" * 100_000
        self.reply(404, body, [VERSION, ("Content-Type", "application/json")])


class BadIpv6Realm(QuietHandler):
    def do_GET(self) -> None:
        self.seen()
        self.reply(401, b"{}", [VERSION, ("WWW-Authenticate", 'Bearer realm="http://[::1/token"')])


class EscapeSequences(OpenV2Handler):
    def answer(self) -> None:
        body = json.dumps(
            {"errors": [{"code": "DENIED", "message": "\x1b[2J\x1b]0;pwned\x07gotcha"}]}
        ).encode()
        self.reply(403, body, [VERSION, ("Content-Type", "application/json")])


def everything(
    capsys: pytest.CaptureFixture[str], host: str, tmp_path: object, *extra: str
) -> tuple[int, str]:
    """Run compare with every output; return the exit code and all the text it produced."""
    from pathlib import Path

    directory = Path(str(tmp_path))
    files = [directory / "r.json", directory / "t.md", directory / "t.har"]
    args = ["compare", f"{host}/library/x", "--no-tls-verify", "--timeout", "2", *extra]
    args += ["--save", str(files[0]), "--markdown", str(files[1]), "--har", str(files[2])]
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    captured = capsys.readouterr()
    text = captured.out + captured.err + "".join(f.read_text() for f in files)
    code = exited.value.code
    return (code if isinstance(code, int) else 0), text


@pytest.mark.parametrize(
    "handler",
    [EchoesAuthorization, RealmWithUserinfo, PresignedToClosedPort],
    ids=["echoed-authorization", "realm-userinfo", "presigned-redirect-fails"],
)
def test_secrets_in_registry_answers_never_reach_an_output(
    capsys: pytest.CaptureFixture[str], tmp_path: object, handler: type[BaseHTTPRequestHandler]
) -> None:
    import base64

    with serve(handler) as server:
        code, text = everything(capsys, f"127.0.0.1:{server.port}", tmp_path, "--creds", f"alice:{PASSWORD}")
    assert code == 1
    assert PASSWORD not in text
    assert base64.b64encode(f"alice:{PASSWORD}".encode()).decode() not in text


@pytest.mark.parametrize("handler", [DeepJson, BadIpv6Realm], ids=["deep-json", "bad-ipv6-realm"])
def test_hostile_answers_are_outcomes(
    capsys: pytest.CaptureFixture[str], tmp_path: object, handler: type[BaseHTTPRequestHandler]
) -> None:
    with serve(handler) as server:
        code, text = everything(capsys, f"127.0.0.1:{server.port}", tmp_path)
    assert code == 1, text[-500:]
    # A bug inside a puller is caught and labelled "(internal)": that is not an outcome.
    report = json.loads((Path(str(tmp_path)) / "r.json").read_text())
    assert [p["error"]["step"] for p in report["pulls"] if p["error"]].count("(internal)") == 0


def test_terminal_escape_sequences_from_a_registry_are_neutralised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve(EscapeSequences) as server, pytest.raises(SystemExit):
        cli.main(["compare", f"127.0.0.1:{server.port}/library/x", "--no-tls-verify", "--timeout", "2"])
    out = capsys.readouterr().out
    assert "gotcha" in out
    assert "\x1b" not in out and "\x07" not in out


CONFIG = b"{}"
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()


class LayerGone(OpenV2Handler):
    """The manifest names a layer the registry no longer has (HEAD 404 has no body)."""

    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": CONFIG_DIGEST,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": "sha256:" + "5" * 64,
                }
            ],
        }
    ).encode()

    def answer(self) -> None:
        if "/manifests/" in self.path:
            self.reply(
                200,
                self.manifest,
                [VERSION, ("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")],
            )
        elif self.path.endswith(CONFIG_DIGEST):
            self.reply(200, CONFIG, [VERSION])
        else:
            error = {"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": "sha256:5"}
            body = json.dumps({"errors": [error]}).encode()
            self.reply(404, body, [VERSION, ("Content-Type", "application/json")])

    def do_HEAD(self) -> None:
        self.seen()
        self.reply(404, b"", [VERSION])


def test_failed_head_is_asked_again_with_get_for_the_error_body(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(LayerGone) as server:
        code, report = compare(capsys, f"127.0.0.1:{server.port}")
    assert code == 1
    v2 = next(p for p in report["pulls"] if p["strategy"] == "v2-only")
    assert v2["outcome"] == "not_found"
    steps = [e["step"] for e in report["exchanges"] if e["strategy"] == "v2-only"]
    assert "layer 1/1" in steps and "layer 1/1 (GET for the error body)" in steps
    assert [e["code"] for e in v2["error"]["registry_errors"]] == ["BLOB_UNKNOWN"]
