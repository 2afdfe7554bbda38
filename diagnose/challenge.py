"""Parse ``WWW-Authenticate`` headers into challenges (RFC 7235 §2.1, §4.1; RFC 6750 §3).

Registries answer a 401 with one or more challenges, e.g.
``Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/foo:pull",error="insufficient_scope"``.
What we must cope with (seen on Docker Hub, distribution, Quay, Harbor, GHCR, Artifactory):

- several challenges in one header line (``Basic realm="x", Bearer realm="y"``) or one per line
  (SPNEGO front-ends send ``Negotiate`` and ``Basic`` separately);
- scheme names in any case (Nexus sends ``BASIC realm=...``);
- quoted values that contain commas (``scope="repository:a/b:pull,push"``) and backslash escapes;
- token68 credentials-style challenges (``Negotiate abc==``);
- odd or broken values (``realm=/``, unterminated quotes, stray commas).

This module is a pure parser: it never raises on bad input (it returns what it could parse, possibly
nothing), does no I/O and makes no decision about which challenge a client would use. Note that it is
more lenient than docker's own parser, which reads one challenge per header line
(docker/distribution registry/client/auth/challenge/authchallenge.go); callers that model a
specific client choose from the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# RFC 7230 §3.2.6 tchar
_TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# RFC 7235 §2.1 token68 (before the trailing '=' padding)
_TOKEN68_CHARS = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SPACE = " \t"


@dataclass(frozen=True, slots=True)
class Challenge:
    """One authentication challenge: a scheme and its parameters."""

    scheme: str  # lower-cased: "bearer", "basic", "negotiate", ...
    params: tuple[tuple[str, str], ...] = ()  # keys lower-cased, values unquoted, order kept
    token68: str | None = None  # e.g. the blob of ``Negotiate abc==``

    def param(self, name: str) -> str | None:
        """The first value of parameter ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.params:
            if key == wanted:
                return value
        return None

    @property
    def realm(self) -> str | None:
        return self.param("realm")

    @property
    def service(self) -> str | None:
        return self.param("service")

    @property
    def scope(self) -> str | None:
        return self.param("scope")

    @property
    def error(self) -> str | None:
        """RFC 6750 §3.1 ``error=`` (``invalid_token``, ``insufficient_scope`` ...)."""
        return self.param("error")

    @property
    def error_description(self) -> str | None:
        return self.param("error_description")


class _Cursor:
    """A tiny scanner over one header value."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def skip_separators(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE + ",":
            self.pos += 1

    def read_token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TCHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def read_quoted(self) -> str:
        """Read a quoted-string starting at '"'; an unterminated one takes the rest."""
        self.pos += 1  # opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == '"':
                break
            out.append(char)
        return "".join(out)

    def read_bare_value(self) -> str:
        """An unquoted parameter value: everything up to a comma or whitespace."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _SPACE + ",":
            self.pos += 1
        return self.text[start : self.pos]

    def try_token68(self) -> str | None:
        """Read ``token68`` if one starts here and is followed by a comma or the end."""
        start = self.pos
        end = start
        while end < len(self.text) and self.text[end] in _TOKEN68_CHARS:
            end += 1
        if end == start:
            return None
        while end < len(self.text) and self.text[end] == "=":
            end += 1
        after = end
        while after < len(self.text) and self.text[after] in _SPACE:
            after += 1
        if after < len(self.text) and self.text[after] != ",":
            return None  # "realm=..." and the like: parameters, not token68
        self.pos = end
        return self.text[start:end]


def _parse_line(text: str) -> list[Challenge]:
    """Parse one header value; never raises."""
    cur = _Cursor(text)
    found: list[Challenge] = []
    scheme: str | None = None
    params: list[tuple[str, str]] = []
    token68: str | None = None

    def close() -> None:
        if scheme is not None:
            found.append(Challenge(scheme=scheme, params=tuple(params), token68=token68))

    while True:
        cur.skip_separators()
        if cur.done():
            break
        token = cur.read_token()
        if not token:
            cur.pos += 1  # garbage character: skip it
            continue
        cur.skip_space()
        if cur.peek() == "=":
            # name=value: a parameter of the current challenge
            cur.pos += 1
            cur.skip_space()
            value = cur.read_quoted() if cur.peek() == '"' else cur.read_bare_value()
            if scheme is not None:
                params.append((token.lower(), value))
            continue
        # A bare token: the start of a new challenge.
        close()
        scheme, params, token68 = token.lower(), [], None
        if cur.peek() not in ("", ","):
            token68 = cur.try_token68()
    close()
    return found


def parse_challenges(header_values: Sequence[str]) -> tuple[Challenge, ...]:
    """All challenges of all ``WWW-Authenticate`` values, in order. Garbage never raises."""
    out: list[Challenge] = []
    for value in header_values:
        if not isinstance(value, str):
            continue
        try:
            out.extend(_parse_line(value))
        except Exception:  # pragma: no cover - defensive: a parser bug must not break a diagnosis
            continue
    return tuple(out)


def find_challenge(challenges: Sequence[Challenge], scheme: str) -> Challenge | None:
    """The first challenge with ``scheme`` (case-insensitive), or None."""
    wanted = scheme.lower()
    for challenge in challenges:
        if challenge.scheme == wanted:
            return challenge
    return None
