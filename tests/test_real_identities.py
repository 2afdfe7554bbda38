"""Identities against the real token-auth distribution registry (issue 8, first "Done when").

Each way a user's identity reaches a pull — docker's ``config.json``, containers-image's
``auth.json``, a credential helper on ``PATH``, an ``identitytoken`` (the OAuth2 refresh
grant), ``--username`` with ``--password-stdin``, and ``--anonymous`` over a stored login —
gives the expected identity per pull and outcome, and no secret appears in any output
(stdout, stderr, the saved report, Markdown and HAR).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest

from diagnose import cli
from tests.realreg.stack import RealRegistries

pytestmark = pytest.mark.real_registry


def _encoded(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with no login anywhere, until a test writes one."""
    for name in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    (tmp_path / "docker").mkdir()
    return tmp_path


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _compare(
    capsys: pytest.CaptureFixture[str], regs: RealRegistries, home: Path, ref: str, *extra: str
) -> tuple[int, dict[str, Any], str]:
    """compare with every output; returns the exit code, the report and all the text produced."""
    files = [home / "r.json", home / "t.md", home / "t.har"]
    args = ["compare", ref, "--ca-cert", str(regs.ca_cert), "--timeout", "10", "--json", *extra]
    args += ["--save", str(files[0]), "--markdown", str(files[1]), "--har", str(files[2])]
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    captured = capsys.readouterr()
    code = exited.value.code
    text = captured.out + captured.err + "".join(f.read_text() for f in files)
    return (code if isinstance(code, int) else 0), json.loads(captured.out), text


CONTRAST = "v2-only-anonymous"


def _who(report: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Each pull's identity; the anonymous contrast pull (run when a pull failed) left out."""
    return {
        i["strategy"]: (i["mode"], i["username"]) for i in report["identities"] if i["strategy"] != CONTRAST
    }


def _login(path: Path, registry: str, password: str) -> Path:
    return _write(path, {"auths": {registry: {"auth": _encoded("alice", password)}}})


def _outcome(report: dict[str, Any], strategy: str = "v2-only") -> str:
    return next(p["outcome"] for p in report["pulls"] if p["strategy"] == strategy)


def _replayed(capsys: pytest.CaptureFixture[str], home: Path) -> dict[str, Any]:
    """``diagnose replay`` of the report just saved: offline, each pull with its own identity."""
    with pytest.raises(SystemExit):
        cli.main(["replay", str(home / "r.json"), "--json"])
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _story(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(p["strategy"], p["outcome"], p["message"]) for p in report["pulls"]]


def _no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        assert _encoded("alice", secret) not in text


def test_docker_config_login(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries, home: Path
) -> None:
    regs, password = real_registries, real_registries.users["alice"]
    config = _write(
        home / "docker" / "config.json", {"auths": {regs.token: {"auth": _encoded("alice", password)}}}
    )
    code, report, text = _compare(capsys, regs, home, f"{regs.token}/alice/private:1.0")
    assert _outcome(report) == "ok"
    assert _who(report) == {"v2-only": ("credentials", "alice"), "v2-then-v1": ("credentials", "alice")}
    assert all(str(config) in i["source"] for i in report["identities"] if i["strategy"] != CONTRAST)
    assert code in (0, 1)
    _no_secret(text, password)


def test_containers_auth_json_login_is_the_strict_pulls_only(
    capsys: pytest.CaptureFixture[str],
    real_registries: RealRegistries,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    regs, password = real_registries, real_registries.users["alice"]
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    auth = _write(
        home / "run" / "containers" / "auth.json",
        {"auths": {regs.token: {"auth": _encoded("alice", password)}}},
    )
    code, report, text = _compare(capsys, regs, home, f"{regs.token}/alice/private:1.0", "--no-contrast")
    assert code == 1
    assert _outcome(report) == "ok"
    assert _who(report) == {"v2-only": ("credentials", "alice"), "v2-then-v1": ("anonymous", None)}
    assert str(auth) in report["auth"]["source"]
    _no_secret(text, password)


def test_credential_helper_on_path(
    capsys: pytest.CaptureFixture[str],
    real_registries: RealRegistries,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    regs, password = real_registries, real_registries.users["alice"]
    bin_dir = home / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-realtest"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        f'printf \'{{"ServerURL":"%s","Username":"alice","Secret":"{password}"}}\' "$server"\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    _write(home / "docker" / "config.json", {"credHelpers": {regs.token: "realtest"}})
    _, report, text = _compare(capsys, regs, home, f"{regs.token}/alice/private:1.0")
    assert _outcome(report) == "ok"
    assert _who(report)["v2-only"] == ("credentials", "alice")
    sources = {i["source"] for i in report["identities"] if i["strategy"] != CONTRAST}
    assert sources == {"credential helper docker-credential-realtest"}
    _no_secret(text, password)


def test_identity_token_uses_the_refresh_grant(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries, home: Path
) -> None:
    regs = real_registries
    token = regs.identity_tokens["alice"]
    entry = {"auth": _encoded("alice", ""), "identitytoken": token}
    _write(home / "docker" / "config.json", {"auths": {regs.token: entry}})
    _, report, text = _compare(capsys, regs, home, f"{regs.token}/alice/private:1.0")
    assert _outcome(report) == "ok"
    strict = next(i for i in report["identities"] if i["strategy"] == "v2-only")
    assert (strict["mode"], strict["identity_token"]) == ("credentials", True)
    posts = [
        e for e in report["exchanges"] if e["strategy"] == "v2-only" and e["request"]["method"] == "POST"
    ]
    assert posts and posts[0]["response"]["status"] == 200
    assert "grant_type=refresh_token" in posts[0]["request"]["body"]
    assert "client_id=containers%2Fimage" in posts[0]["request"]["body"]
    _no_secret(text, token)
    replayed = _replayed(capsys, home)  # the POST is asked again, with a placeholder token
    assert _story(replayed) == _story(report)
    assert replayed["identities"] == report["identities"]


def test_username_and_password_stdin(
    capsys: pytest.CaptureFixture[str],
    real_registries: RealRegistries,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    regs, password = real_registries, real_registries.users["alice"]
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    _, report, text = _compare(
        capsys, regs, home, f"{regs.token}/alice/private:1.0", "--username", "alice", "--password-stdin"
    )
    assert _outcome(report) == "ok"
    assert report["auth"] == {
        "mode": "credentials",
        "source": "--username and --password-stdin",
        "username": "alice",
    }
    assert set(_who(report).values()) == {("credentials", "alice")}
    _no_secret(text, password)


def test_anonymous_over_a_stored_login(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries, home: Path
) -> None:
    regs, password = real_registries, real_registries.users["alice"]
    config = _write(
        home / "docker" / "config.json", {"auths": {regs.token: {"auth": _encoded("alice", password)}}}
    )
    code, report, text = _compare(capsys, regs, home, f"{regs.token}/alice/private:1.0", "--anonymous")
    assert code == 1
    assert _outcome(report) == "unauthorized"
    assert set(_who(report).values()) == {("anonymous", None)}
    assert all(i["unused_login"] == f'{config}, key "{regs.token}"' for i in report["identities"])
    assert CONTRAST not in {p["strategy"] for p in report["pulls"]}, "no identity, no contrast run"
    assert any("--anonymous" in line for line in report["diagnosis"]["known"])
    _no_secret(text, password)


def test_stale_stored_login_on_a_public_image(
    capsys: pytest.CaptureFixture[str], real_registries: RealRegistries, home: Path
) -> None:
    regs = real_registries
    _write(
        home / "docker" / "config.json", {"auths": {regs.token: {"auth": _encoded("alice", "expired-pw")}}}
    )
    code, report, text = _compare(capsys, regs, home, f"{regs.token}/library/busybox:latest")
    assert code == 1
    assert _outcome(report) == "auth_failed" and _outcome(report, "v2-only-anonymous") == "ok"
    assert report["diagnosis"]["id"] == "stored-login-rejected"
    _no_secret(text, "expired-pw")
    replayed = _replayed(capsys, home)  # the contrast pull replays anonymously
    assert _story(replayed) == _story(report)
    assert replayed["diagnosis"]["id"] == "stored-login-rejected"
