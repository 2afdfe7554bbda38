"""The client models against the real clients: podman (containers/image 5.23), docker 20.10
(a private dockerd) and containerd 1.6 (a private containerd, ``ctr --hosts-dir``).

For every scenario of the real-registry matrix, the real client pulls from the real
distribution registry and diagnose predicts, from its own pull of the same reference with
the same identity, what that client prints. After removing the wrapper each command adds,
the two must be identical (or both succeed). ``python -m tests.realreg.agreement_table``
prints the same comparison as a table for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realreg.agreement import KNOWN_DIFFERENCES, PAIRS, agreement, predictions
from tests.realreg.plugin import REQUIRE_ENV
from tests.realreg.real_clients import (
    ClientRun,
    Containerd,
    ContainersTool,
    DockerDaemon,
    available,
    start_containerd,
    start_dockerd,
)
from tests.realreg.scenarios import SCENARIOS, Scenario
from tests.realreg.stack import RealRegistries

pytestmark = pytest.mark.real_registry

INSTALL = {"podman": "podman", "buildah": "buildah", "docker": "docker.io", "containerd": "containerd"}


def _require(client: str) -> None:
    if available()[client]:
        return
    reason = f"{client} not found: apt-get install {INSTALL[client]}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def real_podman(real_registries: RealRegistries, tmp_path_factory: pytest.TempPathFactory) -> ContainersTool:
    _require("podman")
    return ContainersTool("podman", tmp_path_factory.mktemp("podman"), real_registries.cert_dir)


@pytest.fixture(scope="module")
def real_buildah(real_registries: RealRegistries, tmp_path_factory: pytest.TempPathFactory) -> ContainersTool:
    _require("buildah")
    return ContainersTool("buildah", tmp_path_factory.mktemp("buildah"), real_registries.cert_dir)


@pytest.fixture(scope="module")
def real_dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerDaemon]:
    _require("docker")
    # dockerd's socket path must stay short (unix sockets are limited to 108 bytes).
    root = Path(tmp_path_factory.mktemp("dockerd"))
    with start_dockerd(root) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def real_containerd(
    real_registries: RealRegistries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Containerd]:
    _require("containerd")
    with start_containerd(Path(tmp_path_factory.mktemp("containerd")), real_registries.ca_cert) as daemon:
        yield daemon


def _modelled(client: str) -> bool:
    """Whether diagnose runs the pull this client's model reads (pullers land one by one)."""
    from diagnose.clients.catalogue import BY_ID
    from diagnose.run import PULLERS

    return BY_ID[PAIRS[client][0]].strategy in PULLERS


CASES = [
    pytest.param(
        client,
        s,
        id=f"{client}-{s.id}",
        marks=[pytest.mark.xfail(reason=KNOWN_DIFFERENCES[(client, s.id)], strict=True)]
        if (client, s.id) in KNOWN_DIFFERENCES
        else [],
    )
    for s in SCENARIOS
    for client in PAIRS
    if _modelled(client)
]


def _run_real(
    client: str,
    scenario: Scenario,
    regs: RealRegistries,
    request: pytest.FixtureRequest,
) -> ClientRun:
    ref, creds = scenario.ref(regs), scenario.creds(regs)
    platform = scenario.platform if scenario.platform != "linux/amd64" else None
    if client in ("podman", "buildah"):
        tool: ContainersTool = request.getfixturevalue(f"real_{client}")
        return tool.pull(ref, creds, with_ca=scenario.with_ca, platform=platform)
    if client == "docker":
        docker: DockerDaemon = request.getfixturevalue("real_dockerd")
        return docker.pull(ref, creds, platform=platform)
    ctr: Containerd = request.getfixturevalue("real_containerd")
    return ctr.pull(ref, creds, with_ca=scenario.with_ca, platform=platform)


@pytest.mark.parametrize(("client", "scenario"), CASES)
def test_prediction_matches_the_real_client(
    client: str, scenario: Scenario, real_registries: RealRegistries, request: pytest.FixtureRequest
) -> None:
    run = _run_real(client, scenario, real_registries, request)
    model = PAIRS[client][0]
    predicted = predictions(real_registries, scenario, (model,))[model]
    result = agreement(scenario, run, predicted)
    assert result.real_ok == result.predicted_ok, (run.stderr, predicted)
    assert result.agrees, f"\nreal      ({client}): {result.real}\npredicted ({model}): {result.predicted}"


def test_the_runners_find_debian_binaries() -> None:
    """The runners use Debian's 20.10 docker CLI, not a newer one that talks another API."""
    for client in INSTALL:
        _require(client)
    assert shutil.which("dockerd") and shutil.which("ctr") and shutil.which("podman")
