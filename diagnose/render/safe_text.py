"""Neutralise control characters in registry text before it reaches a terminal or a document.

Registry answers are quoted in messages, steps and bodies. An ESC or BEL in them would be
interpreted by the user's terminal (clear screen, set title, fake output), so the terminal
and Markdown renderers show them as visible escapes (``\\x1b``). JSON keeps the exact text
(JSON escapes control characters itself). Pure functions only.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import Any, TypeVar

from diagnose.model import Report

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

T = TypeVar("T")


def printable(text: str) -> str:
    """``text`` with every C0/C1 control character except newline and tab made visible."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def _clean(value: Any) -> Any:
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, tuple):
        return tuple(_clean(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value


def sanitize_report(report: Report) -> Report:
    """A copy of ``report`` whose every string is ``printable``."""
    cleaned: Report = _clean(report)
    return cleaned
