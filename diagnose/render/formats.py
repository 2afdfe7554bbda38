"""Every document format a report can be written as, in one place: ``--save``/``--json``,
``--markdown``, ``--html``, ``--har``, ``--cassette`` and ``diagnose export --format``.

Each renderer is imported only when its format is asked for (start-up stays fast). This module
must not do I/O: it maps a format name to the text of the document.
"""

from __future__ import annotations

from enum import StrEnum

from diagnose.model import Report


class Format(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    HAR = "har"
    CASSETTE = "cassette"


OPTION_FORMATS = {
    "save": Format.JSON,
    "markdown": Format.MARKDOWN,
    "html": Format.HTML,
    "har": Format.HAR,
    "cassette": Format.CASSETTE,
}
"""Which format each output option writes (``--save FILE`` is the JSON report)."""


def render(fmt: Format, report: Report) -> str:
    """The whole document, newline-terminated."""
    if fmt is Format.JSON:
        from diagnose.render.json_report import render_json

        return render_json(report) + "\n"
    if fmt is Format.MARKDOWN:
        from diagnose.render.markdown import render_markdown

        return render_markdown(report)
    if fmt is Format.HTML:
        from diagnose.render.html import render_html

        return render_html(report)
    if fmt is Format.HAR:
        from diagnose.render.har import render_har

        return render_har(report)
    from diagnose.render.cassette import render_cassette

    return render_cassette(report.exchanges)
