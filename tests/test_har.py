"""HAR 1.2: validated against the HAR 1.2 JSON schema, ms start times, a page per pull."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from diagnose.http import TransportOptions
from diagnose.lab import Lab
from diagnose.model import Report
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.render.har import render_har
from diagnose.run import compare
from tests import factories as f
from tests.js_tools import har_schemas

MS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _validate(document: dict[str, Any]) -> None:
    schemas = har_schemas()
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(schema)) for name, schema in schemas.items()
    )
    validator = jsonschema.Draft6Validator(
        schemas["har.json"], registry=registry, format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def _lab_report(lab: Lab, path: str) -> Report:
    ref = parse_reference(f"{lab.registry_host}/{path}")
    return compare(ref, PullOptions(tls_verify=False), TransportOptions(timeout=10), auth_source="test")


def test_schema_check_can_fail() -> None:
    """The validator is live: a HAR without ``log.entries`` is refused."""
    with pytest.raises(AssertionError, match="entries"):
        _validate({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}}})


@pytest.mark.parametrize("scenario", [f.scenario_hub_anonymous_missing, f.scenario_tls, f.scenario_both_ok])
def test_har_of_recorded_scenarios_validates(scenario: Any) -> None:
    document = json.loads(render_har(f.report(scenario())))
    _validate(document)


def test_har_from_a_real_pull_has_ms_times_pages_and_failed_entries(lab: Lab) -> None:
    report = _lab_report(lab, "library/thisimagedoesntexist")
    document = json.loads(render_har(report))
    _validate(document)
    log = document["log"]
    pages = {page["id"] for page in log["pages"]}
    assert pages == {f"pull-{p.strategy.value}" for p in report.pulls}
    assert len(log["entries"]) == len(report.exchanges)
    starts = [entry["startedDateTime"] for entry in log["entries"]]
    assert all(MS_TIME.match(s) for s in starts), starts
    assert starts == sorted(starts)
    assert len(set(starts)) > 1, "ms precision tells the requests apart"
    assert {entry["pageref"] for entry in log["entries"]} == pages
    # The lab speaks plain http: the https ping fails, and is an entry with status 0 and _error.
    failed = [e for e in log["entries"] if e["response"]["status"] == 0]
    assert failed, "the failed https ping is an entry"
    assert all(e["response"]["_error"].startswith("tls") for e in failed)
    assert all(e["time"] >= 0 for e in log["entries"])


def test_har_start_times_follow_the_recording_not_the_clock() -> None:
    """Hand-made or older recordings without start times get the report's time plus elapsed."""
    document = json.loads(render_har(f.report(f.scenario_hub_anonymous_missing())))
    entries = document["log"]["entries"]
    assert entries[0]["startedDateTime"] == "2024-01-02T03:04:05.000Z"
    assert all(MS_TIME.match(e["startedDateTime"]) for e in entries)
