"""Read the claims of a registry Bearer token (a JWT) without verifying it.

The claims (``iss``, ``sub``, ``aud``, ``exp``, ``access`` ...) are evidence: they tell "the
token server granted nothing" from "the registry rejected the token" (registry-behaviours.md
§2.5). This module must not verify signatures, fetch keys, do I/O, or ever return the
signature: it only decodes the middle segment.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None


def decode_claims(token: str) -> dict[str, object] | None:
    """The unverified payload of a JWT (``header.payload.signature``); None if not JWT-shaped.

    JWT-shaped means three base64url segments, the first a JSON object (the JOSE header) and
    the second a JSON object (the claims). Anything else (opaque tokens, V1 ``signature=``
    tokens) gives None.
    """
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    if not (_SEGMENT.match(parts[0]) and _SEGMENT.match(parts[1])):
        return None
    if parts[2] and not _SEGMENT.match(parts[2]):
        return None
    header = _b64url_json(parts[0])
    claims = _b64url_json(parts[1])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return {str(key): value for key, value in claims.items()}


def token_from_answer(body: bytes) -> str | None:
    """The token of a token server's answer: ``token``, else ``access_token`` (distribution
    docs/spec/auth/token.md allows either); None for anything else. Never raises."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    token = data.get("token") or data.get("access_token")
    return token if isinstance(token, str) and token else None


def token_access(claims: Mapping[str, object] | None) -> tuple[str, ...]:
    """The ``access`` claim as scope strings, e.g. ``("repository:library/busybox:pull",)``.

    The access claim is a list of ``{"type", "name", "actions"}`` records (distribution
    docs/spec/auth/jwt.md). A record with no actions gives ``"repository:library/x:"`` — the
    "token granted nothing" case Docker Hub produces for a missing or private repository.
    """
    if not claims:
        return ()
    access = claims.get("access")
    if not isinstance(access, list):
        return ()
    scopes: list[str] = []
    for entry in access:
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type", "")
        name = entry.get("name", "")
        actions = entry.get("actions", [])
        action_text = ",".join(str(a) for a in actions) if isinstance(actions, list) else str(actions)
        scopes.append(f"{kind}:{name}:{action_text}")
    return tuple(scopes)
