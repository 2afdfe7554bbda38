"""The committed cassettes (cassettes/, recorded from the real registry) replay with no server.

For every ``cassettes/<name>.yaml`` and its ``<name>.json`` report (written by
``python -m tests.record_cassettes``): vcrpy's own deserializer loads the cassette; the
cassette holds exactly the report's exchanges; both pullers, re-run on the cassette through
``ReplayClient``, reach the recorded outcome, protocol and message, and the rules the recorded
diagnosis; ``diagnose replay <name>.json --json`` agrees; no known secret and no JWT is in
either file; and vcrpy itself serves a recorded answer to a real ``requests.get``.

This module must not start servers or touch the network (vcrpy intercepts the one request).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path

import pytest
import requests
import vcr
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from diagnose.cli import main
from diagnose.lab.server import LAB_USERS
from diagnose.model import Report
from diagnose.render.cassette import load_cassette
from diagnose.render.json_report import report_from_dict, report_to_dict
from diagnose.replay import ReplayClient, replay_options
from diagnose.rules import diagnose as diagnose_pulls
from diagnose.run import PULLERS
from tests.realreg.scenarios import WRONG_PASSWORD
from tests.record_cassettes import assert_redacted, normalise

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
NAMES = sorted(p.stem for p in CASSETTES.glob("*.yaml"))
HEADLINE = "anon-missing-repo"

# Ports the recorder pins (tests/record_cassettes.py PLACEHOLDER_PORTS); a real run's free
# port in a file means the normalisation broke.
PLACEHOLDER_HOSTS = frozenset(f"127.0.0.1:{port}" for port in range(55000, 55005))

KNOWN_PASSWORDS = (*LAB_USERS.values(), WRONG_PASSWORD)
"""The fixed passwords: the lab's users and the real-registry wrong password. The real
registry's own passwords are random per run (stack.py); record_cassettes.py checks those."""

JWT = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
"""header.payload.signature in base64url: a token that could be replayed."""

BASIC = re.compile(r"Basic\s+([A-Za-z0-9+/=]{4,})")


def _text(name: str, ext: str) -> str:
    return (CASSETTES / f"{name}.{ext}").read_text(encoding="utf-8")


def _saved(name: str) -> Report:
    return report_from_dict(json.loads(_text(name, "json")))


def leaks(text: str) -> list[str]:
    """What in ``text`` looks like a secret: a known password, a JWT, a decodable Basic credential."""
    found = [f"password {p[:2]}…" for p in KNOWN_PASSWORDS if p in text]
    found += [f"jwt {m.group(0)[:12]}…" for m in JWT.finditer(text)]
    for match in BASIC.finditer(text):
        try:
            decoded = base64.b64decode(match.group(1), validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if ":" in decoded:
            found.append(f"basic credential for {decoded.partition(':')[0]!r}")
    return found


def test_the_key_scenarios_are_committed() -> None:
    expected = {
        "anon-missing-repo",
        "anon-private-repo",
        "owner-missing-repo",
        "owner-private",
        "anon-missing-tag",
        "wrong-password",
        "basic-anon",
        "basic-creds",
        "unknown-ca",
        "open-arm64",
    }
    assert expected <= set(NAMES)
    assert {p.stem for p in CASSETTES.glob("*.json")} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_vcrpy_deserializer_loads_the_cassette(name: str) -> None:
    vcr_requests, responses = deserialize(_text(name, "yaml"), yamlserializer)
    saved = _saved(name)
    assert len(vcr_requests) == len(responses) == len(saved.exchanges) > 0
    assert [r.uri for r in vcr_requests] == [e.request.url for e in saved.exchanges]
    for response, exchange in zip(responses, saved.exchanges, strict=True):
        expected = exchange.response.status if exchange.response is not None else 599
        assert response["status"]["code"] == expected


@pytest.mark.parametrize("name", NAMES)
def test_cassette_holds_the_reports_exchanges(name: str) -> None:
    assert load_cassette(_text(name, "yaml")) == _saved(name).exchanges


@pytest.mark.parametrize("name", NAMES)
def test_pullers_replayed_on_the_cassette_tell_the_recorded_story(name: str) -> None:
    saved = _saved(name)
    exchanges = load_cassette(_text(name, "yaml"))
    options = replay_options(saved)  # the same function ``diagnose replay`` uses
    pulls = []
    for recorded in saved.pulls:
        client = ReplayClient(exchanges, recorded.strategy)
        replayed = PULLERS[recorded.strategy](saved.reference, client, options)
        assert (replayed.outcome, replayed.protocol, replayed.message) == (
            recorded.outcome,
            recorded.protocol,
            recorded.message,
        ), recorded.strategy
        # Every recorded request was asked for again: nothing unserved, nothing unrecorded.
        unrecorded = [e for e in client.exchanges() if "not in the recording" in str(e.failure)]
        assert unrecorded == []
        # Replay serves the recorded exchanges themselves: same ids, same steps, same answers.
        assert client.exchanges() == recorded.exchanges
        pulls.append(replayed)
    assert diagnose_pulls(pulls, saved.auth).id == saved.diagnosis.id


@pytest.mark.parametrize("name", NAMES)
def test_no_secret_in_the_files(name: str) -> None:
    for ext in ("yaml", "json"):
        assert leaks(_text(name, ext)) == [], f"{name}.{ext}"


@pytest.mark.parametrize(
    "planted",
    [
        "Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
        f"password={LAB_USERS['alice']}",
        f"Authorization: Basic {base64.b64encode(b'bob:s3cret').decode()}",
        WRONG_PASSWORD,
    ],
)
def test_the_secret_scan_finds_planted_secrets(planted: str) -> None:
    assert leaks(f"harmless text {planted} more text") != []
    assert leaks('Basic <redacted: user "bob">, Bearer <redacted>, sha256:abc.def') == []


@pytest.mark.parametrize("name", NAMES)
def test_cassettes_are_normalised(name: str) -> None:
    for ext in ("yaml", "json"):
        text = _text(name, ext)
        hosts = set(re.findall(r"127\.0\.0\.1:\d+", text))
        assert hosts <= PLACEHOLDER_HOSTS, f"{name}.{ext}: {hosts - PLACEHOLDER_HOSTS}"
        assert "/tmp/" not in text
    assert all(e.elapsed_ms == 0.0 for e in _saved(name).exchanges)


@pytest.mark.parametrize("name", NAMES)
def test_cli_replay_of_the_json_report(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    saved = _saved(name)
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", str(CASSETTES / f"{name}.json"), "--json"])
    assert exit_info.value.code == (0 if all(p.ok for p in saved.pulls) else 1)
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["diagnosis"]["id"] == saved.diagnosis.id
    got = [(p["strategy"], p["outcome"], p["message"]) for p in replayed["pulls"]]
    assert got == [(p.strategy.value, p.outcome.value, p.message) for p in saved.pulls]
    original = json.loads(_text(name, "json"))
    assert [e["id"] for e in replayed["exchanges"]] == [e["id"] for e in original["exchanges"]]
    # Every exchange as recorded (re-rendered: fields added to the contract since get defaults).
    assert replayed["exchanges"] == report_to_dict(saved)["exchanges"]
    assert [p["exchange_ids"] for p in replayed["pulls"]] == [p["exchange_ids"] for p in original["pulls"]]
    assert replayed["created"] == original["created"]
    assert replayed["replayed_at"]


def test_vcrpy_plays_the_headline_cassette_to_requests() -> None:
    # No server listens on the placeholder ports: only vcrpy can answer.
    saved = _saved(HEADLINE)
    ping = saved.exchanges[0]
    assert ping.request.url.endswith("/v2/") and ping.response is not None
    manifest = next(e for e in saved.exchanges if e.step == "manifest" and e.response is not None)
    with vcr.use_cassette(str(CASSETTES / f"{HEADLINE}.yaml"), record_mode="none"):
        answer = requests.get(ping.request.url, timeout=5)
        refused = requests.get(manifest.request.url, timeout=5)
    assert answer.status_code == 401
    assert answer.headers["Www-Authenticate"].startswith('Bearer realm="https://127.0.0.1:55001/token"')
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert refused.status_code == 401
    assert 'error="insufficient_scope"' in refused.headers["Www-Authenticate"]


def test_normalising_a_recorded_report_is_stable_and_rewrites_every_place() -> None:
    saved = _saved(HEADLINE)
    assert normalise(saved, {}, Path("/nonexistent")) == saved  # re-recording changes nothing
    moved = normalise(saved, {"127.0.0.1:55001": "127.0.0.1:6001"}, Path("/nonexistent"))
    text = json.dumps([e.request.url for e in moved.exchanges]) + repr(moved.pulls)
    assert "127.0.0.1:55001" not in text and "127.0.0.1:6001/token" in text
    ping = moved.exchanges[0].response
    assert ping is not None and 'realm="https://127.0.0.1:6001/token"' in repr(ping.headers)
    assert [e.id for e in moved.exchanges] == list(range(1, len(saved.exchanges) + 1))


@pytest.mark.parametrize(
    "planted",
    [
        "the-password-of-this-run",
        base64.b64encode(b"alice:the-password-of-this-run").decode(),
        "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
    ],
)
def test_the_recorders_redaction_check_fails_on_a_leak(planted: str) -> None:
    secrets = ["the-password-of-this-run", "alice:the-password-of-this-run"]
    assert_redacted("clean", _text(HEADLINE, "yaml"), secrets)
    with pytest.raises(AssertionError):
        assert_redacted("planted", _text(HEADLINE, "yaml") + planted, secrets)
