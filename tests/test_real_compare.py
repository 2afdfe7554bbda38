"""``diagnose compare --json`` end to end against the real distribution registry (issue 2 "Done when").

The token-auth instance runs Debian's docker-registry with the project's JWT token server
(Docker-Hub-like policy) over TLS from a throwaway CA; see tests/realreg/stack.py.
"""

from __future__ import annotations

import json

import pytest

from diagnose import cli
from tests.realreg.stack import RealRegistries

pytestmark = pytest.mark.real_registry


def compare_json(
    capsys: pytest.CaptureFixture[str], regs: RealRegistries, ref: str, *extra: str
) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", ref, "--ca-cert", str(regs.ca_cert), "--timeout", "10", "--json", *extra])
    out = capsys.readouterr().out
    code = exited.value.code
    return (code if isinstance(code, int) else 0), json.loads(out)


def by_strategy(report: dict) -> dict[str, dict]:
    return {pull["strategy"]: pull for pull in report["pulls"]}


def test_anonymous_missing_image_on_a_real_registry(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries
) -> None:
    code, report = compare_json(
        capsys, real_registries, f"{real_registries.token}/library/thisimagedoesntexist"
    )
    assert code == 1
    pulls = by_strategy(report)
    assert (pulls["v2-only"]["outcome"], pulls["v2-only"]["protocol"]) == ("unauthorized", "v2")
    assert (pulls["v2-then-v1"]["outcome"], pulls["v2-then-v1"]["protocol"]) == ("not_found", "v1")
    assert "Error: image library/thisimagedoesntexist:latest not found" in pulls["v2-then-v1"]["message"]
    assert report["diagnosis"]["differ"] is True
    # The evidence: distribution answered the manifest GET with 401, and /v1/ with 404.
    statuses = {(e["strategy"], e["step"]): (e["response"] or {}).get("status") for e in report["exchanges"]}
    assert statuses[("v2-only", "manifest")] == 401
    assert statuses[("v2-then-v1", "v1 images")] == 404


def test_owner_missing_repo_is_not_found(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries
) -> None:
    user, password = real_registries.creds("alice")
    code, report = compare_json(
        capsys,
        real_registries,
        f"{real_registries.token}/alice/does-not-exist",
        "--creds",
        f"{user}:{password}",
    )
    assert code == 1
    pulls = by_strategy(report)
    assert (pulls["v2-only"]["outcome"], pulls["v2-only"]["protocol"]) == ("not_found", "v2")
    assert password not in json.dumps(report)


def test_owner_pulls_private_oci_image_docker_112_cannot(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries
) -> None:
    """The seeded images are OCI (skopeo copy from an OCI layout). distribution answers docker
    1.12's Accept list with 404 "OCI manifest found, but accept header does not support OCI
    manifests"; docker falls back to V1 and says "not found". A real, easily misread case."""
    user, password = real_registries.creds("alice")
    code, report = compare_json(
        capsys, real_registries, f"{real_registries.token}/alice/private:1.0", "--creds", f"{user}:{password}"
    )
    assert code == 1
    pulls = by_strategy(report)
    assert pulls["v2-only"]["outcome"] == "ok"
    assert (pulls["v2-then-v1"]["outcome"], pulls["v2-then-v1"]["protocol"]) == ("not_found", "v1")
    assert report["diagnosis"]["id"] == "oci-not-accepted"
    manifest = next(
        e for e in report["exchanges"] if e["strategy"] == "v2-then-v1" and e["step"] == "manifest"
    )
    assert "accept header does not support OCI" in manifest["response"]["body"]


def test_other_user_is_refused_with_401(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries
) -> None:
    user, password = real_registries.creds("bob")
    code, report = compare_json(
        capsys, real_registries, f"{real_registries.token}/alice/private:1.0", "--creds", f"{user}:{password}"
    )
    assert code == 1
    pulls = by_strategy(report)
    # 401 is "unauthorized" whatever the challenge's error= says (insufficient_scope here).
    assert pulls["v2-only"]["outcome"] == "unauthorized"
    assert pulls["v2-only"]["error"]["challenge_error"] == "insufficient_scope"


def test_docker_schema2_image_pulls_both_ways(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries
) -> None:
    """A Docker schema2 copy (skopeo copy --format v2s2) is what docker 1.12 can pull."""
    code, report = compare_json(
        capsys, real_registries, f"{real_registries.token}/library/alpine:3.19-docker"
    )
    assert code == 0, report["diagnosis"]
    pulls = by_strategy(report)
    assert pulls["v2-only"]["outcome"] == pulls["v2-then-v1"]["outcome"] == "ok"
    assert pulls["v2-then-v1"]["protocol"] == "v2"
    assert report["diagnosis"]["id"] == "both-ok" and report["diagnosis"]["differ"] is False
