"""Deterministic image content for the built-in lab: layers, configs, manifests, V1 images.

Everything is built from fixed inputs (fixed tar metadata, gzip ``mtime=0``), so digests are
stable from run to run and tests can recompute them from the served bytes. This module only
builds immutable values; it must not do network I/O, and it must not decide who may pull what
(that is ``tokens.py``) or how the registry answers (that is ``registry.py``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

# Media types (distribution manifest-v2-2.md; opencontainers/image-spec media-types.md).
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

CREATED = "2024-01-01T00:00:00Z"


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Behaviour(StrEnum):
    """How the lab registry serves one repository (see ``registry.py``)."""

    NORMAL = "normal"
    REDIRECT_BLOBS = "redirect-blobs"  # blobs answer 307 to a presigned-looking storage URL
    CORRUPT_CONFIG = "corrupt-config"  # config blob served with bytes that do not match its digest
    RATE_LIMITED = "rate-limited"  # manifests answer 429 TOOMANYREQUESTS like Docker Hub
    BROKEN = "broken"  # manifests answer 500 with an HTML page (a proxy in front failed)
    THROTTLED = "throttled"  # manifests answer a bare 429 (Docker Hub's abuse limit: no ratelimit-* headers)
    EXPIRED_REDIRECT = "expired-redirect"  # blobs redirect to storage URLs that have already expired
    RENAMED = "renamed"  # every V2 path answers 404 NAME_UNKNOWN naming the repository's new name
    DENIED = "denied"  # manifests answer 403 DENIED: the registry knows the repository and refuses
    PUSH_ONLY = "push-only"  # the owner's token grants push but never pull (a CI upload account)


@dataclass(frozen=True, slots=True)
class Manifest:
    """A stored manifest: its exact bytes, media type and digest."""

    digest: str
    media_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Repository:
    """A V2 repository: tags, manifests (by digest) and the bytes served for each blob."""

    name: str
    tags: Mapping[str, str]  # tag -> manifest digest
    manifests: Mapping[str, Manifest]  # digest -> manifest
    blobs: Mapping[str, bytes]  # digest -> bytes SERVED (differ from the digest for CORRUPT_CONFIG)
    behaviour: Behaviour = Behaviour.NORMAL
    moved_to: str | None = None  # RENAMED: the repository's new name


@dataclass(frozen=True, slots=True)
class V1Image:
    """A legacy V1 image: id, parent, its JSON and its layer (docker-archive/docker-registry)."""

    id: str
    parent: str | None
    json: bytes
    layer: bytes
    checksum: str  # "sha256:<hex of the layer>", as listed in /v1/repositories/<name>/images


@dataclass(frozen=True, slots=True)
class V1Repository:
    """A legacy V1 repository: tags to image ids, and every image id it needs."""

    name: str  # always "namespace/repo"
    tags: Mapping[str, str]  # tag -> image id
    image_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LabImage:
    """One line of the lab's catalogue, for humans (``diagnose lab``) and tests."""

    repo: str
    tag: str
    visibility: str  # "public", "private to alice", ...
    protocols: tuple[str, ...]  # ("v2",), ("v1",) or ("v2", "v1")
    description: str


@dataclass(frozen=True, slots=True)
class LabContent:
    """Everything the lab serves."""

    repositories: Mapping[str, Repository]
    v1_repositories: Mapping[str, V1Repository]
    v1_images: Mapping[str, V1Image]
    images: tuple[LabImage, ...]


def _freeze(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _json_bytes(value: object) -> bytes:
    # Docker's schema2 manifests are indented with three spaces; any stable form would do.
    return json.dumps(value, indent=3).encode("utf-8")


def make_layer(files: Sequence[tuple[str, bytes]]) -> tuple[bytes, bytes]:
    """A tiny layer: (uncompressed tar, gzip of it), both byte-for-byte reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, compresslevel=9, mtime=0)


@dataclass(frozen=True, slots=True)
class _Built:
    manifest: Manifest
    blobs: Mapping[str, bytes]  # digest -> true bytes (config and layers)
    config_digest: str


def _image(
    label: str,
    *,
    os: str = "linux",
    architecture: str = "amd64",
    variant: str | None = None,
    oci: bool = False,
    extra_files: Sequence[tuple[str, bytes]] = (),
) -> _Built:
    """A one-layer image manifest (Docker schema2, or OCI when ``oci``) with its blobs."""
    files = [("etc/diagnose-lab/image", f"{label} {os}/{architecture}\n".encode()), *extra_files]
    tar_bytes, layer = make_layer(files)
    config_obj: dict[str, Any] = {
        "architecture": architecture,
        "os": os,
        "created": CREATED,
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(tar_bytes)]},
        "history": [{"created": CREATED, "created_by": f"diagnose lab: {label}"}],
    }
    if variant:
        config_obj["variant"] = variant
    config = json.dumps(config_obj, sort_keys=True, separators=(",", ":")).encode()
    media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
    manifest_obj = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
            "size": len(config),
            "digest": sha256_digest(config),
        },
        "layers": [
            {
                "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                "size": len(layer),
                "digest": sha256_digest(layer),
            }
        ],
    }
    data = _json_bytes(manifest_obj)
    blobs = {sha256_digest(config): config, sha256_digest(layer): layer}
    return _Built(Manifest(sha256_digest(data), media_type, data), _freeze(blobs), sha256_digest(config))


def _index(children: Sequence[tuple[_Built, dict[str, str]]]) -> Manifest:
    """A Docker manifest list over ``children`` with their platform objects."""
    obj = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_LIST,
        "manifests": [
            {
                "mediaType": child.manifest.media_type,
                "size": len(child.manifest.data),
                "digest": child.manifest.digest,
                "platform": platform,
            }
            for child, platform in children
        ],
    }
    data = _json_bytes(obj)
    return Manifest(sha256_digest(data), DOCKER_MANIFEST_LIST, data)


def _repository(
    name: str,
    tags: Mapping[str, Manifest],
    built: Sequence[_Built],
    behaviour: Behaviour = Behaviour.NORMAL,
    served_overrides: Mapping[str, bytes] | None = None,
    *,
    withheld: Sequence[str] = (),
    moved_to: str | None = None,
) -> Repository:
    manifests: dict[str, Manifest] = {}
    blobs: dict[str, bytes] = {}
    for item in built:
        manifests[item.manifest.digest] = item.manifest
        blobs.update(item.blobs)
    for manifest in tags.values():
        manifests[manifest.digest] = manifest
    blobs.update(served_overrides or {})
    for digest in withheld:  # referenced by a manifest, never stored (BLOB_UNKNOWN)
        blobs.pop(digest, None)
    return Repository(
        name=name,
        tags=_freeze({tag: m.digest for tag, m in tags.items()}),
        manifests=_freeze(manifests),
        blobs=_freeze(blobs),
        behaviour=behaviour,
        moved_to=moved_to,
    )


def _schema1(label: str, repo: str, tag: str) -> _Built:
    """An unsigned Docker schema1 manifest (distribution manifest/schema1): fsLayers and history,
    no config blob. Kept for the clients that refuse schema1 (docker >= 26, containerd >= 2)."""
    _, layer = make_layer([("etc/diagnose-lab/image", f"{label} (schema1)\n".encode())])
    v1_id = hashlib.sha256(f"diagnose-lab-schema1:{label}".encode()).hexdigest()
    compat = json.dumps(
        {
            "id": v1_id,
            "created": CREATED,
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
        },
        sort_keys=True,
    )
    obj = {
        "schemaVersion": 1,
        "name": repo,
        "tag": tag,
        "architecture": "amd64",
        "fsLayers": [{"blobSum": sha256_digest(layer)}],
        "history": [{"v1Compatibility": compat}],
    }
    data = _json_bytes(obj)
    manifest = Manifest(sha256_digest(data), DOCKER_SCHEMA1, data)
    return _Built(manifest, _freeze({sha256_digest(layer): layer}), "")


def _v1_image(label: str, parent: V1Image | None, layer_files: Sequence[tuple[str, bytes]]) -> V1Image:
    """A V1 image whose id is derived from its label (64 hex, like docker's random ids)."""
    image_id = hashlib.sha256(f"diagnose-lab-v1:{label}".encode()).hexdigest()
    _, layer = make_layer(layer_files)
    obj: dict[str, Any] = {
        "id": image_id,
        "created": CREATED,
        "container_config": {"Cmd": ["/bin/sh", "-c", f"#(nop) {label}"]},
        "config": {"Cmd": ["/bin/sh"]},
        "architecture": "amd64",
        "os": "linux",
        "docker_version": "1.12.6",
        "Size": len(layer),
    }
    if parent is not None:
        obj["parent"] = parent.id
    return V1Image(
        id=image_id,
        parent=parent.id if parent else None,
        json=json.dumps(obj, sort_keys=True).encode(),
        layer=layer,
        checksum=sha256_digest(layer),
    )


@functools.cache
def build_content() -> LabContent:
    """The lab's catalogue. Immutable, built once per process, identical in every process."""
    busybox_amd64 = _image("busybox")
    busybox_arm64 = _image("busybox", architecture="arm64", variant="v8")
    busybox_list = _index(
        [
            (busybox_amd64, {"architecture": "amd64", "os": "linux"}),
            (busybox_arm64, {"architecture": "arm64", "os": "linux", "variant": "v8"}),
        ]
    )
    alpine = _image("alpine")
    redirected = _image("redirected")
    oci_only = _image("oci-only", oci=True)
    corrupt = _image("corrupt")
    ratelimited = _image("ratelimited")
    broken = _image("broken")
    windows = _image("windows-only", os="windows")
    windows_list = _index(
        [(windows, {"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.2340"})]
    )
    private_app = _image("private-app")
    tools = _image("tools")
    throttled = _image("throttled")
    expired = _image("expired-links")
    half_pushed = _image("half-pushed")
    quarantined = _image("quarantined")
    uploads = _image("uploads")
    schema1 = _schema1("schema1-only", "library/schema1-only", "latest")

    corrupt_config = corrupt.blobs[corrupt.config_digest]
    # One changed byte: same size, different digest (what a bad cache or disk would serve).
    tampered = corrupt_config.replace(b"corrupt", b"c0rrupt", 1)

    repos = [
        _repository(
            "library/busybox",
            {"latest": busybox_list, "1.36": busybox_amd64.manifest},
            [busybox_amd64, busybox_arm64],
        ),
        _repository("library/alpine", {"latest": alpine.manifest}, [alpine]),
        _repository(
            "library/redirected", {"latest": redirected.manifest}, [redirected], Behaviour.REDIRECT_BLOBS
        ),
        _repository("library/oci-only", {"latest": oci_only.manifest}, [oci_only]),
        _repository(
            "library/corrupt",
            {"latest": corrupt.manifest},
            [corrupt],
            Behaviour.CORRUPT_CONFIG,
            {corrupt.config_digest: tampered},
        ),
        _repository(
            "library/ratelimited", {"latest": ratelimited.manifest}, [ratelimited], Behaviour.RATE_LIMITED
        ),
        _repository("library/broken", {"latest": broken.manifest}, [broken], Behaviour.BROKEN),
        _repository("library/windows-only", {"latest": windows_list}, [windows]),
        _repository("alice/private-app", {"latest": private_app.manifest}, [private_app]),
        _repository("bob/tools", {"1.0": tools.manifest}, [tools]),
        _repository("library/throttled", {"latest": throttled.manifest}, [throttled], Behaviour.THROTTLED),
        _repository(
            "library/expired-links", {"latest": expired.manifest}, [expired], Behaviour.EXPIRED_REDIRECT
        ),
        _repository(
            "library/half-pushed",
            {"latest": half_pushed.manifest},
            [half_pushed],
            withheld=[d for d in half_pushed.blobs if d != half_pushed.config_digest],
        ),
        # Its old tags are never served: every V2 path answers with the rename hint.
        _repository(
            "library/oldname",
            {"latest": alpine.manifest},
            [alpine],
            Behaviour.RENAMED,
            moved_to="library/alpine",
        ),
        _repository("library/quarantined", {"latest": quarantined.manifest}, [quarantined], Behaviour.DENIED),
        _repository("bob/uploads", {"latest": uploads.manifest}, [uploads], Behaviour.PUSH_ONLY),
        _repository("library/schema1-only", {"latest": schema1.manifest}, [schema1]),
    ]

    old_base = _v1_image("oldtimer-base", None, [("etc/diagnose-lab/base", b"oldtimer base\n")])
    old_top = _v1_image("oldtimer-top", old_base, [("etc/diagnose-lab/image", b"oldtimer\n")])
    bb_v1 = _v1_image("busybox-v1", None, [("etc/diagnose-lab/image", b"busybox (v1)\n")])
    v1_images = {image.id: image for image in (old_base, old_top, bb_v1)}
    v1_repos = [
        V1Repository("library/oldtimer", _freeze({"latest": old_top.id}), (old_top.id, old_base.id)),
        V1Repository("library/busybox", _freeze({"latest": bb_v1.id}), (bb_v1.id,)),
    ]

    images = (
        LabImage(
            "library/busybox", "latest", "public", ("v2", "v1"), "manifest list: linux/amd64, linux/arm64/v8"
        ),
        LabImage("library/busybox", "1.36", "public", ("v2",), "single Docker schema2 manifest"),
        LabImage("library/alpine", "latest", "public", ("v2",), "single Docker schema2 manifest"),
        LabImage("library/redirected", "latest", "public", ("v2",), "blobs answer 307 to a presigned URL"),
        LabImage("library/oci-only", "latest", "public", ("v2",), "OCI image manifest (Accept negotiation)"),
        LabImage("library/corrupt", "latest", "public", ("v2",), "config blob served with wrong bytes"),
        LabImage("library/ratelimited", "latest", "public", ("v2",), "manifest answers 429 TOOMANYREQUESTS"),
        LabImage("library/broken", "latest", "public", ("v2",), "manifest answers 500 with an HTML page"),
        LabImage(
            "library/windows-only", "latest", "public", ("v2",), "manifest list with only windows/amd64"
        ),
        LabImage("library/oldtimer", "latest", "public", ("v1",), "V1-only image (needs --v1 present)"),
        LabImage("alice/private-app", "latest", "private to alice", ("v2",), "private repository"),
        LabImage("bob/tools", "1.0", "private to bob", ("v2",), "private repository"),
        LabImage(
            "library/throttled", "latest", "public", ("v2",), "manifest answers a bare 429 (abuse limit)"
        ),
        LabImage(
            "library/expired-links", "latest", "public", ("v2",), "blobs redirect to expired presigned URLs"
        ),
        LabImage("library/half-pushed", "latest", "public", ("v2",), "its layer is missing (BLOB_UNKNOWN)"),
        LabImage(
            "library/oldname", "latest", "public", ("v2",), "renamed to library/alpine (404 with a hint)"
        ),
        LabImage("library/quarantined", "latest", "public", ("v2",), "manifest answers 403 DENIED"),
        LabImage(
            "bob/uploads", "latest", "private to bob", ("v2",), "push-only: bob's token grants push, not pull"
        ),
        LabImage("library/schema1-only", "latest", "public", ("v2",), "Docker schema1 manifest only"),
    )
    return LabContent(
        repositories=_freeze({repo.name: repo for repo in repos}),
        v1_repositories=_freeze({repo.name: repo for repo in v1_repos}),
        v1_images=_freeze(v1_images),
        images=images,
    )
