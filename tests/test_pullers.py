"""Both pullers against the built-in lab over real HTTP on 127.0.0.1.

Each scenario states what the registry does and what each client must conclude and print,
with the source of the expectation (moby v1.12.6 distribution/ and registry/, containers/image
docker/); "§" marks name the docker 1.12 behaviour (1.5 fallback, 1.6 V1 auth, 1.7 traces).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from diagnose.lab import LAB_USERS, Lab, LabConfig, start_lab
from diagnose.model import FailureKind, Outcome, Protocol, PullResult, Strategy
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pulls
from diagnose.transport import TransportOptions
from tests.helpers_http import make_pki

ALICE = ("alice", LAB_USERS["alice"])


def pulls(
    lab_or_host: Lab | str, path: str, creds: tuple[str, str] | None = None, **options: object
) -> tuple[PullResult, PullResult]:
    host = lab_or_host if isinstance(lab_or_host, str) else lab_or_host.registry_host
    verify = options.pop("verify", True)
    opts = PullOptions(credentials=creds, tls_verify=bool(options.pop("tls_verify", False)), **options)  # type: ignore[arg-type]
    v2, docker = run_pulls(
        parse_reference(f"{host}/{path}"), opts, TransportOptions(verify=verify, timeout=5)
    )
    assert v2.strategy is Strategy.V2_ONLY and docker.strategy is Strategy.V2_THEN_V1
    return v2, docker


def statuses(result: PullResult) -> list[tuple[str, int | None]]:
    return [(step.label, step.status) for step in result.steps]


def test_anonymous_missing_image_unauthorized_vs_v1_not_found(lab: Lab) -> None:
    """§1.7 trace 1: V2 401 -> allowV1Fallback -> V1 404 -> 'Error: image … not found'."""
    v2, docker = pulls(lab, "library/thisimagedoesntexist")
    assert (v2.outcome, v2.protocol) == (Outcome.UNAUTHORIZED, Protocol.V2)
    # containers-image >= 5.24 reads error="insufficient_scope" as DENIED and keeps only that.
    assert v2.message == (
        f"reading manifest latest in {lab.registry_host}/library/thisimagedoesntexist: "
        "requested access to the resource is denied"
    )
    assert (docker.outcome, docker.protocol) == (Outcome.NOT_FOUND, Protocol.V1)
    assert docker.message == (
        "Using default tag: latest\n"
        f"Pulling repository {lab.registry_host}/library/thisimagedoesntexist\n"
        "Error: image library/thisimagedoesntexist:latest not found"
    )
    # The V2 401 really happened in the docker pull too: it is evidence, not a guess.
    assert ("manifest", 401) in statuses(docker)
    assert ("v1 images", 404) in statuses(docker)
    assert v2.error is not None and v2.error.challenge_error == "insufficient_scope"


def test_anonymous_private_image_looks_exactly_like_a_missing_one(lab: Lab) -> None:
    missing_v2, missing_docker = pulls(lab, "library/thisimagedoesntexist")
    private_v2, private_docker = pulls(lab, "alice/private-app")
    assert private_v2.outcome is missing_v2.outcome is Outcome.UNAUTHORIZED
    assert private_docker.outcome is missing_docker.outcome is Outcome.NOT_FOUND
    assert statuses(private_v2) == statuses(missing_v2)


def test_owner_pulls_private_image(lab: Lab) -> None:
    v2, docker = pulls(lab, "alice/private-app", ALICE)
    assert v2.outcome is Outcome.OK and docker.outcome is Outcome.OK
    assert docker.protocol is Protocol.V2
    assert docker.message.endswith(
        f"Status: Downloaded newer image for {lab.registry_host}/alice/private-app:latest"
    )
    assert any("repository:alice/private-app:pull" in note for note in v2.notes)


def test_owner_missing_repo_is_not_found_on_v2(lab: Lab) -> None:
    v2, docker = pulls(lab, "alice/does-not-exist", ALICE)
    assert (v2.outcome, v2.protocol) == (Outcome.NOT_FOUND, Protocol.V2)
    assert v2.message.endswith(": manifest unknown")
    # MANIFEST_UNKNOWN is also a fallback case for docker 1.12 (§1.5).
    assert (docker.outcome, docker.protocol) == (Outcome.NOT_FOUND, Protocol.V1)
    assert docker.message.endswith("Error: image alice/does-not-exist:latest not found")


def test_other_user_cannot_see_alices_repo(lab: Lab) -> None:
    v2, docker = pulls(lab, "alice/private-app", ("bob", LAB_USERS["bob"]))
    assert v2.outcome is Outcome.UNAUTHORIZED
    assert docker.outcome is Outcome.NOT_FOUND and docker.protocol is Protocol.V1


def test_missing_tag(lab: Lab) -> None:
    v2, docker = pulls(lab, "library/busybox:no-such-tag")
    assert v2.outcome is Outcome.NOT_FOUND
    assert (
        v2.message == f"reading manifest no-such-tag in {lab.registry_host}/library/busybox: manifest unknown"
    )
    assert docker.message.endswith("Error: image library/busybox:no-such-tag not found")


def test_v1_only_image(lab_v1: Lab) -> None:
    v2, docker = pulls(lab_v1, "library/oldtimer")
    assert v2.outcome is Outcome.UNAUTHORIZED
    assert (docker.outcome, docker.protocol) == (Outcome.OK, Protocol.V1)
    assert "this image was pulled from a legacy registry" in docker.message
    labels = [step.label for step in docker.steps]
    assert labels.index("v1 images") < labels.index("v1 tag") < labels.index("v1 ancestry")


def test_v1_session_sends_empty_basic_auth_to_a_standalone_registry(lab_v1: Lab) -> None:
    """§1.6: Authorization: Basic Og== on V1 requests; recorded as evidence, never as a secret."""
    _, docker = pulls(lab_v1, "library/oldtimer")
    images = [e for e in docker.exchanges if e.step == "v1 images"]
    assert images, "the V1 images request was recorded"
    header = {k.lower(): v for k, v in images[-1].request.headers}
    assert header.get("x-docker-token") == "true"


def test_wrong_password(lab: Lab) -> None:
    """§5 row 11: token endpoint 401; docker skips V1 because the ping confirmed V2."""
    v2, docker = pulls(lab, "library/alpine", ("alice", "not-her-password"))
    assert v2.outcome is Outcome.AUTH_FAILED and docker.outcome is Outcome.AUTH_FAILED
    assert v2.message == (
        "unable to retrieve auth token: invalid username/password: "
        "unauthorized: incorrect username or password"
    )
    # D1: the daemon's error contains "unauthorized", so it answers 401 and the CLI asks for a
    # login (moby v1.12.6 api/server/httputils/errors.go:63, engine-api image_pull.go:35-41).
    assert docker.message == (
        "Using default tag: latest\n\nPlease login prior to pull:\n"
        "Error: Cannot perform an interactive login from a non TTY device"
    )
    assert [v.message for v in docker.variants] == [
        "Using default tag: latest\n\nPlease login prior to pull:\nUsername (alice): "
    ]
    hidden = f"Get http://{lab.registry_host}/v2/library/alpine/manifests/latest: unauthorized: incorrect"
    assert any(hidden in note for note in docker.notes)
    assert docker.protocol is Protocol.V2
    assert not any(step.label.startswith("v1") for step in docker.steps)


def test_basic_registry_without_credentials(lab_basic: Lab) -> None:
    """§1.7 trace 2 (moby#27281): client-side 'no basic auth credentials' -> V1 -> not found."""
    v2, docker = pulls(lab_basic, "library/busybox")
    assert v2.outcome is Outcome.UNAUTHORIZED
    assert v2.message.endswith(": authentication required")
    refused = [s for s in docker.steps if s.result.startswith("not sent")]
    assert refused and refused[0].status is None
    failures = [e.failure for e in docker.exchanges if e.failure is not None]
    assert any(f.kind is FailureKind.CLIENT_SIDE for f in failures)
    assert (docker.outcome, docker.protocol) == (Outcome.NOT_FOUND, Protocol.V1)
    assert docker.message.endswith("Error: image library/busybox:latest not found")


def test_basic_registry_with_credentials(lab_basic: Lab) -> None:
    v2, docker = pulls(lab_basic, "library/busybox", ALICE)
    assert v2.ok and docker.ok


def test_not_a_registry(lab_not_registry: Lab) -> None:
    v2, docker = pulls(lab_not_registry, "library/busybox")
    assert v2.outcome is Outcome.PROTOCOL_ERROR
    assert v2.message.startswith(
        f"pinging container registry {lab_not_registry.registry_host}: StatusCode: 404"
    )
    # docker 1.12 accepts any ping status, then falls back to V1 on the unparseable 404.
    assert docker.outcome is Outcome.NOT_FOUND and docker.protocol is Protocol.V1


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(closed_port: int) -> None:
    v2, docker = pulls(f"127.0.0.1:{closed_port}", "library/x", tls_verify=True)
    assert v2.outcome is Outcome.CONNECTION_ERROR
    assert v2.message == (
        f'pinging container registry 127.0.0.1:{closed_port}: Get "https://127.0.0.1:{closed_port}/v2/": '
        f"dial tcp 127.0.0.1:{closed_port}: connect: connection refused"
    )
    assert docker.outcome is Outcome.CONNECTION_ERROR
    assert "connection refused" in docker.message


@pytest.fixture(scope="module")
def tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory: Path = tmp_path_factory.mktemp("tls")
    pki = make_pki(directory)
    with start_lab(LabConfig(tls=(pki.cert_path, pki.key_path))) as running:
        running.ca_path = pki.ca_path  # type: ignore[attr-defined]
        yield running


def test_tls_unknown_ca(tls_lab: Lab) -> None:
    v2, docker = pulls(tls_lab, "library/busybox", tls_verify=True)
    assert v2.outcome is Outcome.TLS_ERROR
    assert "certificate signed by unknown authority" in v2.message
    # 127.0.0.0/8 is insecure for docker 1.12: it skips verification and pulls.
    assert docker.outcome is Outcome.OK


def test_tls_with_the_right_ca(tls_lab: Lab) -> None:
    v2, _docker = pulls(tls_lab, "library/busybox", tls_verify=True, verify=str(tls_lab.ca_path))  # type: ignore[attr-defined]
    assert v2.outcome is Outcome.OK


def test_no_matching_platform(lab: Lab) -> None:
    v2, docker = pulls(lab, "library/windows-only")
    assert v2.outcome is Outcome.UNSUPPORTED and docker.outcome is Outcome.UNSUPPORTED
    assert 'no image found in manifest list for architecture "amd64"' in v2.message
    assert docker.message.endswith("no supported platform found in manifest list")


def test_platform_choice_from_index(lab: Lab) -> None:
    amd, _ = pulls(lab, "library/busybox")
    arm, _ = pulls(lab, "library/busybox", platform="linux/arm64")
    assert amd.ok and arm.ok
    amd_platform = next(s for s in amd.steps if s.label == "platform manifest")
    arm_platform = next(s for s in arm.steps if s.label == "platform manifest")
    assert amd_platform.url != arm_platform.url


def test_corrupt_config_is_an_integrity_error(lab: Lab) -> None:
    v2, docker = pulls(lab, "library/corrupt")
    assert v2.outcome is Outcome.INTEGRITY_ERROR and docker.outcome is Outcome.INTEGRITY_ERROR
    assert "does not match expected" in v2.message
    assert "image config verification failed" in docker.message


def test_rate_limited_is_not_a_fallback_case(lab: Lab) -> None:
    v2, docker = pulls(lab, "library/ratelimited")
    assert v2.outcome is Outcome.RATE_LIMITED and docker.outcome is Outcome.RATE_LIMITED
    assert docker.message.splitlines()[-1].startswith("Error response from daemon: toomanyrequests:")
    assert not any(step.label.startswith("v1") for step in docker.steps)


def test_server_error(lab: Lab) -> None:
    v2, docker = pulls(lab, "library/broken")
    assert v2.outcome is Outcome.SERVER_ERROR
    assert v2.message.endswith("received unexpected HTTP status: 500 Internal Server Error")
    assert docker.outcome is Outcome.SERVER_ERROR


def test_redirected_blobs_keep_no_signature_anywhere(lab: Lab) -> None:
    v2, docker = pulls(lab, "library/redirected", verify_layers=True)
    assert v2.ok and docker.ok
    seen = [e for e in v2.exchanges if e.redirect_of is not None]
    assert seen, "the 307 hop was recorded as its own exchange"
    everything = repr(v2) + repr(docker)
    for request in lab.requests_seen():
        if "X-Amz-Signature=" in request.path:
            signature = request.path.split("X-Amz-Signature=")[1].split("&")[0]
            assert signature not in everything


def test_exchange_ids_are_global_and_ordered(lab: Lab) -> None:
    v2, docker = pulls(lab, "library/busybox")
    ids = sorted(e.id for e in v2.exchanges + docker.exchanges)
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert {e.strategy for e in v2.exchanges} == {Strategy.V2_ONLY}


def test_oci_image_is_invisible_to_docker_112(lab: Lab) -> None:
    """distribution hides an OCI manifest from a client that does not accept OCI types."""
    v2, docker = pulls(lab, "library/oci-only")
    assert v2.ok
    assert (docker.outcome, docker.protocol) == (Outcome.NOT_FOUND, Protocol.V1)
    assert ("manifest", 404) in statuses(docker)
