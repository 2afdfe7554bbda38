"""Many references in one run (``compare --file``): read the list, run them, summarise.

Each reference gets exactly the report a single ``compare`` of it would give (the caller
passes the same function for one and for many); the batch only adds the list, the
concurrency (``--jobs``) and one summary line per reference. This module must not print,
parse options or send anything itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from diagnose.concurrency import Cancel, run_all
from diagnose.model import ImageReference, Report


def read_references(text: str) -> tuple[str, ...]:
    """One reference per line; blank lines and ``#`` comments (whole or trailing) skipped.

    A reference never contains ``#`` (distribution/reference grammar), so everything after
    one is a comment.
    """
    found = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            found.append(entry)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One line of the batch table: the reference, each pull's outcome, the verdict."""

    reference: str
    outcomes: tuple[tuple[str, str], ...]  # (strategy, outcome) in pull order
    verdict: str  # the diagnosis id
    title: str
    ok: bool


def summary_row(report: Report) -> SummaryRow:
    return SummaryRow(
        reference=report.reference.input,
        outcomes=tuple((p.strategy.value, p.outcome.value) for p in report.table_pulls),
        verdict=report.diagnosis.id,
        title=report.diagnosis.title,
        ok=all(p.ok for p in report.table_pulls),
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def report_file_name(index: int, reference: ImageReference) -> str:
    """``007-registry.example.com_team_app_1.4.json``: numbered (order kept, no collisions
    between references that differ only in unsafe characters), readable, one path segment."""
    name = _UNSAFE.sub("_", reference.input).strip("._") or "reference"
    return f"{index:03d}-{name[:120]}.json"


def run_batch(
    references: Sequence[ImageReference],
    run_one: Callable[[ImageReference, Cancel], Report],
    *,
    jobs: int,
    done: Callable[[int, Report], None] | None = None,
) -> list[Report]:
    """Every reference's report, in input order; at most ``jobs`` references at a time.

    ``done(index, report)`` is called as each finishes (progress); Ctrl-C cancels every pull
    under way through the shared ``Cancel``.
    """
    cancel = Cancel()

    def task(index: int, reference: ImageReference) -> Callable[[], Report]:
        def run() -> Report:
            report = run_one(reference, cancel)
            if done is not None:
                done(index, report)
            return report

        return run

    return run_all([task(i, r) for i, r in enumerate(references)], cancel=cancel, jobs=jobs)
