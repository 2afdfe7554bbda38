"""Recordings go out as cassettes, come back, and replay through ReplayClient and vcrpy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import vcr
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from diagnose.lab import Lab
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


# ------------------------------------------------------------------ replay keeps the evidence


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from diagnose.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def _story(report: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    return [(p["strategy"], p["outcome"], p["protocol"], p["message"]) for p in report["pulls"]]


def test_replay_of_a_layers_report_keeps_each_layers_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab
) -> None:
    """Layer bodies are streamed, not recorded; replay keeps the digest taken at capture time."""
    saved_path = tmp_path / "layers.json"
    ref = f"{lab.registry_host}/library/busybox"
    code, _, err = _cli(capsys, "compare", ref, "--no-tls-verify", "--layers", "--save", str(saved_path))
    saved = json.loads(saved_path.read_text())
    assert saved["pulls"][0]["outcome"] == "ok", err
    layers = [
        e for e in saved["exchanges"] if e["step"].startswith("layer") and e["request"]["method"] == "GET"
    ]
    assert layers, "--layers downloads every layer"
    for layer in layers:
        response = layer["response"]
        assert response["body"] == "" and response["body_truncated"] is True
        assert response["body_sha256"] and response["body_sha256"].startswith("sha256:")

    again_code, out, _ = _cli(capsys, "replay", str(saved_path), "--json")
    replayed = json.loads(out)
    assert again_code == code
    assert _story(replayed) == _story(saved)
    assert replayed["diagnosis"]["id"] == saved["diagnosis"]["id"]
    assert "integrity" not in json.dumps(replayed["pulls"])

    # The recorded digest is the verdict: a layer recorded as mismatching stays a mismatch.
    strict_layer = next(e for e in layers if e["strategy"] == "v2-only")
    strict_layer["response"]["body_sha256"] = "sha256:" + "0" * 64
    saved_path.write_text(json.dumps(saved))
    _, out, _ = _cli(capsys, "replay", str(saved_path), "--json")
    tampered = json.loads(out)
    assert tampered["pulls"][0]["outcome"] == "integrity_error"
    assert "Digest did not match" in tampered["pulls"][0]["message"]


def test_replay_keeps_ids_capture_time_and_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: Lab
) -> None:
    """--insecure-registry makes the strict pull try plain http; replay must ask the same."""
    saved_path = tmp_path / "insecure.json"
    ref = f"{lab.registry_host}/library/busybox"
    _cli(capsys, "compare", ref, "--insecure-registry", lab.registry_host, "--save", str(saved_path))
    saved = json.loads(saved_path.read_text())
    assert saved["pulls"][0]["outcome"] == "ok", "https fails, then plain http works"
    assert saved["settings"]["insecure_registries"] == [lab.registry_host]
    assert saved["created"] and saved["replayed_at"] is None
    saved["created"] = "2024-01-02T03:04:05+00:00"  # a capture time that cannot be "now"
    saved_path.write_text(json.dumps(saved))

    _, out, _ = _cli(capsys, "replay", str(saved_path), "--json")
    replayed = json.loads(out)
    assert _story(replayed) == _story(saved)
    assert replayed["diagnosis"]["id"] == saved["diagnosis"]["id"]
    assert [e["id"] for e in replayed["exchanges"]] == [e["id"] for e in saved["exchanges"]]
    assert [p["exchange_ids"] for p in replayed["pulls"]] == [p["exchange_ids"] for p in saved["pulls"]]
    assert replayed["exchanges"] == saved["exchanges"]
    assert replayed["created"] == saved["created"]
    assert replayed["settings"] == saved["settings"]
    assert replayed["replayed_at"] > "2026"

    har_path = tmp_path / "replayed.har"
    _cli(capsys, "replay", str(saved_path), "--har", str(har_path), "--json")
    started = [entry["startedDateTime"] for entry in json.loads(har_path.read_text())["log"]["entries"]]
    captured = [e["started_at"] for e in saved["exchanges"]]
    assert started and sorted(started) == sorted(captured)  # capture times, not the replay's


def test_replay_options_rebuild_every_setting() -> None:
    """The one function that rebuilds a run's options (the cassette tests use it too)."""
    from diagnose.model import AuthInfo, AuthMode, Diagnosis, ImageReference, Report, RunSettings
    from diagnose.replay import replay_options

    settings = RunSettings(
        platform="linux/arm64/v8",
        tls_verify=False,
        ca_cert="ca.pem",
        insecure_registries=("10.0.0.0/8", "reg:5000"),
        verify_layers=True,
        timeout=7.0,
    )
    report = Report(
        reference=ImageReference("reg:5000/x", "reg:5000", "x", "latest", None),
        auth=AuthInfo(AuthMode.CREDENTIALS, "--creds", "alice"),
        pulls=(),
        diagnosis=Diagnosis("x", False, "", ""),
        tool_version="0",
        settings=settings,
    )
    options = replay_options(report)
    assert options.platform == "linux/arm64/v8"
    assert options.tls_verify is False
    assert options.insecure_registries == ("10.0.0.0/8", "reg:5000")
    assert options.verify_layers is True
    assert options.credentials is not None and options.credentials[0] == "alice"
    legacy = replay_options(
        dataclasses.replace(
            report,
            settings=None,
            options=(("platform", "linux/s390x"), ("tls_verify", "false"), ("verify_layers", "true")),
        )
    )
    assert (legacy.platform, legacy.tls_verify, legacy.verify_layers) == ("linux/s390x", False, True)
