"""``compare --file``: many references in one run, against the lab on 127.0.0.1 (issue 9)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from diagnose import cli
from diagnose.batch import read_references, report_file_name
from diagnose.lab import Lab
from diagnose.reference import parse_reference


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("ubuntu\n", ("ubuntu",)),
        ("# a list\n\n  ubuntu  \nalpine:3.19 # the small one\n#busybox\n", ("ubuntu", "alpine:3.19")),
        ("a\r\nb\r\n", ("a", "b")),
    ],
)
def test_read_references(text: str, expected: tuple[str, ...]) -> None:
    assert read_references(text) == expected


def test_report_file_names_are_numbered_single_segments() -> None:
    ref = parse_reference("127.0.0.1:5000/team/app:1.4")
    assert report_file_name(7, ref) == "007-127.0.0.1_5000_team_app_1.4.json"
    digest = parse_reference("alpine@sha256:" + "a" * 64)
    assert "/" not in report_file_name(1, digest) and ":" not in report_file_name(1, digest)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        cli.main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


# What differs between two runs of the same pulls: times, and the global exchange numbering
# (the pulls run concurrently, so their requests interleave differently from run to run).
# The server's clock shows up too: Date headers, token times (claims and issued_at). In a batch
# a request may find a connection an earlier reference kept alive (what it cost, not what it said).
VOLATILE = {
    *("created", "elapsed_ms", "started_at", "replayed_at"),
    *("new_connection", "tls_handshake"),
    *("id", "exchange_id", "exchange_ids", "redirect_of"),
    *("Date", "exp", "nbf", "iat"),
}
FATAL_CLOCK = re.compile(r"FATA\[\d+\]")  # logrus prints the seconds since start
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?")


def stable(value: Any) -> Any:
    """A report without what differs between two runs of the same pulls; each pull's own
    exchanges keep their order."""
    if isinstance(value, dict):
        out = {k: stable(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value.get("exchanges"), list):
            out["exchanges"] = sorted(out["exchanges"], key=lambda e: str(e.get("strategy")))
        return out
    if isinstance(value, list):
        return [stable(v) for v in value]
    if isinstance(value, str):
        return FATAL_CLOCK.sub("FATA[…]", TIMESTAMP.sub("<time>", value))
    return value


def test_batch_reports_equal_single_runs_and_summarise(
    capsys: pytest.CaptureFixture[str], lab: Lab, tmp_path: Path
) -> None:
    good = f"{lab.registry_host}/library/busybox"
    missing = f"{lab.registry_host}/library/thisimagedoesntexist"
    refs = tmp_path / "refs.txt"
    refs.write_text(f"# two images\n{good}\n\n{missing}  # gone\n", encoding="utf-8")
    out_dir = tmp_path / "reports"

    code, out, err = run(
        capsys, "compare", "--file", str(refs), "--no-tls-verify", "--jobs", "2", "--save-dir", str(out_dir)
    )
    assert code == 1, err  # one reference has a failed pull
    saved = sorted(out_dir.iterdir())
    assert [p.name for p in saved] == [
        report_file_name(1, parse_reference(good)),
        report_file_name(2, parse_reference(missing)),
    ]
    assert "[2/2]" in err
    flat = " ".join(out.split())
    assert good in flat and missing in flat and "2 references, 1 ok, 1 with a failed pull" in flat

    for path, ref in zip(saved, (good, missing), strict=True):
        code_one, single, _ = run(capsys, "compare", ref, "--no-tls-verify", "--json")
        assert code_one == (0 if ref == good else 1)
        assert stable(json.loads(path.read_text(encoding="utf-8"))) == stable(json.loads(single))


def test_batch_reads_stdin_and_prints_json(
    capsys: pytest.CaptureFixture[str], lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = f"{lab.registry_host}/library/busybox"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{good}\n{good}\n"))
    code, out, _ = run(capsys, "compare", "--file", "-", "--no-tls-verify", "--json")
    assert code == 0
    reports = json.loads(out)
    assert [r["reference"]["input"] for r in reports] == [good, good]
    assert all(p["outcome"] == "ok" for r in reports for p in r["pulls"])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("compare",), "give one REF, or --file"),
        (("compare", "ubuntu", "--file", "-"), "give one REF, or --file"),
        (("compare", "ubuntu", "--save-dir", "x"), "--save-dir goes with --file"),
        (("compare", "--file", "/nonexistent/refs.txt"), "cannot read --file"),
        (("compare", "--file", "-", "--save", "r.json"), "use --save-dir with --file"),
    ],
)
def test_batch_input_errors_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], words: str
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("ubuntu\n"))
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert words in err


def test_a_bad_reference_in_the_file_stops_before_any_pull(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("127.0.0.1:9/ok/one\nNot A Reference\n", encoding="utf-8")
    code, out, err = run(capsys, "compare", "--file", str(refs))
    assert (code, out) == (2, "")
    assert "Not A Reference" in err and "comparing" not in err
