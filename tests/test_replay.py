"""Recordings go out as cassettes, come back, and replay through ReplayClient and vcrpy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import vcr
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from diagnose.model import Exchange, FailureKind, Strategy
from diagnose.render.cassette import load_cassette, render_cassette
from diagnose.replay import ReplayClient
from diagnose.transport import Recorder, RecordingClient, TransportOptions
from tests.helpers_http import QuietHandler, serve


class Registry(QuietHandler):
    def do_GET(self) -> None:
        self.seen()
        port = self.server.server_address[1]
        if self.path == "/v2/":
            self.reply(
                401,
                b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}',
                [
                    ("Content-Type", "application/json"),
                    ("WWW-Authenticate", f'Bearer realm="http://127.0.0.1:{port}/token",service="reg"'),
                    ("WWW-Authenticate", 'Basic realm="reg"'),
                ],
            )
        elif self.path.startswith("/token"):
            body = json.dumps({"token": "opaque-secret-token", "expires_in": 300}).encode()
            self.reply(200, body, [("Content-Type", "application/json")])
        elif self.path.startswith("/v2/x/blobs/"):
            self.reply(307, b"", [("Location", f"http://localhost:{port}/storage?sig=SECRETSIG&se=2030")])
        elif self.path.startswith("/storage"):
            self.reply(200, bytes(range(256)), [("Content-Type", "application/octet-stream")])
        else:
            self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')


def record(strategy: Strategy = Strategy.V2_THEN_V1) -> tuple[tuple[Exchange, ...], str]:
    recorder = Recorder()
    with serve(Registry) as server, RecordingClient(recorder, strategy, TransportOptions(timeout=5)) as c:
        base = server.url("")
        c.send("ping", "GET", base + "/v2/", headers=[("Accept", "a/b"), ("Accept", "c/d")])
        c.send("token", "GET", base + "/token?service=reg&scope=repository:x:pull")
        c.send(
            "manifest", "GET", base + "/v2/x/manifests/latest", headers=[("Authorization", "Bearer t0k3n")]
        )
        c.send("layer 1/1", "GET", base + "/v2/x/blobs/sha256:abc")
        c.send("v1 ping", "GET", "http://127.0.0.1:1/v1/_ping")  # refused
        c.refuse("v1 images", "GET", base + "/v1/repositories/x/images", "no basic auth credentials")
    return recorder.exchanges(), base


def test_cassette_round_trip_is_exact() -> None:
    exchanges, _ = record()
    text = render_cassette(exchanges)
    assert "SECRETSIG" not in text and "opaque-secret-token" not in text
    assert load_cassette(text) == exchanges


def test_vcrpy_deserializer_loads_the_cassette() -> None:
    exchanges, _ = record()
    vcr_requests, responses = deserialize(render_cassette(exchanges), yamlserializer)
    assert len(vcr_requests) == len(responses) == len(exchanges)
    assert [r.method for r in vcr_requests] == [e.request.method for e in exchanges]
    assert responses[0]["status"]["code"] == 401
    assert responses[0]["headers"]["WWW-Authenticate"][1] == 'Basic realm="reg"'
    refused = [r for r in responses if r["status"]["code"] == 599]
    assert len(refused) == 2  # the refused connection and the client-side refusal


def test_vcrpy_replays_a_recorded_exchange_through_requests(tmp_path: Path) -> None:
    exchanges, base = record()  # the server is stopped now: only the cassette can answer
    path = tmp_path / "pull.yaml"
    path.write_text(render_cassette(exchanges))
    with vcr.use_cassette(str(path), record_mode="none"):
        answer = requests.get(base + "/v2/", timeout=5)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "Bearer realm" in answer.headers["WWW-Authenticate"]


def test_load_cassette_accepts_plain_vcrpy_cassettes() -> None:
    text = """
version: 1
interactions:
- request: {method: GET, uri: 'http://r/v2/', body: null, headers: {}}
  response:
    status: {code: 200, message: OK}
    headers: {Content-Type: [application/json]}
    body: {string: '{}'}
"""
    (exchange,) = load_cassette(text, default_strategy=Strategy.V2_THEN_V1)
    assert exchange.id == 1 and exchange.strategy is Strategy.V2_THEN_V1
    assert exchange.response is not None and exchange.response.body == "{}"


@pytest.mark.parametrize("text", ["", "[1, 2]", "interactions: 3", "{{{"])
def test_load_cassette_rejects_non_cassettes(text: str) -> None:
    with pytest.raises(ValueError):
        load_cassette(text)


def test_replay_serves_what_was_recorded() -> None:
    exchanges, base = record()
    replay = ReplayClient(exchanges, Strategy.V2_THEN_V1)
    ping = replay.send("ping", "GET", base + "/v2/")
    assert ping.status == 401 and b"UNAUTHORIZED" in ping.body
    assert len([v for k, v in ping.headers if k == "WWW-Authenticate"]) == 2
    token = replay.send("token", "GET", base + "/token?service=reg&scope=repository:x:pull")
    assert json.loads(token.body)["token"] == "<redacted>"
    manifest = replay.send("manifest", "GET", base + "/v2/x/manifests/latest")
    assert manifest.status == 404
    received = bytearray()
    layer = replay.send("layer 1/1", "GET", base + "/v2/x/blobs/sha256:abc", body_sink=received.extend)
    assert layer.status == 200 and bytes(received) == bytes(range(256))
    assert layer.url.endswith("sig=<redacted>&se=2030")
    refused = replay.send("v1 ping", "GET", "http://127.0.0.1:1/v1/_ping")
    assert refused.failure is not None and refused.failure.kind is FailureKind.REFUSED
    mine = replay.exchanges()
    assert [e.step for e in mine] == ["ping", "token", "manifest", "layer 1/1", "layer 1/1", "v1 ping"]
    assert mine[4].redirect_of == mine[3].id
    assert mine[4].note == exchanges[4].note
    assert [e.response for e in mine] == [e.response for e in exchanges[:6]]


def test_replay_of_unrecorded_or_repeated_request_is_evidence() -> None:
    exchanges, base = record()
    replay = ReplayClient(exchanges, Strategy.V2_THEN_V1)
    assert replay.send("ping", "GET", base + "/v2/").status == 401
    again = replay.send("ping", "GET", base + "/v2/")  # each recorded answer is served once
    assert again.failure is not None and again.failure.kind is FailureKind.OTHER
    assert again.failure.detail == f"not in the recording: GET {base}/v2/"
    other = ReplayClient(exchanges, Strategy.V2_ONLY)  # nothing recorded for this strategy
    missing = other.send("ping", "HEAD", base + "/v2/")
    assert missing.failure is not None and "not in the recording: HEAD" in missing.failure.detail
    assert other.exchanges()[0].failure == missing.failure


def test_replay_matches_redacted_urls() -> None:
    exchanges, base = record()
    replay = ReplayClient(exchanges, Strategy.V2_THEN_V1)
    # The live URL had a real signature; the recording only has <redacted>. Both match.
    hop = replay.send("storage", "GET", base.replace("127.0.0.1", "localhost") + "/storage?sig=OTHER&se=2030")
    assert hop.status == 200


def test_replay_through_a_cassette_file_round_trip() -> None:
    exchanges, base = record()
    replay = ReplayClient(load_cassette(render_cassette(exchanges)), Strategy.V2_THEN_V1)
    assert replay.send("ping", "GET", base + "/v2/").status == 401
    refusal = replay.refuse(
        "v1 images", "GET", base + "/v1/repositories/x/images", "no basic auth credentials"
    )
    assert replay.exchanges()[-1].id == refusal
