"""The files a user asks for (``--save``, ``--markdown``, ``--har``): checked, then written safely.

A run can take a minute; a report path that cannot be written is refused *before* any request
is sent (``check_outputs``), and a write that still fails afterwards must not cost the user
the diagnosis (``write_outputs`` returns the problems; the caller prints the diagnosis first).

Reports name users, hosts and repositories, so they are created with mode 0600. A path that
is a symbolic link, a FIFO, a device, a socket or a directory is refused: writing through a
link planted in a shared directory, or blocking forever on a FIFO, is never what the user
meant. Two outputs (or an output and the report being replayed) naming the same file are
refused too. Each file is written to a temporary file in the same directory and renamed over
the target, so a failed write leaves no half file and the rename never follows a link.

This module must not render reports, print, or choose exit codes (``cli.py`` does).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPORT_MODE = 0o600


class OutputProblem(Exception):
    """An output file that cannot or must not be written: one line for the user."""


@dataclass(frozen=True, slots=True)
class Output:
    """One requested output file: the option that named it and the path given."""

    option: str  # "--save", "--markdown", "--har"
    path: Path


def _identity(path: Path) -> str:
    """A key equal for two spellings of one file: the resolved directory plus the name, or
    the device and inode when the file exists (hard links)."""
    try:
        info = os.stat(path)
    except OSError:
        return str(Path(os.path.realpath(path.parent or Path("."))) / path.name)
    return f"inode:{info.st_dev}:{info.st_ino}"


def _refusal(path: Path) -> str | None:
    """Why ``path`` must not be written, or None."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        return exc.strerror or str(exc)
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            return "is a symbolic link; refusing to write through it"
        if stat.S_ISDIR(info.st_mode):
            return "is a directory"
        if stat.S_ISFIFO(info.st_mode):
            return "is a FIFO (named pipe); refusing to write to it"
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file"
        if not os.access(path, os.W_OK):
            return "is not writable"
    directory = path.parent
    if not directory.is_dir():
        return f"directory {directory} does not exist"
    try:  # the only sure test of "can I create a file here" (permissions, read-only mounts)
        fd, probe = tempfile.mkstemp(prefix=".diagnose-probe-", dir=directory)
    except OSError as exc:
        return f"cannot create a file in {directory}: {exc.strerror or exc}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def check_outputs(outputs: Sequence[Output], *, inputs: Sequence[Path] = ()) -> None:
    """Refuse (``OutputProblem``) any output that could not be written or must not be.

    ``inputs`` are files the command reads (the report given to ``replay``): writing an
    output over one of them would destroy the user's evidence.
    """
    taken: dict[str, str] = {_identity(path): f"the input {path}" for path in inputs}
    for output in outputs:
        key = _identity(output.path)
        if key in taken:
            raise OutputProblem(f"{output.option} {output.path}: the same file as {taken[key]}")
        taken[key] = f"{output.option} {output.path}"
        reason = _refusal(output.path)
        if reason is not None:
            raise OutputProblem(f"{output.option} {output.path}: {reason}")


def write_output(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) through a temporary file and a rename."""
    reason = _refusal(path)  # again: the path may have changed during the run
    if reason is not None:
        raise OutputProblem(f"{path}: {reason}")
    directory = path.parent
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputProblem(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, REPORT_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputProblem(f"cannot write {path}: {exc.strerror or exc}") from None


def write_outputs(files: Sequence[tuple[Output, str]]) -> tuple[str, ...]:
    """Write each ``(output, text)``; return one line per file that could not be written.

    Never raises for a file: the caller prints the diagnosis anyway, then these lines.
    """
    problems: list[str] = []
    for output, text in files:
        try:
            write_output(output.path, text)
        except OutputProblem as exc:
            problems.append(f"{output.option}: {exc}")
    return tuple(problems)
