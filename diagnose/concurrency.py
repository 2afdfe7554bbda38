"""Run independent tasks at the same time, and let Ctrl-C stop them within a moment.

Pulls (and batch references) are independent: the critical path is the slowest one, not the
sum. ``concurrent.futures`` joins its worker threads on exit, so a Ctrl-C would wait for every
request still blocked on the network; here the tasks run on daemon threads, the calling thread
waits in short slices (where ``KeyboardInterrupt`` arrives), and ``Cancel`` tells every
registered client to cut its sockets. This module must not know what a task does: no
pullers, no transport, no printing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, cast

T = TypeVar("T")

WAIT_SLICE = 0.1
"""Seconds between checks of the running tasks: the longest a Ctrl-C waits to be noticed."""


class Abortable(Protocol):
    def abort(self, reason: str = "interrupted") -> None: ...


class Cancel:
    """The clients of one run, so one call stops all of them (the ones registered later too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: list[Abortable] = []
        self.cancelled = False

    def register(self, member: Abortable) -> None:
        with self._lock:
            self._members.append(member)
            cancelled = self.cancelled
        if cancelled:
            member.abort()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            members = list(self._members)
        for member in members:
            member.abort()


def run_all(
    tasks: Sequence[Callable[[], T]],
    *,
    cancel: Cancel | None = None,
    jobs: int = 0,
    meanwhile: Callable[[], object] | None = None,
) -> list[T]:
    """Every task's result, in task order; at most ``jobs`` at a time (0: all at once).

    An exception from a task is raised here (the first in task order). ``KeyboardInterrupt``
    in the calling thread cancels ``cancel`` and propagates at once; the daemon threads end
    when their clients are cut and never hold the process. ``meanwhile`` runs in the calling
    thread once the first tasks are under way: work for later (imports) that then costs
    no wall time while the tasks wait on the network.
    """
    slots = threading.BoundedSemaphore(jobs if jobs > 0 else max(len(tasks), 1))
    results: list[T | None] = [None] * len(tasks)
    errors: list[BaseException | None] = [None] * len(tasks)
    done = [threading.Event() for _ in tasks]

    def work(index: int) -> None:
        try:
            if cancel is not None and cancel.cancelled:
                raise KeyboardInterrupt
            results[index] = tasks[index]()
        except BaseException as exc:  # handed to the caller below
            errors[index] = exc
        finally:
            slots.release()
            done[index].set()

    try:
        later = [meanwhile] if meanwhile is not None else []
        for index in range(len(tasks)):
            while not slots.acquire(timeout=WAIT_SLICE):
                while later:  # all slots busy: the first tasks are under way
                    later.pop()()
            threading.Thread(target=work, args=(index,), daemon=True, name=f"task-{index}").start()
        while later:
            later.pop()()
        for event in done:
            while not event.wait(WAIT_SLICE):
                pass
    except KeyboardInterrupt:
        if cancel is not None:
            cancel.cancel()
        raise
    for error in errors:
        if error is not None:
            raise error
    return cast(list[T], results)  # every task stored its result (no error was raised)
