"""Round trips: each pull reuses connections exactly as far as the client it emulates does.

Real servers on 127.0.0.1 observe what arrives (which connection, how many at once); the
report's ``new_connection`` / ``tls_handshake`` must say the same.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable

import pytest

from diagnose.concurrency import in_turn, run_in_order
from diagnose.lab import Lab
from diagnose.model import Exchange, Outcome, PullResult, StepKind, Strategy, header_value
from diagnose.pullers.common import DOCKER_V2
from diagnose.pullers.common import V2_VERSION_HEADER as V2_HEADER
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import FAMILY_PULLS, run_pulls
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


# ------------------------------------------------------------------ layers go out in parallel

LAYERS = tuple(f"layer {n} ".encode() * 40 for n in range(1, 7))
CONFIG = json.dumps(
    {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": DOCKER_V2,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": _digest(CONFIG),
            "size": len(CONFIG),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": _digest(b),
                "size": len(b),
            }
            for b in LAYERS
        ],
    }
).encode()
BLOBS = {_digest(b): b for b in (CONFIG, *LAYERS)}

# The bound each client really uses, by the User-Agent the pull sends (diagnose.run.USER_AGENTS):
# containers/image copies 6 layers at once, dockerd 3, ctr has no limit (the config and the 6
# layers together).
BOUNDS = {"skopeo/": 6, "docker/1.12": 3, "docker/20": 3, "containerd/": 7}


def layered_registry(missing: frozenset[str] = frozenset()) -> tuple[type[QuietHandler], dict[str, int]]:
    """An open registry with a 6-layer image. A blob request of a pull is held until as many of
    that pull's blob requests are in flight as its client allows at once (5 s at most), so the
    server observes the client's real concurrency; the highest count per client is returned.
    With ``missing`` (digests answered 404), nothing is held."""
    cond = threading.Condition()
    arrived: dict[str, int] = {}
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}

    class Registry(QuietHandler):
        def do_HEAD(self) -> None:
            self.answer()

        def do_GET(self) -> None:
            self.answer()

        def answer(self) -> None:
            self.seen()
            path = self.path
            if path == "/v2/":
                self.reply(200, b"{}", [("Content-Type", "application/json"), (V2_HEADER, "registry/2.0")])
                return
            if "/manifests/" in path:
                headers = [("Content-Type", DOCKER_V2), ("Docker-Content-Digest", _digest(MANIFEST))]
                self.reply(200, MANIFEST, headers)  # a HEAD gets the headers alone
                return
            digest = path.rsplit("/", 1)[-1]
            body = None if digest in missing else BLOBS.get(digest)
            if "/blobs/" not in path or body is None:
                self.reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
                return
            agent = self.headers.get("User-Agent", "")
            family = next((f for f in BOUNDS if agent.startswith(f)), "")
            if not missing and (body is not CONFIG or family == "containerd/"):
                self.hold(family)
            self.reply(200, body, [("Content-Type", "application/octet-stream")])

        def hold(self, family: str) -> None:
            bound = BOUNDS.get(family, 1)
            with cond:
                arrived[family] = arrived.get(family, 0) + 1
                in_flight[family] = in_flight.get(family, 0) + 1
                most[family] = max(most.get(family, 0), in_flight[family])
                cond.notify_all()
                # wait for the rest of this request's batch: the client's bound, all at once
                batch_end = ((arrived[family] - 1) // bound + 1) * bound
                cond.wait_for(lambda: arrived[family] >= batch_end, 5)
                # and a moment more, in which a client sending beyond its bound is seen
                cond.wait_for(lambda: False, 0.1)
                # leave before answering: the client can start its next request only after this
                in_flight[family] -= 1

    return Registry, most


def _sequence(pull: PullResult) -> list[tuple[str, str, str, int | None]]:
    """A pull's exchanges in id order, without timing or connection facts."""
    return [
        (e.step, e.request.method, e.request.url, e.response.status if e.response else None)
        for e in sorted(pull.exchanges, key=lambda e: e.id)
    ]


def _steps(pull: PullResult) -> list[tuple[str, str, str, int | None, str]]:
    return [(s.label, s.method, s.url, s.status, s.result) for s in pull.steps]


@pytest.mark.parametrize("verify_layers", [False, True], ids=["head", "layers"])
def test_layer_requests_overlap_up_to_each_clients_bound(verify_layers: bool) -> None:
    handler, most = layered_registry()
    with serve(handler) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/layered:1")
        options = PullOptions(tls_verify=False, verify_layers=verify_layers)
        transport = TransportOptions(verify=False, timeout=30)
        first = run_pulls(ref, options, transport, FAMILY_PULLS)
        again = run_pulls(ref, options, transport, FAMILY_PULLS)
    assert dict(most) == BOUNDS, "each client's layer requests overlap, never beyond its bound"
    assert all(p.outcome is Outcome.OK for p in first), [(p.strategy, p.message) for p in first]
    for pull, repeat in zip(first, again, strict=True):
        layers = [s.label for s in pull.steps if s.label.startswith("layer")]
        assert layers == [f"layer {n}/6" for n in range(1, 7)], "steps in layer order"
        by_id = [e.step for e in sorted(pull.exchanges, key=lambda e: e.id) if e.step.startswith("layer")]
        assert by_id == layers, "exchange ids follow the layer index"
        # the same run again: the same report apart from timing and connection facts
        assert _sequence(pull) == _sequence(repeat)
        assert (_steps(pull), pull.message, pull.notes) == (_steps(repeat), repeat.message, repeat.notes)


def test_concurrent_tasks_take_exchange_ids_in_task_order() -> None:
    """Whichever thread runs first, the first id of each task follows the task order; a task
    that takes no id (a layer with nothing to send) holds nobody up."""
    counter = itertools.count(1)
    taken: dict[int, int] = {}

    def task(index: int) -> Callable[[], int]:
        def run() -> int:
            if index == 0:
                time.sleep(0.3)  # the first task's thread is the last to get going
            if index != 2:
                taken[index] = in_turn(lambda: next(counter))
                taken[-index - 1] = in_turn(lambda: next(counter))  # a later id: no turn to wait for
            return index

        return run

    assert run_in_order([task(i) for i in range(4)], 0) == [0, 1, 2, 3]
    assert [taken[i] for i in (0, 1, 3)] == sorted(taken[i] for i in (0, 1, 3))
    assert taken[0] == 1, "the slow first task still took the first id"


def test_containerd_fetches_on_a_new_transport_and_asks_for_a_token_again(lab: Lab) -> None:
    """ctr's Fetcher gets a new http.Transport and a new authorizer (containerd v1.6.20
    remotes/docker/config/hosts.go ConfigureHosts, called for Resolve and again for Fetcher):
    the manifest GET goes out on a new connection without the token Resolve got, is answered
    401, and the token is fetched a second time; the blobs then reuse the fetcher's connection."""
    ref = parse_reference(f"{lab.registry_host}/library/busybox")
    transport = TransportOptions(verify=False, timeout=10)
    (pull,) = run_pulls(ref, PullOptions(tls_verify=False), transport, (Strategy.CONTAINERD,))
    assert pull.outcome is Outcome.OK, pull.message
    order = [(e.step, e.request.method, e.response.status if e.response else None) for e in pull.exchanges]
    assert order[:6] == [
        ("manifest", "HEAD", 401),
        ("token", "GET", 200),
        ("manifest", "HEAD", 200),
        ("manifest", "GET", 401),
        ("token", "GET", 200),
        ("manifest", "GET", 200),
    ], order
    assert all(status == 200 and step != "token" for step, _, status in order[6:]), order
    registry = [e.new_connection for e in pull.exchanges if e.kind is not StepKind.TOKEN]
    # Resolve's connection, reused once; the fetcher's, reused by its next request
    assert registry[:5] == [True, False, True, False, False], order
    assert len(pull.tokens) == 2


def test_which_failing_layer_each_client_reports() -> None:
    """Layers 2 and 4 are missing and every layer is tried. containers/image reports the first
    by index (copy/single.go reads the results in order), ctr too in diagnose's deterministic
    reading; docker's download manager reports the top-most failing layer (a layer takes its
    parent's error only when its own download worked: distribution/xfer/download.go)."""
    missing = frozenset({_digest(LAYERS[1]), _digest(LAYERS[3])})
    handler, _ = layered_registry(missing)
    with serve(handler) as server:
        ref = parse_reference(f"127.0.0.1:{server.port}/library/layered:1")
        pulls = run_pulls(
            ref, PullOptions(tls_verify=False), TransportOptions(verify=False, timeout=30), FAMILY_PULLS
        )
    failed = {p.strategy: p.error.step if p.error else None for p in pulls}
    assert failed == {
        Strategy.V2_ONLY: "layer 2/6",
        Strategy.V2_THEN_V1: "layer 4/6",
        Strategy.DOCKER_ENDPOINTS: "layer 4/6",
        Strategy.CONTAINERD: "layer 2/6",
    }
    for pull in pulls:
        tried = [s.label for s in pull.steps if s.label.startswith("layer") and "(GET)" not in s.label]
        assert tried == [f"layer {n}/6" for n in range(1, 7)], (pull.strategy, tried)
