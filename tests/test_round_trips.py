"""Round trips: each pull reuses connections exactly as far as the client it emulates does.

Real servers on 127.0.0.1 observe what arrives (which connection, how many at once); the
report's ``new_connection`` / ``tls_handshake`` must say the same.
"""

from __future__ import annotations

import threading

import pytest

from diagnose.lab import Lab
from diagnose.model import Exchange, Strategy, header_value
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pulls
from diagnose.transport import Recorder, RecordingClient, TransportOptions
from tests.helpers_http import QuietHandler, serve


def peers() -> tuple[type[QuietHandler], list[int]]:
    """A handler that answers every GET, and the client ports (connections) it came on."""
    ports: list[int] = []
    lock = threading.Lock()

    class Peers(QuietHandler):
        def do_GET(self) -> None:
            self.seen()
            with lock:
                ports.append(self.client_address[1])
            self.reply(200, b"{}", [("Content-Type", "application/json")])

    return Peers, ports


def _facts(exchanges: tuple[Exchange, ...]) -> list[tuple[bool | None, bool | None]]:
    return [(e.new_connection, e.tls_handshake) for e in exchanges]


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_without_keep_alive_every_request_dials_and_says_connection_close(tls: bool) -> None:
    """Go's DisableKeepAlives (every docker version): a new connection per request."""
    handler, ports = peers()
    with serve(handler, tls=tls) as server:
        options = TransportOptions(timeout=10, verify=server.ca_path or True, keep_alive=False)
        with RecordingClient(Recorder(), Strategy.V2_THEN_V1, options) as client:
            for step in ("ping", "manifest", "config"):
                assert client.send(step, "GET", server.url("/v2/")).status == 200
        seen = server.requests
    assert len(set(ports)) == 3, "the server saw three connections"
    assert [r.values("Connection") for r in seen] == [("close",)] * 3
    assert _facts(client.exchanges()) == [(True, tls)] * 3
    assert all(header_value(e.request.headers, "Connection") == "close" for e in client.exchanges())


def test_with_keep_alive_one_connection_serves_every_request() -> None:
    handler, ports = peers()
    with serve(handler) as server:
        with RecordingClient(Recorder(), Strategy.V2_ONLY, TransportOptions(timeout=10)) as client:
            for step in ("ping", "manifest", "config"):
                assert client.send(step, "GET", server.url("/v2/")).status == 200
        seen = server.requests
    assert len(set(ports)) == 1
    assert all(r.values("Connection") == () for r in seen)
    assert _facts(client.exchanges()) == [(True, False), (False, False), (False, False)]


def test_docker_112_v1_fallback_opens_a_connection_for_every_exchange(lab_v1: Lab) -> None:
    """docker 1.12's V2 attempt and its V1 session both use transports with keep-alives off
    (moby v1.12.6 distribution/registry.go:38-45, registry/registry.go:176-183), so the V1
    exchanges (ping, images, tag, ancestry, json, layer) each dial anew; the strict pull
    (containers/image: one http.Client per image source) reuses its connection."""
    ref = parse_reference(f"{lab_v1.registry_host}/library/oldtimer")
    strict, docker = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(verify=False, timeout=10))
    v1 = [e for e in docker.exchanges if e.step.startswith("v1 ")]
    assert {e.step for e in v1} >= {"v1 images", "v1 tag", "v1 ancestry", "v1 json", "v1 layer"}
    sent = [e for e in docker.exchanges if e.failure is None]
    assert sent and all(e.new_connection for e in sent)
    assert all(e.tls_handshake == e.request.url.startswith("https://") for e in sent)
    assert all(header_value(e.request.headers, "Connection") == "close" for e in sent)
    strict_sent = [e for e in strict.exchanges if e.failure is None]
    assert any(e.new_connection is False for e in strict_sent), "the strict pull keeps its connection"
    assert all(header_value(e.request.headers, "Connection") is None for e in strict_sent)
