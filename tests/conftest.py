"""Shared fixtures: the built-in lab on 127.0.0.1, and the real-registry plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from diagnose.lab import Lab, LabAuth, LabConfig, LabV1, start_lab

pytest_plugins = ["tests.realreg.plugin"]


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
