"""URL splitting that never raises: recorded URLs come from registries and may be malformed.

``urllib.parse.urlsplit`` raises ValueError on input such as ``http://[::1/token`` (a realm a
registry sent). Rules and renderers read recorded URLs, so they split them through here.
Pure functions only.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def split_url(url: str) -> SplitResult:
    """``urlsplit(url)``, or a result whose path is the whole text when it cannot be split."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port; check it here, once
    except ValueError:
        return SplitResult("", "", url, "", "")
    return parts
