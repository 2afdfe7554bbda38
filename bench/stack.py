"""The benchmark's registry: the test suite's real distribution registry and token server,
each behind a ``LatencyProxy``, seeded with a small image and one with a large layer.

The registry's token realm points at the token server's proxy, so every round trip a client
makes (registry and token server alike) pays the configured RTT. Only 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.latency_proxy import LatencyProxy
from tests.realreg.oci import LINUX_AMD64, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, OciLayout, _canonical
from tests.realreg.pki import make_pki
from tests.realreg.registry import start_registry, token_auth
from tests.realreg.skopeo import Skopeo
from tests.realreg.stack import build_layout
from tests.realreg.tokenserver import TokenPolicy, TokenServer

SERVICE = "diagnose-bench"
ISSUER = "diagnose-bench-issuer"
SEEDER = "seeder"
SMALL = "library/alpine:3.19-docker"  # schema2: both pulls (skopeo's and docker 1.12's) succeed
BIG = "library/big:1"
BATCH_IMAGES = (SMALL, "library/app1:1", "library/app2:1", "library/app3:1")  # all schema2


@dataclass(frozen=True, slots=True)
class BenchRegistry:
    host: str  # "127.0.0.1:PORT" of the registry's latency proxy
    direct_host: str  # the registry itself, no proxy (throughput figures)
    cert_dir: Path  # ca.crt, for skopeo --cert-dir
    ca_cert: Path
    skopeo: Skopeo
    proxies: tuple[LatencyProxy, ...]
    big_layer_bytes: int

    def set_rtt(self, rtt_ms: float) -> None:
        for proxy in self.proxies:
            proxy.set_rtt(rtt_ms)


def _big_image(layout: OciLayout, size: int) -> None:
    """One image whose only layer is ``size`` bytes of incompressible data, streamed to disk."""
    tmp = layout.blobs / "big.partial"
    hasher = hashlib.sha256()
    chunk = 16 * 1024 * 1024
    with tmp.open("wb") as out:
        left = size
        while left:
            data = os.urandom(min(chunk, left))
            hasher.update(data)
            out.write(data)
            left -= len(data)
    digest = hasher.hexdigest()
    tmp.rename(layout.blobs / digest)
    config = {
        "architecture": LINUX_AMD64.architecture,
        "os": LINUX_AMD64.os,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{digest}"]},
    }
    config_desc = layout.blob(OCI_CONFIG, _canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_desc.as_json(),
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": f"sha256:{digest}", "size": size}],
    }
    layout.name("big", layout.blob(OCI_MANIFEST, json.dumps(manifest).encode()))


@contextlib.contextmanager
def bench_registry(workdir: Path, *, big_layer_bytes: int) -> Iterator[BenchRegistry]:
    pki = make_pki(workdir / "pki")
    seeder_password = secrets.token_urlsafe(12)
    policy = TokenPolicy(users={SEEDER: seeder_password}, superusers=frozenset({SEEDER}), public=set())
    token_server = TokenServer(
        policy=policy,
        issuer=ISSUER,
        service=SERVICE,
        signing_key=pki.signing_key,
        signing_cert_der=pki.signing_cert_der,
        server_cert=pki.server_cert,
        server_key=pki.server_key,
    )
    with contextlib.ExitStack() as stack:
        token_server.start()
        stack.callback(token_server.stop)
        token_proxy = stack.enter_context(LatencyProxy(token_server.port, 0))
        registry = start_registry(
            "bench",
            workdir,
            ca_cert=pki.ca_cert,
            cert=pki.server_cert,
            key=pki.server_key,
            auth=token_auth(
                realm=f"https://127.0.0.1:{token_proxy.port}/token",
                service=SERVICE,
                issuer=ISSUER,
                rootcertbundle=pki.ca_cert,
            ),
        )
        stack.callback(registry.stop)
        registry_proxy = stack.enter_context(LatencyProxy(registry.port, 0))
        skopeo = Skopeo(workdir / "skopeo-home")
        layout = build_layout(workdir / "oci-layout")
        if big_layer_bytes:
            _big_image(layout, big_layer_bytes)
        seeds = [("alpine", image, "v2s2") for image in BATCH_IMAGES]
        if big_layer_bytes:
            seeds.append(("big", BIG, "v2s2"))
        for name, target, manifest_format in seeds:
            done = skopeo.copy(
                f"oci:{layout.root}:{name}",
                f"docker://{registry.host}/{target}",
                dest_cert_dir=pki.cert_dir,
                dest_creds=(SEEDER, seeder_password),
                manifest_format=manifest_format,
                timeout=600,
            )
            if not done.ok:
                raise RuntimeError(f"seeding {target}: {done.message or done.stderr}")
        policy.public.update(image.split(":")[0] for image in (*BATCH_IMAGES, BIG))
        yield BenchRegistry(
            host=f"127.0.0.1:{registry_proxy.port}",
            direct_host=registry.host,
            cert_dir=pki.cert_dir,
            ca_cert=pki.ca_cert,
            skopeo=skopeo,
            proxies=(token_proxy, registry_proxy),
            big_layer_bytes=big_layer_bytes,
        )
