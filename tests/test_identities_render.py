"""The terminal and Markdown reports say which identity each pull used and where it came from.

A stored docker login for the lab registry (a real ``config.json`` in a temporary
``DOCKER_CONFIG``); the password must never appear, the file and the user must.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from diagnose.lab import LAB_USERS, Lab


def test_each_pull_names_its_identity_and_source(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from diagnose.cli import main

    password = LAB_USERS["alice"]
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    encoded = base64.b64encode(f"alice:{password}".encode()).decode()
    config.write_text(json.dumps({"auths": {lab.registry_host: {"auth": encoded}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config.parent))
    monkeypatch.setenv("COLUMNS", "200")
    markdown = tmp_path / "ticket.md"
    with pytest.raises(SystemExit):
        main(
            [
                "compare",
                f"{lab.registry_host}/alice/private-app",
                "--no-tls-verify",
                "--markdown",
                str(markdown),
            ]
        )
    terminal = capsys.readouterr().out
    ticket = markdown.read_text()
    for text in (terminal, ticket):
        assert "Identities" in text or "Identity" in text
        assert "v2-then-v1: alice" in text
        # REGISTRY_AUTH_FILE (set for every test) is a user-specified path: containers/image then
        # skips docker's config.json (pkg/docker/config getAuthFilePaths), so the strict pull is anonymous.
        assert "v2-only: anonymous" in text
        assert str(config) in text.replace("\n", "").replace("\\", "")  # Markdown escapes "_"
        assert password not in text
