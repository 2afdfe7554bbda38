"""The compact "what each client prints" panel, for the terminal and for Markdown.

Clients that print the same text (and exit alike) share one entry, so the panel shows how many
different things users can see for one registry answer. It also picks the pulls the comparison
table shows (``Report.table``). This module must not decide anything, do I/O or re-redact: the
predictions were made from redacted recordings and are sanitised with the rest of the report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from diagnose.model import ClientPrediction, Report
from diagnose.render.safe_text import md_block
from diagnose.render.steps import fold, short_digests

if TYPE_CHECKING:
    from rich.panel import Panel


@dataclass(frozen=True, slots=True)
class MessageGroup:
    """Clients that print exactly ``message`` and exit with ``exit_code``."""

    clients: tuple[str, ...]
    message: str
    exit_code: int


def grouped(predictions: Sequence[ClientPrediction]) -> tuple[MessageGroup, ...]:
    """Identical (message, exit code) pairs grouped, in the order their first client appears."""
    order: list[tuple[str, int]] = []
    members: dict[tuple[str, int], list[str]] = {}
    for prediction in predictions:
        key = (prediction.message, prediction.exit_code)
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(prediction.client)
    return tuple(MessageGroup(tuple(members[key]), key[0], key[1]) for key in order)


def table_view(report: Report) -> Report:
    """The report with only the pulls its comparison table shows (``--clients``; default: the
    two original pulls)."""
    if not report.table:
        return report
    return dataclasses.replace(report, pulls=report.table_pulls, table=())


def _heading(group: MessageGroup) -> str:
    status = "succeeds" if group.exit_code == 0 and not group.message else f"exit {group.exit_code}"
    return f"{', '.join(group.clients)}  ({status})"


def clients_panel(report: Report, width: int = 80) -> Panel | None:
    """The terminal panel; None when the report holds no predictions."""
    from rich.console import Group, RenderableType  # the JSON and Markdown paths need no rich
    from rich.panel import Panel
    from rich.text import Text

    groups = grouped(report.clients)
    if not groups:
        return None
    inner = max(20, width - 4)
    parts: list[RenderableType] = []
    for number, group in enumerate(groups):
        if number:
            parts.append(Text(""))
        parts.append(Text("\n".join(fold(_heading(group), inner)), style="bold"))
        if group.message:
            lines = [p for line in short_digests(group.message).splitlines() for p in fold(line, inner - 2)]
            parts.append(Text("\n".join("  " + line for line in lines)))
        else:
            parts.append(Text("  (prints no error)", style="green"))
    distinct = sum(1 for g in groups if g.message)
    subtitle = f"{len(report.clients)} clients · {distinct} different error texts"
    return Panel(
        Group(*parts),
        title=Text("What each client prints", style="bold"),
        title_align="left",
        subtitle=Text(subtitle, style="dim"),
        subtitle_align="right",
        border_style="blue",
        padding=(0, 1),
        width=width,
    )


def clients_markdown(report: Report) -> list[str]:
    """Markdown lines of the same panel (client ids in code spans, texts in fenced blocks)."""
    groups = grouped(report.clients)
    if not groups:
        return []
    out = ["## What every modelled client prints", ""]
    for group in groups:
        names = ", ".join(f"`{client}`" for client in group.clients)
        if group.message:
            out += [f"- {names} (exit {group.exit_code}):", "", md_block(group.message), ""]
        else:
            out += [f"- {names}: succeeds", ""]
    sources = "; ".join(f"`{c.client}`: {c.source}" for c in report.clients if c.source)
    if sources:
        out += [f"Where each wording was read: {sources}", ""]
    return out
