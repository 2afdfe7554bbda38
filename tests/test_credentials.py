"""Stored logins (docker config.json / podman auth.json): pure lookups over files in tmp_path."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from diagnose import cli
from diagnose.credentials import CredentialsError, default_auth_files, find_login, login_for
from diagnose.lab import LAB_USERS, Lab


def auth_file(path: Path, auths: dict[str, object], **extra: object) -> Path:
    path.write_text(json.dumps({"auths": auths, **extra}))
    return path


def encoded(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_docker_hub_login_is_found_under_the_legacy_key(tmp_path: Path) -> None:
    path = auth_file(
        tmp_path / "config.json", {"https://index.docker.io/v1/": encoded("alice", "pw:with:colons")}
    )
    found = find_login("docker.io", [path])
    assert found is not None and (found.username, found.password) == ("alice", "pw:with:colons")


def test_other_registry_by_host_and_by_url(tmp_path: Path) -> None:
    path = auth_file(tmp_path / "auth.json", {"https://reg.example:5000": encoded("bob", "x")})
    found = find_login("reg.example:5000", [path])
    assert found is not None and found.username == "bob"
    assert find_login("other.example", [path]) is None


def test_search_order_first_file_wins(tmp_path: Path) -> None:
    first = auth_file(tmp_path / "a.json", {"reg": encoded("first", "1")})
    second = auth_file(tmp_path / "b.json", {"reg": encoded("second", "2")})
    found = find_login("reg", [tmp_path / "missing.json", first, second])
    assert found is not None and found.username == "first"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"auths": {"reg": {"auth": "%%%"}}}', "not valid base64"),
        ('{"credsStore": "desktop"}', "credential store 'desktop'"),
        ('{"credHelpers": {"reg": "ecr-login"}}', "credential helper"),
    ],
)
def test_unusable_login_state_is_a_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(CredentialsError, match=message) as raised:
        find_login("reg", [path])
    assert "\n" not in str(raised.value)


def test_default_places(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": "/run/user/1", "REGISTRY_AUTH_FILE": "/x/auth.json"}
    files = [str(p) for p in default_auth_files(env)]
    assert files == [
        "/x/auth.json",
        "/run/user/1/containers/auth.json",
        f"{tmp_path}/.config/containers/auth.json",
        f"{tmp_path}/.docker/config.json",
    ]
    assert login_for("reg", None, {"HOME": str(tmp_path)}) is None


def test_compare_with_a_stored_login(capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab) -> None:
    password = LAB_USERS["alice"]
    path = auth_file(tmp_path / "auth.json", {lab.registry_host: encoded("alice", password)})
    with pytest.raises(SystemExit) as exited:
        cli.main(
            [
                "compare",
                f"{lab.registry_host}/alice/private-app",
                "--no-tls-verify",
                "--auth-file",
                str(path),
                "--json",
            ]
        )
    out = capsys.readouterr().out
    assert exited.value.code == 0
    report = json.loads(out)
    assert report["auth"] == {"mode": "credentials", "source": str(path), "username": "alice"}
    assert password not in out


def test_compare_without_a_stored_login_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = auth_file(tmp_path / "auth.json", {})
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", "reg.example/app", "--auth-file", str(path)])
    assert exited.value.code == 2
    assert "no stored login for reg.example" in capsys.readouterr().err
