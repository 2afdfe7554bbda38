"""The built-in Docker-Hub-like lab: a registry and a token server on 127.0.0.1, standard library only.

Public API for the CLI (``diagnose lab``, ``diagnose demo``) and for tests. This package must
never listen on anything but the configured host (127.0.0.1 by default) and must never touch
the internet.

The names below are loaded on first use (PEP 562): the CLI names ``LabAuth``/``LabV1`` in its
option types, and that must not start ``http.server`` and build the lab's images for
``diagnose --help`` or ``diagnose compare``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diagnose.lab.content import LabImage
    from diagnose.lab.modes import LabAuth, LabV1
    from diagnose.lab.server import LAB_USERS, Lab, LabConfig, SeenRequest, start_lab
    from diagnose.lab.tokens import SERVICE

_HOMES = {
    "LAB_USERS": "diagnose.lab.server",
    "Lab": "diagnose.lab.server",
    "LabConfig": "diagnose.lab.server",
    "SeenRequest": "diagnose.lab.server",
    "start_lab": "diagnose.lab.server",
    "SERVICE": "diagnose.lab.tokens",
    "LabAuth": "diagnose.lab.modes",
    "LabV1": "diagnose.lab.modes",
    "LabImage": "diagnose.lab.content",
}

__all__ = [
    "LAB_USERS",
    "SERVICE",
    "Lab",
    "LabAuth",
    "LabConfig",
    "LabImage",
    "LabV1",
    "SeenRequest",
    "start_lab",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
