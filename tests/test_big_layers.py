"""A layer larger than what a reply keeps in memory is verified whole by every pull.

Each pull that checks layer digests (``--layers``) streams the body through the client, which
hashes every byte; a layer bigger than the in-memory cap must come out "digest ok", never an
integrity error judged from its first megabytes. A real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from diagnose.http import DEFAULT_MAX_BODY
from diagnose.model import Outcome, Strategy
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pull
from diagnose.transport import TransportOptions
from tests.helpers_http import QuietHandler, serve

LAYER = b"\x1f\x8b" + bytes(range(256)) * ((DEFAULT_MAX_BODY + 2 * 1024 * 1024) // 256)
LAYER_DIGEST = "sha256:" + hashlib.sha256(LAYER).hexdigest()
CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(CONFIG),
            "digest": CONFIG_DIGEST,
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": len(LAYER),
                "digest": LAYER_DIGEST,
            }
        ],
    }
).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
VERSION = ("Docker-Distribution-API-Version", "registry/2.0")


class BigLayerRegistry(QuietHandler):
    def _answer(self, head: bool) -> None:
        self.seen()
        if self.path == "/v2/":
            body, headers = b"{}", [VERSION]
        elif "/manifests/" in self.path:
            body = MANIFEST
            headers = [
                VERSION,
                ("Content-Type", "application/vnd.docker.distribution.manifest.v2+json"),
                ("Docker-Content-Digest", MANIFEST_DIGEST),
            ]
        elif self.path.endswith(CONFIG_DIGEST):
            body, headers = CONFIG, [VERSION, ("Content-Type", "application/octet-stream")]
        elif self.path.endswith(LAYER_DIGEST):
            body, headers = LAYER, [VERSION, ("Content-Type", "application/octet-stream")]
        else:
            body, headers = b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}', [VERSION]
            self.reply(404, body, headers)
            return
        if head:
            self.send_response(200)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
        else:
            self.reply(200, body, headers)

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)


@pytest.mark.parametrize("strategy", [Strategy.V2_ONLY, Strategy.DOCKER_ENDPOINTS, Strategy.CONTAINERD])
def test_a_layer_bigger_than_a_reply_keeps_is_verified_whole(strategy: Strategy) -> None:
    assert len(LAYER) > DEFAULT_MAX_BODY
    with serve(BigLayerRegistry) as server:
        host = f"127.0.0.1:{server.port}"
        options = PullOptions(tls_verify=False, verify_layers=True, containerd_server=f"http://{host}")
        result = run_pull(
            parse_reference(f"{host}/library/big:1.0"), strategy, options, TransportOptions(timeout=30)
        )
    assert result.outcome is Outcome.OK, (result.outcome, result.message)
    layer_steps = [s for s in result.steps if LAYER_DIGEST[7:19] in s.label + s.url or "layer" in s.label]
    assert any("digest ok" in s.result or "verified" in s.result for s in layer_steps), result.steps
