"""Build tiny container images as an OCI image layout on disk, for seeding real registries.

Each image is one small gzip tar layer, a config and an OCI manifest; a multi-platform
image is an OCI index over several of those. The layout's ``index.json`` names each
top-level entry with ``org.opencontainers.image.ref.name`` so that
``skopeo copy oci:<dir>:<name> docker://...`` can pick it.

Everything is deterministic (fixed mtimes, no gzip timestamp) so digests are stable
between runs. This module must not run skopeo or talk to a registry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def as_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out


LINUX_AMD64 = Platform("linux", "amd64")
LINUX_ARM64 = Platform("linux", "arm64", "v8")


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


class OciLayout:
    """An OCI image layout directory that images are added to one by one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self._entries: list[dict[str, Any]] = []
        self._write_index()

    def _write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self._entries}
        (self.root / "index.json").write_bytes(_canonical(index))

    def blob(self, media_type: str, data: bytes) -> Descriptor:
        digest = hashlib.sha256(data).hexdigest()
        (self.blobs / digest).write_bytes(data)
        return Descriptor(media_type, f"sha256:{digest}", len(data))

    def _layer(self, text: str) -> tuple[Descriptor, str]:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            payload = text.encode()
            info = tarfile.TarInfo("etc/realreg-image")
            info.size = len(payload)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(payload))
        uncompressed = raw.getvalue()
        diff_id = f"sha256:{hashlib.sha256(uncompressed).hexdigest()}"
        compressed = gzip.compress(uncompressed, mtime=0)
        return self.blob(OCI_LAYER_GZIP, compressed), diff_id

    def image(self, label: str, platform: Platform) -> Descriptor:
        """One single-platform image (layer, config, manifest); returns the manifest."""
        layer, diff_id = self._layer(f"{label} {platform.os}/{platform.architecture}\n")
        config = {
            **platform.as_json(),
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/true"], "Labels": {"realreg": label}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "tests/realreg/oci.py"}],
        }
        config_desc = self.blob(OCI_CONFIG, _canonical(config))
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_desc.as_json(),
            "layers": [layer.as_json()],
        }
        return self.blob(OCI_MANIFEST, _canonical(manifest))

    def index(self, label: str, platforms: Sequence[Platform]) -> Descriptor:
        """A multi-platform image: an OCI index over one image per platform."""
        entries = []
        for platform in platforms:
            manifest = self.image(label, platform)
            entries.append({**manifest.as_json(), "platform": platform.as_json()})
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        return self.blob(OCI_INDEX, _canonical(index))

    def name(self, ref_name: str, descriptor: Descriptor) -> None:
        """Make ``descriptor`` reachable as ``oci:<root>:<ref_name>``."""
        self._entries = [e for e in self._entries if e["annotations"][REF_NAME] != ref_name]
        self._entries.append({**descriptor.as_json(), "annotations": {REF_NAME: ref_name}})
        self._write_index()
