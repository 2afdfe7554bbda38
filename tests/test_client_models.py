"""Table tests of every client model's wording: one row per message per client, source cited.

The pulls are hand-made (tests/factories.py) in the shape each puller records, so every row
states the registry answers and the exact text that client prints for them.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from diagnose.clients.base import PullFacts
from diagnose.clients.catalogue import BY_ID, IDS, predict_all, strategies_for
from diagnose.model import FailureKind, Outcome, PullResult, Strategy
from diagnose.reference import parse_reference
from tests.factories import VERSION, PullBuilder, basic, bearer, error_at, errors_body

REPO = "library/thisimagedoesntexist"
HUB_REF = "thisimagedoesntexist"
DENIED_PLUS = errors_body(("UNAUTHORIZED", "authentication required"))
DETAIL_BODY = json.dumps(
    {
        "errors": [
            {
                "code": "UNAUTHORIZED",
                "message": "authentication required",
                "detail": [{"Type": "repository", "Class": "", "Name": REPO, "Action": "pull"}],
            }
        ]
    }
)
TAG_BODY = json.dumps(
    {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "x"}}]}
)


def _token(b: PullBuilder) -> None:
    b.http("token", "https://auth.docker.io/token?service=registry.docker.io&scope=repository:x:pull", 200)


def hub_missing(strategy: Strategy) -> PullResult:
    """Docker Hub, anonymous, repository missing or private: 401 insufficient_scope."""
    b = PullBuilder(strategy)
    if strategy is not Strategy.CONTAINERD:
        b.http("ping", "/v2/", 401, headers=[VERSION, bearer(REPO)], body=DENIED_PLUS)
    else:
        b.http("manifest", f"/v2/{REPO}/manifests/latest", 401, method="HEAD", headers=[bearer(REPO)])
    _token(b)
    m = b.http(
        "manifest",
        f"/v2/{REPO}/manifests/latest",
        401,
        method="HEAD" if strategy is Strategy.CONTAINERD else "GET",
        headers=[VERSION, bearer(REPO, "insufficient_scope")],
        body="" if strategy is Strategy.CONTAINERD else DETAIL_BODY,
        request_headers=(("Authorization", "Bearer [REDACTED]"),),
    )
    return b.build(Outcome.UNAUTHORIZED, "", error=error_at(m))


def tag_missing(strategy: Strategy) -> PullResult:
    """registry:2, open, tag missing: 404 MANIFEST_UNKNOWN with detail {"Tag": "x"}."""
    b = PullBuilder(strategy, host="registry:5000")
    if strategy is not Strategy.CONTAINERD:
        b.http("ping", "/v2/", 200, headers=[VERSION])
    head = strategy is Strategy.CONTAINERD
    m = b.http(
        "manifest",
        "/v2/busybox/manifests/x",
        404,
        method="HEAD" if head else "GET",
        headers=[VERSION],
        body="" if head else TAG_BODY,
    )
    return b.build(Outcome.NOT_FOUND, "", error=error_at(m))


def basic_no_creds(strategy: Strategy) -> PullResult:
    """htpasswd registry:2 without credentials: Basic challenge; docker refuses client-side."""
    b = PullBuilder(strategy, host="registry:5000")
    if strategy is Strategy.CONTAINERD:
        m = b.http("manifest", "/v2/app/manifests/latest", 401, method="HEAD", headers=[VERSION, basic()])
        return b.build(Outcome.UNAUTHORIZED, "", error=error_at(m))
    b.http("ping", "/v2/", 401, headers=[VERSION, basic()], body=DENIED_PLUS)
    if strategy is Strategy.DOCKER_ENDPOINTS:
        m = b.fail(
            "manifest",
            "/v2/app/manifests/latest",
            FailureKind.CLIENT_SIDE,
            "no basic auth credentials",
            method="HEAD",
        )
    else:
        m = b.http("manifest", "/v2/app/manifests/latest", 401, headers=[VERSION, basic()], body=DENIED_PLUS)
    return b.build(Outcome.UNAUTHORIZED, "", error=error_at(m))


def wrong_password(strategy: Strategy) -> PullResult:
    """Docker Hub token endpoint 401 with a legacy {"details": …} body."""
    b = PullBuilder(strategy)
    if strategy is not Strategy.CONTAINERD:
        b.http("ping", "/v2/", 401, headers=[VERSION, bearer(REPO)], body=DENIED_PLUS)
    else:
        b.http("manifest", f"/v2/{REPO}/manifests/latest", 401, method="HEAD", headers=[bearer(REPO)])
    t = b.http(
        "token",
        ""
        "https://auth.docker.io/token?scope=repository%3Alibrary%2Fthisimagedoesntexist%3Apull&service=registry.docker.io",
        401,
        method="POST" if strategy is Strategy.CONTAINERD else "GET",
        body='{"details":"incorrect username or password"}',
    )
    return b.build(Outcome.AUTH_FAILED, "", error=error_at(t))


def refused(strategy: Strategy) -> PullResult:
    b = PullBuilder(strategy, host="127.0.0.1:5000")
    head = strategy is Strategy.CONTAINERD
    path = "/v2/app/manifests/latest" if head else "/v2/"
    f = b.fail(
        "manifest" if head else "ping",
        path,
        FailureKind.REFUSED,
        "Connection refused",
        method="HEAD" if head else "GET",
    )
    return b.build(Outcome.CONNECTION_ERROR, "", error=error_at(f))


SITUATIONS = {
    "hub-missing": (hub_missing, HUB_REF),
    "tag-missing": (tag_missing, "registry:5000/busybox:x"),
    "basic-no-creds": (basic_no_creds, "registry:5000/app"),
    "wrong-password": (wrong_password, HUB_REF),
    "refused": (refused, "127.0.0.1:5000/app"),
}

# (client, situation, exact text printed, exit code). The source of every model is on the model
# (``BY_ID[client].source``) and is asserted non-empty below.
ROWS = [
    # docker 17.06 -- moby v17.06.2-ce distribution/errors.go
    (
        "docker-17",
        "hub-missing",
        "Using default tag: latest\nError response from daemon: repository "
        "thisimagedoesntexist not found: does not exist or no pull access",
        1,
    ),
    (
        "docker-17",
        "tag-missing",
        "Error response from daemon: manifest for registry:5000/busybox:x not found",
        1,
    ),
    (
        "docker-17",
        "basic-no-creds",
        "Using default tag: latest\nError response from daemon: Get "
        "https://registry:5000/v2/app/manifests/latest: no basic auth credentials",
        1,
    ),
    # docker 18.09 -- moby v18.09.9 distribution/errors.go
    (
        "docker-18",
        "hub-missing",
        "Using default tag: latest\nError response from daemon: pull access denied for "
        "thisimagedoesntexist, repository does not exist or may require 'docker login'",
        1,
    ),
    (
        "docker-18",
        "refused",
        "Using default tag: latest\nError response from daemon: Get https://127.0.0.1:5000/v2/: "
        "dial tcp 127.0.0.1:5000: getsockopt: connection refused",
        1,
    ),
    # docker 20.10 -- moby v20.10.24 distribution/errors.go (errors.Wrapf), vendored distribution errors.go
    (
        "docker-20.10",
        "hub-missing",
        "Using default tag: latest\nError response from daemon: pull access denied for "
        "thisimagedoesntexist, repository does not exist or may require 'docker login': denied: "
        "requested access to "
        "the resource is denied",
        1,
    ),
    (
        "docker-20.10",
        "tag-missing",
        "Error response from daemon: manifest for registry:5000/busybox:x not found: "
        "manifest unknown: manifest unknown",
        1,
    ),
    (
        "docker-20.10",
        "basic-no-creds",
        "Using default tag: latest\nError response from daemon: Head "
        '"https://registry:5000/v2/app/manifests/latest": no basic auth credentials',
        1,
    ),
    (
        "docker-20.10",
        "wrong-password",
        "Using default tag: latest\nError response from daemon: Head "
        '"https://registry-1.docker.io/v2/library/thisimagedoesntexist/manifests/latest": '
        "unauthorized: incorrect "
        "username or password",
        1,
    ),
    (
        "docker-20.10",
        "refused",
        "Using default tag: latest\nError response from daemon: Get "
        '"https://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
        1,
    ),
    # docker 29, containerd store -- moby docker-v29.0.0 daemon/containerd/image_pull.go, registry_errors.go
    (
        "docker-29-containerd",
        "hub-missing",
        "Using default tag: latest\nError response from daemon: pull access "
        "denied for thisimagedoesntexist, repository does not exist or may require 'docker login'",
        1,
    ),
    (
        "docker-29-containerd",
        "tag-missing",
        "Error response from daemon: failed to resolve reference "
        '"registry:5000/busybox:x": registry:5000/busybox:x: not found',
        1,
    ),
    (
        "docker-29-containerd",
        "basic-no-creds",
        "Using default tag: latest\nError response from daemon: failed to "
        'resolve reference "registry:5000/app:latest": pull access denied, repository does not '
        "exist or may require "
        "authorization: authorization failed: no basic auth credentials",
        1,
    ),
    (
        "docker-29-containerd",
        "wrong-password",
        "Using default tag: latest\nError response from daemon: error from "
        "registry: authentication required - incorrect username or password",
        1,
    ),
    # ctr 1.6 -- containerd v1.6.20 remotes/docker/resolver.go, authorizer.go, remotes/errors/errors.go
    (
        "containerd",
        "hub-missing",
        'ctr: failed to resolve reference "docker.io/library/thisimagedoesntexist:latest": '
        "pull access denied, repository does not exist or may require authorization: server message: "
        "insufficient_scope: authorization failed",
        1,
    ),
    (
        "containerd",
        "tag-missing",
        'ctr: failed to resolve reference "registry:5000/busybox:x": registry:5000/busybox:x: not found',
        1,
    ),
    (
        "containerd",
        "basic-no-creds",
        'ctr: failed to resolve reference "registry:5000/app:latest": pulling from host '
        "registry:5000 failed with status code [manifests latest]: 401 Unauthorized",
        1,
    ),
    (
        "containerd",
        "wrong-password",
        'ctr: failed to resolve reference "docker.io/library/thisimagedoesntexist:latest": '
        "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized",
        1,
    ),
    (
        "containerd",
        "refused",
        'ctr: failed to resolve reference "127.0.0.1:5000/app:latest": failed to do request: '
        'Head "https://127.0.0.1:5000/v2/app/manifests/latest": dial tcp 127.0.0.1:5000: '
        "connect: connection refused",
        1,
    ),
    # kubelet -- kubernetes pkg/kubelet/images/image_manager.go; containerd v2.1.5 CRI image_pull.go
    (
        "kubelet",
        "tag-missing",
        'Failed to pull image "registry:5000/busybox:x": rpc error: code = NotFound desc = '
        'failed to pull and unpack image "registry:5000/busybox:x": failed to resolve reference '
        '"registry:5000/busybox:x": registry:5000/busybox:x: not found\nError: ErrImagePull',
        1,
    ),
    (
        "kubelet",
        "hub-missing",
        'Failed to pull image "thisimagedoesntexist": rpc error: code = Unknown desc = failed '
        'to pull and unpack image "docker.io/library/thisimagedoesntexist:latest": failed to '
        "resolve reference "
        '"docker.io/library/thisimagedoesntexist:latest": pull access denied, repository does '
        "not exist or may require "
        "authorization: server message: insufficient_scope: authorization failed\nError: ErrImagePull",
        1,
    ),
    # containers/image via podman -- c/image docker/errors.go per version; podman cmd/podman/root.go
    (
        "containers-image-current",
        "hub-missing",
        "Trying to pull docker.io/library/thisimagedoesntexist:latest...\n"
        "Error: initializing source docker://thisimagedoesntexist:latest: reading manifest latest in "
        "docker.io/library/thisimagedoesntexist: requested access to the resource is denied",
        125,
    ),
    (
        "containers-image-5.24",
        "tag-missing",
        "Trying to pull registry:5000/busybox:x...\nError: initializing source "
        "docker://registry:5000/busybox:x: reading manifest x in registry:5000/busybox: manifest unknown",
        125,
    ),
    (
        "containers-image-5.23",
        "hub-missing",
        "Trying to pull docker.io/library/thisimagedoesntexist:latest...\n"
        "Error: initializing source docker://thisimagedoesntexist:latest: reading manifest latest in "
        "docker.io/library/thisimagedoesntexist: errors:\ndenied: requested access to the "
        "resource is denied\n"
        "unauthorized: authentication required",
        125,
    ),
    (
        "containers-image-5.23",
        "wrong-password",
        "Trying to pull docker.io/library/thisimagedoesntexist:latest...\n"
        "Error: initializing source docker://thisimagedoesntexist:latest: unable to retrieve "
        "auth token: invalid "
        "username/password: unauthorized: incorrect username or password",
        125,
    ),
    (
        "containers-image-current",
        "refused",
        "Trying to pull 127.0.0.1:5000/app:latest...\nError: initializing source "
        "docker://127.0.0.1:5000/app:latest: pinging container registry 127.0.0.1:5000: Get "
        '"https://127.0.0.1:5000/v2/": '
        "dial tcp 127.0.0.1:5000: connect: connection refused",
        125,
    ),
    # skopeo 0.1.x (2016) -- containers/image e2e450ea, skopeo 5d589d6d
    (
        "skopeo-2016",
        "hub-missing",
        "FATA[0000] Error initializing image from source docker://thisimagedoesntexist:latest: "
        "unauthorized: authentication required",
        1,
    ),
    (
        "skopeo-2016",
        "tag-missing",
        "FATA[0000] Error initializing image from source docker://registry:5000/busybox:x: "
        "manifest unknown: manifest unknown",
        1,
    ),
    (
        "skopeo-2016",
        "wrong-password",
        "FATA[0000] Error initializing image from source "
        "docker://thisimagedoesntexist:latest: unable to retrieve auth token: 401 unauthorized",
        1,
    ),
    # crane -- go-containerregistry pkg/v1/remote/transport/error.go
    (
        "crane",
        "hub-missing",
        "Error: GET https://index.docker.io/v2/library/thisimagedoesntexist/manifests/latest: "
        "UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:library/thisimagedoesntexist "
        "Type:repository]]",
        1,
    ),
    (
        "crane",
        "tag-missing",
        "Error: GET https://registry:5000/v2/busybox/manifests/x: MANIFEST_UNKNOWN: manifest "
        "unknown; map[Tag:x]",
        1,
    ),
]


@pytest.mark.parametrize(
    ("client", "situation", "expected", "exit_code"), ROWS, ids=[f"{r[0]}:{r[1]}" for r in ROWS]
)
def test_model_wording(client: str, situation: str, expected: str, exit_code: int) -> None:
    model = BY_ID[client]
    build, ref_text = SITUATIONS[situation]
    pull = build(model.strategy)
    assert model.source  # every model cites where its wording was read
    assert model.predict(PullFacts(parse_reference(ref_text), pull)) == (expected, exit_code)


def test_every_issue_id_is_modelled() -> None:
    assert IDS == (
        "docker-1.12",
        "docker-1.12-rhel",
        "skopeo-2016",
        "docker-17",
        "docker-18",
        "docker-20.10",
        "docker-29-containerd",
        "containers-image-5.23",
        "containers-image-5.24",
        "containers-image-current",
        "containerd",
        "kubelet",
        "crane",
    )
    assert strategies_for(["docker-20.10", "kubelet", "crane"]) == (
        Strategy.V2_ONLY,
        Strategy.DOCKER_ENDPOINTS,
        Strategy.CONTAINERD,
    )


def test_success_is_empty_message_and_exit_zero() -> None:
    ref = parse_reference("registry:5000/app")
    pulls = [PullBuilder(s).build(Outcome.OK, "done") for s in Strategy]
    predictions = predict_all(pulls, ref)
    assert len(predictions) == len(IDS)
    assert all((p.message, p.exit_code) == ("", 0) for p in predictions)


def test_docker112_rhel_prefixes_the_trying_line_and_never_the_daemon_prefix() -> None:
    b = PullBuilder(Strategy.V2_THEN_V1)
    pull = b.build(
        Outcome.NOT_FOUND,
        "Using default tag: latest\nPulling repository docker.io/library/thisimagedoesntexist\n"
        "Error: image library/thisimagedoesntexist:latest not found",
    )
    message, code = BY_ID["docker-1.12-rhel"].predict(PullFacts(parse_reference(HUB_REF), pull))
    assert message.split("\n") == [
        "Using default tag: latest",
        "Trying to pull repository docker.io/library/thisimagedoesntexist ... ",
        "Pulling repository docker.io/library/thisimagedoesntexist",
        "Error: image library/thisimagedoesntexist:latest not found",
    ]
    assert code == 1


def test_a_model_bug_becomes_a_message_not_a_traceback() -> None:
    ref = parse_reference("registry:5000/app")
    broken = PullBuilder(Strategy.DOCKER_ENDPOINTS).build(Outcome.PROTOCOL_ERROR, "x")
    # an error naming an exchange that is not recorded, and a step no model knows
    from diagnose.model import PullError

    pull = PullResult(
        **{
            **{f: getattr(broken, f) for f in broken.__slots__},
            "error": PullError(step="weird", exchange_id=999),
        }
    )
    for prediction in predict_all([pull], ref):
        assert prediction.exit_code == 1


def test_docker112_rhel_streams_what_upstream_hides_behind_the_login_prompt() -> None:
    """Upstream 1.12's daemon answers 401 for an unstreamed "unauthorized" and the CLI asks for a
    login (issue 11 D1); the RHEL build has already streamed "Trying to pull repository", so it
    prints the daemon's error bare."""
    error = "Get https://h.example/v2/a/b/manifests/latest: unauthorized: incorrect username or password"
    pull = dataclasses.replace(
        PullBuilder(Strategy.V2_THEN_V1).build(
            Outcome.AUTH_FAILED,
            "Using default tag: latest\n\nPlease login prior to pull:\n"
            "Error: Cannot perform an interactive login from a non TTY device",
        ),
        daemon_error=error,
    )
    message, code = BY_ID["docker-1.12-rhel"].predict(PullFacts(parse_reference("h.example/a/b"), pull))
    assert message.split("\n") == [
        "Using default tag: latest",
        "Trying to pull repository h.example/a/b ... ",
        error,
    ]
    assert code == 1


def test_go_quote_fast_path_matches_go_for_plain_ascii() -> None:
    from diagnose.clients import go_quote

    assert go_quote(b'<a href="x">\\</a>') == '"<a href=\\"x\\">\\\\</a>"'
    assert go_quote(b"[" * 100_000) == '"' + "[" * 100_000 + '"'  # a deep-JSON body, quickly
    assert go_quote("é\t") == '"é\\t"'  # not plain ASCII: the rune-by-rune path
