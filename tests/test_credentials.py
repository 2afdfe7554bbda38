"""Stored logins (docker config.json / podman auth.json): pure lookups over files in tmp_path."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from diagnose import cli
from diagnose.credentials.resolve import AuthFileError, cimage_auth_files, find_cimage, find_docker
from diagnose.lab import LAB_USERS, Lab


def auth_file(path: Path, auths: dict[str, object], **extra: object) -> Path:
    path.write_text(json.dumps({"auths": auths, **extra}))
    return path


def encoded(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_docker_hub_login_is_found_under_the_legacy_key(tmp_path: Path) -> None:
    auth_file(tmp_path / "config.json", {"https://index.docker.io/v1/": encoded("alice", "pw:with:colons")})
    found = find_docker("docker.io", {"DOCKER_CONFIG": str(tmp_path)})
    assert found.login is not None
    assert (found.login.username, found.login.password) == ("alice", "pw:with:colons")


def test_other_registry_by_host_and_by_url(tmp_path: Path) -> None:
    auth_file(tmp_path / "config.json", {"https://reg.example:5000": encoded("bob", "x")})
    env = {"DOCKER_CONFIG": str(tmp_path)}
    found = find_docker("reg.example:5000", env)
    assert found.login is not None and found.login.username == "bob"
    assert find_docker("other.example", env).login is None


def test_search_order_first_file_wins(tmp_path: Path) -> None:
    runtime, home = tmp_path / "run", tmp_path / "home"
    auth_file(_made(runtime / "containers" / "auth.json"), {"reg": encoded("first", "1")})
    auth_file(_made(home / ".docker" / "config.json"), {"reg": encoded("second", "2")})
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    found = find_cimage("reg", "app", env, None)
    assert found.login is not None and found.login.username == "first"


def _made(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "no JSON object"),
        ('{"auths": {"reg": {"auth": "%%%"}}}', "not valid base64"),
    ],
)
def test_unusable_login_state_is_a_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(AuthFileError, match=message) as raised:
        find_cimage("reg", "app", {"HOME": str(tmp_path)}, path)
    assert "\n" not in str(raised.value)


def test_default_places(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": "/run/user/1"}
    assert [str(p) for p in cimage_auth_files(env, None)] == [
        "/run/user/1/containers/auth.json",
        f"{tmp_path}/.config/containers/auth.json",
        f"{tmp_path}/.docker/config.json",
    ]
    # A user-named REGISTRY_AUTH_FILE replaces them all, as containers-image does.
    assert cimage_auth_files({**env, "REGISTRY_AUTH_FILE": "/x/auth.json"}, None) == (Path("/x/auth.json"),)
    assert find_cimage("reg", "app", {"HOME": str(tmp_path)}, None).login is None


def _compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", *args, "--json"])
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), json.loads(captured.out or "{}"), captured.err


def _identities(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["strategy"]: i for i in report["identities"]}


def test_docker_login_is_used_by_every_pull_by_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker's config.json is read by docker and, last, by containers-image too."""
    password = LAB_USERS["alice"]
    config = auth_file(tmp_path / "config.json", {lab.registry_host: encoded("alice", password)})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, report, err = _compare(capsys, f"{lab.registry_host}/alice/private-app", "--no-tls-verify")
    assert code == 0, err
    source = f'{config}, key "{lab.registry_host}"'
    assert report["auth"] == {"mode": "credentials", "source": source, "username": "alice"}
    for strategy in ("v2-only", "v2-then-v1"):
        identity = _identities(report)[strategy]
        assert (identity["mode"], identity["username"], identity["source"]) == (
            "credentials",
            "alice",
            source,
        )
    assert password not in json.dumps(report) + err


def test_authfile_is_read_by_the_strict_pull_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab
) -> None:
    """skopeo's --authfile; docker never reads it (its own config.json is empty here)."""
    path = auth_file(tmp_path / "auth.json", {lab.registry_host: encoded("alice", LAB_USERS["alice"])})
    ref = f"{lab.registry_host}/alice/private-app"
    code, report, _ = _compare(capsys, ref, "--no-tls-verify", "--authfile", str(path), "--no-contrast")
    assert code == 1
    identities = _identities(report)
    assert identities["v2-only"]["username"] == "alice"
    assert identities["v2-then-v1"]["mode"] == "anonymous"
    assert identities["v2-then-v1"]["looked_up"] == lab.registry_host
    pulls = {p["strategy"]: p["outcome"] for p in report["pulls"]}
    assert pulls["v2-only"] == "ok" and pulls["v2-then-v1"] != "ok"


def test_authfile_must_exist(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", "reg.example/app", "--auth-file", str(tmp_path / "missing.json")])
    assert exited.value.code == 2
    assert "no such file" in capsys.readouterr().err


# ------------------------------------------------------------------ which key each client looks up

HUB = "https://index.docker.io/v1/"


@pytest.mark.parametrize(
    ("registry", "keys", "docker", "cimage"),
    [
        ("docker.io", [HUB], HUB, HUB),
        ("docker.io", ["docker.io"], None, "docker.io"),  # docker looks up only the v1 URL
        ("docker.io", ["registry-1.docker.io"], None, "registry-1.docker.io"),
        (
            "reg.example:5000",
            ["https://reg.example:5000/v2/"],
            "https://reg.example:5000/v2/",
            "https://reg.example:5000/v2/",
        ),
        ("reg.example", ["reg.example:443"], None, None),
        ("eu.gcr.io", ["gcr.io"], None, None),
        # c/image: a per-namespace login; docker: ConvertToHostname drops the path
        ("reg.example", ["reg.example/team"], "reg.example/team", "reg.example/team"),
    ],
)
def test_lookup_keys(registry: str, keys: list[str], docker: str | None, cimage: str | None) -> None:
    from diagnose.credentials.lookup import cimage_lookup, docker_lookup

    assert docker_lookup(registry, keys) == docker
    assert cimage_lookup(registry, "team/app", keys) == cimage


@pytest.mark.parametrize(
    ("registry", "keys", "near"),
    [
        ("reg.example", ["reg.example:443"], ["reg.example:443"]),
        ("reg.example:5000", ["reg.example", "other.example"], ["reg.example"]),
        ("eu.gcr.io", ["gcr.io", "quay.io"], ["gcr.io"]),
        ("docker.io", ["docker.io"], ["docker.io"]),
        ("127.0.0.1:5000", ["127.0.0.2:5000"], []),
        ("reg.example", [], []),
    ],
)
def test_near_miss_keys(registry: str, keys: list[str], near: list[str]) -> None:
    from diagnose.credentials.lookup import near_misses

    assert list(near_misses(registry, keys)) == near


# ------------------------------------------------------------------ credential helpers

HELPER = """#!/bin/sh
# A docker credential helper speaking the protocol: the server URL on stdin, JSON on stdout.
read server
case "$1:$server" in
  get:*token-host*) user='<token>'; secret="refresh-$server" ;;
  get:*missing*) echo "credentials not found in native keychain"; exit 1 ;;
  get:*broken*) echo "the keychain is locked"; exit 1 ;;
  get:*slow*) sleep 5; exit 0 ;;
  get:*) user=alice; secret="s3cret-of-$server" ;;
esac
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" "$user" "$secret"
"""


def install_helper(directory: Path, name: str = "test", script: str = HELPER) -> dict[str, str]:
    program = directory / f"docker-credential-{name}"
    program.write_text(script)
    program.chmod(0o755)
    return {"PATH": f"{directory}:/usr/bin:/bin", "HOME": str(directory)}


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("reg.example", ("alice", "s3cret-of-reg.example", False)),
        ("token-host", ("", "refresh-token-host", True)),
        ("missing.example", None),
    ],
)
def test_helper_protocol(tmp_path: Path, server: str, expected: tuple[str, str, bool] | None) -> None:
    from diagnose.credentials.helpers import run_helper

    answer = run_helper("test", server, install_helper(tmp_path))
    got = None if answer is None else (answer.username, answer.secret, answer.is_identity_token)
    assert got == expected


@pytest.mark.parametrize(
    ("name", "server", "says"),
    [
        ("nope", "reg.example", 'executable file "docker-credential-nope" not found in $PATH'),
        ("test", "broken.example", "docker-credential-test get failed: the keychain is locked"),
        ("test", "slow.example", "did not answer within 0.5 s"),
    ],
)
def test_helper_failures_are_one_line_errors(tmp_path: Path, name: str, server: str, says: str) -> None:
    from diagnose.credentials.helpers import HelperError, run_helper

    with pytest.raises(HelperError) as raised:
        run_helper(name, server, install_helper(tmp_path), timeout=0.5)
    assert str(raised.value) == says or says in str(raised.value)


def test_helper_garbage_is_an_error(tmp_path: Path) -> None:
    from diagnose.credentials.helpers import HelperError, run_helper

    env = install_helper(tmp_path, script="#!/bin/sh\necho '[1, 2'\n")
    with pytest.raises(HelperError, match="not JSON"):
        run_helper("test", "reg.example", env)


def test_docker_and_cimage_lookups_through_files_and_helpers(tmp_path: Path) -> None:
    from diagnose.credentials.resolve import find_cimage, find_docker

    env = install_helper(tmp_path)
    docker_dir = tmp_path / "docker"
    docker_dir.mkdir()
    auth_file(
        docker_dir / "config.json",
        {"plain.example": encoded("bob", "pw")},
        credHelpers={"helped.example": "test", "missing.example": "test", "gone.example": "absent"},
    )
    env["DOCKER_CONFIG"] = str(docker_dir)
    found = find_docker("helped.example", env)
    assert found.login is not None and found.login.username == "alice"
    assert found.login.origin == "credential helper docker-credential-test"
    assert find_docker("missing.example", env).login is None  # the helper holds none: anonymous
    gone = find_docker("gone.example", env)
    assert gone.login is None and gone.problem is not None and "docker-credential-absent" in gone.problem
    plain = find_cimage("plain.example", "team/app", env, None)  # containers-image reads docker's too
    assert plain.login is not None and (plain.login.username, plain.login.password) == ("bob", "pw")
    near = find_docker("plain.example:5000", env)
    assert (
        near.login is None
        and near.near_miss == f'{docker_dir / "config.json"} has a login under "plain.example"'
    )
    assert near.looked_up == "plain.example:5000"


def test_identity_token_entry(tmp_path: Path) -> None:
    from diagnose.credentials.resolve import find_docker

    auth_file(
        tmp_path / "config.json",
        {"reg.example": {**encoded("alice", ""), "identitytoken": "refresh-123"}},
    )
    found = find_docker("reg.example", {"DOCKER_CONFIG": str(tmp_path), "HOME": str(tmp_path)})
    assert found.login is not None
    assert (found.login.username, found.login.password, found.login.identity_token) == (
        "alice",
        "",
        "refresh-123",
    )


# ------------------------------------------------------------------ identities and the contrast run (lab)


def _docker_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auths: dict[str, object]) -> Path:
    config = auth_file(tmp_path / "config.json", auths)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    # containers-image then reads docker's config.json last, after its own (absent) files
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return config


def test_explicit_identity_overrides_stored_logins_and_contrast_shows_the_missing_tag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    _docker_login(tmp_path, monkeypatch, {lab.registry_host: encoded("bob", LAB_USERS["bob"])})
    ref = f"{lab.registry_host}/alice/private-app:nope"
    code, report, _ = _compare(capsys, ref, "--no-tls-verify", "--creds", f"alice:{LAB_USERS['alice']}")
    assert code == 1
    identities = _identities(report)
    assert {i["username"] for s, i in identities.items() if s != "v2-only-anonymous"} == {"alice"}
    assert identities["v2-only-anonymous"]["mode"] == "anonymous"
    outcomes = {p["strategy"]: p["outcome"] for p in report["pulls"]}
    assert outcomes["v2-only"] == "not_found" and outcomes["v2-only-anonymous"] == "unauthorized"
    diagnosis = report["diagnosis"]
    assert diagnosis["id"] == "exists-for-identity-but-not-this-tag"
    assert (
        "anonymous 401" in diagnosis["explanation"]
        and "alice 404 MANIFEST_UNKNOWN" in diagnosis["explanation"]
    )


def test_contrast_says_the_account_has_no_access(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    ref = f"{lab.registry_host}/alice/private-app"
    code, report, _ = _compare(capsys, ref, "--no-tls-verify", "--creds", f"bob:{LAB_USERS['bob']}")
    assert code == 1
    assert report["diagnosis"]["id"] == "identity-has-no-pull-access"
    assert "anonymous 401, bob 401" in report["diagnosis"]["explanation"]
    _, skipped, _ = _compare(
        capsys, ref, "--no-tls-verify", "--creds", f"bob:{LAB_USERS['bob']}", "--no-contrast"
    )
    assert "v2-only-anonymous" not in {p["strategy"] for p in skipped["pulls"]}


def test_no_contrast_when_every_pull_works(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    ref = f"{lab.registry_host}/alice/private-app"
    code, report, _ = _compare(capsys, ref, "--no-tls-verify", "--creds", f"alice:{LAB_USERS['alice']}")
    assert code == 0
    # no contrast pull: only one pull per client family ran
    assert [p["strategy"] for p in report["pulls"]] == [
        "v2-only",
        "v2-then-v1",
        "docker-endpoints",
        "containerd",
    ]


def test_stale_stored_login_breaks_a_public_pull(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _docker_login(tmp_path, monkeypatch, {lab.registry_host: encoded("alice", "an-old-password")})
    code, report, err = _compare(capsys, f"{lab.registry_host}/library/busybox", "--no-tls-verify")
    assert code == 1
    diagnosis = report["diagnosis"]
    assert diagnosis["id"] == "stored-login-rejected"
    assert str(config) in diagnosis["explanation"]
    assert any(f"docker logout {lab.registry_host}" in step for step in diagnosis["next_steps"])
    assert "an-old-password" not in json.dumps(report) + err


def test_login_under_a_near_miss_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_only = lab.registry_host.split(":")[0]
    _docker_login(tmp_path, monkeypatch, {host_only: encoded("alice", LAB_USERS["alice"])})
    code, report, _ = _compare(capsys, f"{lab.registry_host}/alice/private-app", "--no-tls-verify")
    assert code == 1
    assert report["diagnosis"]["id"] == "login-under-another-key"
    assert f'"{host_only}"' in report["diagnosis"]["explanation"]
    assert f'looks up "{lab.registry_host}"' in report["diagnosis"]["explanation"]


def test_anonymous_over_a_stored_login_says_it_was_not_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _docker_login(tmp_path, monkeypatch, {lab.registry_host: encoded("alice", LAB_USERS["alice"])})
    code, report, _ = _compare(
        capsys, f"{lab.registry_host}/alice/private-app", "--no-tls-verify", "--no-creds"
    )
    assert code == 1
    assert report["auth"]["mode"] == "anonymous"
    docker = _identities(report)["v2-then-v1"]
    assert docker["unused_login"] == f'{config}, key "{lab.registry_host}"'
    assert any("because of --anonymous" in line for line in report["diagnosis"]["known"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--creds", "alice:x", "--anonymous"), "exclude each other"),
        (("--creds", "alice:x", "--username", "alice"), "not both"),
        (("--password-stdin",), "needs --username"),
        (("--username", "alice"), "no password for 'alice'"),
    ],
)
def test_identity_flag_mistakes_are_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", "reg.example/app", *args])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_skopeo_habits(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    code, report, err = _compare(capsys, f"docker://{lab.registry_host}/library/busybox", "--no-tls-verify")
    assert code == 0 and report["reference"]["canonical"] == f"{lab.registry_host}/library/busybox:latest"
    assert "docker://" in err and "transport prefix" in err
    with pytest.raises(SystemExit) as exited:
        cli.main(["compare", "-h"])
    assert exited.value.code == 0 and "--authfile" in capsys.readouterr().out
