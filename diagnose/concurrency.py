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
from contextvars import ContextVar
from dataclasses import dataclass, field
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


class _Turns:
    """Which of the tasks started together may take the next exchange id."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._passed: set[int] = set()

    def wait(self, index: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._next >= index)

    def pass_on(self, index: int) -> None:
        with self._cond:
            self._passed.add(index)
            while self._next in self._passed:
                self._next += 1
            self._cond.notify_all()


@dataclass(slots=True)
class _Ticket:
    turns: _Turns
    index: int
    used: bool = field(default=False)


_TICKET: ContextVar[_Ticket | None] = ContextVar("diagnose_ticket", default=None)


def in_turn(take: Callable[[], T]) -> T:
    """``take()`` (the recorder handing out an exchange id), in task order for the first request
    of each task ``run_in_order`` started: task i's first id comes after task i-1's, whichever
    thread the scheduler runs first, so a report numbers concurrent layer requests by layer.
    Outside such a task, or for a task's later requests, ``take()`` runs at once."""
    ticket = _TICKET.get()
    if ticket is None or ticket.used:
        return take()
    ticket.turns.wait(ticket.index)
    try:
        return take()
    finally:
        ticket.used = True
        ticket.turns.pass_on(ticket.index)


def run_in_order(tasks: Sequence[Callable[[], T]], limit: int) -> list[T]:
    """Independent requests of one pull at the same time, as the emulated client sends them:
    at most ``limit`` at once (0: all), started in task order, results in task order, and
    exchange ids in task order (``in_turn``). An exception from a task is raised here."""
    if len(tasks) <= 1 or limit == 1:
        return [task() for task in tasks]
    turns = _Turns()

    def ticketed(index: int, task: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            _TICKET.set(_Ticket(turns, index))  # this task's thread has a context of its own
            try:
                return task()
            finally:
                turns.pass_on(index)  # a task that sent nothing must not hold the others

        return run

    return run_all([ticketed(i, task) for i, task in enumerate(tasks)], jobs=limit)
