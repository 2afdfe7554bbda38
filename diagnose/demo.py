"""``diagnose demo``: the catalogue of situations run against the built-in lab, no internet needed.

This module starts labs on free 127.0.0.1 ports (one per distinct lab configuration) and runs
comparisons; it must not render (the CLI renders the reports it returns) and must never
contact anything but the labs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from diagnose.http import TransportOptions
from diagnose.lab import LAB_USERS, Lab, LabConfig, start_lab
from diagnose.lab.scenarios import BY_NAME, SCENARIOS, LabScenario
from diagnose.lab.server import closed_port
from diagnose.model import Report
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import compare

if TYPE_CHECKING:
    from rich.console import Console


class UnknownScenario(ValueError):
    """A name that is not in the catalogue."""


def select(names: Sequence[str] = ()) -> tuple[LabScenario, ...]:
    """The scenarios named (all of them when none is), in the order given."""
    if not names:
        return SCENARIOS
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise UnknownScenario(
            f"unknown scenario {', '.join(unknown)}; `diagnose demo --list` shows the {len(SCENARIOS)} names"
        )
    return tuple(BY_NAME[name] for name in names)


def run_scenario(scenario: LabScenario, lab: Lab, timeout: float = 30.0) -> Report:
    """Compare the scenario's reference against a lab started with ``scenario.config()``."""
    host = f"{lab.config.host}:{closed_port(lab.config.host)}" if scenario.refused else lab.registry_host
    ref = parse_reference(f"{host}/{scenario.path}")
    options = PullOptions(credentials=scenario.credentials(LAB_USERS), tls_verify=scenario.tls_verify)
    return compare(ref, options, TransportOptions(timeout=timeout), auth_source="demo")


def run_demo(progress: Console, names: Sequence[str] = (), timeout: float = 30.0) -> list[Report]:
    """Run the chosen scenarios (``select``'s order); one lab per configuration, all stopped
    before returning."""
    chosen = select(names)
    labs: dict[LabConfig, Lab] = {}
    reports: list[Report] = []
    try:
        for scenario in chosen:
            config = scenario.config()
            if config not in labs:
                labs[config] = start_lab(config)
            lab = labs[config]
            progress.print(f"diagnose demo: {scenario.name}: {scenario.summary}", markup=False)
            reports.append(run_scenario(scenario, lab, timeout))
    finally:
        for lab in labs.values():
            lab.stop()
    return reports
