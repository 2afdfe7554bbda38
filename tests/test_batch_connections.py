"""A batch keeps connections alive across references, and nothing else (issue 9, item 4).

Real servers on 127.0.0.1: keep-alive handlers for the transport, the lab for whole batches.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from diagnose.connection_pools import ConnectionPools
from diagnose.lab import LAB_USERS, LabConfig, start_lab
from diagnose.model import AuthInfo, AuthMode, Strategy
from diagnose.reference import parse_reference
from diagnose.render.json_report import render_json
from diagnose.run import build_report, scrub_report
from diagnose.transport import Recorder, RecordingClient, TransportOptions
from tests.factories import scenario_both_ok
from tests.helpers_http import QuietHandler, serve
from tests.test_batch import run, stable


class KeepAlive(QuietHandler):
    def do_GET(self) -> None:
        self.seen()
        self.reply(200, b"{}", [("Content-Type", "application/json")])


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_later_client_of_the_same_pull_kind_reuses_the_connection(tls: bool) -> None:
    with serve(KeepAlive, tls=tls) as server, ConnectionPools() as pools:
        options = TransportOptions(timeout=10, verify=server.ca_path or True)
        first_recorder, second_recorder = Recorder(), Recorder()
        wire = pools.wire_for(Strategy.V2_ONLY, options)
        with RecordingClient(first_recorder, Strategy.V2_ONLY, options, wire=wire) as first:
            assert first.send("ping", "GET", server.url("/v2/")).status == 200
        with RecordingClient(second_recorder, Strategy.V2_ONLY, options, wire=wire) as second:
            assert second.send("ping", "GET", server.url("/v2/")).status == 200
        # Another pull kind has its own connections, as another client would.
        other_wire = pools.wire_for(Strategy.V2_THEN_V1, options)
        with RecordingClient(Recorder(), Strategy.V2_THEN_V1, options, wire=other_wire) as other:
            assert other.send("ping", "GET", server.url("/v2/")).status == 200
    # Each reference records its own exchanges only, each numbered from 1.
    recorders = (first_recorder, second_recorder)
    facts = [[(e.id, e.new_connection, e.tls_handshake) for e in r.exchanges()] for r in recorders]
    assert facts == [[(1, True, tls)], [(1, False, False)]]
    assert [e.new_connection for e in other.exchanges()] == [True]
    assert pools.wire_for(Strategy.V2_ONLY, options) is None  # closed: a late client makes its own


def test_one_clients_deadline_or_ctrl_c_never_cuts_a_connection_it_gave_back() -> None:
    """The first client is cut after its request (Ctrl-C, or its deadline): the connection it
    returned to the pool is the next client's now, and stays usable."""
    with serve(KeepAlive) as server, ConnectionPools() as pools:
        options = TransportOptions(timeout=10)
        wire = pools.wire_for(Strategy.V2_ONLY, options)
        first = RecordingClient(Recorder(), Strategy.V2_ONLY, options, wire=wire)
        assert first.send("ping", "GET", server.url("/v2/")).status == 200
        second = RecordingClient(Recorder(), Strategy.V2_ONLY, options, wire=wire)
        first.abort()
        reply = second.send("ping", "GET", server.url("/v2/"))
        first.close()
        second.close()
    assert reply.failure is None and reply.status == 200
    assert [e.new_connection for e in second.exchanges()] == [False]


RELEASE = threading.Event()


class KeepAliveThenHang(KeepAlive):
    def do_GET(self) -> None:
        if self.path == "/hang":
            RELEASE.wait(10)
        super().do_GET()


def test_a_taken_connection_is_cut_by_its_new_clients_ctrl_c() -> None:
    """A kept-alive connection taken from the pool is the taking client's: its Ctrl-C (or
    deadline) cuts a request that hangs on it at once, not after the read timeout."""
    RELEASE.clear()
    with serve(KeepAliveThenHang) as server, ConnectionPools() as pools:
        options = TransportOptions(timeout=10)
        wire = pools.wire_for(Strategy.V2_ONLY, options)
        with RecordingClient(Recorder(), Strategy.V2_ONLY, options, wire=wire) as first:
            assert first.send("ping", "GET", server.url("/v2/")).status == 200
        second = RecordingClient(Recorder(), Strategy.V2_ONLY, options, wire=wire)
        timer = threading.Timer(0.3, second.abort)
        timer.start()
        started = time.monotonic()
        reply = second.send("manifest", "GET", server.url("/hang"))
        elapsed = time.monotonic() - started
        RELEASE.set()
        second.close()
    assert [e.new_connection for e in second.exchanges()] == [False]  # the pooled one
    assert reply.failure is not None and elapsed < 3


def _refs(tmp_path: Path, *names: str) -> Path:
    refs = tmp_path / "refs.txt"
    refs.write_text("\n".join(names) + "\n", encoding="utf-8")
    return refs


def _answered(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The exchanges a server answered (the lab speaks plain HTTP: each pull's HTTPS try
    fails on a connection of its own, in a batch as alone)."""
    return [e for e in sorted(report["exchanges"], key=lambda e: e["id"]) if e["response"] is not None]


def _first_per_strategy(report: dict[str, Any]) -> dict[str, bool]:
    first: dict[str, bool] = {}
    for exchange in _answered(report):
        first.setdefault(exchange["strategy"], exchange["new_connection"])
    return first


def _verdicts(report: dict[str, Any]) -> tuple[object, ...]:
    return (
        [(p["strategy"], p["outcome"], p["message"]) for p in report["pulls"]],
        [(c["client"], c["message"], c["exit_code"]) for c in report["clients"]],
        report["diagnosis"]["id"],
    )


def _token_steps(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((e["strategy"], e["request"]["url"]) for e in report["exchanges"] if e["kind"] == "token")


def test_batch_reuses_connections_and_each_report_equals_a_single_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """One reference after another (``--jobs 1``) against a token-auth registry: every reference
    but the first finds each pull kind's connection open, and still fetches its own tokens, so
    its outcomes, client messages and diagnosis are a single run's."""
    with start_lab(LabConfig()) as lab:
        names = [
            f"{lab.registry_host}/library/busybox",
            f"{lab.registry_host}/library/thisimagedoesntexist",
            f"{lab.registry_host}/library/busybox",
            f"{lab.registry_host}/library/alpine",
        ]
        out_dir = tmp_path / "reports"
        code, _, err = run(
            capsys,
            "compare",
            "--file",
            str(_refs(tmp_path, *names)),
            "--no-tls-verify",
            "--jobs",
            "1",
            "--save-dir",
            str(out_dir),
        )
        assert code == 1, err  # the missing image's pulls fail
        batch = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out_dir.iterdir())]
        singles = []
        for name in names:
            _, single, _ = run(capsys, "compare", name, "--no-tls-verify", "--json")
            singles.append(json.loads(single))

    for name, in_batch, alone in zip(names, batch, singles, strict=True):
        assert in_batch["reference"]["input"] == name
        assert _verdicts(in_batch) == _verdicts(alone), name
        assert _token_steps(in_batch) == _token_steps(alone) != [], name
        assert stable(in_batch) == stable(alone), name
    # A single run opens a connection for every pull; so does the batch's first reference.
    for report in (*singles, batch[0]):
        firsts = _first_per_strategy(report)
        assert set(firsts) >= {s.value for s in (Strategy.V2_ONLY, Strategy.V2_THEN_V1)}
        assert firsts == dict.fromkeys(firsts, True)
    # Every later reference starts each pull on a connection an earlier one kept alive (the
    # layers that go out together may still need more than were kept idle), except docker's
    # pulls: docker keeps no registry connection at all (DisableKeepAlives), so each of their
    # requests dials, in a batch as in a single run; and containerd's fetch runs on
    # the transport ctr builds anew after the resolve, so it dials again.
    docker = {Strategy.V2_THEN_V1.value, Strategy.DOCKER_ENDPOINTS.value}
    containerd = Strategy.CONTAINERD.value
    for report in batch[1:]:
        firsts = {s: new for s, new in _first_per_strategy(report).items() if s not in docker}
        dialled = [e["new_connection"] for e in _answered(report) if e["strategy"] in docker]
        assert firsts == dict.fromkeys(firsts, False) and Strategy.V2_ONLY.value in firsts
        ctd = [e for e in _answered(report) if e["strategy"] == containerd]
        gets = [
            i
            for i, e in enumerate(ctd)
            if e["request"]["method"] == "GET" and "/manifests/" in e["request"]["url"]
        ]
        assert dialled == [True] * len(dialled) and dialled
        assert all(ctd[i]["new_connection"] for i in gets[:1])


def test_no_token_or_password_of_any_reference_reaches_a_batch_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With credentials, every reference learns tokens; none appears in any reference's report,
    the combined JSON or the progress lines (connections are shared, secrets are not)."""
    password = LAB_USERS["alice"]
    with start_lab(LabConfig()) as lab:
        names = [
            f"{lab.registry_host}/alice/private-app",
            f"{lab.registry_host}/library/busybox",
            f"{lab.registry_host}/alice/private-app",
        ]
        out_dir = tmp_path / "reports"
        code, out, err = run(
            capsys,
            "compare",
            "--file",
            str(_refs(tmp_path, *names)),
            "--creds",
            f"alice:{password}",
            "--no-tls-verify",
            "--jobs",
            "2",
            "--json",
            "--save-dir",
            str(out_dir),
        )
        seen = lab.requests_seen()
    assert code == 0, err
    tokens = {
        value.split(" ", 1)[1]
        for request in seen
        for name, value in request.headers
        if name.lower() == "authorization" and " " in value
    }
    assert any(not t.startswith("YWxpY2U") for t in tokens), "the lab issued bearer tokens"
    saved = {p.name: p.read_text(encoding="utf-8") for p in out_dir.iterdir()}
    outputs = {"stdout": out, "stderr": err, **saved}
    for where, text in outputs.items():
        assert password not in text, f"password leaked into {where}"
        for token in tokens:
            assert token not in text, f"a credential or token leaked into {where}"


class KeepAliveWithHead(KeepAlive):
    def do_HEAD(self) -> None:
        self.seen()
        self.send_response(200)
        self.send_header("Content-Length", "1234")
        self.end_headers()


def test_a_head_answer_leaves_its_connection_open_for_the_next_request() -> None:
    """Layer checks are HEADs: Go's transport reuses the connection after each, so must we
    (closing the unread answer used to close the connection with it)."""
    with (
        serve(KeepAliveWithHead) as server,
        RecordingClient(Recorder(), Strategy.V2_ONLY, TransportOptions(timeout=10)) as client,
    ):
        for step in ("layer 1/2", "layer 2/2"):
            assert client.send(step, "HEAD", server.url("/v2/x/blobs/sha256:1")).status == 200
        assert client.send("manifest", "GET", server.url("/v2/x/manifests/1")).status == 200
    assert [e.new_connection for e in client.exchanges()] == [True, False, False]
    assert [e.response.body_size for e in client.exchanges() if e.response is not None][:2] == [1234, 1234]


def test_the_report_pass_scrubs_exchanges_with_secrets_another_pull_learned() -> None:
    """Each pull scrubs its own result's messages only (its exchanges were redacted as they were
    recorded); a secret that only another pull learned, or one learned after an exchange was
    recorded, must still leave every exchange in the final pass (``scrub_report``)."""
    secret = "tok-0123456789abcdef"
    v2, docker = scenario_both_ok()
    leaked = v2.exchanges[-1]
    assert leaked.response is not None
    answer = dataclasses.replace(leaked.response, body=f'{{"echo": "{secret}"}}')
    v2 = dataclasses.replace(v2, exchanges=(*v2.exchanges[:-1], dataclasses.replace(leaked, response=answer)))
    report = build_report(parse_reference("busybox"), (v2, docker), AuthInfo(AuthMode.ANONYMOUS, "none"))
    assert secret in render_json(report)
    assert secret not in render_json(scrub_report(report, [secret]))
