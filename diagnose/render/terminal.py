"""Terminal rendering with rich: the side-by-side pull table, the outcomes and the diagnosis panel.

Everything that came from a registry (messages, reasons, URLs, error text) is wrapped in
``rich.text.Text`` and never parsed as console markup, so a body saying ``[bold]`` prints
literally. This module must not decide anything (the rules do), read files, or create a
Console: the CLI passes one in (colour, width and ``no_color`` are the Console's business).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from diagnose.model import Diagnosis, Outcome, PullResult, PullStep, Report
from diagnose.render.safe_text import sanitize_report
from diagnose.urls import split_url

_OUTCOME_STYLE = {Outcome.OK: "bold green"}
_STRATEGY_LABEL = {"v2-only": "strict V2", "v2-then-v1": "V2, then V1 fallback"}


def _status_style(status: int | None) -> str:
    if status is None:
        return "bold red"
    if status < 300:
        return "green"
    if status < 400:
        return "cyan"
    if status < 500:
        return "yellow"
    return "bold red"


def _outcome_style(outcome: Outcome) -> str:
    return _OUTCOME_STYLE.get(outcome, "bold red")


def _primary_host(report: Report) -> str:
    """The host of the first V2 request: where the registry API lives (``registry-1.docker.io``)."""
    for pull in report.pulls:
        for step in pull.steps:
            parts = split_url(step.url)
            if parts.path.startswith("/v2/") and parts.netloc:
                return parts.netloc
    return report.reference.domain


def _short_url(url: str, host: str) -> str:
    """The URL without scheme, and without the host when it is the registry's (shown in the title)."""
    parts = split_url(url)
    rest = parts.path or "/"
    if parts.query:
        # Token URLs carry service=, scope=, account=: the scope is the evidence worth a line.
        scopes = [v for k, v in parse_qsl(parts.query) if k == "scope"]
        rest += "?scope=" + "&scope=".join(scopes) if scopes else "?…"
    if parts.netloc == host:
        return rest
    return f"{parts.netloc}{rest}" if parts.netloc else url


def _step_cell(step: PullStep, host: str) -> Text:
    text = Text()
    text.append(step.label, style="bold")
    text.append(f"  {step.method} ", style="dim")
    text.append(_short_url(step.url, host), style="dim")
    text.append("\n")
    status = "—" if step.status is None else str(step.status)
    text.append(status, style=_status_style(step.status))
    result = step.result
    if step.status is not None and result.startswith(status):
        result = result[len(status) :].lstrip(" :·-")
    if result:
        text.append(f" {result}")
    return text


def _pull_header(pull: PullResult) -> Text:
    header = Text(pull.strategy.value, style="bold")
    header.append(" — ")
    header.append(pull.client)
    return header


def comparison_table(report: Report) -> Table:
    """One column per pull, one row per step; the pulls may have different numbers of steps."""
    host = _primary_host(report)
    title = Text(report.reference.canonical, style="bold")
    title.append(f"  ·  registry {host}", style="dim")
    title.append(f"  ·  {report.auth.mode.value}", style="dim")
    if report.auth.username:
        title.append(f" as {report.auth.username}", style="dim")
    table = Table(title=title, box=box.SIMPLE_HEAD, expand=True, show_lines=False, padding=(0, 1))
    table.add_column("#", justify="right", style="dim", no_wrap=True, width=2)
    for pull in report.pulls:
        table.add_column(_pull_header(pull), overflow="fold", ratio=1)
    rows = max((len(p.steps) for p in report.pulls), default=0)
    for index in range(rows):
        cells: list[RenderableType] = [Text(str(index + 1))]
        for pull in report.pulls:
            cells.append(_step_cell(pull.steps[index], host) if index < len(pull.steps) else Text(""))
        table.add_row(*cells, end_section=True)
    if rows == 0:
        table.add_row(Text(""), *(Text("(no steps recorded)", style="dim") for _ in report.pulls))
    return table


def outcomes(report: Report) -> Table:
    """Each pull's outcome and the exact line its client prints."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold", ratio=1)
    for pull in report.pulls:
        label = Text(pull.strategy.value, style="bold")
        verdict = Text(pull.outcome.value, style=_outcome_style(pull.outcome))
        if pull.protocol is not None:
            verdict.append(f" via {pull.protocol.value}", style="dim")
        verdict.append("  ")
        verdict.append(pull.client, style="dim")
        verdict.append(" prints:", style="dim")
        grid.add_row(label, verdict)
        grid.add_row(Text(""), Text(pull.message or "(nothing)", style="bold" if not pull.ok else "green"))
    return grid


def _bullets(items: Sequence[str], *, numbered: bool = False) -> Table:
    """A list with a hanging indent, so wrapped lines align under the text, not the marker."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True, style="dim")
    grid.add_column(overflow="fold", ratio=1)
    for index, item in enumerate(items, start=1):
        grid.add_row(Text(f" {index}." if numbered else " •"), Text(item))
    return grid


def diagnosis_panel(diagnosis: Diagnosis) -> Panel:
    """Title, why the pulls differ (or what happened), what is known, unknowable, next steps."""
    parts: list[RenderableType] = [Text(diagnosis.title, style="bold"), Text("")]
    heading = "Why they differ" if diagnosis.differ else "What happened"
    parts.append(Text(heading, style="bold underline"))
    parts.append(Text(diagnosis.explanation))
    sections = (
        ("What is known", diagnosis.known, False),
        ("What the registry will not reveal", diagnosis.unknowable, False),
        ("Next steps", diagnosis.next_steps, True),
    )
    for name, items, numbered in sections:
        if items:
            parts.append(Text(""))
            parts.append(Text(name, style="bold underline"))
            parts.append(_bullets(items, numbered=numbered))
    ok = diagnosis.id == "both-ok"
    return Panel(
        Group(*parts),
        title=Text("Diagnosis", style="bold"),
        title_align="left",
        subtitle=Text(f"rule {diagnosis.id}", style="dim"),
        subtitle_align="right",
        border_style="green" if ok else "red" if diagnosis.differ else "yellow",
        padding=(0, 1),
    )


def render_terminal(report: Report, console: Console) -> None:
    """Print the comparison table, the outcomes and the diagnosis panel to ``console``."""
    report = sanitize_report(report)
    console.print(comparison_table(report))
    console.print(outcomes(report))
    console.print()
    console.print(diagnosis_panel(report.diagnosis))


def _hosts_text(hosts: object) -> Text:
    text = Text()
    if isinstance(hosts, Mapping):
        for index, (client, host) in enumerate(hosts.items()):
            if index:
                text.append("\n")
            text.append(f"{client}: ", style="dim")
            text.append(str(host))
    elif isinstance(hosts, list | tuple):
        text.append("\n".join(str(h) for h in hosts))
    elif hosts is not None:
        text.append(str(hosts))
    return text


_REFERENCE_FIELDS = ("domain", "path", "tag", "digest", "familiar", "canonical")


def render_reference_table(described: Sequence[Mapping[str, object]], console: Console) -> None:
    """``diagnose ref``: how clients read each name (``reference.describe`` objects)."""
    for item in described:
        table = Table(
            title=Text(str(item.get("input", "")), style="bold"),
            box=box.SIMPLE_HEAD,
            show_header=False,
            padding=(0, 1),
        )
        table.add_column("field", style="dim", no_wrap=True)
        table.add_column("value", overflow="fold")
        error = item.get("error")
        if error:
            table.add_row(Text("error"), Text(str(error), style="bold red"))
        else:
            for name in _REFERENCE_FIELDS:
                value = item.get(name)
                table.add_row(Text(name), Text("—" if value is None else str(value)))
            hosts = item.get("hosts")
            if hosts:
                table.add_row(Text("hosts"), _hosts_text(hosts))
        console.print(table)
