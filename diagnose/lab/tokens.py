"""The lab's bearer tokens: scope parsing, pull policy, JWT-shaped token issue and verification.

Tokens follow distribution's token spec (docs/content/spec/auth/jwt.md): claims ``iss``,
``sub`` (empty for anonymous), ``aud`` (the service), ``exp``, ``nbf``, ``iat``, ``jti`` and
``access`` — but are signed HS256 with a per-lab random secret instead of RS256/x5c, because the
lab is both issuer and verifier. This module is pure (no sockets, no threads); it must not know
HTTP. The clock is injectable so expiry can be tested.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SERVICE = "diagnose-lab"
ISSUER = "diagnose-lab-token-server"
TOKEN_LIFETIME = 300  # Docker Hub answers expires_in: 300
KEY_ID = "diagnose-lab-hs256"


@dataclass(frozen=True, slots=True)
class Access:
    """One access entry: ``{"type": ..., "name": ..., "actions": [...]}``."""

    type: str
    name: str
    actions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


@dataclass(frozen=True, slots=True)
class Claims:
    """The decoded, verified payload of a lab token."""

    iss: str
    sub: str
    aud: str
    exp: int
    nbf: int
    iat: int
    jti: str
    access: tuple[Access, ...]

    def allows(self, type_: str, name: str, action: str) -> bool:
        return any(a.type == type_ and a.name == name and action in a.actions for a in self.access)


class TokenProblem(StrEnum):
    """Why a presented token was refused; all map to ``error="invalid_token"`` at the registry."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    WRONG_AUDIENCE = "wrong-audience"
    WRONG_ISSUER = "wrong-issuer"


class InvalidToken(Exception):
    """A token failed verification; ``problem`` says why."""

    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def parse_scope(text: str) -> Access | None:
    """``repository:library/busybox:pull,push`` -> Access; None when malformed.

    The name may hold a ``host:port`` part, so type is before the first colon and actions
    after the last one (distribution docs/content/spec/auth/scope.md). A resource class
    (``repository(plugin)``) is kept as part of the type.
    """
    first = text.find(":")
    last = text.rfind(":")
    if first <= 0 or last <= first or last == len(text) - 1:
        return None
    name = text[first + 1 : last]
    if not name:
        return None
    actions = tuple(a for a in text[last + 1 :].split(",") if a)
    return Access(text[:first], name, actions) if actions else None


def granted(
    subject: str,
    requested: Access,
    *,
    public_repositories: Collection[str],
    users: Collection[str],
) -> Access | None:
    """What the lab's Docker-Hub-like policy grants for one requested scope (None: nothing).

    - ``library/<name>``: pull for everyone, but only when the repository exists (Hub gives an
      anonymous caller an empty access list for a nonexistent name).
    - ``<user>/<name>``: pull for that user only, whether the repository exists or not.
    - anything else (push, other namespaces, other resource types): nothing. The token server
      never errors on a scope it will not grant (distribution token.md, intersection rule).
    """
    if requested.type != "repository" or "pull" not in requested.actions:
        return None
    namespace, _, rest = requested.name.partition("/")
    if not rest:
        return None
    if namespace == "library" and requested.name in public_repositories:
        return Access("repository", requested.name, ("pull",))
    if subject and namespace == subject and subject in users:
        return Access("repository", requested.name, ("pull",))
    return None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


class TokenIssuer:
    """Issues and verifies lab tokens with one random secret (per lab, never on disk)."""

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        clock: Callable[[], float] = time.time,
        lifetime: int = TOKEN_LIFETIME,
    ) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._clock = clock
        self.lifetime = lifetime

    def now(self) -> int:
        return int(self._clock())

    def _sign(self, signing_input: bytes) -> str:
        return _b64url(hmac.new(self._secret, signing_input, hashlib.sha256).digest())

    def _encode(self, payload: Mapping[str, Any]) -> str:
        header = {"alg": "HS256", "typ": "JWT", "kid": KEY_ID}
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(payload, separators=(",", ":")).encode())
        )
        return signing_input + "." + self._sign(signing_input.encode("ascii"))

    def issue(self, subject: str, audience: str, access: Sequence[Access], *, skew: int = 0) -> str:
        """A signed access token for ``subject`` ("" = anonymous); ``skew`` seconds shift the
        issuer's clock (negative: the token is already expired when it arrives)."""
        now = self.now() + skew
        payload = {
            "iss": ISSUER,
            "sub": subject,
            "aud": audience,
            "exp": now + self.lifetime,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": [a.to_json() for a in access],
        }
        return self._encode(payload)

    def issue_refresh(self, subject: str, audience: str) -> str:
        """A long-lived refresh token (OAuth2 ``access_type=offline`` / ``offline_token=true``)."""
        now = self.now()
        return self._encode(
            {
                "iss": ISSUER,
                "sub": subject,
                "aud": audience,
                "iat": now,
                "typ": "refresh",
                "jti": secrets.token_hex(12),
            }
        )

    def _payload(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3 or not all(parts):
            raise InvalidToken(TokenProblem.MALFORMED)
        try:
            signing_input = (parts[0] + "." + parts[1]).encode("ascii")
            header = json.loads(_unb64url(parts[0]))
            payload = json.loads(_unb64url(parts[1]))
        except (UnicodeError, ValueError, binascii.Error, RecursionError):
            raise InvalidToken(TokenProblem.MALFORMED) from None
        if not isinstance(header, dict) or not isinstance(payload, dict) or header.get("alg") != "HS256":
            raise InvalidToken(TokenProblem.MALFORMED)
        if not hmac.compare_digest(self._sign(signing_input), parts[2]):
            raise InvalidToken(TokenProblem.BAD_SIGNATURE)
        if payload.get("iss") != ISSUER:
            raise InvalidToken(TokenProblem.WRONG_ISSUER)
        return payload

    def verify(self, token: str, audience: str) -> Claims:
        """The claims of a valid access token, or InvalidToken."""
        payload = self._payload(token)
        if payload.get("typ") == "refresh":
            raise InvalidToken(TokenProblem.MALFORMED)
        try:
            claims = Claims(
                iss=str(payload["iss"]),
                sub=str(payload["sub"]),
                aud=str(payload["aud"]),
                exp=int(payload["exp"]),
                nbf=int(payload["nbf"]),
                iat=int(payload["iat"]),
                jti=str(payload["jti"]),
                access=tuple(
                    Access(str(a["type"]), str(a["name"]), tuple(str(x) for x in a["actions"]))
                    for a in payload["access"]
                ),
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidToken(TokenProblem.MALFORMED) from None
        now = self.now()
        if claims.aud != audience:
            raise InvalidToken(TokenProblem.WRONG_AUDIENCE)
        if now >= claims.exp:
            raise InvalidToken(TokenProblem.EXPIRED)
        if now < claims.nbf:
            raise InvalidToken(TokenProblem.NOT_YET_VALID)
        return claims

    def verify_refresh(self, token: str, audience: str) -> str:
        """The subject of a valid refresh token, or InvalidToken."""
        payload = self._payload(token)
        if payload.get("typ") != "refresh" or payload.get("aud") != audience:
            raise InvalidToken(TokenProblem.MALFORMED)
        return str(payload.get("sub", ""))


def decode_unverified(token: str) -> dict[str, Any]:
    """The payload of a JWT-shaped token without checking it (test and display aid)."""
    payload = json.loads(_unb64url(token.split(".")[1]))
    if not isinstance(payload, dict):
        raise ValueError("token payload is not an object")
    return payload
