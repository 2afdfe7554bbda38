"""The docker-endpoints and containerd pulls against the lab over real HTTP on 127.0.0.1, and the
client predictions derived from them (and from the two original pulls).

Each test states the request shape the family really sends (its source is in the puller's
docstring) and the exact line the client prints for the lab's answers.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence

import pytest

from diagnose.clients.catalogue import predict_all
from diagnose.lab import LAB_USERS, Lab
from diagnose.model import ClientPrediction, Outcome, PullResult, Strategy
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pulls
from diagnose.transport import TransportOptions

ALICE = ("alice", LAB_USERS["alice"])
ALL = tuple(s for s in Strategy if s is not Strategy.V2_ONLY_ANONYMOUS)  # the contrast pull: a v2-only copy


def pull_all(
    host: str,
    path: str,
    creds: tuple[str, str] | None = None,
    strategies: Sequence[Strategy] = ALL,
    **options: object,
) -> tuple[dict[Strategy, PullResult], dict[str, ClientPrediction]]:
    ref = parse_reference(f"{host}/{path}")
    opts = PullOptions(credentials=creds, tls_verify=False, **options)  # type: ignore[arg-type]
    pulls = run_pulls(ref, opts, TransportOptions(timeout=5), strategies)
    predictions = predict_all(pulls, ref, opts.platform)
    return {p.strategy: p for p in pulls}, {c.client: c for c in predictions}


def requests(pull: PullResult) -> list[tuple[str, str, int | None]]:
    return [
        (e.request.method, e.request.url.split("/", 3)[-1], e.response.status if e.response else None)
        for e in pull.exchanges
    ]


def test_containerd_sends_head_first_no_ping_and_plain_http_to_loopback(lab: Lab) -> None:
    pulls, clients = pull_all(
        lab.registry_host, "library/thisimagedoesntexist", strategies=[Strategy.CONTAINERD]
    )
    pull = pulls[Strategy.CONTAINERD]
    sent = requests(pull)
    assert sent[0] == ("HEAD", "v2/library/thisimagedoesntexist/manifests/latest", 401)
    assert not any(path == "v2/" for _m, path, _s in sent), "containerd never pings /v2/"
    assert all(e.request.url.startswith("http://") for e in pull.exchanges if "/v2/" in e.request.url)
    assert [m for m, _p, _s in sent] == ["HEAD", "GET", "HEAD"]  # HEAD 401, token, HEAD 401 again
    ref = f"{lab.registry_host}/library/thisimagedoesntexist:latest"
    assert clients["containerd"].message == (
        f'ctr: failed to resolve reference "{ref}": pull access denied, repository does not exist or may '
        "require authorization: server message: insufficient_scope: authorization failed"
    )
    assert pull.message == clients["containerd"].message
    assert clients["docker-29-containerd"].message.endswith(
        f"pull access denied for {lab.registry_host}/library/thisimagedoesntexist, repository does not exist "
        "or may require 'docker login'"
    )


def test_docker_endpoints_tries_https_then_http_for_loopback_and_never_v1(lab: Lab) -> None:
    pulls, clients = pull_all(
        lab.registry_host, "library/thisimagedoesntexist", strategies=[Strategy.DOCKER_ENDPOINTS]
    )
    pull = pulls[Strategy.DOCKER_ENDPOINTS]
    urls = [e.request.url for e in pull.exchanges]
    assert urls[0] == f"https://{lab.registry_host}/v2/"
    assert pull.exchanges[0].failure is not None  # the lab speaks plain http
    assert urls[1] == f"http://{lab.registry_host}/v2/"
    assert not any("/v1/" in url for url in urls)
    methods = [(e.step, e.request.method) for e in pull.exchanges if e.step == "manifest"]
    assert methods == [("manifest", "HEAD"), ("manifest", "GET")]  # 20.10 tags.Get: HEAD, then GET
    name = f"{lab.registry_host}/library/thisimagedoesntexist"
    assert clients["docker-20.10"].message == (
        "Using default tag: latest\nError response from daemon: pull access denied for "
        f"{name}, repository does not exist or may require 'docker login': denied: requested access to the "
        "resource is denied"
    )
    assert clients["docker-17"].message.endswith(
        f"repository {name} not found: does not exist or no pull access"
    )
    assert pull.message == clients["docker-20.10"].message


def test_owner_pulls_private_image_with_every_family(lab: Lab) -> None:
    pulls, clients = pull_all(lab.registry_host, "alice/private-app:latest", ALICE)
    assert all(p.ok for p in pulls.values())
    assert all((c.message, c.exit_code) == ("", 0) for c in clients.values())
    oauth = [e for e in pulls[Strategy.CONTAINERD].exchanges if e.step == "token"]
    # containerd's OAuth2 password grant, once for Resolve and once for the Fetcher (each gets
    # an authorizer of its own: remotes/docker/config/hosts.go ConfigureHosts)
    assert [e.request.method for e in oauth] == ["POST", "POST"]


def test_missing_tag(lab: Lab) -> None:
    _pulls, clients = pull_all(lab.registry_host, "library/busybox:nope")
    host = lab.registry_host
    assert clients["docker-20.10"].message == (
        f"Error response from daemon: manifest for {host}/library/busybox:nope not found: "
        "manifest unknown: manifest unknown"
    )
    assert clients["containerd"].message == (
        f'ctr: failed to resolve reference "{host}/library/busybox:nope": '
        f"{host}/library/busybox:nope: not found"
    )
    assert clients["kubelet"].message.startswith(
        f'Failed to pull image "{host}/library/busybox:nope": rpc error: code = NotFound desc = '
    )
    assert clients["crane"].message == (
        f"Error: GET http://{host}/v2/library/busybox/manifests/nope: MANIFEST_UNKNOWN: manifest unknown; "
        "map[Tag:nope]"
    )


def test_wrong_password(lab: Lab) -> None:
    pulls, clients = pull_all(lab.registry_host, "library/alpine", ("alice", "not-her-password"))
    assert pulls[Strategy.CONTAINERD].outcome is Outcome.AUTH_FAILED
    assert clients["containerd"].message == (
        f'ctr: failed to resolve reference "{lab.registry_host}/library/alpine:latest": failed to authorize: '
        "failed to fetch oauth token: unexpected status: 401 Unauthorized"
    )
    assert clients["docker-20.10"].message == (
        "Using default tag: latest\nError response from daemon: Head "
        f'"http://{lab.registry_host}/v2/library/alpine/manifests/latest": '
        "unauthorized: incorrect username or "
        "password"
    )


def test_basic_registry_without_credentials(lab_basic: Lab) -> None:
    pulls, clients = pull_all(lab_basic.registry_host, "library/busybox")
    host = lab_basic.registry_host
    refused = [
        e
        for e in pulls[Strategy.DOCKER_ENDPOINTS].exchanges
        if e.failure and e.failure.kind.value == "client_side"
    ]
    assert refused, "docker refuses to send without Basic credentials"
    assert clients["docker-20.10"].message == (
        "Using default tag: latest\nError response from daemon: Head "
        f'"http://{host}/v2/library/busybox/manifests/latest": no basic auth credentials'
    )
    # containerd 1.6 finds no usable scheme and reports the 401 itself; 1.7.8+ says why
    assert clients["containerd"].message == (
        f'ctr: failed to resolve reference "{host}/library/busybox:latest": pulling from host {host} failed '
        "with status code [manifests latest]: 401 Unauthorized"
    )
    assert clients["docker-29-containerd"].message.endswith(
        "pull access denied, repository does not exist or may require authorization: authorization failed: "
        "no basic auth credentials"
    )


def test_basic_registry_with_credentials(lab_basic: Lab) -> None:
    pulls, _clients = pull_all(lab_basic.registry_host, "library/busybox", ALICE)
    assert all(p.ok for p in pulls.values())


def test_no_matching_platform(lab: Lab) -> None:
    _pulls, clients = pull_all(lab.registry_host, "library/windows-only")
    assert clients["docker-20.10"].message.endswith(
        "no matching manifest for linux/amd64 in the manifest list entries"
    )
    # images/image.go names the index by its digest (checked against the real ctr 1.6).
    message = clients["containerd"].message
    assert re.fullmatch(r"ctr: no match for platform in manifest sha256:[0-9a-f]{64}: not found", message)


def test_rate_limited_and_server_error(lab: Lab) -> None:
    _pulls, clients = pull_all(lab.registry_host, "library/ratelimited")
    assert "toomanyrequests:" in clients["docker-20.10"].message
    assert "429 Too Many Requests" in clients["containerd"].message
    _pulls, clients = pull_all(lab.registry_host, "library/broken")
    assert clients["docker-20.10"].message.endswith(
        "received unexpected HTTP status: 500 Internal Server Error"
    )


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    _pulls, clients = pull_all(
        f"127.0.0.1:{port}", "app", strategies=[Strategy.DOCKER_ENDPOINTS, Strategy.CONTAINERD]
    )
    assert clients["docker-20.10"].message == (
        f'Using default tag: latest\nError response from daemon: Get "http://127.0.0.1:{port}/v2/": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )
    assert clients["containerd"].message == (
        f'ctr: failed to resolve reference "127.0.0.1:{port}/app:latest": failed to do request: Head '
        f'"http://127.0.0.1:{port}/v2/app/manifests/latest": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


@pytest.mark.parametrize(
    ("path", "creds"),
    [
        ("library/thisimagedoesntexist", None),
        ("alice/private-app", None),
        ("library/busybox:nope", None),
        ("library/alpine", ("alice", "not-her-password")),
        ("library/windows-only", None),
        ("library/ratelimited", None),
        ("library/broken", None),
        ("library/busybox", None),
    ],
)
def test_models_of_the_original_pulls_agree_with_those_pullers(
    lab: Lab, path: str, creds: tuple[str, str] | None
) -> None:
    """The c/image-current and docker-1.12 models restate what their pullers already print."""
    pulls, clients = pull_all(
        lab.registry_host, path, creds, strategies=[Strategy.V2_ONLY, Strategy.V2_THEN_V1]
    )
    v2, docker = pulls[Strategy.V2_ONLY], pulls[Strategy.V2_THEN_V1]
    current = clients["containers-image-current"].message
    assert current == "" if v2.ok else current.endswith(v2.message)
    assert clients["docker-1.12"].message == ("" if docker.ok else docker.message)
