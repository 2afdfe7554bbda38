"""The summary table of a batch run (``compare --file``): one row per reference.

It only lays out ``batch.SummaryRow`` values; it must not run anything or choose exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from diagnose.batch import SummaryRow


def render_batch_table(rows: Sequence[SummaryRow], console: Console) -> None:
    strategies = list(dict.fromkeys(s for row in rows for s, _ in row.outcomes))
    table = Table(box=box.SIMPLE_HEAD, title="diagnose: batch summary", title_justify="left")
    table.add_column("reference", no_wrap=True)  # references are shown whole (copy-paste)
    for strategy in strategies:
        table.add_column(strategy, no_wrap=True)
    table.add_column("verdict", overflow="fold")
    for row in rows:
        outcomes = dict(row.outcomes)
        cells = [Text(row.reference)]
        for strategy in strategies:
            outcome = outcomes.get(strategy, "—")
            cells.append(Text(outcome, style="green" if outcome == "ok" else "bold red"))
        cells.append(Text(row.verdict if row.ok else f"{row.verdict}: {row.title}"))
        table.add_row(*cells)
    console.print(table)
    failed = sum(not row.ok for row in rows)
    console.print(f"{len(rows)} references, {len(rows) - failed} ok, {failed} with a failed pull")
