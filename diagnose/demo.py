"""``diagnose demo``: the classic scenarios against the built-in lab, no internet needed.

This module starts labs on free 127.0.0.1 ports and runs comparisons; it must not render
(the CLI renders the reports it returns) and must never contact anything but the labs.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

from diagnose.http import TransportOptions
from diagnose.lab import LAB_USERS, LabConfig, LabV1, start_lab
from diagnose.model import Report
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import compare


@dataclass(frozen=True, slots=True)
class Scenario:
    """One demo comparison: which lab, which repository, which identity."""

    title: str
    path: str  # repository[:tag] inside the lab
    user: str | None = None
    v1: LabV1 = LabV1.ABSENT
    password: str | None = None  # None: the user's real lab password


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("1. anonymous pull of an image that does not exist", "library/thisimagedoesntexist"),
    Scenario("2. anonymous pull of a private image", "alice/private-app"),
    Scenario("3. the same private image, logged in as its owner (alice)", "alice/private-app", user="alice"),
    Scenario("4. logged in as alice, a repository she does not have", "alice/does-not-exist", user="alice"),
    Scenario("5. a tag that does not exist in a public repository", "library/busybox:no-such-tag"),
    Scenario("6. an image that exists only on the legacy V1 API", "library/oldtimer", v1=LabV1.PRESENT),
    Scenario("7. alice with a wrong password", "alice/private-app", user="alice", password="wrong-password"),
)


def run_demo(progress: Console, timeout: float = 10.0) -> list[Report]:
    """Run every scenario; one lab per V1 mode, stopped before returning."""
    reports: list[Report] = []
    labs = {mode: start_lab(LabConfig(v1=mode)) for mode in (LabV1.ABSENT, LabV1.PRESENT)}
    try:
        for scenario in SCENARIOS:
            lab = labs[scenario.v1]
            ref = parse_reference(f"{lab.registry_host}/{scenario.path}")
            password = scenario.password or LAB_USERS.get(scenario.user or "", "")
            creds = (scenario.user, password) if scenario.user else None
            progress.print(f"diagnose demo: {scenario.title} ({ref.canonical})", markup=False)
            reports.append(
                compare(
                    ref,
                    PullOptions(credentials=creds, tls_verify=False),
                    TransportOptions(timeout=timeout),
                    auth_source="demo",
                )
            )
    finally:
        for lab in labs.values():
            lab.stop()
    return reports
