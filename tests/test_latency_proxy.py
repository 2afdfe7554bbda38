"""The benchmark's latency proxy (bench/latency_proxy.py) adds the round trips it promises."""

from __future__ import annotations

import time

from bench.latency_proxy import LatencyProxy
from diagnose.model import Strategy
from diagnose.transport import Recorder, RecordingClient, TransportOptions
from tests.helpers_http import QuietHandler, serve


class Hello(QuietHandler):
    def do_GET(self) -> None:
        self.seen()
        self.reply(200, b"x" * 300_000, [("Content-Type", "application/octet-stream")])


def test_each_request_pays_the_rtt_and_a_new_connection_one_more() -> None:
    rtt = 0.2
    with serve(Hello) as server, LatencyProxy(server.port, rtt * 1000) as proxy:
        url = f"http://127.0.0.1:{proxy.port}/blob"
        with RecordingClient(Recorder(), Strategy.V2_ONLY, TransportOptions(timeout=20)) as client:
            timings = []
            for _ in range(2):
                started = time.monotonic()
                reply = client.send("blob", "GET", url)
                timings.append(time.monotonic() - started)
                assert reply.status == 200 and len(reply.body) == 300_000  # every byte, in order
    first, second = timings
    assert first >= 2 * rtt  # the TCP handshake's round trip, then the request's
    assert rtt <= second < 2 * rtt + 1.0  # the connection is reused: one round trip
    assert [e.new_connection for e in client.exchanges()] == [True, False]
