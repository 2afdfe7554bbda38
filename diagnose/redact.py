"""Redaction of secrets from what we record: URLs, headers, bodies and free text.

Applied by the transport at record time, before anything reaches the model (README.md
"Secrets"). It keeps the evidence that diagnoses (the auth scheme, a Basic username, "empty
credentials", a presigned URL's expiry) and drops what would let a reader replay access
(passwords, tokens, signatures, cookies). A token's decoded claims are kept by the transport
beside the body (``tokens.token_answer_claims``), not here.

This module must not do I/O, must not decide outcomes, and must never return the input
unchanged "because parsing failed": every path ends in the regex scrubbers.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit, urlunsplit

from diagnose.model import Headers

T = TypeVar("T")

REDACTED = "<redacted>"
REDACTED_JWT = "<redacted jwt>"

MIN_SECRET_LENGTH = 3
"""Caller secrets shorter than this are not searched for in free text: replacing every "ab" in
a body would destroy the evidence. Structured places (Authorization, form and JSON fields,
URL userinfo) are redacted whatever the length."""

SECRET_FIELDS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "password",
        "passwd",
        "client_secret",
        "secret",
        "identitytoken",
        "registrytoken",
    }
)
"""JSON keys and form fields whose values are secrets (token responses §2.4, OAuth2 forms §2.3)."""

SIGNATURE_PARAMS = frozenset(
    {
        # AWS SigV4 / SigV2 presigned URLs (ECR layers, distribution's S3 driver)
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "awsaccesskeyid",
        "signature",
        # Azure SAS
        "sig",
        # Google Cloud Storage V4 signed URLs
        "x-goog-signature",
        "x-goog-credential",
        "x-goog-security-token",
        # tokens that some servers accept in the query
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "password",
        "client_secret",
        "api_key",
        "apikey",
        # Docker Hub's Cloudflare blob URLs: verify=<expiry>-<signature>
        "verify",
    }
)
"""Query parameters whose values are redacted. Harmless ones (X-Amz-Date, X-Amz-Expires,
X-Amz-SignedHeaders, Expires, Azure se/sp/sv/sr, Key-Pair-Id, Policy) are kept: expiry and
permissions are evidence (a presigned URL valid 20 minutes)."""

SECRET_HEADERS = frozenset(
    {
        "x-registry-auth",
        "x-amz-security-token",
        "x-auth-token",
        "private-token",
        "x-api-key",
        "x-goog-api-key",
    }
)
"""Headers whose whole value is a credential."""

# Starts only at a token boundary and never backtracks (possessive): linear on hostile input.
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}+\.eyJ[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+")
_PARAM_NAMES = "|".join(sorted((re.escape(p) for p in SIGNATURE_PARAMS), key=len, reverse=True))
_URL_PARAM = re.compile(r"(?i)(?<=[?&;])(" + _PARAM_NAMES + r")=((?:<redacted>|[^&\s\"'<>#])+)")
_SIGNATURE_ATTR = re.compile(r"(?i)\b(signature)=(\"[^\"]*\"|[^,\s]*)")
_FORM_FIELD = re.compile(
    r"(?i)(^|&)(" + "|".join(sorted(SECRET_FIELDS, key=len, reverse=True)) + r")=([^&]*)"
)
_JSON_FIELD = re.compile(
    r"(?i)(\"(?:" + "|".join(sorted(SECRET_FIELDS, key=len, reverse=True)) + r")\"\s*:\s*)"
    r"\"(?:[^\"\\]|\\.)*(?:\"|$)"
)
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,15}://[^\s\"'<>]+")
_USERINFO_IN_TEXT = re.compile(r"(?<=://)([^/\s@:\"'<>]*):([^/\s@\"'<>]*)@")


# --------------------------------------------------------------------------- free text


def _base64_cores(secret: bytes) -> list[str]:
    """Substrings that appear in any base64 encoding of a text containing ``secret``.

    Base64 encodes 3-byte groups, so a secret embedded at offset 0, 1 or 2 modulo 3 shows up
    as one of three different character runs; the characters touching the neighbours vary,
    the middle ones do not. Used for ``Basic base64(user:pass)`` appearing in odd places.
    """
    cores: list[str] = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret).decode("ascii").rstrip("=")
        lead = {0: 0, 1: 2, 2: 3}[shift]
        stable_bytes = shift + len(secret)
        stable_chars = (stable_bytes // 3) * 4
        core = encoded[lead:stable_chars]
        if len(core) >= 8:
            cores.append(core)
            cores.append(core.replace("+", "-").replace("/", "_"))
    return cores


def _hex_digits(value: int, width: int = 0) -> str:
    """``value`` in hex, each letter matching either case (``%2f`` and ``%2F``)."""
    digits = f"{value:0{width}x}"
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


_SHORT_ESCAPES = {"\n": "n", "\t": "t", "\r": "r", "\b": "b", "\f": "f", "\a": "a", "\v": "v"}
_HTML_NAMED = {'"': "quot", "&": "amp", "<": "lt", ">": "gt", "'": "(?:apos|#39)"}
_ESCAPE = r"(?:\\|%(?:25)*5[cC])+"
"""One or more backslashes (a JSON or Go escape, or one nested in JSON quoted inside JSON),
possibly percent-encoded themselves (a ``\\u`` escape echoed into a URL query)."""


def _char_pattern(char: str) -> str:
    """Every way a server may spell one character of an echoed secret.

    Literal; JSON ``\\u00e9`` (surrogate pairs too) and ``\\/``; Go ``%q``/``%+q``
    (``\\x..``, ``\\u....``, ``\\U........``, ``\\"``, ``\\n``); percent-encoding of each UTF-8
    byte in either case (or doubly encoded); ``+`` for a space; HTML character references.
    """
    code = ord(char)
    raw = char.encode("utf-8", errors="surrogatepass")
    forms = [re.escape(char)]
    if code <= 0xFFFF:
        forms.append(_ESCAPE + "u" + _hex_digits(code, 4))
    else:
        high = 0xD800 + ((code - 0x10000) >> 10)
        low = 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(_ESCAPE + "u" + _hex_digits(high, 4) + _ESCAPE + "u" + _hex_digits(low, 4))
    forms.append(_ESCAPE + "U" + _hex_digits(code, 8))
    forms.append("".join(_ESCAPE + "x" + _hex_digits(byte, 2) for byte in raw))
    forms.append("".join("%(?:25)*" + _hex_digits(byte, 2) for byte in raw))
    forms.append(f"&#0*{code};")
    forms.append("&#[xX]0*" + _hex_digits(code) + ";")
    if char in "\"\\/'":
        forms.append(_ESCAPE + re.escape(char))
    if char in _SHORT_ESCAPES:
        forms.append(_ESCAPE + _SHORT_ESCAPES[char])
    if char in _HTML_NAMED:
        forms.append(f"&{_HTML_NAMED[char]};")
    if char == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


def _spelled(text: str) -> str:
    return "".join(_char_pattern(char) for char in text)


def _starts(text: str) -> set[str]:
    """Characters a spelling of ``text`` can begin with (a cheap lookahead before the
    alternation keeps scanning a 64 KB body around a millisecond)."""
    return {text[0], "\\", "%", "&", *(("+",) if text[0] == " " else ())}


LONG_SECRET = 48
"""Secrets longer than this (bearer tokens) are matched by their first ``LONG_SECRET // 2``
characters, in any spelling, and the token-like run that follows: a 1 KB token would
otherwise compile to a regex that takes seconds."""

_TOKEN_TAIL = r"(?:[\w.~+/=%-]|\\+[/u])*"


@dataclasses.dataclass(frozen=True, slots=True)
class _Echoes:
    """What a server may echo of one secret, before the characters are escaped, in the
    order the pattern tries them: texts spelled character by character (the secret, its
    UTF-8-read-as-Latin-1 mojibake, its base64 cores) and its hex; a long secret is cut to
    its prefix and ``tail`` matches the token-like run that follows."""

    forms: tuple[tuple[bool, str], ...]  # (is hex, text)
    tail: str

    @property
    def spelled(self) -> tuple[str, ...]:
        return tuple(text for is_hex, text in self.forms if not is_hex)


def _core(secret: str) -> tuple[str, bool]:
    """The part of ``secret`` its patterns spell, and whether a token-like tail follows: a
    long secret is matched by its prefix, which the tokens of one server share (their JWT
    header), so a run builds their patterns once."""
    if len(secret) > LONG_SECRET:
        return secret[: LONG_SECRET // 2], True
    return secret, False


def _echoes(secret: str, long: bool) -> _Echoes:
    tail = _TOKEN_TAIL if long else ""
    forms = [(False, secret)]
    raw = secret.encode("utf-8", errors="surrogatepass")
    mojibake = raw.decode("latin-1")
    if mojibake != secret:
        forms.append((False, mojibake))
    if len(raw) >= 6:
        forms.append((True, raw.hex()))
        forms.extend((False, core) for core in _base64_cores(raw))
    return _Echoes(tuple(forms), tail)


def _pattern(echoes: _Echoes, *, literal_only: bool) -> re.Pattern[str]:
    """One regex for every form of ``echoes``; ``literal_only`` spells each text as itself,
    without the escaped spellings of its characters (``_char_pattern``)."""
    alternatives: list[str] = []
    starts: set[str] = set()
    for is_hex, text in echoes.forms:
        if is_hex:
            alternatives.append("(?i:" + text + ")" + (echoes.tail and "[0-9a-fA-F]*"))
            starts |= {text[0], text[0].upper()}
        elif literal_only:
            alternatives.append(re.escape(text) + echoes.tail)
            starts.add(text[0])
        else:
            alternatives.append(_spelled(text) + echoes.tail)
            starts |= _starts(text)
    lookahead = "(?=[" + "".join(re.escape(char) for char in sorted(starts)) + "])"
    return re.compile(lookahead + "(?:" + "|".join(alternatives) + ")")


_ENTITIES = {'"': "&quot;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;"}
"""The named references ``_HTML_NAMED`` spells (numeric ones all start ``&#``)."""
_PERCENT_BYTE = re.compile(r"%(?:25)*([0-9a-fA-F]{2})")


@dataclasses.dataclass(slots=True, eq=False)
class _Matcher:
    """Finds one secret in text, in every spelling ``_char_pattern`` knows, without paying
    for the full pattern on text that cannot hold an escaped spelling.

    Every escaped spelling of a character starts with a backslash, a ``%`` followed by the
    hex of one of its UTF-8 bytes (or of a backslash), an HTML character reference, or is
    ``+`` for a space. Text holding none of those can only hold the literal forms, which a
    small pattern finds in the same places (``tests/test_redact_fast.py`` checks the two
    agree). The full pattern (tens of KB, ~0.1 s to compile) is built the first time a text
    needs it, which most runs never do.
    """

    echoes: _Echoes
    literal: re.Pattern[str]
    percent_bytes: frozenset[int]
    entities: tuple[str, ...]
    space: bool
    full: re.Pattern[str] | None = None

    def needs_escapes(self, text: str) -> bool:
        if "\\" in text:
            return True
        if "&" in text and ("&#" in text or any(entity in text for entity in self.entities)):
            return True
        if self.space and "+" in text:
            return True
        if "%" in text:
            if 0x25 in self.percent_bytes and "%25" in text:
                return True
            return any(int(pair, 16) in self.percent_bytes for pair in _PERCENT_BYTE.findall(text))
        return False

    def sub(self, replacement: str, text: str) -> str:
        if not self.needs_escapes(text):
            return self.literal.sub(replacement, text)
        if self.full is None:
            self.full = _pattern(self.echoes, literal_only=False)
        return self.full.sub(replacement, text)


@functools.lru_cache(maxsize=256)
def _matcher_for(core: str, long: bool) -> _Matcher:
    echoes = _echoes(core, long)
    spelled = echoes.spelled
    return _Matcher(
        echoes=echoes,
        literal=_pattern(echoes, literal_only=True),
        percent_bytes=frozenset(
            {0x5C, *(byte for text in spelled for byte in text.encode("utf-8", errors="surrogatepass"))}
        ),
        entities=tuple(sorted({_ENTITIES[char] for text in spelled for char in text if char in _ENTITIES})),
        space=any(" " in text for text in spelled),
    )


def _secret_regex(secret: str) -> re.Pattern[str]:
    """The full pattern of ``secret`` (every spelling): what the fast path must agree with."""
    return _pattern(_echoes(*_core(secret)), literal_only=False)


@functools.lru_cache(maxsize=64)
def _matchers(secrets: tuple[str, ...]) -> tuple[_Matcher, ...]:
    """The matchers of ``secrets``, longest secret first (a secret containing another is
    removed whole), without duplicates or secrets too short to match only by chance."""
    usable = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    return tuple(dict.fromkeys(_matcher_for(*_core(s)) for s in sorted(usable, key=len, reverse=True)))


def scrub_text(text: str, secrets: Sequence[str]) -> str:
    """Remove caller-given secrets (in every spelling ``_char_pattern`` knows), JWTs, URL
    userinfo and presigned-URL signatures from free text: failure details, bodies, headers."""
    for matcher in _matchers(tuple(secrets)):
        text = matcher.sub(REDACTED, text)
    text = _JWT.sub(REDACTED_JWT, text)
    text = _USERINFO_IN_TEXT.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    return _URL_PARAM.sub(_redact_param_match, text)


def _redact_param_match(match: re.Match[str]) -> str:
    return f"{match.group(1)}={_redact_param_value(match.group(1), match.group(2))}"


def _redact_param_value(name: str, value: str) -> str:
    if REDACTED in value:
        return value  # already redacted (idempotent: redact_url then scrub_text)
    lowered = name.lower()
    if lowered == "verify":
        # Docker Hub/Cloudflare: verify=<unix expiry>-<hex signature>; the expiry is evidence.
        head, sep, _ = value.partition("-")
        return f"{head}-{REDACTED}" if sep and head.isdigit() else REDACTED
    if lowered in ("x-amz-credential", "x-goog-credential"):
        # <access key id>/<date>/<region>/<service>/aws4_request: keep the scope, drop the key.
        for slash in ("%2F", "%2f", "/"):
            _, sep, scope = value.partition(slash)
            if sep:
                return f"{REDACTED}{slash}{scope}"
        return REDACTED
    return REDACTED


def scrub_value(
    value: T,
    scrub: Callable[[str], str],
    *,
    keep: tuple[type, ...] = (),
    within: tuple[type, Callable[[str], str]] | None = None,
) -> T:
    """``value`` with ``scrub`` applied to every string inside it, however deep.

    Walks frozen dataclasses, tuples, lists and dicts (keys too), so a field added to the
    model later is scrubbed without anyone remembering to (issue: ``registry_errors`` and
    ``challenge_error`` once were not). Enum members, and instances of ``keep``, are kept as
    they are. Inside an instance of ``within[0]`` the strings get ``within[1]`` instead (one
    walk that scrubs the evidence and cuts everything else, ``run.bounded``).
    """
    result: Any = _Walker(scrub, keep, within).walk(value)
    return cast(T, result)


class _Walker:
    """One scrubbing walk; a container whose strings all came back unchanged is returned
    itself, not rebuilt (most of a report is: rebuilding every dataclass cost a compare more
    CPU than scrubbing)."""

    __slots__ = ("atoms", "keep", "scrub", "within")

    def __init__(
        self,
        scrub: Callable[[str], str],
        keep: tuple[type, ...],
        within: tuple[type, Callable[[str], str]] | None,
    ) -> None:
        self.scrub = scrub
        self.keep = keep
        self.atoms = (Enum, bool, int, float, bytes, type(None), *keep)  # StrEnum is a str: first
        self.within = within

    def walk(self, value: Any) -> Any:
        if isinstance(value, self.atoms):
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if self.within is not None and isinstance(value, self.within[0]):
            return _Walker(self.within[1], self.keep, None).walk(value)
        if isinstance(value, tuple):
            items = tuple(self.walk(item) for item in value)
            return value if type(value) is tuple and _same(items, value) else items
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, dict):
            return {self.walk(k): self.walk(v) for k, v in value.items()}
        names = _init_fields(type(value))
        if names is None:
            return value
        changes = {}
        for name in names:
            before = getattr(value, name)
            after = self.walk(before)
            if after is not before and not (type(after) is str and after == before):
                changes[name] = after
        return dataclasses.replace(value, **changes) if changes else value


_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _init_fields(cls: type) -> tuple[str, ...] | None:
    """The fields ``dataclasses.replace`` takes, per dataclass (None: not a dataclass)."""
    if cls not in _FIELDS:
        is_data = dataclasses.is_dataclass(cls)
        _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init) if is_data else None
    return _FIELDS[cls]


def _same(after: Sequence[object], before: Sequence[object]) -> bool:
    """Nothing in ``after`` differs from ``before`` (the same objects, or equal strings)."""
    return all(a is b or (type(a) is str and a == b) for a, b in zip(after, before, strict=True))


def memoized(scrub: Callable[[str], str]) -> Callable[[str], str]:
    """``scrub`` remembering its answers for one pass: a report repeats the same header
    names, URLs and words hundreds of times."""
    return functools.lru_cache(maxsize=4096)(scrub)


# --------------------------------------------------------------------------- URLs


def redact_url(url: str, secrets: Sequence[str] = ()) -> str:
    """The URL with userinfo password, signature/token query parameters and secrets removed.

    ``https://alice:pw@h/x?X-Amz-Signature=abc&X-Amz-Expires=1200`` becomes
    ``https://alice:<redacted>@h/x?X-Amz-Signature=<redacted>&X-Amz-Expires=1200``. A lone
    userinfo with no ``:`` is treated as a token and redacted whole.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub_text(url, secrets)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if colon else f"{REDACTED}@{hostport}"
    query = "&".join(_redact_query_item(item) for item in parts.query.split("&")) if parts.query else ""
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return scrub_text(rebuilt, secrets)


def _redact_query_item(item: str) -> str:
    name, eq, value = item.partition("=")
    if eq and unquote(name).lower() in SIGNATURE_PARAMS:
        return f"{name}={_redact_param_value(unquote(name), value)}"
    return item


# --------------------------------------------------------------------------- headers


def redact_authorization(value: str) -> str:
    """``Authorization`` / ``Proxy-Authorization`` with the credential replaced by evidence."""
    scheme, space, credentials = value.strip().partition(" ")
    if REDACTED[:-1] in value:
        return value  # already redacted (a saved report being replayed)
    if not space:
        return REDACTED
    lowered = scheme.lower()
    if lowered == "basic":
        return f"{scheme} {_basic_evidence(credentials.strip())}"
    if lowered == "token":
        # Docker 1.12 to the V1 registry: Token signature=...,repository="x",access=read
        return f"{scheme} {_SIGNATURE_ATTR.sub(lambda m: f'{m.group(1)}={REDACTED}', credentials)}"
    return f"{scheme} {REDACTED}"


def _basic_evidence(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return REDACTED
    user, colon, password = decoded.partition(":")
    if not colon:
        return REDACTED
    if not user and not password:
        # "Og==" — docker 1.12 sends this to V1 endpoints when it has no credentials.
        return f"{REDACTED[:-1]}: empty credentials>"
    if not password:
        return f'{REDACTED[:-1]}: user "{_printable(user)}", empty password>'
    if user == password:
        # API-token registries take the token as user name too: the name is the secret.
        return f"{REDACTED[:-1]}: user name equal to the password>"
    return f'{REDACTED[:-1]}: user "{_printable(user)}">'


def _printable(text: str) -> str:
    return text.replace('"', "'").replace("\r", " ").replace("\n", " ")[:128]


def _redact_cookie(value: str) -> str:
    items = []
    for item in value.split(";"):
        name, eq, _ = item.strip().partition("=")
        items.append(f"{name}={REDACTED}" if eq else REDACTED)
    return "; ".join(items)


def _redact_set_cookie(value: str) -> str:
    first, sep, attributes = value.partition(";")
    name, eq, _ = first.strip().partition("=")
    head = f"{name}={REDACTED}" if eq else REDACTED
    return head + sep + attributes


def _redact_header_value(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered in ("authorization", "proxy-authorization"):
        return redact_authorization(value)
    if lowered == "cookie":
        return _redact_cookie(value)
    if lowered == "set-cookie":
        return _redact_set_cookie(value)
    if lowered in SECRET_HEADERS:
        return REDACTED
    if lowered == "x-docker-token":
        # Request value "true" asks the V1 index for a token: evidence, keep it.
        if value.strip().lower() == "true":
            return value
        redacted, count = _SIGNATURE_ATTR.subn(lambda m: f"{m.group(1)}={REDACTED}", value)
        return redacted if count else REDACTED
    if lowered == "www-authenticate":
        return _SIGNATURE_ATTR.sub(lambda m: f"{m.group(1)}={REDACTED}", value)
    if lowered in ("location", "content-location"):
        return redact_url(value)
    return value


def redact_headers(headers: Headers, secrets: Sequence[str] = ()) -> Headers:
    """Header pairs (repeats kept, order kept) with credentials replaced by evidence."""
    return tuple((name, scrub_text(_redact_header_value(name, value), secrets)) for name, value in headers)


# --------------------------------------------------------------------------- bodies


def _redact_json(value: object) -> tuple[object, bool]:
    if isinstance(value, dict):
        result: dict[str, object] = {}
        changed = False
        for key, item in value.items():
            lowered = str(key).lower()
            if lowered in SECRET_FIELDS and item is not None and item != "":
                # The decoded claims are evidence, but they live beside the body
                # (Exchange.token_claims, read by the transport), never inside it.
                result[key] = REDACTED
                changed = True
            else:
                result[key], sub_changed = _redact_json(item)
                changed = changed or sub_changed
        return result, changed
    if isinstance(value, list):
        items = [_redact_json(item) for item in value]
        return [item for item, _ in items], any(c for _, c in items)
    if isinstance(value, str) and _JWT.search(value):
        return _JWT.sub(REDACTED_JWT, value), True
    return value, False


def _looks_like_form(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_.%+-]+=[^\s]*", text.strip()))


def redact_body(body: bytes, content_type: str | None, secrets: Sequence[str] = ()) -> str:
    """A body as redacted text: JSON token fields replaced, form passwords/refresh tokens
    replaced, secrets scrubbed. A token's decoded claims are not kept here: the transport
    records them beside the body (``Exchange.token_claims``).

    Undecodable bytes are replaced (U+FFFD); callers wanting binary evidence use
    ``recorded_body``. A JSON body with nothing to redact keeps its original text.
    """
    text = body.decode("utf-8", errors="replace")
    ctype = (content_type or "").lower()
    stripped = text.lstrip()
    if "json" in ctype or stripped.startswith(("{", "[")):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        else:
            redacted, changed = _redact_json(parsed)
            if changed:
                text = json.dumps(redacted, ensure_ascii=False)
    if "x-www-form-urlencoded" in ctype or (not ctype and _looks_like_form(text)):
        text = _FORM_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}", text)
    # Truncated or invalid JSON still gets its token fields removed.
    text = _JSON_FIELD.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    return scrub_text(text, secrets)


BINARY_PREFIX = 1024
"""Bytes of a binary body (a layer) kept, base64-encoded, in the recording."""

_BINARY_TYPES = ("octet-stream", "gzip", "x-tar", "zstd", "rootfs", "image.layer", "zip")


def is_binary(body: bytes, content_type: str | None) -> bool:
    """True for layer-like bodies: a binary media type, a NUL byte or invalid UTF-8."""
    ctype = (content_type or "").lower()
    if any(marker in ctype for marker in _BINARY_TYPES):
        return True
    if b"\0" in body[:8192]:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by a read limit is not binary.
        return exc.start < len(body) - 3
    return False


def recorded_body(
    body: bytes, content_type: str | None, secrets: Sequence[str], limit: int
) -> tuple[str, str, bool]:
    """What the recording keeps of a body: ``(text, encoding, truncated)``.

    Text bodies are redacted in full, then capped at ``limit`` UTF-8 bytes. Binary bodies keep
    only the first ``BINARY_PREFIX`` bytes, base64-encoded (``encoding == "base64"``), after
    caller secrets are replaced in the bytes.
    """
    if not body:
        return "", "utf-8", False
    if is_binary(body, content_type):
        prefix = body[: min(BINARY_PREFIX, limit)]
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                prefix = prefix.replace(secret.encode("utf-8"), REDACTED.encode("ascii"))
        return base64.b64encode(prefix).decode("ascii"), "base64", len(body) > len(prefix)
    text = redact_body(body, content_type, secrets)
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, "utf-8", False
    return encoded[:limit].decode("utf-8", errors="ignore"), "utf-8", True


def learned_secrets(headers: Iterable[tuple[str, str]], body: bytes = b"") -> tuple[str, ...]:
    """Secrets found in real (unredacted) traffic, to scrub their later appearances elsewhere.

    Bearer tokens and Basic passwords from request headers, token fields from JSON answers.
    """
    found: list[str] = []
    for name, value in headers:
        if name.lower() not in ("authorization", "proxy-authorization"):
            continue
        scheme, _, credentials = value.strip().partition(" ")
        credentials = credentials.strip()
        if not credentials:
            continue
        found.append(credentials)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                continue
            _, _, password = decoded.partition(":")
            if password:
                found.append(password)
    if body[:1] in (b"{", b" ", b"\n", b"\r", b"\t"):
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            for key, value in parsed.items():
                if str(key).lower() in SECRET_FIELDS and isinstance(value, str) and value:
                    found.append(value)
    return tuple(s for s in found if len(s) >= MIN_SECRET_LENGTH)
