"""Read the claims of a registry Bearer token (a JWT) without verifying it.

The claims (``iss``, ``sub``, ``aud``, ``exp``, ``access`` ...) are evidence: they tell "the
token server granted nothing" from "the registry rejected the token" (distribution
docs/spec/auth/jwt.md). This module must not verify signatures, fetch keys, do I/O, or ever return the
signature: it only decodes the middle segment.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from diagnose.model import TokenAccess, TokenClaims

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


LEGACY_CLAIMS_KEY = "diagnose_token_claims"
"""Where reports written before ``Exchange.token_claims`` existed kept the claims: inside the
redacted token body. Read only when loading such a file; never written."""


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _access(value: object) -> tuple[TokenAccess, ...] | None:
    """The ``access`` claim as typed entries; entries of unexpected shape are skipped."""
    if not isinstance(value, list):
        return None
    entries: list[TokenAccess] = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        actions = item.get("actions")
        if isinstance(actions, str):
            actions = [actions]
        entries.append(
            TokenAccess(
                type=str(item.get("type") or ""),
                name=str(item.get("name") or ""),
                actions=tuple(str(a) for a in actions if isinstance(a, str | int))
                if isinstance(actions, list)
                else (),
            )
        )
    return tuple(entries)


def claims_from_mapping(claims: Mapping[str, object]) -> TokenClaims:
    """Typed claims from a decoded JWT payload (or a report's ``token_claims`` object).

    Tolerant: a claim of an unexpected type is dropped, never an error (a hostile token
    server decides these bytes).
    """
    aud = claims.get("aud")
    audience: tuple[str, ...] = ()
    if isinstance(aud, str):
        audience = (aud,)
    elif isinstance(aud, list):
        audience = tuple(a for a in aud if isinstance(a, str))
    return TokenClaims(
        iss=_opt_str(claims.get("iss")),
        sub=_opt_str(claims.get("sub")),
        aud=audience,
        exp=_opt_int(claims.get("exp")),
        nbf=_opt_int(claims.get("nbf")),
        iat=_opt_int(claims.get("iat")),
        access=_access(claims.get("access")),
    )


def claims_to_dict(claims: TokenClaims) -> dict[str, Any]:
    """The claims as JSON values, JWT claim names kept (``aud`` a string when single)."""
    aud: str | list[str] | None = None
    if len(claims.aud) == 1:
        aud = claims.aud[0]
    elif claims.aud:
        aud = list(claims.aud)
    return {
        "iss": claims.iss,
        "sub": claims.sub,
        "aud": aud,
        "exp": claims.exp,
        "nbf": claims.nbf,
        "iat": claims.iat,
        "access": None
        if claims.access is None
        else [{"type": a.type, "name": a.name, "actions": list(a.actions)} for a in claims.access],
    }


def token_answer_claims(body: bytes) -> TokenClaims | None:
    """The claims of the JWT in a token endpoint's JSON answer; None for any other body.

    Read from the real (unredacted) answer at record time; the recording keeps only these.
    """
    token = token_from_answer(body)
    claims = decode_claims(token) if token is not None else None
    return claims_from_mapping(claims) if claims is not None else None


def legacy_body_claims(body: str) -> TokenClaims | None:
    """Claims an older report kept inside a redacted token body (``diagnose_token_claims``)."""
    if LEGACY_CLAIMS_KEY not in body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    claims = data.get(LEGACY_CLAIMS_KEY) if isinstance(data, dict) else None
    return claims_from_mapping(claims) if isinstance(claims, dict) else None
