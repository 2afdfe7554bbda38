"""``--layers`` streams: digest on the fly, flat memory, ``--output DIR``, progress (issue 9)."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path

import pytest
from rich.console import Console

from diagnose import cli
from diagnose.lab import Lab
from diagnose.layer_files import LayerFile
from diagnose.model import Strategy
from diagnose.render.progress import layer_progress
from diagnose.transport import Recorder, RecordingClient, TransportOptions
from tests.helpers_http import QuietHandler, serve

SIZE = 32 * 1024 * 1024


class BigBlob(QuietHandler):
    def do_GET(self) -> None:
        self.seen()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(SIZE))
        self.end_headers()
        chunk = bytes(range(256)) * 4096  # 1 MiB
        try:
            for _ in range(SIZE // len(chunk)):
                self.wfile.write(chunk)
        except OSError:
            pass


def test_a_streamed_body_keeps_memory_flat_and_reports_progress() -> None:
    calls: list[tuple[str, str, int, int | None]] = []
    hasher = hashlib.sha256()
    options = TransportOptions(timeout=60, progress=lambda *call: calls.append(call))
    with serve(BigBlob) as server, RecordingClient(Recorder(), Strategy.V2_ONLY, options) as client:
        tracemalloc.start()
        reply = client.send("layer 1/1", "GET", server.url("/blob"), body_sink=hasher.update, max_body=0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert reply.status == 200 and reply.body == b""
    assert hasher.hexdigest() == hashlib.sha256((bytes(range(256)) * 4096) * (SIZE // 2**20)).hexdigest()
    assert peak < 8 * 1024 * 1024, f"{peak} bytes held for a {SIZE}-byte body"
    assert calls[-1] == ("v2-only", "layer 1/1", SIZE, SIZE)
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)


def test_the_progress_bar_names_pull_and_layer() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with layer_progress(console) as update:
        update("v2-only", "layer 1/2", 512 * 1024, 1024 * 1024)
        update("v2-only", "layer 1/2", 1024 * 1024, 1024 * 1024)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "v2-only layer 1/2" in text and "1.0/1.0 MiB" in text


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        cli.main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def test_output_dir_keeps_each_verified_layer_under_its_digest(
    capsys: pytest.CaptureFixture[str], lab: Lab, tmp_path: Path
) -> None:
    out = tmp_path / "layers"
    code, _, err = run(
        capsys,
        "compare",
        f"{lab.registry_host}/library/busybox",
        "--no-tls-verify",
        "--layers",
        "--output",
        str(out),
    )
    assert code == 0, err
    files = sorted(out.iterdir())
    assert files, "the v2-only pull wrote its layers"
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
        assert path.stat().st_mode & 0o077 == 0


def test_no_layer_is_written_without_output(
    capsys: pytest.CaptureFixture[str], lab: Lab, tmp_path: Path
) -> None:
    code, _, _ = run(capsys, "compare", f"{lab.registry_host}/library/busybox", "--no-tls-verify", "--layers")
    assert code == 0
    code, out, err = run(capsys, "compare", "127.0.0.1:9/x", "--output", str(tmp_path / "o"))
    assert (code, out) == (2, "") and "--output goes with --layers" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("digest", ["sha256:../../etc/passwd", "sha512:" + "a" * 128, "sha256:" + "A" * 64])
def test_a_digest_that_is_not_a_file_name_is_never_written(tmp_path: Path, digest: str) -> None:
    layer = LayerFile(str(tmp_path), digest)
    layer.write(b"data")
    assert layer.finish(verified=True) is None
    assert layer.error is not None and list(tmp_path.iterdir()) == []


def test_a_layer_that_fails_verification_is_removed(tmp_path: Path) -> None:
    layer = LayerFile(str(tmp_path), "sha256:" + "0" * 64)
    layer.write(b"not those bytes")
    assert layer.finish(verified=False) is None
    assert list(tmp_path.iterdir()) == []
