"""The lab's legacy V1 API: a standalone docker-archive/docker-registry 0.9 next to the V2 API.

Pure request -> response; no sockets. Facts: docker-registry app.py, toolkit.py, index.py,
tags.py, images.py (standalone mode).
"""

from __future__ import annotations

import json
import secrets

from diagnose.lab.content import (
    LabContent,
)
from diagnose.lab.wire import (
    _V1_IMAGE_ROUTE,
    _V1_REPO_ROUTE,
    FLASK_404,
    V1_REGISTRY_VERSION,
    LabRequest,
    LabResponse,
)
from diagnose.model import Headers, header_value


def v1_answer(content: LabContent, base_url: str, request: LabRequest, path: str) -> LabResponse:
    """What a standalone docker-registry 0.9 answers on the V1 API."""
    if request.method not in ("GET", "HEAD"):
        return _v1_flask_404()
    if path in ("/_ping", "/v1/_ping"):
        return _v1_json(200, True, (("X-Docker-Registry-Standalone", "true"),))
    match = _V1_REPO_ROUTE.match(path)
    if match:
        repo_name = match["repo"] if "/" in match["repo"] else f"library/{match['repo']}"
        repo = content.v1_repositories.get(repo_name)
        if match["what"] == "images":
            if match["tag"] is not None:
                return _v1_flask_404()
            if repo is None:
                return _v1_json(404, {"error": "images not found"})
            host = request.header("Host") or base_url.split("://", 1)[1]
            # The index sends the token bare in X-Docker-Token and with the scheme in
            # WWW-Authenticate (moby docs/reference/api/hub_registry_spec.md); docker then
            # sends "Authorization: Token <X-Docker-Token>" (registry/session.go).
            token = f'signature={secrets.token_hex(8).upper()},repository="{repo_name}",access=read'
            images = [{"id": i, "checksum": content.v1_images[i].checksum} for i in repo.image_ids]
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
        image = content.v1_images.get(match["id"])
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
                parent = content.v1_images[parent].parent
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
