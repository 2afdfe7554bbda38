"""The lab's modes, as the CLI offers them: two small enums and nothing else.

Kept apart from ``wire.py`` so that ``diagnose --help`` can name the choices without importing
the lab's plumbing; this module must import nothing from the lab or the model.
"""

from __future__ import annotations

from enum import StrEnum


class LabAuth(StrEnum):
    """How the lab registry authenticates."""

    TOKEN = "token"  # Docker Hub / distribution token auth, separate token server
    BASIC = "basic"  # htpasswd-like: Basic on every request, no per-repository policy
    NONE = "none"  # no authentication at all


class LabV1(StrEnum):
    """Whether the lab also serves the legacy V1 API."""

    ABSENT = "absent"  # like registry:2 and today's Docker Hub: /v1/ is 404
    PRESENT = "present"  # a standalone docker-registry 0.9 next to the V2 API
