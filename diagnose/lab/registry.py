"""What the lab's two services answer: a Docker-Hub-like registry (V2, optional V1) and a token server.

Both are pure request -> response functions over ``LabRequest``/``LabResponse`` values, so the
wire behaviour is in one readable place and the socket plumbing stays in ``server.py``. This
module must not open sockets, start threads or print; and it must never raise on a malformed
request: garbage gets a 400/401/404 like the real services would give.

Wire facts modelled here, with their sources:
- distribution/distribution registry/handlers/app.go: ``Docker-Distribution-API-Version:
  registry/2.0`` on every response, including the Go ``404 page not found`` (text/plain) for
  unknown routes such as ``/v1/_ping``; 401 body ``UNAUTHORIZED`` with the access records as
  detail (``null`` for ``/v2/``).
- distribution registry/auth/token/accesscontroller.go: challenge ``Bearer realm,service``
  plus ``scope`` when a repository is addressed, ``error="invalid_token"`` for a bad token and
  ``error="insufficient_scope"`` for a token without the access; no ``error`` without a token.
- distribution registry/handlers/manifests.go: ``MANIFEST_UNKNOWN`` with detail ``{"Tag": t}``
  (the marshalled ErrTagUnknown) or ``{"Name": n, "Revision": d}`` (ErrManifestUnknownRevision);
  Accept negotiation of the v3 code; ``Etag``/``If-None-Match``. tags.go: ``NAME_UNKNOWN`` with
  ``{"name": n}``. blob.go: ``BLOB_UNKNOWN`` with the digest as detail.
- docker-archive/docker-registry (app.py, toolkit.py, index.py, tags.py, images.py), standalone
  mode: ``true`` pings with ``X-Docker-Registry-*`` headers, ``{"error": "..."}`` bodies, and
  ``X-Docker-Token``/``WWW-Authenticate: Token ...``/``X-Docker-Endpoints`` on every
  ``/v1/repositories/<name>/images`` 200 (it sent them whether or not ``X-Docker-Token: true``
  was asked; the engine only reads them).
- Docker Hub (reference/registry-behaviours.md §2.4, §3): token answer fields, ``{"details":
  "incorrect username or password"}``, 429 ``TOOMANYREQUESTS`` with ``ratelimit-*`` headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from diagnose.lab.content import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Behaviour,
    LabContent,
    Repository,
)
from diagnose.lab.tokens import (
    SERVICE,
    Access,
    Claims,
    InvalidToken,
    TokenIssuer,
    granted,
    parse_scope,
)
from diagnose.model import Headers, header_value, header_values


class LabAuth(StrEnum):
    """How the lab registry authenticates."""

    TOKEN = "token"  # Docker Hub / distribution token auth, separate token server
    BASIC = "basic"  # htpasswd-like: Basic on every request, no per-repository policy
    NONE = "none"  # no authentication at all


class LabV1(StrEnum):
    """Whether the lab also serves the legacy V1 API."""

    ABSENT = "absent"  # like registry:2 and today's Docker Hub: /v1/ is 404
    PRESENT = "present"  # a standalone docker-registry 0.9 next to the V2 API


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


@dataclass
class RegistryApp:
    """The lab registry: V2 API, optional V1 API, and a fake object store for redirects."""

    content: LabContent
    issuer: TokenIssuer
    users: Mapping[str, str]
    token_url: str
    base_url: str  # "http://127.0.0.1:PORT", used in redirect Locations
    auth: LabAuth = LabAuth.TOKEN
    v1: LabV1 = LabV1.ABSENT
    not_a_registry: bool = False
    _storage_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    # ----------------------------------------------------------------- dispatch
    def handle(self, request: LabRequest) -> LabResponse:
        if self.not_a_registry:
            return LabResponse(404, (("Content-Type", "text/html"),), NOT_A_REGISTRY_BODY)
        path = request.path
        if path in ("/v2", "/v2/"):
            return self._base(request)
        if path.startswith("/v2/"):
            return self._v2(request, path)
        if path.startswith("/_storage/"):
            return self._storage(request, path)
        if path == "/_ping" or path.startswith("/v1/") or path == "/v1":
            if self.v1 is LabV1.PRESENT:
                return self._v1(request, path)
            return _go_not_found()
        return _go_not_found()

    # ---------------------------------------------------------------- auth
    def _authorize(
        self, request: LabRequest, name: str | None, actions: tuple[str, ...]
    ) -> LabResponse | str:
        """The subject ("" anonymous) when allowed, else the 401 answer."""
        records: list[dict[str, str]] | None = (
            [{"Type": "repository", "Class": "", "Name": name, "Action": a} for a in actions]
            if name
            else None
        )
        body = _errors("UNAUTHORIZED", "authentication required", records)
        if self.auth is LabAuth.NONE:
            return ""
        if self.auth is LabAuth.BASIC:
            creds = _basic_credentials(request.header("Authorization"))
            if creds and _check_password(self.users, *creds):
                return creds[0]
            return _v2_error(401, body, (("WWW-Authenticate", f'Basic realm="{SERVICE}"'),))
        challenge = f'Bearer realm="{self.token_url}",service="{SERVICE}"'
        if name:
            challenge += f',scope="repository:{name}:{",".join(actions)}"'
        value = (request.header("Authorization") or "").strip()
        parts = value.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return _v2_error(401, body, (("WWW-Authenticate", challenge),))
        try:
            claims: Claims = self.issuer.verify(parts[1], SERVICE)
        except InvalidToken:
            return _v2_error(401, body, (("WWW-Authenticate", challenge + ',error="invalid_token"'),))
        if name and not all(claims.allows("repository", name, a) for a in actions):
            return _v2_error(401, body, (("WWW-Authenticate", challenge + ',error="insufficient_scope"'),))
        return claims.sub

    # ------------------------------------------------------------------ V2
    def _base(self, request: LabRequest) -> LabResponse:
        allowed = self._authorize(request, None, ())
        if isinstance(allowed, LabResponse):
            return allowed
        return LabResponse(200, (API_VERSION, ("Content-Type", JSON_UTF8)), b"{}")

    def _v2(self, request: LabRequest, path: str) -> LabResponse:
        for route, handler in (
            (_MANIFEST_ROUTE, self._manifest),
            (_BLOB_ROUTE, self._blob),
            (_TAGS_ROUTE, self._tags),
        ):
            match = route.match(path)
            if not match:
                continue
            read = request.method in ("GET", "HEAD")
            actions = ("pull",) if read else ("pull", "push")
            allowed = self._authorize(request, match["name"], actions)
            if isinstance(allowed, LabResponse):
                return allowed
            if not read:
                # The lab is read-only; distribution answers 405 UNSUPPORTED for disabled operations.
                return _v2_error(405, _errors("UNSUPPORTED", "The operation is unsupported."))
            repo = self.content.repositories.get(match["name"])
            return handler(request, match, repo, allowed)
        return _go_not_found()

    def _manifest(
        self, request: LabRequest, match: re.Match[str], repo: Repository | None, subject: str
    ) -> LabResponse:
        name, ref = match["name"], match["ref"]
        is_digest = ":" in ref
        if repo is not None and repo.behaviour is Behaviour.RATE_LIMITED:
            message = RATE_LIMIT_AUTHENTICATED if subject else RATE_LIMIT_ANONYMOUS
            return _v2_error(
                429,
                _errors("TOOMANYREQUESTS", message),
                (
                    ("Retry-After", "3600"),
                    ("ratelimit-limit", "100;w=21600"),
                    ("ratelimit-remaining", "0;w=21600"),
                    ("docker-ratelimit-source", subject or request.client),
                ),
            )
        if repo is not None and repo.behaviour is Behaviour.BROKEN:
            # An nginx in front of the registry failed: its own page, no registry headers.
            return LabResponse(500, (("Content-Type", "text/html"),), NGINX_500)
        unknown_detail: Any = {"Name": name, "Revision": ref} if is_digest else {"Tag": ref}
        unknown = _v2_error(404, _errors("MANIFEST_UNKNOWN", "manifest unknown", unknown_detail))
        if repo is None:
            return unknown
        digest = ref if is_digest else repo.tags.get(ref)
        manifest = repo.manifests.get(digest) if digest else None
        if manifest is None:
            return unknown
        accepted = _accepted(request)
        # Accept negotiation as in distribution v3 registry/handlers/manifests.go.
        if manifest.media_type == OCI_MANIFEST and OCI_MANIFEST not in accepted:
            return _v2_error(
                404,
                _errors(
                    "MANIFEST_UNKNOWN", "OCI manifest found, but accept header does not support OCI manifests"
                ),
            )
        if manifest.media_type == OCI_INDEX and OCI_INDEX not in accepted:
            return _v2_error(
                404,
                _errors(
                    "MANIFEST_UNKNOWN", "OCI index found, but accept header does not support OCI indexes"
                ),
            )
        if (
            not is_digest
            and manifest.media_type == DOCKER_MANIFEST_LIST
            and DOCKER_MANIFEST_LIST not in accepted
        ):
            # Old clients get the linux/amd64 entry instead of the list.
            entries = json.loads(manifest.data).get("manifests", [])
            target = next(
                (
                    e["digest"]
                    for e in entries
                    if e.get("platform", {}).get("os") == "linux"
                    and e.get("platform", {}).get("architecture") == "amd64"
                ),
                None,
            )
            manifest = repo.manifests.get(target) if target else None
            if manifest is None:
                return unknown
        if not is_digest and manifest.media_type == DOCKER_MANIFEST and DOCKER_MANIFEST not in accepted:
            return _v2_error(400, _errors("MANIFEST_INVALID", "Schema 2 manifest not supported by client"))
        etag = f'"{manifest.digest}"'
        headers: Headers = (
            API_VERSION,
            ("Content-Type", manifest.media_type),
            ("Docker-Content-Digest", manifest.digest),
            ("Etag", etag),
        )
        if etag in [v.strip() for v in (request.header("If-None-Match") or "").split(",")]:
            return LabResponse(304, headers)
        return LabResponse(200, headers, manifest.data)

    def _blob(
        self, request: LabRequest, match: re.Match[str], repo: Repository | None, subject: str
    ) -> LabResponse:
        digest = match["digest"]
        if not _SHA256.match(digest):
            return _v2_error(
                400, _errors("DIGEST_INVALID", "provided digest did not match uploaded content", digest)
            )
        data = repo.blobs.get(digest) if repo is not None else None
        if repo is None or data is None:
            return _v2_error(404, _errors("BLOB_UNKNOWN", "blob unknown to registry", digest))
        if repo.behaviour is Behaviour.REDIRECT_BLOBS:
            location = self.presigned_url(digest, request.method)
            body = f'<a href="{location}">Temporary Redirect</a>.\n\n'.encode()
            return LabResponse(
                307,
                (
                    API_VERSION,
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Docker-Content-Digest", digest),
                    ("Location", location),
                ),
                body,
            )
        return LabResponse(
            200,
            (
                API_VERSION,
                ("Content-Type", "application/octet-stream"),
                ("Docker-Content-Digest", digest),
                ("Etag", f'"{digest}"'),
                ("Cache-Control", "max-age=31536000"),
            ),
            data,
        )

    def _tags(
        self, request: LabRequest, match: re.Match[str], repo: Repository | None, subject: str
    ) -> LabResponse:
        name = match["name"]
        if repo is None:
            return _v2_error(
                404, _errors("NAME_UNKNOWN", "repository name not known to registry", {"name": name})
            )
        body = json.dumps({"name": name, "tags": sorted(repo.tags)}).encode() + b"\n"
        return LabResponse(200, (API_VERSION, ("Content-Type", "application/json")), body)

    # ----------------------------------------------------- fake object store
    def _storage_signature(self, digest: str, method: str, date: str, expires: str) -> str:
        text = f"{method}\n{digest}\n{date}\n{expires}".encode()
        return hmac.new(self._storage_secret, text, hashlib.sha256).hexdigest()

    def presigned_url(self, digest: str, method: str, now: float | None = None) -> str:
        """An S3-presigned-looking URL on this server, signed for ``method`` like S3 does."""
        date = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y%m%dT%H%M%SZ")
        expires = str(STORAGE_EXPIRY)
        credential = quote(f"LABACCESSKEY/{date[:8]}/lab-region-1/s3/aws4_request", safe="")
        signature = self._storage_signature(digest, method, date, expires)
        return (
            f"{self.base_url}/_storage/{digest}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}"
            f"&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )

    def _storage(self, request: LabRequest, path: str) -> LabResponse:
        match = _STORAGE_ROUTE.match(path)
        if not match or request.method not in ("GET", "HEAD"):
            return _s3_error(404 if not match else 405, "NoSuchKey", "The specified key does not exist.")
        digest = match["digest"]
        query = request.query
        date = (query.get("X-Amz-Date") or [""])[0]
        expires = (query.get("X-Amz-Expires") or [""])[0]
        signature = (query.get("X-Amz-Signature") or [""])[0]
        expected = self._storage_signature(digest, request.method, date, expires)
        if not signature or not hmac.compare_digest(expected, signature):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            )
        try:
            issued = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
            valid_until = issued + int(expires)
        except ValueError:
            return _s3_error(
                400, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 format"
            )
        if time.time() > valid_until:
            return _s3_error(403, "AccessDenied", "Request has expired")
        data = next((r.blobs[digest] for r in self.content.repositories.values() if digest in r.blobs), None)
        if data is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return LabResponse(
            200, (("Content-Type", "application/octet-stream"), ("ETag", f'"{digest[7:39]}"')), data
        )

    # ------------------------------------------------------------------ V1
    def _v1(self, request: LabRequest, path: str) -> LabResponse:
        if request.method not in ("GET", "HEAD"):
            return _v1_flask_404()
        if path in ("/_ping", "/v1/_ping"):
            return _v1_json(200, True, (("X-Docker-Registry-Standalone", "true"),))
        match = _V1_REPO_ROUTE.match(path)
        if match:
            repo_name = match["repo"] if "/" in match["repo"] else f"library/{match['repo']}"
            repo = self.content.v1_repositories.get(repo_name)
            if match["what"] == "images":
                if match["tag"] is not None:
                    return _v1_flask_404()
                if repo is None:
                    return _v1_json(404, {"error": "images not found"})
                host = request.header("Host") or self.base_url.split("://", 1)[1]
                # The index sends the token bare in X-Docker-Token and with the scheme in
                # WWW-Authenticate (moby docs/reference/api/hub_registry_spec.md); docker then
                # sends "Authorization: Token <X-Docker-Token>" (registry/session.go).
                token = f'signature={secrets.token_hex(8).upper()},repository="{repo_name}",access=read'
                images = [{"id": i, "checksum": self.content.v1_images[i].checksum} for i in repo.image_ids]
                return _v1_json(
                    200,
                    images,
                    (
                        ("X-Docker-Endpoints", host),
                        ("WWW-Authenticate", f"Token {token}"),
                        ("X-Docker-Token", token),
                    ),
                )
            if match["tag"] is None:
                if repo is None:
                    return _v1_json(404, {"error": "Repository not found"})
                return _v1_json(200, dict(repo.tags))
            image_id = repo.tags.get(match["tag"]) if repo is not None else None
            if image_id is None:
                return _v1_json(404, {"error": "Tag not found"})
            return _v1_json(200, image_id)
        match = _V1_IMAGE_ROUTE.match(path)
        if match:
            image = self.content.v1_images.get(match["id"])
            if image is None:
                return _v1_json(404, {"error": "Image not found"})
            cache = (
                ("Cache-Control", "public, max-age=31536000"),
                ("Last-Modified", "Thu, 01 Jan 1970 00:00:00 GMT"),
            )
            if match["what"] == "ancestry":
                ancestry = [image.id]
                parent = image.parent
                while parent is not None:
                    ancestry.append(parent)
                    parent = self.content.v1_images[parent].parent
                return _v1_json(200, ancestry, cache)
            if match["what"] == "json":
                return LabResponse(
                    200,
                    (
                        *_V1_COMMON,
                        ("Content-Type", "application/json"),
                        *cache,
                        ("X-Docker-Size", str(len(image.layer))),
                        ("X-Docker-Payload-Checksum", image.checksum),
                    ),
                    image.json,
                )
            return LabResponse(
                200, (*_V1_COMMON, ("Content-Type", "application/octet-stream"), *cache), image.layer
            )
        return _v1_flask_404()


_V1_COMMON: Headers = (
    ("X-Docker-Registry-Version", V1_REGISTRY_VERSION),
    ("X-Docker-Registry-Config", "dev"),
)


def _v1_json(status: int, value: object, extra: Headers = ()) -> LabResponse:
    """docker-registry toolkit.response: sorted JSON, no-cache headers, application/json."""
    cache_control = header_value(extra, "Cache-Control")
    headers: Headers = (
        *_V1_COMMON,
        ("Content-Type", "application/json"),
        *(
            ()
            if cache_control
            else (("Cache-Control", "no-cache"), ("Expires", "-1"), ("Pragma", "no-cache"))
        ),
        *extra,
    )
    return LabResponse(status, headers, json.dumps(value, sort_keys=True).encode())


def _v1_flask_404() -> LabResponse:
    return LabResponse(404, (*_V1_COMMON, ("Content-Type", "text/html")), FLASK_404)


def _s3_error(status: int, code: str, message: str) -> LabResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()
    return LabResponse(status, (("Content-Type", "application/xml"),), body)


# ======================================================================== token server
@dataclass
class TokenApp:
    """The lab token server (``GET /token``, and a minimal OAuth2 ``POST /token``)."""

    content: LabContent
    issuer: TokenIssuer
    users: Mapping[str, str]

    def handle(self, request: LabRequest) -> LabResponse:
        if request.path != "/token":
            return LabResponse(404, (("Content-Type", "text/plain; charset=utf-8"),), b"404 page not found\n")
        if request.method == "GET":
            return self._get(request)
        if request.method == "POST":
            return self._post(request)
        return LabResponse(
            405,
            (("Content-Type", "application/json"), ("Allow", "GET, POST")),
            _json({"details": "method not allowed"}),
        )

    def _public(self) -> frozenset[str]:
        return frozenset(n for n in self.content.repositories if n.startswith("library/"))

    def _grant(self, subject: str, scopes: list[str]) -> list[Access]:
        access: list[Access] = []
        for value in scopes:
            for text in value.split():
                requested = parse_scope(text)
                if requested is None:
                    continue
                grant = granted(
                    subject, requested, public_repositories=self._public(), users=self.users.keys()
                )
                if grant is not None and grant not in access:
                    access.append(grant)
        return access

    def _issued_at(self) -> str:
        return datetime.fromtimestamp(self.issuer.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _get(self, request: LabRequest) -> LabResponse:
        query = request.query
        authorization = request.header("Authorization")
        subject = ""
        if authorization and authorization.strip().lower().startswith("basic"):
            creds = _basic_credentials(authorization)
            if creds is None or not _check_password(self.users, *creds):
                return _incorrect_password()
            subject = creds[0]
        service = (query.get("service") or [""])[0]
        token = self.issuer.issue(subject, service, self._grant(subject, list(query.get("scope", []))))
        answer: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": self.issuer.lifetime,
            "issued_at": self._issued_at(),
        }
        if (query.get("offline_token") or [""])[0].lower() == "true" and subject:
            answer["refresh_token"] = self.issuer.issue_refresh(subject, service)
        return LabResponse(200, (("Content-Type", "application/json"),), _json(answer))

    def _post(self, request: LabRequest) -> LabResponse:
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            return _oauth_error("invalid_request")
        field_ = {k: v[0] for k, v in form.items() if v}
        service = field_.get("service", "")
        grant_type = field_.get("grant_type", "")
        if grant_type == "password":
            user, password = field_.get("username", ""), field_.get("password", "")
            if not _check_password(self.users, user, password):
                return _incorrect_password()
            subject = user
        elif grant_type == "refresh_token":
            try:
                subject = self.issuer.verify_refresh(field_.get("refresh_token", ""), service)
            except InvalidToken:
                return _incorrect_password()
        else:
            return _oauth_error("unsupported_grant_type")
        scope = field_.get("scope", "")
        token = self.issuer.issue(subject, service, self._grant(subject, [scope]))
        answer: dict[str, Any] = {
            "access_token": token,
            "scope": scope,
            "expires_in": self.issuer.lifetime,
            "issued_at": self._issued_at(),
        }
        if field_.get("access_type") == "offline" or grant_type == "refresh_token":
            answer["refresh_token"] = self.issuer.issue_refresh(subject, service)
        return LabResponse(200, (("Content-Type", "application/json"),), _json(answer))


def _incorrect_password() -> LabResponse:
    # Docker Hub's token endpoint wording; docker prints "unauthorized: incorrect username or password".
    return LabResponse(
        401, (("Content-Type", "application/json"),), _json({"details": "incorrect username or password"})
    )


def _oauth_error(code: str) -> LabResponse:
    return LabResponse(400, (("Content-Type", "application/json"),), _json({"error": code}))
