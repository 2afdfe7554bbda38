"""Output files (--save, --markdown, --har): refused before any request, written safely.

The CLI tests run ``compare`` against a small registry on 127.0.0.1 and check what reached it:
a refused output path means not a single request was sent.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from diagnose import cli
from diagnose.outputs import Output, OutputProblem, check_outputs, write_output, write_outputs
from tests.helpers_http import QuietHandler, serve


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        cli.main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


class NotFound(QuietHandler):
    def do_GET(self) -> None:
        self.seen()
        self.reply(404, b"no", [("Content-Type", "text/plain")])


def compare_args(port: int, *extra: str) -> list[str]:
    return ["compare", f"127.0.0.1:{port}/library/x", "--no-tls-verify", "--timeout", "2", *extra]


# ----------------------------------------------------------------------------- refused up front


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    link = tmp_path / "r.json"
    link.symlink_to(target)
    with pytest.raises(OutputProblem, match="symbolic link"):
        check_outputs([Output("--save", link)])
    with pytest.raises(OutputProblem, match="symbolic link"):
        write_output(link, "x")
    assert target.read_text() == "keep me"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputProblem, match="FIFO"):
        check_outputs([Output("--har", fifo)])


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "missing" / "r.json", "does not exist"),
        (lambda d: d, "is a directory"),
    ],
    ids=["missing-directory", "directory"],
)
def test_unusable_paths_are_refused(tmp_path: Path, make: object, words: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(OutputProblem, match=words):
        check_outputs([Output("--save", path)])


def test_the_same_file_for_two_outputs_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(OutputProblem, match="the same file as --save"):
        check_outputs([Output("--save", Path("r.json")), Output("--har", tmp_path / "sub" / ".." / "r.json")])
    (tmp_path / "a.md").write_text("")
    os.link(tmp_path / "a.md", tmp_path / "b.md")  # two names, one file
    with pytest.raises(OutputProblem, match="the same file"):
        check_outputs([Output("--markdown", Path("a.md")), Output("--har", Path("b.md"))])
    with pytest.raises(OutputProblem, match="the input"):
        check_outputs([Output("--markdown", Path("a.md"))], inputs=(Path("a.md"),))
    check_outputs([Output("--save", Path("r.json")), Output("--har", Path("r.har"))])


def test_reports_are_created_0600_and_replace_a_wider_file(tmp_path: Path) -> None:
    fresh, existing = tmp_path / "new.json", tmp_path / "old.json"
    existing.write_text("old")
    existing.chmod(0o644)
    write_output(fresh, "{}")
    write_output(existing, "new")
    for path in (fresh, existing):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert existing.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "old.json"]  # no temporary left


def test_a_write_that_fails_is_reported_not_raised(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    problems = write_outputs(
        [(Output("--save", gone / "r.json"), "{}"), (Output("--har", tmp_path / "t.har"), "")]
    )
    assert len(problems) == 1 and problems[0].startswith("--save:")
    assert (tmp_path / "t.har").exists()


# ----------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("option", ["--save", "--markdown", "--har"])
def test_cli_refuses_an_unwritable_output_before_any_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with serve(NotFound) as server:
        code, out, err = run(capsys, *compare_args(server.port, option, str(not_a_dir / "out")))
        seen = server.requests
    assert code == 2, err
    assert seen == ()
    assert err.count("\n") == 1 and option in err
    assert out == ""


def test_cli_refuses_a_symlink_a_fifo_and_a_repeated_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "target").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    os.mkfifo(tmp_path / "fifo")
    cases = [
        ("--save", str(tmp_path / "link")),
        ("--markdown", str(tmp_path / "fifo")),
        ("--save", str(tmp_path / "r"), "--har", str(tmp_path / "r")),
    ]
    with serve(NotFound) as server:
        for extra in cases:
            code, _out, err = run(capsys, *compare_args(server.port, *extra))
            assert code == 2, (extra, err)
        seen = server.requests
    assert seen == ()
    assert (tmp_path / "target").read_text() == "keep"


def test_replay_refuses_to_write_over_the_report_it_reads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "r.json"
    with serve(NotFound) as server:
        run(capsys, *compare_args(server.port, "--save", str(saved)))
    before = saved.read_text()
    code, _out, err = run(capsys, "replay", str(saved), "--markdown", str(saved))
    assert code == 2 and "the input" in err
    assert saved.read_text() == before


def test_cli_prints_the_diagnosis_when_writing_fails_afterwards(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    class RemovesTheOutputDirectory(NotFound):
        """The directory is there when diagnose checks it and gone when it writes."""

        def do_GET(self) -> None:
            shutil.rmtree(out_dir, ignore_errors=True)
            super().do_GET()

    with serve(RemovesTheOutputDirectory) as server:
        code, out, err = run(capsys, *compare_args(server.port, "--save", str(out_dir / "r.json"), "--json"))
    assert code == 2
    assert '"diagnosis"' in out  # the diagnosis was printed anyway
    assert ("--save" in err and "cannot write" in err) or "does not exist" in err


def test_cli_writes_reports_0600(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = [tmp_path / "r.json", tmp_path / "t.md", tmp_path / "t.har"]
    with serve(NotFound) as server:
        code, _out, _err = run(
            capsys,
            *compare_args(
                server.port, "--save", str(files[0]), "--markdown", str(files[1]), "--har", str(files[2])
            ),
        )
    assert code == 1
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
