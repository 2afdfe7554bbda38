"""``run_all``: results in task order, errors raised, and ``meanwhile`` run while the tasks
are under way (the start-up imports a compare overlaps with its network waits)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from diagnose.concurrency import run_all


def waiting_for(event: threading.Event, value: int) -> Callable[[], int]:
    def task() -> int:
        assert event.wait(10), "meanwhile never ran while the task was waiting"
        return value

    return task


@pytest.mark.parametrize("jobs", [0, 1, 2])
def test_meanwhile_runs_while_the_tasks_wait(jobs: int) -> None:
    released = threading.Event()
    tasks = [waiting_for(released, n) for n in range(3)]
    calls: list[str] = []

    def meanwhile() -> None:
        calls.append(threading.current_thread().name)
        released.set()

    assert run_all(tasks, jobs=jobs, meanwhile=meanwhile) == [0, 1, 2]
    assert calls == [threading.main_thread().name]  # once, in the calling thread


def test_the_first_error_in_task_order_is_raised() -> None:
    def fails(text: str) -> Callable[[], None]:
        def task() -> None:
            raise ValueError(text)

        return task

    with pytest.raises(ValueError, match="first"):
        run_all([fails("first"), fails("second")])
