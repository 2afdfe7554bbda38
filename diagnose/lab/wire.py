"""The lab's wire vocabulary: requests, responses, modes and the helpers every service uses.

No sockets, no threads, no printing (``server.py`` does the plumbing).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from diagnose.lab.modes import LabAuth as LabAuth
from diagnose.lab.modes import LabV1 as LabV1
from diagnose.model import Headers, header_value, header_values


@dataclass(frozen=True, slots=True)
class LabRequest:
    """One received request, as the plumbing parsed it."""

    method: str
    target: str  # raw request target: path and query, as received
    headers: Headers = ()
    body: bytes = b""
    client: str = "127.0.0.1"

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> Mapping[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


@dataclass(frozen=True, slots=True)
class LabResponse:
    """One answer. The plumbing adds Content-Length and drops the body for HEAD."""

    status: int
    headers: Headers = ()
    body: bytes = b""


API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
JSON_UTF8 = "application/json; charset=utf-8"
V1_REGISTRY_VERSION = "0.9.1"  # the last docker-archive/docker-registry release
NOT_A_REGISTRY_BODY = b"<html><body><h1>404 Not Found</h1></body></html>"
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
NGINX_500 = (
    b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    b"<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
FLASK_404 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>404 Not Found</title>\n'
    b"<h1>Not Found</h1>\n<p>The requested URL was not found on the server.  If you entered the URL "
    b"manually please check your spelling and try again.</p>\n"
)
RATE_LIMIT_ANONYMOUS = (
    "You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit"
)
RATE_LIMIT_AUTHENTICATED = (
    "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: "
    "https://www.docker.com/increase-rate-limit"
)
STORAGE_EXPIRY = 1200  # distribution's S3 driver signs URLs for 20 minutes

_UNSET: Any = object()

# distribution/reference regexp.go: path components, tags and digests.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_MANIFEST_ROUTE = re.compile(rf"^/v2/(?P<name>{_NAME})/manifests/(?P<ref>{_TAG}|{_DIGEST})$", re.ASCII)
_BLOB_ROUTE = re.compile(rf"^/v2/(?P<name>{_NAME})/blobs/(?P<digest>{_DIGEST})$", re.ASCII)
_TAGS_ROUTE = re.compile(rf"^/v2/(?P<name>{_NAME})/tags/list$", re.ASCII)
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$", re.ASCII)
_STORAGE_ROUTE = re.compile(r"^/_storage/(?P<digest>sha256:[0-9a-f]{64})$", re.ASCII)
_V1_REPO_ROUTE = re.compile(
    r"^/v1/repositories/(?P<repo>[a-z0-9_.-]+(?:/[a-z0-9_.-]+)?)/(?P<what>images|tags)(?:/(?P<tag>[^/]+))?/?$",
    re.ASCII,
)
_V1_IMAGE_ROUTE = re.compile(r"^/v1/images/(?P<id>[0-9a-f]{64})/(?P<what>ancestry|json|layer)$", re.ASCII)


def _json(value: object) -> bytes:
    # Go's json.Encoder: compact, with a trailing newline.
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def _errors(code: str, message: str, detail: Any = _UNSET) -> bytes:
    entry: dict[str, Any] = {"code": code, "message": message}
    if detail is not _UNSET:
        entry["detail"] = detail
    return _json({"errors": [entry]})


def _go_not_found() -> LabResponse:
    """Go's http.NotFound behind distribution's app (which adds the version header first)."""
    return LabResponse(
        404,
        (API_VERSION, ("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")),
        b"404 page not found\n",
    )


def _v2_error(status: int, body: bytes, extra: Headers = ()) -> LabResponse:
    return LabResponse(status, (API_VERSION, ("Content-Type", JSON_UTF8), *extra), body)


def _accepted(request: LabRequest) -> set[str]:
    """Media types in every Accept header (distribution splits on commas, drops parameters)."""
    found: set[str] = set()
    for value in header_values(request.headers, "Accept"):
        for part in value.split(","):
            media = part.split(";", 1)[0].strip().lower()
            if media:
                found.add(media)
    return found


def _basic_credentials(value: str | None) -> tuple[str, str] | None:
    """(user, password) from ``Authorization: Basic ...``; None when absent or malformed."""
    if not value:
        return None
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _check_password(users: Mapping[str, str], user: str, password: str) -> bool:
    expected = users.get(user)
    return expected is not None and hmac.compare_digest(expected.encode(), password.encode())
