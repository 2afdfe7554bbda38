"""The command line, run in-process through ``cli.main`` (exit codes included) against the lab."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from diagnose import __version__, cli
from diagnose.lab import LAB_USERS, Lab, LabConfig, start_lab

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> object:
        return json.loads(self.out)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    with pytest.raises(SystemExit) as exited:
        cli.main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return Run(code if isinstance(code, int) else 0, captured.out, captured.err)


def one_error_line(result: Run) -> None:
    """A usage or tool failure says so on exactly one stderr line, and nothing on stdout."""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diagnose: "), result.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "--version")
    assert (result.code, result.out.strip()) == (0, f"diagnose {__version__}")


@pytest.mark.parametrize("command", ["compare", "ref", "replay", "lab", "demo", "explain"])
def test_every_command_help_shows_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    result = run(capsys, command, "--help")
    assert result.code == 0
    assert "Example: diagnose " + command in " ".join(result.out.split())


def test_ref_json_keeps_order_and_marks_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "ref", "ubuntu", "Not/Valid", "localhost:5000/app:1", "--json")
    assert result.code == 2
    data = result.json
    assert isinstance(data, list) and [d["input"] for d in data] == [
        "ubuntu",
        "Not/Valid",
        "localhost:5000/app:1",
    ]
    assert data[0]["canonical"] == "docker.io/library/ubuntu:latest" and data[0]["valid"] is True
    assert data[0]["hosts"]["docker-v2"] == "registry-1.docker.io"
    assert data[1]["valid"] is False and "lowercase" in data[1]["error"]
    assert data[2]["domain"] == "localhost:5000"


def test_ref_table(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "ref", "ubuntu")
    assert result.code == 0 and "docker.io/library/ubuntu:latest" in result.out


def test_compare_bad_reference_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "compare", "library/UPPER:tag")
    assert result.code == 2
    assert result.out == ""
    assert "must be lowercase" in result.err
    one_error_line(result)


@pytest.mark.parametrize(
    "args",
    [
        ("compare", "ubuntu", "--creds", "no-colon"),
        ("compare", "ubuntu", "--ca-cert", "/nonexistent/ca.pem"),
        ("compare", "ubuntu", "--timeout", "-1"),
        ("compare",),
        ("no-such-command",),
        ("replay", "/nonexistent/report.json"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    result = run(capsys, *args)
    assert result.code == 2
    assert result.out == ""
    assert result.err.strip(), "a usage error says what is wrong"


def test_compare_missing_image_json(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    ref = f"{lab.registry_host}/library/thisimagedoesntexist"
    result = run(capsys, "compare", ref, "--no-tls-verify", "--json")
    assert result.code == 1
    report = result.json
    assert isinstance(report, dict) and report["schema"] == "diagnose/v1"
    pulls = {p["strategy"]: p for p in report["pulls"]}
    assert (pulls["v2-only"]["outcome"], pulls["v2-only"]["protocol"]) == ("unauthorized", "v2")
    assert (pulls["v2-then-v1"]["outcome"], pulls["v2-then-v1"]["protocol"]) == ("not_found", "v1")
    assert "Error: image library/thisimagedoesntexist:latest not found" in pulls["v2-then-v1"]["message"]
    assert report["diagnosis"]["differ"] is True
    assert report["reference"]["canonical"] == f"{ref}:latest"
    assert report["auth"]["mode"] == "anonymous"
    ids = [e["id"] for e in report["exchanges"]]
    assert ids == sorted(ids) and len(ids) >= 8
    assert "pulling" in result.err  # progress goes to stderr, never stdout


def test_compare_success_exits_0(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    result = run(capsys, "compare", f"{lab.registry_host}/library/busybox", "--no-tls-verify")
    assert result.code == 0
    assert "Downloaded newer image" in result.out


def test_compare_refused_exits_1_with_a_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "compare", "127.0.0.1:1/library/x", "--timeout", "3")
    assert result.code == 1
    assert "connection refused" in result.out
    assert "internal" not in result.err and result.err.count("diagnose:") == 2  # progress lines only


def test_internal_failure_exits_3_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    import diagnose.run

    monkeypatch.setattr(diagnose.run, "compare", broken)  # cli imports it when compare runs
    result = run(capsys, "compare", "127.0.0.1:1/library/x")
    assert result.code == 3
    assert "internal error: RuntimeError: simulated bug" in result.err
    assert result.out == ""
    assert result.err.strip().splitlines()[-1].startswith("diagnose: internal error:")


@pytest.fixture
def private_lab() -> Lab:
    running = start_lab(LabConfig())
    yield running  # type: ignore[misc]
    running.stop()


def test_secrets_never_leave_the_process(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, private_lab: Lab
) -> None:
    """Plant the password, collect every token the lab issued, search every output for them."""
    password = LAB_USERS["alice"]
    files = {name: tmp_path / name for name in ("report.json", "ticket.md", "trace.har")}
    ref = f"{private_lab.registry_host}/alice/private-app"
    result = run(
        capsys,
        "compare",
        ref,
        "--creds",
        f"alice:{password}",
        "--no-tls-verify",
        "--save",
        str(files["report.json"]),
        "--markdown",
        str(files["ticket.md"]),
        "--har",
        str(files["trace.har"]),
    )
    assert result.code == 0, result.out + result.err
    replayed = run(capsys, "replay", str(files["report.json"]), "--json")
    assert replayed.code == 0, replayed.err
    tokens = set()
    for seen in private_lab.requests_seen():
        for name, value in seen.headers:
            if name.lower() == "authorization":
                tokens.add(value.split(" ", 1)[1])
    assert tokens, "the lab saw credentials and tokens"
    outputs = {
        "stdout": result.out,
        "stderr": result.err,
        "replay": replayed.out + replayed.err,
        **{name: path.read_text() for name, path in files.items()},
    }
    for where, text in outputs.items():
        assert text, f"{where} is empty"
        assert password not in text, f"password leaked into {where}"
        for token in tokens:
            assert token not in text, f"a credential or token leaked into {where}"
            signature = token.rsplit(".", 1)[-1]
            if len(signature) > 16:
                assert signature not in text, f"a token signature leaked into {where}"
    har = json.loads(outputs["trace.har"])
    assert har["log"]["entries"], "the HAR holds the exchanges"


def test_replay_is_offline_and_gives_the_same_diagnosis(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "report.json"
    with start_lab(LabConfig()) as running:
        first = run(
            capsys,
            "compare",
            f"{running.registry_host}/library/thisimagedoesntexist",
            "--no-tls-verify",
            "--save",
            str(saved),
        )
    assert first.code == 1
    # The lab is gone: replay must not need it.
    again = run(capsys, "replay", str(saved), "--json")
    assert again.code == 1
    original = json.loads(saved.read_text())
    replayed = again.json
    assert isinstance(replayed, dict)
    assert replayed["diagnosis"]["id"] == original["diagnosis"]["id"]
    assert [p["message"] for p in replayed["pulls"]] == [p["message"] for p in original["pulls"]]
    assert [p["outcome"] for p in replayed["pulls"]] == [p["outcome"] for p in original["pulls"]]


def test_replay_rejects_garbage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something/else"}')
    result = run(capsys, "replay", str(bad))
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    bad.write_text("<html>not json</html>")
    assert run(capsys, "replay", str(bad)).code == 2


def test_demo_runs_the_named_scenarios_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # Every scenario is compared in tests/test_catalogue.py; here the command's terminal output.
    result = run(capsys, "demo", "missing-image", "v1-only")
    assert result.code == 0, result.err
    for name in ("missing-image", "v1-only"):
        assert re.search(rf"\b{name}: ", result.out)
    flat = " ".join(result.out.split())
    assert "Error: image library/thisimagedoesntexist:latest not found" in flat
    assert "this image was pulled from a legacy registry" in flat


def test_module_entry_point_has_no_traceback_on_bad_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "diagnose", "compare", "Bad Reference"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    # A real process: an uncaught exception would print a traceback here, and exit 1.
    assert "Traceback" not in done.stderr and done.stderr.startswith("diagnose: error:")
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_lab_command_runs_in_the_foreground_and_stops_on_ctrl_c() -> None:
    import signal

    child = subprocess.Popen(
        [sys.executable, "-m", "diagnose", "lab", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith("try:"):
                break
        text = "".join(lines)
        assert "registry http://127.0.0.1:" in text and "wonderland" in text
        assert "library/busybox:latest" in text, "references are shown whole"
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert "Traceback" not in err


# ------------------------------------------------------------------ bad input is exit 2, never a pull


@pytest.fixture
def listening_lab() -> Iterator[Lab]:
    """A lab of its own, so a test can tell that no request reached it."""
    with start_lab(LabConfig()) as running:
        yield running


def _garbage_pem(tmp_path: Path) -> Path:
    path = tmp_path / "broken.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    return path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--creds", "alice:"), "empty password"),
        (("--platform", "linux"), "--platform 'linux'"),
        (("--platform", "linux/amd64/v8/extra"), "os/arch[/variant]"),
        (("--platform", "Linux/AMD64"), "lower case"),
        (("--platform", "linux//v8"), "os/arch[/variant]"),
        (("--insecure-registry", "https://reg.example"), "host[:port]"),
        (("--insecure-registry", "reg.example:99999"), "host[:port]"),
        (("--insecure-registry", "10.0.0.0/33"), "CIDR"),
        (("--insecure-registry", "reg example"), "host[:port]"),
        (("--ca-cert", "README.md"), "not a PEM certificate file"),
        (("--ca-cert", "GARBAGE"), "cannot be loaded"),
        (("--ca-cert", "/nonexistent/ca.pem"), "no such file"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_request(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    listening_lab: Lab,
    args: tuple[str, ...],
    says: str,
) -> None:
    args = tuple(str(_garbage_pem(tmp_path)) if a == "GARBAGE" else a for a in args)
    ref = f"{listening_lab.registry_host}/library/busybox"
    result = run(capsys, "compare", ref, "--no-tls-verify", *args)
    assert result.code == 2, result.err
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diagnose: error:") and says in lines[0], lines
    assert listening_lab.requests_seen() == (), "a usage error must not send anything"


def test_empty_password_on_stdin_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, listening_lab: Lab
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    ref = f"{listening_lab.registry_host}/library/busybox"
    result = run(capsys, "compare", ref, "--creds", "alice", "--password-stdin")
    assert result.code == 2 and "empty password (stdin was empty)" in result.err
    assert listening_lab.requests_seen() == ()


@pytest.mark.parametrize(
    "value", ["10.0.0.0/8", "reg.example", "reg.example:5000", "127.0.0.1:5000", "[::1]:5000", "::1/128"]
)
def test_good_insecure_registry_values(value: str) -> None:
    from diagnose.inputs import parse_insecure_registry

    assert parse_insecure_registry(value) == value


def test_a_real_ca_file_is_accepted(tmp_path: Path) -> None:
    from diagnose.inputs import check_ca_file
    from tests.realreg.pki import make_pki

    pki = make_pki(tmp_path)
    assert check_ca_file(pki.ca_cert) == pki.ca_cert


def _mutations(value: object, path: tuple[object, ...] = ()) -> Iterator[tuple[tuple[object, ...], object]]:
    """Every place in a JSON document paired with a value of another type to put there."""
    others: tuple[object, ...] = (None, 7, "text", [], {}, True, 1.5, [1, [2]], {"x": {"y": 1}})
    for other in others:
        if type(other) is not type(value):
            yield path, other
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _mutations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _mutations(item, (*path, index))


def _put(document: object, path: tuple[object, ...], value: object) -> object:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def test_a_malformed_report_never_crashes_replay(tmp_path: Path) -> None:
    """Wrong types anywhere in a saved report: exit 2 (or a replay), never exit 3."""
    from diagnose.render.json_report import render_json, report_from_dict
    from diagnose.run import replay_report

    original = json.loads((CASSETTES / "wrong-password.json").read_text())
    crashes = []
    tried = 0
    for path, value in _mutations(original):
        document = _put(original, path, value)
        tried += 1
        try:
            report = report_from_dict(document)  # type: ignore[arg-type]
        except ValueError:
            continue  # exit 2 in the CLI
        try:
            render_json(replay_report(report))
        except Exception as exc:
            crashes.append(f"{'/'.join(map(str, path))} = {value!r}: {type(exc).__name__}: {exc}")
    assert tried > 500
    assert crashes == [], "\n".join(crashes[:20])


def test_replay_of_a_report_with_a_wrong_type_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    original = json.loads((CASSETTES / "refused.json").read_text())
    original["pulls"][0]["exchange_ids"] = [[1]]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(original))
    result = run(capsys, "replay", str(bad))
    assert result.code == 2 and "exchange_ids" in result.err


@pytest.mark.parametrize("args", [("replay", "CASSETTE"), ("replay", "CASSETTE", "--json")])
def test_output_works_when_stdout_cannot_encode_unicode(args: tuple[str, ...]) -> None:
    argv = [str(CASSETTES / "anon-missing-repo.json") if a == "CASSETTE" else a for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "diagnose", *argv],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "100"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr.decode("ascii", "replace")
    assert done.stderr.decode("ascii").count("\n") <= 1
    text = done.stdout.decode("ascii")  # every byte is ASCII
    assert "not found" in text
    if "--json" in argv:
        assert json.loads(text)["diagnosis"]["id"] == "unauthorized-hidden-by-v1"
