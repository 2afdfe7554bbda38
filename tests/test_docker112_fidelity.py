"""Docker 1.12 details that are easy to get wrong: endpoint lists, default tag, V1 auth,
transportOK after a client-side refusal, manifests docker 1.12 cannot read; and schema1 for
the strict client. Pure tables where possible, real servers on 127.0.0.1 otherwise."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from diagnose.clients import docker112
from diagnose.lab import LAB_USERS, Lab, LabAuth, LabConfig, start_lab
from diagnose.model import Outcome, Protocol, header_value
from diagnose.pullers.options import PullOptions
from diagnose.pullers.v2_then_v1 import _tag_was_defaulted, lookup_ip, pull_endpoints
from diagnose.reference import parse_reference
from diagnose.run import run_pulls
from diagnose.transport import TransportOptions
from tests.helpers_http import OpenV2Handler, make_pki, serve

VERSION = ("Docker-Distribution-API-Version", "registry/2.0")


RESOLVED = {
    "reg.example": ("192.0.2.7",),
    "lvh.me": ("127.0.0.1",),  # a public name that resolves to loopback
    "ten.example": ("10.1.2.3",),
    "localhost": ("127.0.0.1", "::1"),
}


def fake_lookup(host: str) -> tuple[str, ...]:
    """registry/config.go:155 lookupIP, answered from a table: no DNS in tests."""
    if host in RESOLVED:
        return RESOLVED[host]
    return (host,) if host[:1].isdigit() else ()


SECURE_2 = ["https://{h} v2", "https://{h} v1"]
HUB = ["https://registry-1.docker.io v2", "https://index.docker.io v1"]
INSECURE_4 = ["https://{h} v2", "http://{h} v2", "https://{h} v1", "http://{h} v1"]


@pytest.mark.parametrize(
    ("ref", "options", "expected"),
    [
        pytest.param("ubuntu", PullOptions(), HUB, id="hub"),
        # D2: reference/reference.go:174-187 maps only index.docker.io to docker.io
        pytest.param("registry-1.docker.io/library/x", PullOptions(), SECURE_2, id="D2-registry-1"),
        pytest.param("index.docker.io/library/x", PullOptions(), HUB, id="index-is-the-hub"),
        # D7: config.go:120-126, the Hub is secure whatever the flags say
        pytest.param("ubuntu", PullOptions(insecure_registries=("docker.io",), tls_verify=False), HUB,
                     id="D7-hub-never-insecure"),
        pytest.param("reg.example/x", PullOptions(), SECURE_2, id="private"),
        pytest.param("reg.example:5000/x", PullOptions(insecure_registries=("reg.example:5000",)), INSECURE_4,
                     id="exact-name"),
        pytest.param("reg.example:5000/x", PullOptions(insecure_registries=("reg.example",)), SECURE_2,
                     id="D7-name-without-port-does-not-match"),
        pytest.param("10.1.2.3:5000/x", PullOptions(insecure_registries=("10.0.0.0/8",)), INSECURE_4,
                     id="cidr"),
        pytest.param("10.1.2.3:5000/x", PullOptions(insecure_registries=("10.1.2.3",)), SECURE_2,
                     id="D7-bare-ip-is-not-a-32"),
        pytest.param("ten.example:5000/x", PullOptions(insecure_registries=("10.0.0.0/8",)), INSECURE_4,
                     id="D7-cidr-matches-a-resolved-name"),
        pytest.param("lvh.me:5000/x", PullOptions(), INSECURE_4, id="D7-name-resolving-to-loopback"),
        pytest.param("127.0.0.1:5000/x", PullOptions(), INSECURE_4, id="loopback-ip"),
        pytest.param("localhost:5000/x", PullOptions(), INSECURE_4, id="localhost"),
        pytest.param("unresolvable.invalid:5000/x", PullOptions(), SECURE_2, id="unresolvable-is-secure"),
    ],
)  # fmt: skip
def test_endpoint_list(ref: str, options: PullOptions, expected: list[str]) -> None:
    """moby v1.12.6 registry/service.go:243-260, service_v2.go, service_v1.go, config.go:84-178."""
    parsed = parse_reference(ref)
    endpoints = pull_endpoints(parsed, options, fake_lookup)
    assert [f"{e.url} v{e.version}" for e in endpoints] == [line.format(h=parsed.domain) for line in expected]


def test_lookup_ip_reads_literals_without_dns() -> None:
    assert lookup_ip("10.1.2.3") == ("10.1.2.3",)
    assert lookup_ip("::1") == ("::1",)
    assert "127.0.0.1" in lookup_ip("localhost")


@pytest.mark.parametrize(
    ("text", "defaulted"),
    [
        ("ubuntu", True),
        ("localhost:5000/app", True),
        ("app:1", False),
        ("app@sha256:" + "a" * 64, False),
        ("h:5/a:b", False),
    ],
)
def test_using_default_tag_only_when_the_input_had_none(text: str, defaulted: bool) -> None:
    assert _tag_was_defaulted(parse_reference(text)) is defaulted


def v1_auth(result_exchanges: tuple, step: str) -> list[str | None]:
    return [header_value(e.request.headers, "Authorization") for e in result_exchanges if e.step == step]


def test_v1_session_auth_follows_docker_auth_transport(lab_v1: Lab) -> None:
    """registry/session.go: Basic goes with the X-Docker-Token request when a username is set;
    later requests carry "Authorization: Token <X-Docker-Token>". (The lab is plain HTTP, so the
    https V1 ping fails and the http V1 endpoint, which docker never pings, is used.)"""
    ref = parse_reference(f"{lab_v1.registry_host}/library/oldtimer")
    _, anonymous = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    creds = ("alice", LAB_USERS["alice"])
    _, alice = run_pulls(ref, PullOptions(credentials=creds, tls_verify=False), TransportOptions(timeout=30))
    assert anonymous.ok and alice.ok and alice.protocol is Protocol.V1
    assert v1_auth(anonymous.exchanges, "v1 images") == [None]
    assert v1_auth(alice.exchanges, "v1 images") == ['Basic <redacted: user "alice">']
    for pull in (anonymous, alice):
        later = v1_auth(pull.exchanges, "v1 tag") + v1_auth(pull.exchanges, "v1 ancestry")
        assert later and all((value or "").startswith("Token signature=") for value in later), later


@pytest.fixture(scope="module")
def tls_basic_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    pki = make_pki(Path(tmp_path_factory.mktemp("pki")))
    with start_lab(LabConfig(auth=LabAuth.BASIC, tls=(pki.cert_path, pki.key_path))) as running:
        yield running


def test_no_basic_credentials_does_not_mark_the_host_tls_confirmed(tls_basic_lab: Lab) -> None:
    """allowV1Fallback's url.Error branch returns fallbackError{confirmedV2:false}: transportOK
    stays false, so docker still tries the http V2 endpoint of an insecure host."""
    ref = parse_reference(f"{tls_basic_lab.registry_host}/library/busybox")
    _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    pings = [s.url for s in docker.steps if s.label == "ping"]
    assert pings == [
        f"https://{tls_basic_lab.registry_host}/v2/",
        f"http://{tls_basic_lab.registry_host}/v2/",
    ]
    assert docker.outcome is Outcome.NOT_FOUND and docker.protocol is Protocol.V1


OCI_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "0" * 64,
            "size": 2,
        },
        "layers": [],
    }
).encode()

SCHEMA1 = json.dumps(
    {
        "schemaVersion": 1,
        "name": "library/x",
        "tag": "latest",
        "fsLayers": [{"blobSum": "sha256:" + "1" * 64}],
    }
).encode()


class IgnoresAccept(OpenV2Handler):
    """A registry that serves an OCI manifest whatever the client accepts."""

    def answer(self) -> None:
        if "/manifests/" in self.path:
            self.reply(
                200, OCI_MANIFEST, [VERSION, ("Content-Type", "application/vnd.oci.image.manifest.v1+json")]
            )
        else:
            self.reply(
                404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}', [VERSION]
            )


class Schema1Only(OpenV2Handler):
    def answer(self) -> None:
        if "/manifests/" in self.path:
            self.reply(
                200,
                SCHEMA1,
                [VERSION, ("Content-Type", "application/vnd.docker.distribution.manifest.v1+json")],
            )
        else:
            self.reply(404, b"", [VERSION])

    def do_HEAD(self) -> None:
        self.seen()
        self.reply(200, b"", [VERSION, ("Content-Length", "0")])


def test_docker_112_cannot_read_an_oci_manifest_and_falls_back() -> None:
    with serve(IgnoresAccept) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x")
        _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    assert not docker.ok
    assert not any("Pulling from" in line for line in docker.message.splitlines())
    # The version header keeps confirmedV2 (continueOnError, not allowV1Fallback): no V1.
    assert not any(s.label.startswith("v1") for s in docker.steps)


def test_strict_client_reads_schema1() -> None:
    with serve(Schema1Only) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x")
        v2, _ = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    assert v2.ok, v2.message
    assert [s.label for s in v2.steps if s.label.startswith("layer")] == ["layer 1/1"]


# --- D1: a non-streamed "unauthorized" makes the daemon answer 401; the CLI asks for a login ---

BARE_UNAUTHORIZED = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'


class BareUnauthorized(OpenV2Handler):
    """A V2 registry that answers every manifest with a bare UNAUTHORIZED (detail null)."""

    def answer(self) -> None:
        self.reply(401, BARE_UNAUTHORIZED, [VERSION, ("Content-Type", "application/json")])


def test_bare_unauthorized_ends_in_the_login_prompt() -> None:
    """D12 errcode: a null detail with the default message decodes to a bare ErrorCode, so
    allowV1Fallback does not apply and the ping's confirmedV2 skips V1 (pull_v2.go:749-776). The
    last error, "unauthorized", was never streamed: the daemon answers 401 (moby v1.12.6
    api/server/httputils/errors.go:63) and the CLI prompts (api/client/registry.go:50, :107)."""
    with serve(BareUnauthorized) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x:1")
        _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    assert docker.message == (
        "\nPlease login prior to pull:\nError: Cannot perform an interactive login from a non TTY device"
    )
    assert [(v.when, v.message) for v in docker.variants] == [
        (
            "in a terminal instead (it then waits for a login and retries)",
            "\nPlease login prior to pull:\nUsername: ",
        )
    ]
    assert not any(s.label.startswith("v1") for s in docker.steps)
    assert any("never shows: unauthorized" in note for note in docker.notes)


# --- D12 / issue 6 item 13: blobs are fetched with GET and only docker's headers ---------------

SCHEMA2_CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
SCHEMA2_LAYER = b"layer bytes"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


SCHEMA2 = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": _sha(SCHEMA2_CONFIG),
            "size": len(SCHEMA2_CONFIG),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": _sha(SCHEMA2_LAYER),
                "size": len(SCHEMA2_LAYER),
            }
        ],
    }
).encode()


class OpenSchema2(OpenV2Handler):
    """An open registry serving one schema2 image; ``manifest_type`` is its Content-Type."""

    manifest_type = "application/vnd.docker.distribution.manifest.v2+json"
    missing_layer = False

    def answer(self) -> None:
        if "/manifests/" in self.path:
            self.reply(200, SCHEMA2, [VERSION, ("Content-Type", self.manifest_type)])
        elif self.path.endswith(_sha(SCHEMA2_CONFIG)):
            self.reply(200, SCHEMA2_CONFIG, [VERSION])
        elif self.path.endswith(_sha(SCHEMA2_LAYER)) and not self.missing_layer:
            self.reply(200, SCHEMA2_LAYER, [VERSION])
        else:
            self.reply(
                404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}', [VERSION]
            )


class MissingLayer(OpenSchema2):
    missing_layer = True


class Schema2AsJson(OpenSchema2):
    manifest_type = "application/json"


def _blob_requests(docker_exchanges: tuple) -> list[tuple[str, list[str]]]:
    return [
        (e.request.method, [name.lower() for name, _ in e.request.headers])
        for e in docker_exchanges
        if e.step == "config" or e.step.startswith("layer")
    ]


def test_docker_blob_requests_are_plain_gets_without_accept() -> None:
    """D12 registry/client/transport/http_reader.go:172-184 (layers) and repository.go:627-635
    (config): a bare GET; the manifest's Accept headers never reach a blob request."""
    with serve(OpenSchema2) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x:1")
        _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    assert docker.ok, docker.message
    blobs = _blob_requests(docker.exchanges)
    assert [method for method, _ in blobs] == ["GET", "GET"]
    for _, names in blobs:
        assert "accept" not in names and "authorization" not in names, names
    assert docker.message.splitlines()[-2:] == [
        f"Digest: {_sha(SCHEMA2)}",
        f"Status: Downloaded newer image for 127.0.0.1:{server.port}/library/x:1",
    ]


def test_docker_blob_requests_with_a_token_carry_only_the_bearer(lab: Lab) -> None:
    ref = parse_reference(f"{lab.registry_host}/alice/private-app:latest")
    creds = ("alice", LAB_USERS["alice"])
    _, docker = run_pulls(ref, PullOptions(credentials=creds, tls_verify=False), TransportOptions(timeout=30))
    assert docker.ok, docker.message
    blobs = [e for e in docker.exchanges if e.step == "config" or e.step.startswith("layer")]
    assert blobs and all(e.request.method == "GET" for e in blobs)
    for exchange in blobs:
        names = [name.lower() for name, _ in exchange.request.headers]
        assert "accept" not in names
        assert (header_value(exchange.request.headers, "Authorization") or "").startswith("Bearer ")


def test_a_missing_layer_is_unknown_blob() -> None:
    """D12 registry/client/repository.go:647-651: a blob GET answered 404 is ErrBlobUnknown."""
    with serve(MissingLayer) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x:1")
        _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    assert docker.message.splitlines()[-2:] == ["1: Pulling from library/x", "unknown blob"]
    assert docker.outcome is Outcome.NOT_FOUND


def test_schema2_served_as_application_json_is_read_as_schema1() -> None:
    """D8: D12 manifests.go:86-107 picks the parser by Content-Type only; application/json is
    schema1 (schema1/manifest.go:54), whose libtrust parse wants signatures (jsonsign.go:499-502)."""
    with serve(Schema2AsJson) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x:1")
        _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    assert docker.message == "Error response from daemon: missing signature key"
    assert not any(s.label.startswith("v1") for s in docker.steps)


class StallsOnManifest(OpenV2Handler):
    """Answers the ping (without the version header, so V1 would be next), then never answers
    the manifest within the pull's deadline."""

    def do_GET(self) -> None:
        self.seen()
        if self.path == "/v2/":
            self.reply(200, b"{}")
        else:
            time.sleep(3)
            self.reply(404, b"")


def test_a_stalled_manifest_read_hangs_docker_112() -> None:
    """D4: the manifest client has no http.Client.Timeout (D12 registry/client/repository.go,
    moby v1.12.6 distribution/registry.go:36-45): docker would wait for ever, not time out."""
    with serve(StallsOnManifest) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x:1")
        _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=1.5))
    assert docker.outcome is Outcome.TIMEOUT
    assert docker.message == docker112.NO_TIMEOUT_HANG
    assert docker.daemon_error is not None and docker.daemon_error.endswith(docker112.NO_TIMEOUT_HANG)
    assert not any(s.label.startswith("v1") for s in docker.steps)  # docker never got that far


class BearerThenBasic(OpenV2Handler):
    """A ping with two WWW-Authenticate lines (Bearer, then Basic) and a token endpoint."""

    def do_GET(self) -> None:
        self.seen()
        if self.path == "/v2/":
            port = self.server.server_address[1]
            challenges = [
                ("WWW-Authenticate", f'Bearer realm="http://127.0.0.1:{port}/token",service="s"'),
                ("WWW-Authenticate", 'Basic realm="r"'),
            ]
            self.reply(401, b"{}", [VERSION, *challenges])
        elif self.path.startswith("/token"):
            self.reply(200, b'{"token":"opaque"}', [("Content-Type", "application/json")])
        else:
            self.reply(404, b"", [VERSION])


def test_token_handler_then_basic_handler() -> None:
    """D9: D12 registry/client/auth/session.go:95-105 runs the token handler and then the basic
    handler for every challenge of their scheme: without credentials a token is fetched, then the
    basic handler refuses the request (no basic auth credentials)."""
    with serve(BearerThenBasic) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/x:1")
        _, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=30))
    http_steps = [(s.label, s.status) for s in docker.steps if s.url.startswith("http://")]
    assert http_steps[:3] == [("ping", 401), ("token", 200), ("manifest", None)]
    assert any("no basic auth credentials" in note for note in docker.notes)
