"""Shared fixtures: the built-in lab on 127.0.0.1, the real-registry plugin, and the guard that
fails any test during which diagnose reported a bug of its own (an ``internal_error`` pull or an
``internal-error`` diagnosis): a bug must never pass for a registry answer."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from diagnose.lab import Lab, LabAuth, LabConfig, LabV1, start_lab
from diagnose.run import TOOL_ERROR_EVENT

pytest_plugins = ["tests.realreg.plugin"]

_TOOL_ERRORS: list[str] = []


def _listen(event: str, args: tuple[object, ...]) -> None:
    if event == TOOL_ERROR_EVENT:
        _TOOL_ERRORS.append(str(args[0]) if args else "")


# run.guarded and run.guarded_diagnose raise this audit event whenever they turn a bug into a
# report. Audit hooks cannot be removed; this one only appends to a list the fixture below reads.
sys.addaudithook(_listen)


@pytest.fixture(autouse=True)
def no_tool_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if any report it produced holds a bug of diagnose (run in any thread)."""
    _TOOL_ERRORS.clear()
    yield
    found = list(_TOOL_ERRORS)
    _TOOL_ERRORS.clear()
    if found and request.node.get_closest_marker("tool_error_expected") is None:
        pytest.fail(
            "diagnose reported a bug of its own during this test (internal_error): " + "; ".join(found),
            pytrace=False,
        )


def pytest_configure(config: pytest.Config) -> None:
    """No stored login of this machine may leak into a test: ``compare`` reads docker's and
    containers-image's auth files by default, so point both at an empty directory (tests that
    need a login set these again)."""
    del config
    empty = Path(tempfile.mkdtemp(prefix="diagnose-no-logins-"))
    os.environ["DOCKER_CONFIG"] = str(empty)
    os.environ["REGISTRY_AUTH_FILE"] = str(empty / "auth.json")


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The default lab: token auth, no V1 API (like today's registries)."""
    with start_lab(LabConfig()) as running:
        yield running


@pytest.fixture(scope="session")
def lab_v1() -> Iterator[Lab]:
    """A 2016-style mixed setup: token-auth V2 plus a working V1 API."""
    with start_lab(LabConfig(v1=LabV1.PRESENT)) as running:
        yield running


@pytest.fixture(scope="session")
def lab_basic() -> Iterator[Lab]:
    """An htpasswd-style registry: Basic auth on everything, no V1."""
    with start_lab(LabConfig(auth=LabAuth.BASIC)) as running:
        yield running


@pytest.fixture(scope="session")
def lab_not_registry() -> Iterator[Lab]:
    """A web server that is not a registry: every path, /v2/ included, is a 404 HTML page."""
    with start_lab(LabConfig(not_a_registry=True)) as running:
        yield running
