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


class LabToken(StrEnum):
    """How the lab's token service behaves (the registry's challenge names it as its realm)."""

    NORMAL = "normal"  # issues valid tokens
    EXPIRED = "expired"  # issues tokens that expired an hour ago (a skewed clock): invalid_token
    EMPTY = "empty"  # answers 200 with expires_in and issued_at but no token at all
    UNREACHABLE = "unreachable"  # the realm names a port where nothing listens
    UNRESOLVABLE = "unresolvable"  # the realm names a host that does not resolve (.invalid)
