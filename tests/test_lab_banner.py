"""``diagnose lab``: a banner that follows the auth mode with commands that work in it, flag
names instead of enum names, the right port named on a clash, and a log line per request."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from rich.console import Console

from diagnose.lab import Lab, LabAuth, LabConfig, LabV1, start_lab
from diagnose.lab.banner import example_commands, render_lab_info, request_line
from diagnose.lab.server import ServedRequest
from tests.test_cli import run


def _banner(lab: Lab) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    render_lab_info(lab, console)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(scope="module")
def lab_none() -> Iterator[Lab]:
    with start_lab(LabConfig(auth=LabAuth.NONE)) as running:
        yield running


def test_token_banner(lab_v1: Lab) -> None:
    text = _banner(lab_v1)
    assert "token server: http://127.0.0.1:" in text
    assert "--auth token:" in text and "--v1 present:" in text
    assert "LabV1" not in text and "LabAuth" not in text
    assert "public" in text and "library/oldtimer:latest" in text
    assert "# only on the V1 API" in text


def test_basic_banner_has_no_token_server_and_no_public_images(lab_basic: Lab) -> None:
    text = _banner(lab_basic)
    assert "token server" not in text and "public" not in text
    assert "--auth basic:" in text and "--v1 absent:" in text
    assert "any lab user (Basic)" in text
    assert "library/oldtimer" not in text, "a V1-only image is not offered without --v1 present"
    assert f"--creds alice:{lab_basic.users['alice']} docker://" in text
    assert f"docker login -u alice {lab_basic.registry_host}" in text


def test_none_banner_has_no_users(lab_none: Lab) -> None:
    text = _banner(lab_none)
    assert "users" not in text and "--creds" not in text and "token server" not in text
    assert "anyone" in text


@pytest.mark.parametrize("mode", ["lab", "lab_basic", "lab_none"])
def test_example_commands_work_in_their_mode(
    mode: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    lab: Lab = request.getfixturevalue(mode)
    for line in example_commands(lab):
        words = line.split("#")[0].split()
        if words[:2] == ["diagnose", "compare"]:
            result = run(capsys, *words[1:], "--json")
            assert result.code in (0, 1), (line, result.err)
            if "busybox" in line and ("--creds" in words or lab.config.auth is not LabAuth.BASIC):
                assert result.code == 0, line
        elif words[0] == "skopeo":
            if shutil.which("skopeo") is None:
                continue
            done = subprocess.run(words, capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0, (line, done.stderr)


def test_request_log_line_per_request(lab_basic: Lab) -> None:
    served: list[ServedRequest] = []
    lab_basic.on_request(served.append)
    try:
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{lab_basic.registry_url}/v2/", timeout=10)
        deadline = time.monotonic() + 10
        while not served and time.monotonic() < deadline:  # logged just after the answer is sent
            time.sleep(0.01)
    finally:
        lab_basic.on_request(None)
    assert [(s.server, s.method, s.path, s.status) for s in served] == [("registry", "GET", "/v2/", 401)]
    line = request_line(served[0], now=0)
    assert line.endswith("registry GET /v2/ → 401")
    hostile = request_line(ServedRequest("registry", "GET", "/v2/\x1b[2J", 404), now=0)
    assert "\x1b" not in hostile and "\\x1b[2J" in hostile


def _taken_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize("option", ["--port", "--token-port"])
def test_port_clash_names_the_right_port(capsys: pytest.CaptureFixture[str], option: str) -> None:
    with _taken_port() as taken:
        busy = taken.getsockname()[1]
        args = (
            ["lab", "--port", "0", option, str(busy)]
            if option == "--token-port"
            else ["lab", "--port", str(busy)]
        )
        result = run(capsys, *args)
    assert result.code == 2
    assert f"127.0.0.1:{busy} ({option})" in result.err


def test_same_port_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "lab", "--port", "5999", "--token-port", "5999")
    assert result.code == 2 and "both 5999" in result.err


def test_v1_modes_are_named_by_their_flags() -> None:
    assert {mode.value for mode in LabV1} == {"absent", "present"}


def test_lab_command_logs_each_request_it_serves() -> None:
    """A person pointing docker or skopeo at ``diagnose lab`` sees each request it answered."""
    import re
    import sys

    child = subprocess.Popen(
        [sys.executable, "-m", "diagnose", "lab", "--port", "0", "--auth", "basic"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        registry = ""
        for line in child.stdout:
            found = re.search(r"registry (http://127\.0\.0\.1:\d+)", line)
            registry = registry or (found.group(1) if found else "")
            if "plain http needs no daemon setting" in line:
                break
        assert registry, "the banner names the registry"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{registry}/v2/library/busybox/manifests/latest", timeout=10)
        logged = child.stdout.readline()
        assert re.fullmatch(
            r"\d\d:\d\d:\d\d registry GET /v2/library/busybox/manifests/latest → 401\n", logged
        )
    finally:
        child.kill()
        child.communicate(timeout=30)
