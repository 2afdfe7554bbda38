"""One deadline per pull, Ctrl-C, and what each exchange cost in connections (issues 6, 8, 9).

Real sockets on 127.0.0.1: servers that trickle a byte every 50 ms (in the headers or the
body), accept and never answer, or answer normally over keep-alive connections.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from diagnose.http import Reply
from diagnose.model import FailureKind, Strategy
from diagnose.transport import Recorder, RecordingClient, TransportOptions
from tests.helpers_http import QuietHandler, serve

ROOT = Path(__file__).resolve().parent.parent
SLACK = 1.0  # seconds a loaded CI machine may add to a deadline


@contextmanager
def misbehaving(behaviour: str) -> Iterator[tuple[int, list[float]]]:
    """A server that handles every connection in its own thread, badly; yields (port, accepts)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stop = threading.Event()
    accepted: list[float] = []
    conns: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        with suppress(OSError):
            if behaviour == "hang":  # accept, read nothing, say nothing
                stop.wait(60)
                return
            conn.recv(65536)
            if behaviour == "header-trickle":  # headers that never end
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not stop.wait(0.05):
                    conn.sendall(b"a")
            elif behaviour == "body-trickle":  # a body byte every 50 ms
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not stop.wait(0.05):
                    conn.sendall(b"x")

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(time.monotonic())
            conns.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        for conn in conns:
            with suppress(OSError):
                conn.close()
        thread.join(timeout=5)
        listener.close()


def within(seconds: float, call: Callable[..., Reply], *args: str) -> Reply:
    """``call(*args)``, failing the test (instead of hanging it) if it runs past ``seconds``."""
    answer: list[Reply] = []
    thread = threading.Thread(target=lambda: answer.append(call(*args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert answer, f"still waiting after {seconds} s: the deadline did not hold"
    return answer[0]


@pytest.mark.parametrize("behaviour", ["hang", "header-trickle", "body-trickle"])
def test_no_server_keeps_a_pull_past_its_deadline(behaviour: str) -> None:
    deadline = 1.0
    with (
        misbehaving(behaviour) as (port, _),
        RecordingClient(Recorder(), Strategy.V2_ONLY, TransportOptions(timeout=deadline)) as client,
    ):
        started = time.monotonic()
        first = within(
            deadline + 10, client.send, "manifest", "GET", f"http://127.0.0.1:{port}/v2/x/manifests/1"
        )
        took = time.monotonic() - started
        later = client.send("config", "GET", f"http://127.0.0.1:{port}/v2/x/blobs/sha256:1")
        took_later = time.monotonic() - started - took
    assert first.failure is not None and first.failure.kind is FailureKind.TIMEOUT
    assert "deadline" in first.failure.detail and "during manifest" in first.failure.detail
    assert took < deadline + SLACK
    # Once the pull's time is up, nothing else goes out: the next step fails at once.
    assert later.failure is not None and later.failure.kind is FailureKind.TIMEOUT
    assert later.failure.detail.startswith("not sent:") and "before config" in later.failure.detail
    assert took_later < 0.5


def test_the_deadline_bounds_the_pull_not_each_request() -> None:
    # Two trickling requests of 0.7 s each would each stay under a per-request limit of 1 s;
    # the pull as a whole must still end at 1 s.
    with (
        misbehaving("body-trickle") as (port, _),
        RecordingClient(Recorder(), Strategy.V2_ONLY, TransportOptions(timeout=1.0)) as client,
    ):
        started = time.monotonic()
        for step in ("one", "two", "three"):
            client.send(step, "GET", f"http://127.0.0.1:{port}/{step}")
        took = time.monotonic() - started
    assert took < 1.0 + SLACK
    kinds = [e.failure.kind for e in client.exchanges() if e.failure]
    assert kinds == [FailureKind.TIMEOUT] * 3


def compare_json(*args: str, timeout: float = 60) -> tuple[int, dict[str, object], float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "diagnose", "compare", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    took = time.monotonic() - started
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout), took


def test_accept_and_hang_across_docker_endpoints_ends_at_the_deadline() -> None:
    # 127.0.0.1 is an insecure registry for docker 1.12: four endpoints (https and http, V2
    # and V1) would each wait a full timeout without one deadline for the pull.
    with misbehaving("hang") as (port, accepted):
        code, report, _took = compare_json(f"127.0.0.1:{port}/library/x", "--timeout", "2")
        ended = time.monotonic()
    assert code == 1
    assert accepted, "the server saw the pull"
    # From the first connection (interpreter start-up is not the server's doing) to the exit:
    # the bound is --timeout + 2 s; a loaded CI machine gets a little more.
    assert ended - accepted[0] < 2 + 2 + SLACK
    pulls = {p["strategy"]: p for p in report["pulls"]}  # type: ignore[union-attr, index]
    # every family's pull (the two of the table and those behind the client panel) timed out
    assert {"v2-only", "v2-then-v1"} <= set(pulls)
    assert {p["outcome"] for p in pulls.values()} == {"timeout"}
    docker = [e for e in report["exchanges"] if e["strategy"] == "v2-then-v1"]  # type: ignore[union-attr, index]
    details = [e["failure"]["detail"] for e in docker]
    # The report says which step the deadline hit, and that what came after was never sent.
    assert any("ran out during ping" in d for d in details), details
    assert any(d.startswith("not sent:") for d in details), details
    # The pulls themselves, as recorded: every request ended by the deadline.
    assert all(e["elapsed_ms"] < (2 + SLACK) * 1000 for e in report["exchanges"])  # type: ignore[union-attr, index]


def test_ctrl_c_stops_a_run_within_about_a_second() -> None:
    with misbehaving("hang") as (port, accepted):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-m", "diagnose", "compare", f"127.0.0.1:{port}/library/x", "--timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            waited = time.monotonic()
            while len(accepted) < 2 and time.monotonic() - waited < 30:
                time.sleep(0.05)  # both pulls are now blocked on the server
            assert len(accepted) >= 2
            time.sleep(0.2)
            child.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            _out, err = child.communicate(timeout=20)
            took = time.monotonic() - interrupted
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 130, err
    assert took < 1.0 + SLACK
    assert err.strip().endswith("diagnose: interrupted")
    assert "Traceback" not in err


def test_readme_lists_exit_code_130() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| 130 |" in readme


class KeepAlive(QuietHandler):
    def do_GET(self) -> None:
        self.seen()
        self.reply(200, b"{}", [("Content-Type", "application/json")])

    def do_HEAD(self) -> None:
        self.seen()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_each_exchange_says_whether_it_opened_a_connection(tls: bool) -> None:
    with serve(KeepAlive, tls=tls) as server:
        options = TransportOptions(timeout=10, verify=server.ca_path or True)
        with RecordingClient(Recorder(), Strategy.V2_ONLY, options) as client:
            steps = (("ping", "GET"), ("manifest", "HEAD"), ("manifest", "GET"), ("config", "GET"))
            for step, method in steps:
                assert client.send(step, method, server.url("/v2/")).status == 200
    facts = [(e.new_connection, e.tls_handshake) for e in client.exchanges()]
    # One connection, kept alive and reused, as Go's transport does (a HEAD too: it has no
    # body to read, and Go returns its connection to the pool); TLS only on the first.
    assert facts == [(True, tls), (False, False), (False, False), (False, False)]


def test_verifying_connections_share_one_tls_context_per_trust_store() -> None:
    """A client that dials for every request (docker) parses its CA bundle once, not per
    connection; the connections still verify (an untrusted server is refused)."""
    from diagnose.transport import _verified_context

    _verified_context.cache_clear()
    with serve(KeepAlive, tls=True) as server:
        assert server.ca_path is not None
        options = TransportOptions(timeout=10, verify=server.ca_path, keep_alive=False)
        with RecordingClient(Recorder(), Strategy.V2_THEN_V1, options) as client:
            for step in ("ping", "manifest", "config"):
                assert client.send(step, "GET", server.url("/v2/")).status == 200
        assert [e.new_connection for e in client.exchanges()] == [True, True, True]
        assert _verified_context.cache_info().misses == 1  # one context, loaded once
    # The shared context still verifies: a server whose certificate that CA did not sign is refused.
    with serve(KeepAlive, tls=True) as first, serve(KeepAlive, tls=True) as second:
        assert first.ca_path is not None
        options = TransportOptions(timeout=10, verify=first.ca_path, keep_alive=False)
        with RecordingClient(Recorder(), Strategy.V2_THEN_V1, options) as client:
            trusted = client.send("ping", "GET", first.url("/v2/"))
            untrusted = client.send("ping", "GET", second.url("/v2/"))
    assert trusted.status == 200
    assert untrusted.failure is not None and "certificate verify failed" in untrusted.failure.detail
