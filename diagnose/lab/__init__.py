"""The built-in Docker-Hub-like lab: a registry and a token server on 127.0.0.1, standard library only.

Public API for the CLI (``diagnose lab``, ``diagnose demo``) and for tests. This package must
never listen on anything but the configured host (127.0.0.1 by default) and must never touch
the internet.
"""

from __future__ import annotations

from diagnose.lab.content import LabImage
from diagnose.lab.server import LAB_USERS, Lab, LabConfig, SeenRequest, start_lab
from diagnose.lab.tokens import SERVICE
from diagnose.lab.wire import LabAuth, LabV1

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
