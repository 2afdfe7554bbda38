"""Start-up cost (issue 9): each command imports only what it uses.

Each case runs ``python -X importtime -m diagnose …`` in a fresh interpreter (the import graph
of one process is the thing measured) and reads the modules it imported from stderr.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose import __version__

ROOT = Path(__file__).resolve().parent.parent

NETWORK = ("requests", "urllib3", "charset_normalizer", "certifi", "idna")
PULLS = ("diagnose.pullers", "diagnose.run", "diagnose.transport", "diagnose.rules")
LAB = ("diagnose.lab.server", "diagnose.lab.registry", "diagnose.lab.content", "http.server")


def _importtime(*argv: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name)
    return modules, done


@functools.cache
def _interpreter_baseline() -> frozenset[str]:
    """What ``python -c pass`` imports here (site hooks may pull in e.g. certifi): not ours."""
    return frozenset(_importtime("-c", "pass")[0])


def imported(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules ``diagnose ARGS`` imports beyond what the bare interpreter does."""
    modules, done = _importtime("-m", "diagnose", *args)
    assert "diagnose.entry" in modules, done.stderr[-2000:]
    return modules - _interpreter_baseline(), done


def under(modules: set[str], *roots: str) -> set[str]:
    """The modules that are one of ``roots`` or inside one of them."""
    return {m for m in modules if any(m == r or m.startswith(r + ".") for r in roots)}


def test_version_imports_neither_network_nor_terminal_nor_lab_nor_pullers() -> None:
    modules, done = imported("--version")
    assert (done.returncode, done.stdout) == (0, f"diagnose {__version__}\n")
    forbidden = under(modules, *NETWORK, "rich", "typer", "diagnose.lab", "diagnose.pullers", *PULLS)
    assert forbidden == set()


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("compare", "--help"),
        ("ref", "ubuntu", "--json"),
        ("explain", "--json", "Error: image library/foo:latest not found"),
        ("explain", "Error: image library/foo:latest not found"),
        ("demo", "--list"),
    ],
    ids=["help", "compare-help", "ref-json", "explain-json", "explain-text", "demo-list"],
)
def test_help_and_ref_import_no_network_no_pullers_no_lab(args: tuple[str, ...]) -> None:
    modules, done = imported(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert under(modules, *NETWORK, *PULLS, *LAB, "rich") == set()


def test_ref_table_uses_rich_but_not_the_network() -> None:
    modules, done = imported("ref", "ubuntu")
    assert done.returncode == 0
    assert "rich.table" in modules
    assert under(modules, *NETWORK, *PULLS, *LAB) == set()


def test_compare_imports_what_a_pull_needs_and_not_the_lab() -> None:
    # Port 9 on loopback: nothing listens, both pulls end at once with connection_error.
    modules, done = imported("compare", "127.0.0.1:9/app:1", "--json", "--timeout", "2")
    assert done.returncode == 1, done.stderr[-2000:]
    assert {"requests", "diagnose.pullers.v2_only", "diagnose.run"} <= modules
    # The entry point leaves without tearing the interpreter down: the report is still whole.
    assert json.loads(done.stdout)["pulls"] and done.stdout.endswith("\n")
    assert under(modules, *LAB, "diagnose.lab.wire") == set()
    # A scripted run (JSON out, stderr not a terminal) needs no terminal library, and no
    # option-validation library either (typer 0.29 would import pydantic for each run).
    assert under(modules, "rich", "pydantic", "pydantic_core") == set()


def test_compare_table_uses_rich() -> None:
    modules, done = imported("compare", "127.0.0.1:9/app:1", "--timeout", "2")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "rich.table" in modules


def test_a_command_runs_in_an_app_of_its_own_with_the_same_help() -> None:
    """``app_for`` hands typer only the named command: its help and its errors are the
    whole app's; no name, or a mistyped one, gets the whole app."""
    from typer.testing import CliRunner

    from diagnose.cli import app, app_for

    assert [c.callback for c in app_for(["compare", "x"]).registered_commands] == [
        c.callback for c in app.registered_commands if c.callback and c.callback.__name__ == "compare"
    ]
    assert app_for(["--help"]) is app and app_for(["comapre"]) is app
    runner = CliRunner()
    for args in (["compare", "--help"], ["explain", "--help"], ["compare"], ["ref", "--bogus"]):
        whole = runner.invoke(app, args)
        alone = runner.invoke(app_for(args), args)
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)


def test_a_scripted_batch_imports_no_terminal_library(tmp_path: Path) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("127.0.0.1:9/app:1\n127.0.0.1:9/app:2\n", encoding="utf-8")
    modules, done = imported("compare", "--file", str(refs), "--json", "--timeout", "2")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "[2/2]" in done.stderr  # progress is still printed, plainly
    assert under(modules, "rich") == set()
