"""RecordingClient against real servers on 127.0.0.1: headers, redirects, failures, bodies."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from diagnose.model import FailureKind, Strategy, header_values
from diagnose.transport import (
    RECORDED_BODY_LIMIT,
    Recorder,
    RecordingClient,
    TransportOptions,
)
from tests.helpers_http import QuietHandler, serve

DOCKER_112_ACCEPTS = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/json",
)


def client(options: TransportOptions | None = None, **kwargs: object) -> RecordingClient:
    return RecordingClient(Recorder(), Strategy.V2_ONLY, options or TransportOptions(timeout=5), **kwargs)  # type: ignore[arg-type]


class Echo(QuietHandler):
    """GET /any: 200 with two WWW-Authenticate lines; HEAD: length only; POST echoes."""

    def do_GET(self) -> None:
        self.seen()
        self.reply(
            200,
            b'{"ok": true}',
            [
                ("Content-Type", "application/json"),
                ("WWW-Authenticate", 'Bearer realm="https://auth/token",service="reg"'),
                ("WWW-Authenticate", 'Basic realm="reg"'),
            ],
        )

    def do_HEAD(self) -> None:
        self.seen()
        self.reply(200, b"", [("Docker-Content-Digest", "sha256:abc")], content_length=12345)

    def do_POST(self) -> None:
        seen = self.seen()
        self.reply(200, seen.body, [("Content-Type", "text/plain")])


def test_repeated_request_headers_go_out_as_separate_lines() -> None:
    with serve(Echo) as server, client() as c:
        reply = c.send(
            "manifest",
            "GET",
            server.url("/v2/x/manifests/latest"),
            headers=[("Accept", a) for a in DOCKER_112_ACCEPTS],
        )
        assert reply.status == 200
        seen = server.requests[0]
        assert seen.values("Accept") == DOCKER_112_ACCEPTS
        recorded = c.exchanges()[0].request.headers
        assert header_values(recorded, "Accept") == DOCKER_112_ACCEPTS


def test_default_headers_and_user_agent() -> None:
    with serve(Echo) as server:
        with client() as c:
            c.send("ping", "GET", server.url("/v2/"))
        with client(TransportOptions(user_agent="docker/1.12.6 go/go1.6.4")) as c:
            c.send("ping", "GET", server.url("/v2/"))
        first, second = server.requests
        assert first.values("User-Agent")[0].startswith("diagnose/")
        assert second.values("User-Agent") == ("docker/1.12.6 go/go1.6.4",)
        # requests' own defaults (Accept: */*, Connection) must not leak into the ping.
        assert first.values("Accept") == ()
        assert first.values("Accept-Encoding") == ("gzip",)


def test_repeated_response_headers_are_kept() -> None:
    with serve(Echo) as server, client() as c:
        reply = c.send("ping", "GET", server.url("/v2/"))
        assert len(header_values(reply.headers, "WWW-Authenticate")) == 2
        response = c.exchanges()[0].response
        assert response is not None
        assert header_values(response.headers, "www-authenticate")[1] == 'Basic realm="reg"'
        assert response.body == '{"ok": true}'
        assert c.exchanges()[0].elapsed_ms > 0


def test_head_records_content_length_as_body_size() -> None:
    with serve(Echo) as server, client() as c:
        reply = c.send("layer 1/1", "HEAD", server.url("/v2/x/blobs/sha256:abc"))
        assert reply.status == 200 and reply.body == b""
        response = c.exchanges()[0].response
        assert response is not None and response.body_size == 12345


def test_post_body_is_sent_and_recorded_redacted() -> None:
    form = b"grant_type=password&username=alice&password=s3cretpw&service=reg&client_id=docker"
    with serve(Echo) as server, client() as c:
        reply = c.send(
            "token",
            "POST",
            server.url("/token"),
            headers=[("Content-Type", "application/x-www-form-urlencoded")],
            body=form,
        )
        assert reply.body == form  # the puller sees the real answer
        request = c.exchanges()[0].request
        assert request.body is not None
        assert "s3cretpw" not in repr(c.exchanges())
        assert "username=alice" in request.body and "password=<redacted>" in request.body


def test_recorder_ids_are_global_across_clients() -> None:
    recorder = Recorder()
    with serve(Echo) as server:
        a = RecordingClient(recorder, Strategy.V2_ONLY)
        b = RecordingClient(recorder, Strategy.V2_THEN_V1)
        a.send("ping", "GET", server.url("/v2/"))
        b.send("ping", "GET", server.url("/v2/"))
        a.refuse("v1 images", "GET", server.url("/v1/x"), "no basic auth credentials")
        assert [e.id for e in recorder.exchanges()] == [1, 2, 3]
        assert [e.id for e in a.exchanges()] == [1, 3]
        assert [e.strategy for e in recorder.exchanges()] == [
            Strategy.V2_ONLY,
            Strategy.V2_THEN_V1,
            Strategy.V2_ONLY,
        ]
        refused = recorder.exchanges()[2]
        assert refused.failure is not None and refused.failure.kind is FailureKind.CLIENT_SIDE
        assert len(server.requests) == 2  # the refusal never reached the wire


def test_recorder_is_thread_safe() -> None:
    recorder = Recorder()
    ids: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(200):
            value = recorder.next_id()
            with lock:
                ids.append(value)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(1, 1601))


# ----------------------------------------------------------------------------- redirects


def redirect_server(target: str, status: int = 307) -> type[QuietHandler]:
    class Redirect(QuietHandler):
        def do_GET(self) -> None:
            self.seen()
            self.reply(status, b"moved", [("Location", target)])

        do_POST = do_GET

    return Redirect


class Storage(QuietHandler):
    def do_GET(self) -> None:
        seen = self.seen()
        if seen.values("Authorization"):
            # What S3 says to a forwarded registry token.
            self.reply(
                400, b"<Error><Code>InvalidArgument</Code></Error>", [("Content-Type", "application/xml")]
            )
        else:
            self.reply(200, b"layer-bytes", [("Content-Type", "application/octet-stream")])


def test_redirect_to_other_host_drops_authorization_and_notes_it() -> None:
    with serve(Storage) as storage:
        target = storage.url("/blob?X-Amz-Signature=deadbeefcafe&X-Amz-Expires=1200").replace(
            "127.0.0.1", "localhost"
        )
        with serve(redirect_server(target)) as registry, client() as c:
            reply = c.send(
                "layer 1/1",
                "GET",
                registry.url("/v2/x/blobs/sha256:1"),
                headers=[("Authorization", "Bearer tok3n-value")],
            )
            assert reply.status == 200 and reply.body == b"layer-bytes"
            assert reply.url == target
            first, second = c.exchanges()
            assert second.redirect_of == first.id
            assert second.note is not None and "not forwarded" in second.note
            assert storage.requests[0].values("Authorization") == ()
            assert registry.requests[0].values("Authorization") == ("Bearer tok3n-value",)
            text = repr(c.exchanges())
            assert "deadbeefcafe" not in text and "tok3n-value" not in text
            assert "X-Amz-Expires=1200" in second.request.url


def test_keep_auth_on_redirect_forwards_it() -> None:
    with serve(Storage) as storage:
        target = storage.url("/blob")
        with serve(redirect_server(target)) as registry, client() as c:
            reply = c.send(
                "layer",
                "GET",
                registry.url("/v2/x/blobs/sha256:1"),
                headers=[("Authorization", "Bearer tok3n-value")],
                keep_auth_on_redirect=lambda src, dst: True,
            )
            assert reply.status == 400  # storage refuses the forwarded token
            assert storage.requests[0].values("Authorization") == ("Bearer tok3n-value",)
            assert c.exchanges()[1].note is not None and "forwarded" in (c.exchanges()[1].note or "")


def test_same_origin_redirect_keeps_authorization() -> None:
    class SameHost(QuietHandler):
        def do_GET(self) -> None:
            seen = self.seen()
            if self.path == "/a":
                self.reply(302, b"", [("Location", "/b")])
            else:
                self.reply(200, ",".join(seen.values("Authorization")).encode())

    with serve(SameHost) as server, client() as c:
        reply = c.send("x", "GET", server.url("/a"), basic_auth=("alice", "pw-123456"))
        assert reply.body.startswith(b"Basic ")
        assert c.exchanges()[1].note is None


def test_post_303_becomes_get_without_body() -> None:
    with (
        serve(Echo) as target,
        serve(redirect_server(target.url("/final"), status=303)) as server,
        client() as c,
    ):
        reply = c.send("token", "POST", server.url("/token"), body=b"a=b")
        assert reply.status == 200
        assert target.requests[0].method == "GET"
        assert c.exchanges()[1].request.method == "GET"


def test_redirects_not_followed_when_asked() -> None:
    with serve(redirect_server("/elsewhere")) as server, client() as c:
        reply = c.send("layer", "GET", server.url("/x"), follow_redirects=False)
        assert reply.status == 307
        assert len(c.exchanges()) == 1


def test_redirect_loop_ends_in_too_many_redirects() -> None:
    class Loop(QuietHandler):
        def do_GET(self) -> None:
            self.seen()
            self.reply(302, b"", [("Location", "/loop")])

    with serve(Loop) as server, client(TransportOptions(timeout=5, max_redirects=3)) as c:
        reply = c.send("manifest", "GET", server.url("/loop"))
        assert reply.failure is not None
        assert reply.failure.kind is FailureKind.TOO_MANY_REDIRECTS
        assert reply.status is None
        assert len(server.requests) == 4  # the first request and 3 redirects
        last = c.exchanges()[-1]
        assert last.id == reply.exchange_id and last.redirect_of == c.exchanges()[-2].id


# ----------------------------------------------------------------------------- failures


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with client() as c:
        reply = c.send("ping", "GET", f"http://127.0.0.1:{port}/v2/")
    assert reply.failure is not None and reply.failure.kind is FailureKind.REFUSED
    assert reply.failure.detail == f"connection to 127.0.0.1:{port} refused"
    exchange = c.exchanges()[0]
    assert exchange.response is None and exchange.failure == reply.failure


def test_dns_failure() -> None:
    # .invalid never resolves (RFC 6761); the resolver answers without any HTTP traffic.
    with client() as c:
        reply = c.send("ping", "GET", "https://registry.example.invalid/v2/")
    assert reply.failure is not None and reply.failure.kind is FailureKind.DNS
    assert "registry.example.invalid" in reply.failure.detail
    assert "\n" not in reply.failure.detail and "Error(" not in reply.failure.detail


@pytest.mark.parametrize("url", ["not a url", "http://[::1/v2/", "ftp://registry/v2/", "http://h:99999/"])
def test_invalid_url(url: str) -> None:
    with client() as c:
        reply = c.send("ping", "GET", url)
    assert reply.failure is not None and reply.failure.kind is FailureKind.INVALID_URL


def test_tls_unknown_ca() -> None:
    with serve(Echo, tls=True) as server, client() as c:
        reply = c.send("ping", "GET", server.url("/v2/"))
    assert reply.failure is not None and reply.failure.kind is FailureKind.TLS
    assert "certificate verify failed" in reply.failure.detail
    assert "local issuer" in reply.failure.detail


def test_tls_with_ca_bundle_and_without_verification() -> None:
    with serve(Echo, tls=True) as server:
        assert server.ca_path is not None
        with client(TransportOptions(verify=server.ca_path, timeout=5)) as c:
            assert c.send("ping", "GET", server.url("/v2/")).status == 200
        with client(TransportOptions(verify=False, timeout=5)) as c:
            assert c.send("ping", "GET", server.url("/v2/")).status == 200


def test_tls_hostname_mismatch() -> None:
    with (
        serve(Echo, tls=True, names=("registry.example",)) as server,
        client(TransportOptions(verify=server.ca_path or True, timeout=5)) as c,
    ):
        reply = c.send("ping", "GET", server.url("/v2/"))
    assert reply.failure is not None and reply.failure.kind is FailureKind.TLS
    assert "mismatch" in reply.failure.detail.lower()


def test_tls_to_plain_http_port() -> None:
    with serve(Echo) as server, client() as c:
        reply = c.send("ping", "GET", server.url("/v2/").replace("http://", "https://"))
    assert reply.failure is not None and reply.failure.kind is FailureKind.TLS
    assert "plain HTTP" in reply.failure.detail
    assert "_ssl.c" not in reply.failure.detail


def test_missing_ca_bundle_file_is_a_tls_failure() -> None:
    with serve(Echo, tls=True) as server, client(TransportOptions(verify="/nonexistent/ca.pem")) as c:
        reply = c.send("ping", "GET", server.url("/v2/"))
    assert reply.failure is not None and reply.failure.kind is FailureKind.TLS


@contextmanager
def raw_server(behaviour: str) -> Iterator[int]:
    """A socket server for misbehaviour http.server cannot produce."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                if behaviour == "close":
                    pass
                elif behaviour == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                elif behaviour == "short":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-ten!!")
                elif behaviour == "silent":
                    stop.wait(3)
                elif behaviour == "trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    for _ in range(100):
                        if stop.wait(0.1):
                            break
                        try:
                            conn.sendall(b"x")
                        except OSError:
                            break

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.mark.parametrize(
    ("behaviour", "kind", "words"),
    [
        ("close", FailureKind.RESET, "closed the connection without a response"),
        ("reset", FailureKind.RESET, "reset"),
        ("short", FailureKind.RESET, "before the body was complete"),
    ],
)
def test_connection_misbehaviour(behaviour: str, kind: FailureKind, words: str) -> None:
    with raw_server(behaviour) as port, client() as c:
        reply = c.send("ping", "GET", f"http://127.0.0.1:{port}/v2/")
    assert reply.failure is not None
    assert reply.failure.kind is kind
    assert words in reply.failure.detail


def test_short_body_keeps_the_response_as_evidence() -> None:
    with raw_server("short") as port, client() as c:
        c.send("manifest", "GET", f"http://127.0.0.1:{port}/v2/x/manifests/1")
    exchange = c.exchanges()[0]
    assert exchange.response is not None and exchange.response.status == 200
    assert exchange.failure is not None and exchange.failure.kind is FailureKind.RESET


def test_read_timeout() -> None:
    with raw_server("silent") as port, client(TransportOptions(timeout=0.5)) as c:
        started = time.monotonic()
        reply = c.send("ping", "GET", f"http://127.0.0.1:{port}/v2/")
        assert time.monotonic() - started < 2.5
    assert reply.failure is not None and reply.failure.kind is FailureKind.TIMEOUT
    assert "read timeout" in reply.failure.detail


def test_trickling_body_hits_the_overall_deadline() -> None:
    # One byte every 0.1 s never trips the 1 s per-read timeout; the deadline must.
    with raw_server("trickle") as port, client(TransportOptions(timeout=1.0)) as c:
        started = time.monotonic()
        reply = c.send("layer", "GET", f"http://127.0.0.1:{port}/blob")
        elapsed = time.monotonic() - started
    assert reply.failure is not None and reply.failure.kind is FailureKind.TIMEOUT
    assert "deadline" in reply.failure.detail
    assert elapsed < 2.5


# ----------------------------------------------------------------------------- bodies


def big_body_server(size: int, content_type: str) -> type[QuietHandler]:
    class Big(QuietHandler):
        def do_GET(self) -> None:
            self.seen()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = bytes(range(256)) * 256 if "octet" in content_type else b"a" * 65536
            sent = 0
            try:
                while sent < size:
                    part = chunk[: size - sent]
                    self.wfile.write(part)
                    sent += len(part)
            except OSError:
                pass  # the client stopped reading: expected

    return Big


def test_max_body_truncates_without_reading_everything() -> None:
    size = 50 * 1024 * 1024
    with serve(big_body_server(size, "text/plain")) as server, client() as c:
        reply = c.send("manifest", "GET", server.url("/m"), max_body=100_000)
    assert reply.status == 200
    assert len(reply.body) == 100_000 and reply.body_truncated
    response = c.exchanges()[0].response
    assert response is not None and response.body_truncated
    assert len(response.body.encode()) <= RECORDED_BODY_LIMIT
    assert response.body_size is not None and response.body_size < size


def test_body_sink_receives_everything_and_binary_is_recorded_as_base64_prefix() -> None:
    size = 3 * 1024 * 1024 + 17
    received = bytearray()
    with serve(big_body_server(size, "application/octet-stream")) as server, client() as c:
        reply = c.send("layer", "GET", server.url("/blob"), body_sink=received.extend, max_body=1000)
    assert len(received) == size
    assert len(reply.body) == 1000 and reply.body_truncated
    response = c.exchanges()[0].response
    assert response is not None
    assert response.body_encoding == "base64" and response.body_size == size
    assert base64.b64decode(response.body) == (bytes(range(256)) * 4)[:1000]


def test_gzip_body_is_decoded() -> None:
    import gzip

    class Gz(QuietHandler):
        def do_GET(self) -> None:
            self.seen()
            self.reply(
                200,
                gzip.compress(b'{"errors": []}'),
                [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            )

    with serve(Gz) as server, client() as c:
        reply = c.send("manifest", "GET", server.url("/m"))
    assert reply.body == b'{"errors": []}'
