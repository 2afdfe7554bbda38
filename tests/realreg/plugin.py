"""pytest plugin for tests that need Debian's real ``docker-registry`` and ``skopeo``.

Loaded by ``tests/conftest.py`` (``pytest_plugins = ["tests.realreg.plugin"]``) or with
``-p tests.realreg.plugin``. Tests marked ``real_registry`` are skipped when a binary is
missing, unless ``DIAGNOSE_REQUIRE_REAL=1`` (CI), where a missing binary fails the test.

Fixtures:
- ``real_registries`` (session): the running stack, see ``stack.RealRegistries``;
- ``real_skopeo`` (session): a ``skopeo.Skopeo`` runner isolated from the user's config.

This module must not define scenarios or assertions about diagnose itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.realreg.registry import REGISTRY, registry_available
from tests.realreg.skopeo import SKOPEO, Skopeo, skopeo_available
from tests.realreg.stack import RealRegistries, start_stack

MARKER = "real_registry"
REQUIRE_ENV = "DIAGNOSE_REQUIRE_REAL"
INSTALL_HINT = "apt-get install docker-registry skopeo"


def missing_binaries() -> list[str]:
    missing = []
    if registry_available() is None:
        missing.append(REGISTRY)
    if skopeo_available() is None:
        missing.append(SKOPEO)
    return missing


def require_real_binaries() -> None:
    """Skip (or, with DIAGNOSE_REQUIRE_REAL=1, fail) when a binary is missing."""
    missing = missing_binaries()
    if not missing:
        return
    reason = f"{' and '.join(missing)} not found on PATH: {INSTALL_HINT}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    # Also declared in pyproject.toml; repeating it keeps ``-p`` usable on its own.
    config.addinivalue_line(
        "markers", f"{MARKER}: needs Debian's docker-registry and skopeo binaries ({INSTALL_HINT})"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker(MARKER) is not None:
        require_real_binaries()


@pytest.fixture(scope="session")
def real_registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRegistries]:
    """Token-auth, Basic-auth and no-auth registries with seeded images (see stack.py)."""
    require_real_binaries()
    with start_stack(tmp_path_factory.mktemp("realreg")) as stack:
        yield stack


@pytest.fixture(scope="session")
def real_skopeo(real_registries: RealRegistries) -> Skopeo:
    """The real skopeo with a private HOME, auth file and registries.conf."""
    return real_registries.skopeo()
