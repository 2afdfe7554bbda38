"""Parse a registry's error response body into evidence.

The V2 shape is ``{"errors": [{"code": "...", "message": "...", "detail": <any>}]}``
(distribution docs/spec/api.md "Errors"; OCI distribution-spec "Error Codes"). In the wild we also
meet the legacy ``{"details": "..."}`` (Docker Hub's token server), the V1 ``{"error": "..."}``,
Quay's ``true`` ping body, HTML error pages, plain text, empty bodies and invalid UTF-8.

This module only classifies what the registry said. It must not decide what a client would print
(that is ``diagnose.clients``), must not raise on any input, and does no I/O. It looks only at the
bytes it is given: a body the transport truncated is simply parsed as far as it goes.

Field names are matched case-insensitively, like Go's encoding/json does for the clients we model.
Codes are kept only when they are registered codes spelled exactly (Go's errcode ErrorCode
UnmarshalText is an exact map lookup, anything else decodes as UNKNOWN); the spelling the registry
actually sent is kept in ``ErrorBody.raw_codes`` as evidence (e.g. Quay's ``TAG_EXPIRED``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from diagnose.model import RegistryError

UNKNOWN = "UNKNOWN"

# code -> (HTTP status the reference registry sends, default message).
# Source: distribution/distribution registry/api/errcode/register.go (UNKNOWN, UNSUPPORTED,
# UNAUTHORIZED, DENIED, UNAVAILABLE, TOOMANYREQUESTS) and registry/api/v2/errors.go (the rest);
# UNAUTHORIZED's default was
# "access to the requested resource is not authorized" before distribution v2.2 (Quay still sends
# that text as a non-default message).
KNOWN_CODES: Mapping[str, tuple[int, str]] = MappingProxyType(
    {
        "UNKNOWN": (500, "unknown error"),
        "UNSUPPORTED": (405, "The operation is unsupported."),
        "UNAUTHORIZED": (401, "authentication required"),
        "DENIED": (403, "requested access to the resource is denied"),
        "UNAVAILABLE": (503, "service unavailable"),
        "TOOMANYREQUESTS": (429, "too many requests"),
        "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
        "SIZE_INVALID": (400, "provided length did not match content length"),
        "NAME_INVALID": (400, "invalid repository name"),
        "TAG_INVALID": (400, "manifest tag did not match URI"),
        "NAME_UNKNOWN": (404, "repository name not known to registry"),
        "MANIFEST_UNKNOWN": (404, "manifest unknown"),
        "MANIFEST_INVALID": (400, "manifest invalid"),
        "MANIFEST_UNVERIFIED": (400, "manifest failed signature verification"),
        "MANIFEST_BLOB_UNKNOWN": (400, "blob unknown to registry"),
        "BLOB_UNKNOWN": (404, "blob unknown to registry"),
        "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
        "BLOB_UPLOAD_INVALID": (404, "blob upload invalid"),
        "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
        "RANGE_INVALID": (416, "invalid content range"),
    }
)


def default_message(code: str) -> str:
    """The registered default message of ``code`` (UNKNOWN's for unregistered codes)."""
    return KNOWN_CODES.get(code, KNOWN_CODES[UNKNOWN])[1]


class BodyKind(StrEnum):
    """What shape an error body has."""

    ERRORS = "errors"  # {"errors": [...]} (the list may be empty)
    LEGACY_DETAILS = "details"  # {"details": "non-empty text"} (Docker Hub token server)
    V1_ERROR = "v1_error"  # {"error": "text"} (V1 registry / old token servers)
    EMPTY = "empty"  # no bytes, or only whitespace
    NOT_JSON = "not_json"  # HTML, plain text, truncated or invalid JSON
    OTHER_JSON = "other_json"  # valid JSON of another shape: true, [], {"errors": "x"} ...


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """A classified error body; ``errors`` keeps only entries that are JSON objects."""

    kind: BodyKind
    errors: tuple[RegistryError, ...] = ()
    text: str = ""  # the raw body, decoded leniently (invalid UTF-8 -> U+FFFD), for quoting
    details: str | None = None  # the legacy {"details": "..."} text
    raw_codes: tuple[str | None, ...] = ()  # the code each entry of ``errors`` had on the wire
    v1_error: str | None = None  # the {"error": "..."} text

    @property
    def codes(self) -> tuple[str, ...]:
        """The (normalised) codes of ``errors``, in order."""
        return tuple(error.code for error in self.errors)

    @property
    def first(self) -> RegistryError | None:
        return self.errors[0] if self.errors else None


def get_field(obj: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """Look up ``name`` like Go's encoding/json: case-insensitively, the last match wins."""
    found, value = False, None
    wanted = name.lower()
    for key, item in obj.items():
        if key.lower() == wanted:
            found, value = True, item
    return found, value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")  # NaN / Infinity are not JSON (Go rejects them too)


def load_json(text: str) -> tuple[bool, Any]:
    """(ok, value): strict JSON as Go would accept it; never raises."""
    try:
        return True, json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False, None


def compact_json(value: Any) -> str:
    """Serialise a JSON value back to compact text (for ``RegistryError.detail``)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def normalise_code(raw: Any) -> str:
    """A registered code spelled exactly, else UNKNOWN (Go errcode UnmarshalText semantics)."""
    if isinstance(raw, str) and raw in KNOWN_CODES:
        return raw
    return UNKNOWN


def _entry(raw: Mapping[str, Any]) -> tuple[RegistryError, str | None]:
    _, code = get_field(raw, "code")
    _, message = get_field(raw, "message")
    _, detail = get_field(raw, "detail")
    if message is None:
        text = ""
    elif isinstance(message, str):
        text = message
    else:
        text = compact_json(message)
    return (
        RegistryError(
            code=normalise_code(code),
            message=text,
            detail=None if detail is None else compact_json(detail),
        ),
        code if isinstance(code, str) else None,
    )


def parse_error_body(body: bytes) -> ErrorBody:
    """Classify ``body``; never raises."""
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        return ErrorBody(kind=BodyKind.EMPTY, text=text)
    ok, value = load_json(text)
    if not ok:
        return ErrorBody(kind=BodyKind.NOT_JSON, text=text)
    if not isinstance(value, dict):
        return ErrorBody(kind=BodyKind.OTHER_JSON, text=text)

    # Legacy details first, as docker/distribution registry/client/errors.go parseHTTPErrorResponse does.
    _, details = get_field(value, "details")
    if isinstance(details, str) and details:
        return ErrorBody(kind=BodyKind.LEGACY_DETAILS, text=text, details=details)

    has_errors, entries = get_field(value, "errors")
    if has_errors and isinstance(entries, list):
        parsed = [_entry(item) for item in entries if isinstance(item, dict)]
        return ErrorBody(
            kind=BodyKind.ERRORS,
            errors=tuple(error for error, _ in parsed),
            raw_codes=tuple(raw for _, raw in parsed),
            text=text,
        )

    _, v1_error = get_field(value, "error")
    if isinstance(v1_error, str) and not has_errors:
        return ErrorBody(kind=BodyKind.V1_ERROR, text=text, v1_error=v1_error)
    return ErrorBody(kind=BodyKind.OTHER_JSON, text=text)
