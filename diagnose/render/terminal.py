"""Terminal rendering with rich: verdict, the side-by-side pull table, outcomes, diagnosis, verdict.

Designed for 80 columns and using more when there is more: the verdict is the first line and
the last, so it is on screen when the run ends; the pulls are aligned by what each step did;
paths fold only at ``/``, ``?`` and ``&``; digests show 12 hex digits (whole in JSON and
Markdown). Everything that came from a registry (messages, reasons, URLs, error text) is
wrapped in ``rich.text.Text`` and never parsed as console markup, so a body saying ``[bold]``
prints literally. When the console is not a terminal nothing is padded: lines carry no
trailing spaces. This module must not decide anything (the rules do), read files, or create a
Console: the CLI passes one in (colour, width and ``NO_COLOR`` are the Console's business).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from diagnose.model import Diagnosis, Exchange, Outcome, PullResult, PullStep, Report
from diagnose.render.clients_panel import clients_panel, table_view
from diagnose.render.safe_text import sanitize_report
from diagnose.render.steps import (
    fold,
    outcome_words,
    result_words,
    short_digests,
    short_request,
    shown_pulls,
    table_rows,
    verdict,
)
from diagnose.urls import split_url

KIND_WIDTH = 11
"""The widest step-kind column (``v1 ancestry``); longer kinds fold at spaces."""


def _status_style(step: PullStep) -> str:
    status = step.status
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
    return "bold green" if outcome is Outcome.OK else "bold red"


def _folded(text: str, width: int, style: str = "") -> Text:
    return Text("\n".join(fold(text, width)), style=style)


def _primary_host(report: Report) -> str:
    """The host of the first V2 request: where the registry API lives (``registry-1.docker.io``)."""
    for pull in report.pulls:
        for step in pull.steps:
            parts = split_url(step.url)
            if parts.path.startswith("/v2/") and parts.netloc:
                return parts.netloc
    return report.reference.domain


NARROW = 72
"""Below this width the step kind is the first line of each cell instead of a column of its
own, so a token scope (``?scope=repository:library/``) still fits a cell whole."""


def _column_widths(width: int, pulls: int) -> tuple[int, int]:
    """(kind column or 0, each pull's column) so the table fits ``width``.

    The table has no outer edge, one space of padding between a cell and the separator, and a
    one-character separator between columns.
    """
    kind = KIND_WIDTH if width >= NARROW else 0
    columns = pulls + (1 if kind else 0)
    overhead = 2 * columns + (columns - 1) - 2
    cell = max((width - overhead - kind) // max(pulls, 1), 12)
    return kind, cell


def _step_cell(
    step: PullStep, exchange: Exchange | None, previous: str | None, width: int, *, kind: str = ""
) -> Text:
    text = Text()
    if kind:
        text.append_text(_folded(kind, width, "bold"))
        text.append("\n")
    request = short_digests(f"{step.method} {short_request(step.url, previous)}")
    text.append_text(_folded(request, width, "dim"))
    text.append("\n")
    text.append_text(_folded(short_digests(result_words(step, exchange)), width, _status_style(step)))
    return text


def _pull_header(pull: PullResult, width: int) -> Text:
    header = Text(pull.strategy.value, style="bold")
    header.append("\n")
    header.append_text(_folded(pull.client, width, "dim"))
    return header


def comparison_table(report: Report, width: int = 80) -> Table:
    """One column per pull, one row per kind of step; each step shows scheme and host where
    they change, so docker's https → http endpoint fallback is visible."""
    pulls = shown_pulls(report)
    kind_width, cell_width = _column_widths(width, len(pulls))
    host = _primary_host(report)
    title = f"{short_digests(report.reference.canonical)}  ·  registry {host}  ·  {report.auth.mode.value}"
    if report.auth.username:
        title += f" as {report.auth.username}"
    table = Table(
        title=_folded(title, width, "bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        show_lines=False,
        padding=(0, 1),
        collapse_padding=False,
    )
    if kind_width:
        table.add_column("step", style="bold", width=kind_width, overflow="fold")
    for pull in pulls:
        table.add_column(_pull_header(pull, cell_width), width=cell_width, overflow="fold")
    rows = list(table_rows(report, pulls))
    for row, found in rows:
        cells: list[RenderableType] = [_folded(row.label, kind_width)] if kind_width else []
        for cell in found:
            if cell is None:
                cells.append(Text(""))
                continue
            label = "" if kind_width else cell.step.label
            cells.append(_step_cell(cell.step, cell.exchange, cell.previous_origin, cell_width, kind=label))
        table.add_row(*cells, end_section=True)
    if not rows:
        empty = [Text("")] if kind_width else []
        table.add_row(*empty, *(Text("(no steps recorded)", style="dim") for _ in pulls))
    return table


def outcomes(report: Report, width: int = 80) -> Group:
    """How each pull ended, in words, and the lines its client prints (verbatim but for digests,
    shortened to 12 hex like every digest on the terminal; Markdown and JSON keep them whole)."""
    parts: list[RenderableType] = []
    for pull in shown_pulls(report):
        line = Text(pull.strategy.value, style="bold")
        line.append(f" · {pull.client}: ", style="dim")
        line.append(outcome_words(pull), style=_outcome_style(pull.outcome))
        parts.append(_folded_text(line, width))
        message = short_digests(pull.message) or "(prints nothing)"
        lines = [piece for m in message.splitlines() for piece in fold(m, width - 2)]
        parts.append(Text("\n".join("  " + m for m in lines), style="green" if pull.ok else "bold"))
        for variant in pull.variants:
            parts.append(_folded_text(Text(f"  {variant.when}:", style="dim"), width))
            variant_lines = short_digests(variant.message).splitlines()
            other = [piece for m in variant_lines for piece in fold(m, width - 2)]
            parts.append(Text("\n".join("  " + m for m in other), style="bold"))
    return Group(*parts)


def _folded_text(text: Text, width: int) -> Text:
    """A styled one-line Text folded at the same break points as plain text."""
    lines = fold(text.plain, width)
    if len(lines) <= 1:
        return text
    out = Text()
    at = 0
    for number, line in enumerate(lines):
        start = text.plain.index(line, at)
        if number:
            out.append("\n")
        out.append_text(text[start : start + len(line)])
        at = start + len(line)
    return out


def _bullets(items: Sequence[str], width: int, *, numbered: bool = False) -> Table:
    """A list with a hanging indent, so wrapped lines align under the text, not the marker."""
    grid = Table.grid(padding=(0, 1))
    marker = 3 if numbered else 2
    grid.add_column(justify="right", no_wrap=True, style="dim", width=marker)
    grid.add_column()
    for index, item in enumerate(items, start=1):
        grid.add_row(Text(f"{index}." if numbered else "•"), _folded(short_digests(item), width - marker - 1))
    return grid


def diagnosis_panel(diagnosis: Diagnosis, width: int = 80) -> Panel:
    """Title, why the pulls differ (or what happened), what is known, unknowable, next steps."""
    inner = width - 4
    parts: list[RenderableType] = [_folded(short_digests(diagnosis.title), inner, "bold"), Text("")]
    heading = "Why they differ" if diagnosis.differ else "What happened"
    parts.append(Text(heading, style="bold underline"))
    parts.append(_folded(short_digests(diagnosis.explanation), inner))
    further = tuple(f"{f.title}. {f.explanation}" for f in diagnosis.findings)
    sections = (
        ("Also found", further, False),
        ("What is known", diagnosis.known, False),
        ("What the registry will not reveal", diagnosis.unknowable, False),
        ("Next steps", diagnosis.next_steps, True),
    )
    for name, items, numbered in sections:
        if items:
            parts.append(Text(""))
            parts.append(Text(name, style="bold underline"))
            parts.append(_bullets(items, inner, numbered=numbered))
    ok = diagnosis.id == "both-ok"
    return Panel(
        Group(*parts),
        title=Text("Diagnosis", style="bold"),
        title_align="left",
        subtitle=Text(f"rule {diagnosis.id}", style="dim"),
        subtitle_align="right",
        border_style="green" if ok else "red" if diagnosis.differ else "yellow",
        padding=(0, 1),
        width=width,
    )


def verdict_line(report: Report, width: int = 80) -> Text:
    """The verdict, first and last: green when every pull succeeded, red otherwise."""
    ok = all(p.ok for p in report.pulls)
    return _folded(short_digests(verdict(report)), width, "bold green" if ok else "bold red")


def terminal_sections(report: Report, width: int) -> list[RenderableType]:
    """The report top to bottom. Other panels (what each client prints) slot in here."""
    from diagnose.render.identities import identity_lines

    identities: list[RenderableType] = []
    lines = identity_lines(report)
    if lines:
        block = Text("Identities", style="bold")
        for line in lines:
            block.append("\n")
            block.append_text(_folded("  " + line, width))
        identities = [block, Text("")]
    shown = table_view(report)  # --clients picks the pulls the table shows
    panel = clients_panel(report, width)
    extra: list[RenderableType] = [panel, Text("")] if panel is not None else []
    return [
        verdict_line(shown, width),
        Text(""),
        comparison_table(shown, width),
        Text(""),
        *identities,
        outcomes(shown, width),
        Text(""),
        *extra,
        diagnosis_panel(report.diagnosis, width),
        verdict_line(shown, width),
    ]


def print_unpadded(console: Console, renderables: Sequence[RenderableType]) -> None:
    """Print to a terminal as is; anywhere else (a file, a pipe) without trailing spaces."""
    if console.is_terminal:
        for renderable in renderables:
            console.print(renderable)
        return
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.file.write(text + "\n")
    console.file.flush()


def render_curl(report: Report, console: Console) -> None:
    """``--curl``: every step of each shown pull as a curl command, secrets as environment
    variables. Printed with soft wrapping only, so a copied command has no inserted breaks."""
    from diagnose.render.curl import curl_script

    options = dict(report.options)
    insecure = options.get("tls_verify", options.get("tls-verify")) == "false"
    for pull in shown_pulls(report):
        console.print()
        console.print(Text(f"Reproduce by hand: {pull.strategy.value} · {pull.client}", style="bold"))
        script = curl_script(sorted(pull.exchanges, key=lambda e: e.id), insecure=insecure)
        console.print(Text(script), soft_wrap=True, highlight=False)


def render_terminal(report: Report, console: Console) -> None:
    """Print the verdict, the table, the outcomes, the diagnosis and the verdict again."""
    report = sanitize_report(report)
    print_unpadded(console, terminal_sections(report, console.width))


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
                table.add_row(Text("hosts"), _hosts_text(_host_labels(hosts)))
            implied = item.get("implied")
            if isinstance(implied, list) and implied:
                words = ", ".join(f"{i.get('part')} {i.get('value')}" for i in implied if isinstance(i, dict))
                table.add_row(Text("implied"), Text(words))
            reason = item.get("docker_insecure_reason")
            if item.get("docker_insecure") is not None:
                table.add_row(
                    Text("docker"),
                    Text(
                        f"insecure: {reason}"
                        if reason
                        else "https with certificate checks (not insecure by default)"
                    ),
                )
            warnings = item.get("warnings")
            if isinstance(warnings, list):
                for warning in warnings:
                    if isinstance(warning, dict):
                        table.add_row(
                            Text("warning", style="bold yellow"), Text(str(warning.get("message", "")))
                        )
        print_unpadded(console, [table])


def _host_labels(hosts: object) -> object:
    """``describe`` keys hosts by stable client ids; people read the client names."""
    from diagnose.reference import CLIENT_IDS

    labels = {client_id: label for label, client_id in CLIENT_IDS.items()}
    if isinstance(hosts, Mapping):
        return {labels.get(str(k), str(k)): v for k, v in hosts.items()}
    return hosts
