"""The Node tools some tests need (mermaid's parser, the HAR 1.2 schema), installed by .ci/run.

``npm ci --prefix tests/js`` installs them into ``tests/js/node_modules``. When they are missing
the test is skipped with the command to run, unless ``DIAGNOSE_REQUIRE_REAL=1`` (CI), where a
missing tool fails the test: CI must never pass by not checking.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).parent / "js"
NODE_MODULES = JS_DIR / "node_modules"
INSTALL = "npm ci --prefix tests/js"


def _missing(reason: str) -> None:
    if os.environ.get("DIAGNOSE_REQUIRE_REAL") == "1":
        pytest.fail(f"DIAGNOSE_REQUIRE_REAL=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (run: {INSTALL})")


def require_module(name: str) -> Path:
    """The installed package directory of npm package ``name``."""
    path = NODE_MODULES / name
    if not (path / "package.json").is_file():
        _missing(f"npm package {name} is not installed in {NODE_MODULES}")
    return path


def parse_mermaid(diagrams: list[str]) -> list[dict[str, Any]]:
    """Each diagram parsed by mermaid itself: ``{"ok": True, "type": ...}`` or an error."""
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed")
    require_module("mermaid")
    require_module("jsdom")
    done = subprocess.run(
        [str(node), str(JS_DIR / "parse_mermaid.mjs")],
        input=json.dumps(diagrams),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=JS_DIR,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def har_schemas() -> dict[str, Any]:
    """The HAR 1.2 JSON schemas of the ``har-schema`` package, by file name (``har.json`` …)."""
    lib = require_module("har-schema") / "lib"
    return {path.name: json.loads(path.read_text()) for path in lib.glob("*.json")}
