"""Registry text made harmless before it reaches a terminal or a Markdown document.

Registry answers (bodies, error messages, headers, URLs) and the user name are quoted in
messages, steps and bodies. Control characters would be obeyed by the user's terminal (clear
the screen, set the title, fake output) and bidirectional overrides would reorder what the
reader sees (``\\u202e``), so both are shown as visible escapes instead. In Markdown, quoted
text must never become a link, an image, an autolink, emphasis or raw HTML: ``md_text``
escapes it, ``md_code``/``md_block`` fence it so it cannot close the fence, and
``md_sentence`` keeps our own well-formed code spans while escaping everything else.
JSON keeps the exact text (JSON escapes control characters itself).

Pure functions only: this module must not do I/O or decide what is shown.
"""

from __future__ import annotations

import re

from diagnose.model import Report
from diagnose.redact import scrub_value

_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 and C1 controls, except tab and newline
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks, embeddings, overrides, isolates
    "\u200b-\u200d\u2060\ufeff"  # zero-width characters
    "\u2028\u2029]"  # line and paragraph separators
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control, bidirectional-override and invisible characters made visible
    (``\\x1b``, ``\\u202e``); newline and tab are kept."""
    return _INVISIBLE.sub(_visible, text)


def sanitize_report(report: Report) -> Report:
    """A copy of ``report`` whose every string is ``printable``."""
    return scrub_value(report, printable)


# --------------------------------------------------------------------------- Markdown

_MARKUP = re.compile(r"([\\`*_\[\]<>!&#|~$])")
"""Characters that open Markdown constructs anywhere in a line (links, images, HTML, entities,
emphasis, code, strikethrough, table cells, GitHub's ``$`` math); escaping only these keeps the
raw ticket readable where it is not rendered."""

_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<=\bwww)(\.)")
"""GFM's extended autolinks: ``scheme://`` and ``www.``; an escaped ``:`` or ``.`` stops both."""

_EMAIL_AT = re.compile(r"(?<=[\w.+-])@(?=[\w-]+\.)")
_BLOCK_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))")
"""What would make a line a list item, a setext heading underline or an ordered list."""


def _inline(text: str) -> str:
    escaped = _MARKUP.sub(r"\\\1", printable(text)).replace("\n", " ")
    escaped = _AUTOLINK.sub(lambda m: "\\" + (m.group(1) or m.group(2)), escaped)
    # GFM links e-mail addresses after unescaping; an empty comment splits the text node so
    # ``a@b.example`` stays text (GitHub drops the comment, the reader sees ``a@b.example``).
    return _EMAIL_AT.sub("@<!-- -->", escaped)


def _not_a_block(markdown: str) -> str:
    def escape(match: re.Match[str]) -> str:
        if match.group(2):
            return f"{match.group(1)}\\{match.group(2)}"
        return f"{match.group(1)}{match.group(3)}\\{match.group(4)}"

    return _BLOCK_START.sub(escape, markdown, count=1)


def md_text(text: str) -> str:
    """Inline Markdown that shows ``text`` literally: no link, image, autolink, emphasis,
    entity, HTML tag, list or heading can form from it."""
    return _not_a_block(_inline(text))


def md_code(text: str) -> str:
    """Inline code that ``text`` cannot close: a fence longer than its longest backtick run."""
    text = printable(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if not text or text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(text: str, lang: str = "text") -> str:
    """A fenced block that ``text`` cannot close (any backtick run is shorter than the fence)."""
    text = printable(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


_BACKTICKS = re.compile(r"`+")


def md_sentence(text: str) -> str:
    """One of our sentences (which may quote registry text) as inline Markdown.

    Code spans are found exactly as CommonMark finds them (a run of n backticks closed by the
    next run of exactly n) and kept, since nothing inside a code span is live; every other
    character that opens markup is escaped as in ``md_text``, unmatched backtick runs included. A regex that
    pairs backticks differently from the renderer is how a double-backtick run once left a
    live link behind.
    """
    text = printable(text).replace("\n", " ")
    runs = list(_BACKTICKS.finditer(text))
    out: list[str] = []
    last = 0
    index = 0
    while index < len(runs):
        opener = runs[index]
        closer_index = next(
            (k for k in range(index + 1, len(runs)) if len(runs[k].group(0)) == len(opener.group(0))),
            None,
        )
        if closer_index is None:
            index += 1
            continue  # unmatched: escaped with the plain text around it
        closer = runs[closer_index]
        out.append(_inline(text[last : opener.start()]))
        out.append(text[opener.start() : closer.end()])
        last = closer.end()
        index = closer_index + 1
    out.append(_inline(text[last:]))
    return _not_a_block("".join(out))
