"""The repository explains itself: no pointer outside it, and the JSON contract fully documented.

Reads files only. ``docs/json-report.md`` must name every field a real report has and every
value of every enum in the contract; README, docs, code and tests must not point at files
that live outside this repository.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from diagnose.model import AuthMode, FailureKind, Outcome, Protocol, StepKind, Strategy

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "json-report.md"

# Pointers to the team's notes outside the repository (they are not shipped with it).
OUTSIDE = re.compile(
    r"\.\./shared|shared/|DESIGN\.md|(client|registry)-behaviours(\.md)?|(?<![\w/])reference/[\w-]+\.md"
)


def _project_files() -> Iterator[Path]:
    yield ROOT / "README.md"
    for folder, pattern in (("docs", "*.md"), ("cassettes", "*.md"), ("diagnose", "*.py"), ("tests", "*.py")):
        yield from sorted((ROOT / folder).rglob(pattern))
    yield ROOT / "pyproject.toml"
    yield ROOT / ".ci" / "run"


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for path in _project_files():
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_outside_pattern_catches_pointers() -> None:
    for line in ("See `../shared/DESIGN.md`.", "in reference/client-behaviours.md §3", "(DESIGN.md)"):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("docs/json-report.md, the model shared by every layer")
    assert not OUTSIDE.search("(moby docs/reference/api/hub_registry_spec.md)")  # upstream: fine


def _keys(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            # Header names and option names are data, not fields of the contract.
            if key not in ("headers", "options"):
                yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _documented() -> set[str]:
    text = CONTRACT.read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([a-z_0-9-]+)` \|", text, flags=re.MULTILINE)) | set(
        re.findall(r"`([a-z_0-9-]+)`", text)
    )


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "cassettes").glob("*.json")))
def test_every_field_of_a_report_is_documented(name: str) -> None:
    from diagnose.render.json_report import render_json, report_from_dict

    report = json.loads((ROOT / "cassettes" / f"{name}.json").read_text(encoding="utf-8"))
    rendered = json.loads(render_json(report_from_dict(report)))  # today's fields as well
    rows = set(re.findall(r"^\| `([a-z_0-9]+)` \|", CONTRACT.read_text(encoding="utf-8"), re.MULTILINE))
    missing = sorted(set(_keys(rendered)) - rows)
    assert missing == [], f"fields without a row in docs/json-report.md: {missing}"


@pytest.mark.parametrize("enum", [Outcome, FailureKind, AuthMode, Strategy, Protocol, StepKind])
def test_every_enum_value_is_documented(enum: type) -> None:
    documented = _documented()
    missing = [member.value for member in enum if member.value not in documented]
    assert missing == []


def test_contributing_says_how_to_add_a_rule_and_a_client_model() -> None:
    text = (ROOT / "docs" / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "## Adding a rule" in text and "## Adding a client model" in text
    assert "Rule order is precedence" in text
