"""Differential tests against a real registry: the real skopeo versus our v2-only pull.

For every scenario of tests/realreg/scenarios.py (Debian's ``docker-registry`` 2.8 in
token, htpasswd and no-auth modes, started by the ``real_registries`` fixture) we run the
installed skopeo and our v2-only pull on the same target and check that

(a) both succeed or both fail, and that this is what the scenario expects;
(b) our outcome class is what the recorded HTTP exchanges show (and what the scenario
    expects), e.g. a final 401 from the registry -> ``unauthorized``;
(c) our predicted message, in the wording of the c/image the installed skopeo vendors,
    equals skopeo's real error once the version-dependent wrappers are removed.

Needs ``apt-get install docker-registry skopeo``; marked ``real_registry``.
"""

from __future__ import annotations

import pytest

from tests.realreg.scenarios import SCENARIOS, Scenario
from tests.realreg.skopeo import Skopeo
from tests.realreg.stack import RealRegistries

pytestmark = pytest.mark.real_registry


def run_skopeo(skopeo: Skopeo, regs: RealRegistries, scenario: Scenario):  # type: ignore[no-untyped-def]
    return skopeo.inspect(
        scenario.ref(regs),
        cert_dir=regs.cert_dir if scenario.with_ca else None,
        creds=scenario.creds(regs),
        platform=scenario.platform,
    )


def test_stack_is_up(real_registries: RealRegistries) -> None:
    regs = real_registries
    assert len({regs.token, regs.basic, regs.open, regs.closed}) == 4
    assert (regs.cert_dir / "ca.crt").read_bytes() == regs.ca_cert.read_bytes()
    assert set(regs.users) == {"alice", "bob"}
    assert regs.token_server.startswith("https://127.0.0.1:")
    for log in regs.logs.values():
        assert log.exists()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_skopeo_behaves_as_expected(
    real_registries: RealRegistries, real_skopeo: Skopeo, scenario: Scenario
) -> None:
    run = run_skopeo(real_skopeo, real_registries, scenario)
    assert run.exit_code in (0, 1, 2), run.stderr  # -1: timed out, anything else: crashed
    assert run.ok is scenario.expect_ok, run.stderr
    if not run.ok:
        assert run.core_message, run.stderr
