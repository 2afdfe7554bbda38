"""The ``clients`` array of the JSON report, the "what each client prints" panel (terminal and
Markdown) and ``compare --clients``: run in-process through ``cli.main`` against the lab."""

from __future__ import annotations

import json

import pytest

from diagnose.clients.catalogue import IDS
from diagnose.lab import Lab
from diagnose.model import ClientPrediction, Strategy
from diagnose.render.clients_panel import grouped
from diagnose.render.json_report import report_from_dict
from diagnose.run import FAMILY_PULLS
from tests.test_cli import run


def prediction(client: str, message: str, exit_code: int = 1) -> ClientPrediction:
    return ClientPrediction(client, client, Strategy.V2_ONLY, message, exit_code, "src")


def test_identical_messages_are_grouped_in_first_seen_order() -> None:
    groups = grouped(
        [
            prediction("a", "x"),
            prediction("b", "y"),
            prediction("c", "x"),
            prediction("d", "x", exit_code=2),
            prediction("e", "", exit_code=0),
        ]
    )
    assert [(g.clients, g.message, g.exit_code) for g in groups] == [
        (("a", "c"), "x", 1),
        (("b",), "y", 1),
        (("d",), "x", 2),
        (("e",), "", 0),
    ]


def test_json_clients_array_has_every_model_and_the_contract_fields(
    capsys: pytest.CaptureFixture[str], lab: Lab
) -> None:
    result = run(
        capsys, "compare", f"{lab.registry_host}/library/thisimagedoesntexist", "--no-tls-verify", "--json"
    )
    assert result.code == 1
    report = json.loads(result.out)
    assert [c["client"] for c in report["clients"]] == list(IDS)
    for entry in report["clients"]:
        assert list(entry) == ["client", "name", "strategy", "message", "exit_code", "source"]
        assert entry["message"] and entry["exit_code"] in (1, 125) and entry["source"]
    strategies = {p["strategy"] for p in report["pulls"]}
    assert strategies == {s.value for s in FAMILY_PULLS}  # every family's pull ran (no contrast run)
    assert {c["strategy"] for c in report["clients"]} <= strategies
    assert report["table"] == ["v2-only", "v2-then-v1"]
    by_id = {c["client"]: c for c in report["clients"]}
    assert by_id["docker-20.10"]["message"].endswith("denied: requested access to the resource is denied")
    # the saved report reads back with its predictions
    assert [c.client for c in report_from_dict(report).clients] == list(IDS)


def test_success_means_empty_messages_and_exit_zero(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    result = run(capsys, "compare", f"{lab.registry_host}/library/busybox", "--no-tls-verify", "--json")
    assert result.code == 0
    clients = json.loads(result.out)["clients"]
    assert {(c["message"], c["exit_code"]) for c in clients} == {("", 0)}


def test_terminal_and_markdown_show_the_grouped_panel(
    capsys: pytest.CaptureFixture[str], lab: Lab, tmp_path: object
) -> None:
    from pathlib import Path

    md = Path(str(tmp_path)) / "t.md"
    ref = f"{lab.registry_host}/library/thisimagedoesntexist"
    result = run(capsys, "compare", ref, "--no-tls-verify", "--markdown", str(md))
    assert "What each client prints" in result.out
    # c/image 5.24 and current print the same text: one entry names both
    assert "containers-image-5.24, containers-image-current  (exit 125)" in result.out
    assert "13 clients" in result.out
    # the table keeps the two original columns
    assert "docker-endpoints" not in result.out.split("What each client prints")[0]
    text = md.read_text()
    assert "## What every modelled client prints" in text
    assert "- `containers-image-5.24`, `containers-image-current` (exit 125):" in text


def test_clients_option_chooses_the_pulls_and_the_table(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    ref = f"{lab.registry_host}/library/thisimagedoesntexist"
    result = run(capsys, "compare", ref, "--no-tls-verify", "--json", "--clients", "docker-20.10,containerd")
    report = json.loads(result.out)
    assert [p["strategy"] for p in report["pulls"]] == ["docker-endpoints", "containerd"]
    assert [c["client"] for c in report["clients"]] == ["docker-20.10", "containerd"]
    assert report["table"] == []  # the table shows every pull that ran
    assert result.code == 1
    terminal = run(capsys, "compare", ref, "--no-tls-verify", "--clients", "containerd")
    table = terminal.out.split("What each client prints")[0]
    assert "containerd" in table and "docker 1.12.6" not in table  # only the chosen pull's column


def test_clients_option_rejects_unknown_ids(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "compare", "127.0.0.1:1/x", "--clients", "docker-20.10,docker-99")
    assert result.code == 2
    assert "unknown client docker-99" in result.err and "docker-20.10" in result.err


def test_replay_predicts_the_same_clients_offline(
    capsys: pytest.CaptureFixture[str], lab: Lab, tmp_path: object
) -> None:
    from pathlib import Path

    saved = Path(str(tmp_path)) / "r.json"
    ref = f"{lab.registry_host}/library/busybox:nope"
    run(capsys, "compare", ref, "--no-tls-verify", "--save", str(saved))
    original = json.loads(saved.read_text())
    replayed = run(capsys, "replay", str(saved), "--json").json
    assert isinstance(replayed, dict)
    assert replayed["table"] == original["table"] == ["v2-only", "v2-then-v1"]
    assert [(c["client"], c["message"]) for c in replayed["clients"]] == [
        (c["client"], c["message"]) for c in original["clients"]
    ]
