"""How much of what a server sent may be repeated in a report, and the cut that enforces it.

A registry can answer with anything: a 4 KB gzip answer inflates to megabytes, and docker
1.12's message quotes the whole body, which notes, client predictions and the diagnosis then
quote again. The full (capped) body lives once, in its exchange (``http.RECORDED_BODY_LIMIT``);
every other string of a report is cut at ``QUOTE_LIMIT`` characters, with a marker that says
how much was left out and where the answer is kept. A report of one reference therefore
stays a few megabytes, and the terminal renders it in a moment, whatever the server sends.

This module must not redact, word client messages or do I/O; it only cuts.
"""

from __future__ import annotations

QUOTE_LIMIT = 4096
"""Characters of any one string outside the exchanges (a message, a note, an explanation)."""

SCRUB_MARGIN = 2048
"""Characters kept past the limit until secrets are scrubbed, so the final cut can never
leave the first half of a secret that the scrubber would have recognised whole."""


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut at ``limit`` characters, saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters; the exchange keeps the answer)"
