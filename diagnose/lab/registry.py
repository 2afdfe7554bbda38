"""The lab registry's V2 API (Docker-Hub-like); V1, storage and the token server live beside it.

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
- Docker Hub: token answer fields, ``{"details":
  "incorrect username or password"}``, 429 ``TOOMANYREQUESTS`` with ``ratelimit-*`` headers.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from diagnose.lab.content import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Behaviour,
    LabContent,
    Repository,
)
from diagnose.lab.registry_v1 import v1_answer
from diagnose.lab.storage import BlobStorage
from diagnose.lab.tokens import (
    SERVICE,
    Claims,
    InvalidToken,
    TokenIssuer,
)
from diagnose.lab.wire import (
    _BLOB_ROUTE,
    _MANIFEST_ROUTE,
    _SHA256,
    _TAGS_ROUTE,
    API_VERSION,
    JSON_UTF8,
    NGINX_500,
    NGINX_502,
    NOT_A_REGISTRY_BODY,
    RATE_LIMIT_ANONYMOUS,
    RATE_LIMIT_AUTHENTICATED,
    STORAGE_EXPIRY,
    LabAuth,
    LabRequest,
    LabResponse,
    LabV1,
    _accepted,
    _basic_credentials,
    _check_password,
    _errors,
    _go_not_found,
    _v2_error,
)
from diagnose.model import Headers


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
    proxy_error: bool = False
    storage: BlobStorage = field(init=False)

    # ----------------------------------------------------------------- dispatch
    def handle(self, request: LabRequest) -> LabResponse:
        if self.not_a_registry:
            return LabResponse(404, (("Content-Type", "text/html"),), NOT_A_REGISTRY_BODY)
        if self.proxy_error:
            # A reverse proxy whose upstream registry is down: its own page, no registry headers.
            return LabResponse(502, (("Content-Type", "text/html"), ("Server", "nginx")), NGINX_502)
        path = request.path
        if path in ("/v2", "/v2/"):
            return self._base(request)
        if path.startswith("/v2/"):
            return self._v2(request, path)
        if path.startswith("/_storage/"):
            return self.storage.handle(request, path)
        if path == "/_ping" or path.startswith("/v1/") or path == "/v1":
            if self.v1 is LabV1.PRESENT:
                return v1_answer(self.content, self.base_url, request, path)
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
            if repo is not None and repo.behaviour is Behaviour.RENAMED:
                return _renamed(repo)
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
        if repo is not None and repo.behaviour is Behaviour.THROTTLED:
            # Docker Hub's abuse limit: a bare 429 without Retry-After or ratelimit-* headers.
            return _v2_error(429, _errors("TOOMANYREQUESTS", "Too Many Requests"))
        if repo is not None and repo.behaviour is Behaviour.DENIED:
            # distribution's DENIED (403): the caller is known and the registry's policy refuses.
            return _v2_error(403, _errors("DENIED", "requested access to the resource is denied"))
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
        if repo.behaviour in (Behaviour.REDIRECT_BLOBS, Behaviour.EXPIRED_REDIRECT):
            # EXPIRED_REDIRECT signs two validity periods ago: storage answers 403 "Request has expired".
            now = time.time() - 2 * STORAGE_EXPIRY if repo.behaviour is Behaviour.EXPIRED_REDIRECT else None
            location = self.presigned_url(digest, request.method, now)
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
    def __post_init__(self) -> None:
        self.storage = BlobStorage(self.content, self.base_url)

    def presigned_url(self, digest: str, method: str, now: float | None = None) -> str:
        """An S3-presigned-looking URL on this server, signed for ``method`` like S3 does."""
        return self.storage.presigned_url(digest, method, now)


def _renamed(repo: Repository) -> LabResponse:
    """A renamed repository: 404 NAME_UNKNOWN whose message and detail name the new name (the
    hint a registry that keeps redirects for renamed projects gives API clients)."""
    message = f"repository name not known to registry; it was renamed to {repo.moved_to}"
    return _v2_error(404, _errors("NAME_UNKNOWN", message, {"name": repo.name, "moved_to": repo.moved_to}))
