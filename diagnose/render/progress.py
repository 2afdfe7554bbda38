"""A progress display for streamed layer bodies (``compare --layers``), on stderr.

It turns the transport's progress calls (pull, step, bytes so far, ``Content-Length``) into one
``rich`` bar per layer and pull: bytes, rate, size when known. Only used when stderr is a
terminal; it must not touch stdout (the report goes there) or decide anything about a pull.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)

from diagnose.http import ProgressSink


@contextmanager
def layer_progress(console: Console) -> Iterator[ProgressSink]:
    """A progress callback for ``TransportOptions.progress``, live while the block runs."""
    lock = threading.Lock()
    tasks: dict[tuple[str, str], TaskID] = {}
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        console=console,
        transient=False,
    )

    def update(pull: str, step: str, done: int, total: int | None) -> None:
        with lock:
            key = (pull, step)
            task = tasks.get(key)
            if task is None:
                task = progress.add_task(f"{pull} {step}", total=total)
                tasks[key] = task
            progress.update(task, completed=done)

    with progress:
        yield update
