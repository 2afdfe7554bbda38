"""The misbehaving-server catalogue: every mode ends in an outcome, exit 1 and a diagnosis, its
pulls within ``--timeout`` + 2 s and the process under 300 MB, four modes running at a time.

Each mode is a real server on 127.0.0.1 (HTTP handlers from tests/helpers_http.py and
tests/test_odd_registries.py, or a raw socket that does what no HTTP library would: trickle,
hang, reset, send garbage). ``diagnose compare`` runs as its own process, so its wall time and
peak memory (``wait4``'s ``ru_maxrss``) are its own.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.helpers_http import OpenV2Handler, QuietHandler, serve
from tests.test_odd_registries import (
    BadIpv6Realm,
    BrokenRealm,
    DeepJson,
    EchoesAuthorization,
    EndlessBody,
    EscapeSequences,
    Hangs,
    HtmlUnauthorized,
    LayerGone,
    ManifestNotJson,
    PresignedToClosedPort,
    RealmWithUserinfo,
    RedirectLoop,
    TokenServerSaysHtml,
)

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 3.0
SLACK = 2.0  # the bound on the pulls: --timeout + 2 s
FINISH = 60.0  # the bound on the whole process, start-up and rendering included (a loaded CI machine)
MAX_RSS_MB = 300
PARALLEL = 4
VERSION = ("Docker-Distribution-API-Version", "registry/2.0")

# --------------------------------------------------------------------------- raw socket servers

RawBehaviour = Callable[[socket.socket, threading.Event], None]


@contextmanager
def raw_server(behaviour: RawBehaviour) -> Iterator[int]:
    """A TCP server on 127.0.0.1 running ``behaviour(conn, stop)`` per connection; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    listener.settimeout(0.05)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        with suppress(OSError):
            behaviour(conn, stop)

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conns.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        for conn in conns:
            with suppress(OSError):
                conn.close()
        thread.join(timeout=5)
        listener.close()


def _accept_and_hang(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(120)


def _status_trickle(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    for byte in b"HTTP/1.1 200 OK\r\n" * 10_000:
        if stop.wait(0.05):
            return
        conn.sendall(bytes([byte]))


def _endless_headers(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    while not stop.is_set():
        conn.sendall(b"X-More: " + b"m" * 100 + b"\r\n" * 1)


def _body_trickle(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: 100000\r\n\r\n"
    )
    while not stop.wait(0.05):
        conn.sendall(b"x")


def _garbage(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(b"HELLO FRIEND\r\nthis is not http\r\n\r\n")


def _empty_reply(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)


def _reset(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _huge_content_length_then_hang(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\n"
        b"Content-Length: 5368709120\r\n\r\nonly-this"
    )
    stop.wait(120)


# --------------------------------------------------------------------------- HTTP handlers


def _gzip_bomb() -> bytes:
    """About 256 MiB of zeros, gzipped to a few hundred KB: an error body that explodes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(256)]
    parts.append(compressor.flush())
    return b"".join(parts)


_BOMB: list[bytes] = []


class GzipBomb(OpenV2Handler):
    def answer(self) -> None:
        if not _BOMB:
            _BOMB.append(_gzip_bomb())
        self.reply(
            404,
            _BOMB[0],
            [VERSION, ("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
        )


class RetryAfterADay(OpenV2Handler):
    def answer(self) -> None:
        body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}).encode()
        self.reply(429, body, [VERSION, ("Content-Type", "application/json"), ("Retry-After", "86400")])


class Status999(OpenV2Handler):
    def answer(self) -> None:
        self.reply(999, b"what", [VERSION])


class RedirectToFtp(OpenV2Handler):
    def answer(self) -> None:
        self.reply(302, b"", [("Location", "ftp://127.0.0.1/manifest")])


class MovedWithoutLocation(OpenV2Handler):
    def answer(self) -> None:
        self.reply(301, b"", [VERSION])


class HugeHeader(OpenV2Handler):
    def answer(self) -> None:
        self.reply(404, b"{}", [VERSION, ("X-Huge", "h" * 1_000_000)])


class BadChunked(OpenV2Handler):
    def answer(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"zz\r\nnot a chunk size\r\n")
        self.close_connection = True


class ShortBody(OpenV2Handler):
    def answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.send_header("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
        self.end_headers()
        self.wfile.write(b'{"schemaVersion": 2')
        self.close_connection = True


class HtmlEverywhere(QuietHandler):
    """A web server, not a registry: 200 HTML for every path, /v2/ included."""

    def do_GET(self) -> None:
        self.seen()
        self.reply(200, b"<html><body>Welcome to nginx!</body></html>", [("Content-Type", "text/html")])


def _realm_at_closed_port() -> type[BaseHTTPRequestHandler]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]

    class RealmAtClosedPort(QuietHandler):
        def do_GET(self) -> None:
            self.seen()
            challenge = f'Bearer realm="http://127.0.0.1:{closed}/token",service="registry"'
            self.reply(
                401,
                b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                [VERSION, ("WWW-Authenticate", challenge), ("Content-Type", "application/json")],
            )

    return RealmAtClosedPort


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Mode:
    id: str
    start: Callable[[ExitStack], tuple[str, tuple[str, ...]]]  # -> (host:port, extra CLI args)


def _http(handler: type[BaseHTTPRequestHandler]) -> Callable[[ExitStack], tuple[str, tuple[str, ...]]]:
    def start(stack: ExitStack) -> tuple[str, tuple[str, ...]]:
        server = stack.enter_context(serve(handler))
        return f"127.0.0.1:{server.port}", ("--no-tls-verify",)

    return start


def _tls(
    handler: type[BaseHTTPRequestHandler], **tls: object
) -> Callable[[ExitStack], tuple[str, tuple[str, ...]]]:
    def start(stack: ExitStack) -> tuple[str, tuple[str, ...]]:
        server = stack.enter_context(serve(handler, tls=True, **tls))  # type: ignore[arg-type]
        assert server.ca_path is not None
        return f"127.0.0.1:{server.port}", ("--ca-cert", server.ca_path)

    return start


def _raw(behaviour: RawBehaviour) -> Callable[[ExitStack], tuple[str, tuple[str, ...]]]:
    def start(stack: ExitStack) -> tuple[str, tuple[str, ...]]:
        port = stack.enter_context(raw_server(behaviour))
        return f"127.0.0.1:{port}", ("--no-tls-verify",)

    return start


def _http_spoken_on_https_port(stack: ExitStack) -> tuple[str, tuple[str, ...]]:
    server = stack.enter_context(serve(LayerGone))
    return f"127.0.0.1:{server.port}", ()  # the strict pull insists on TLS


MODES: tuple[Mode, ...] = (
    # HTTP-level misbehaviour
    Mode("html-401-negotiate", _http(HtmlUnauthorized)),
    Mode("broken-realm", _http(BrokenRealm)),
    Mode("token-answer-is-html", _http(TokenServerSaysHtml)),
    Mode("manifest-not-json", _http(ManifestNotJson)),
    Mode("redirect-loop", _http(RedirectLoop)),
    Mode("manifest-hangs", _http(Hangs)),
    Mode("endless-5gb-body", _http(EndlessBody)),
    Mode("deep-json", _http(DeepJson)),
    Mode("bad-ipv6-realm", _http(BadIpv6Realm)),
    Mode("escape-sequences", _http(EscapeSequences)),
    Mode("layer-gone", _http(LayerGone)),
    Mode("echoes-authorization", _http(EchoesAuthorization)),
    Mode("realm-with-userinfo", _http(RealmWithUserinfo)),
    Mode("presigned-to-closed-port", _http(PresignedToClosedPort)),
    Mode("gzip-bomb-error-body", _http(GzipBomb)),
    Mode("retry-after-a-day", _http(RetryAfterADay)),
    Mode("status-999", _http(Status999)),
    Mode("redirect-to-ftp", _http(RedirectToFtp)),
    Mode("301-without-location", _http(MovedWithoutLocation)),
    Mode("1mb-header", _http(HugeHeader)),
    Mode("bad-chunked-encoding", _http(BadChunked)),
    Mode("body-shorter-than-content-length", _http(ShortBody)),
    Mode("html-200-everywhere", _http(HtmlEverywhere)),
    Mode("token-realm-at-closed-port", lambda stack: _http(_realm_at_closed_port())(stack)),
    # socket-level misbehaviour
    Mode("accept-and-never-answer", _raw(_accept_and_hang)),
    Mode("status-line-byte-every-50ms", _raw(_status_trickle)),
    Mode("endless-headers", _raw(_endless_headers)),
    Mode("body-byte-every-50ms", _raw(_body_trickle)),
    Mode("5gb-content-length-then-silence", _raw(_huge_content_length_then_hang)),
    Mode("garbage-instead-of-http", _raw(_garbage)),
    Mode("closes-without-answer", _raw(_empty_reply)),
    Mode("resets-the-connection", _raw(_reset)),
    # TLS
    Mode("tls-expired-certificate", _tls(LayerGone, expired=True)),
    Mode("tls-wrong-hostname", _tls(LayerGone, names=("registry.other.example",))),
    Mode("http-spoken-on-the-https-port", _http_spoken_on_https_port),
)


@dataclass
class Result:
    mode: str
    code: int
    seconds: float
    rss_mb: float
    stdout: str
    stderr: str
    problems: list[str] = field(default_factory=list)


def run_mode(mode: Mode) -> Result:
    with ExitStack() as stack:
        host, extra = mode.start(stack)
        argv = [
            sys.executable,
            "-m",
            "diagnose",
            "compare",
            f"{host}/library/app:1.0",
            "--timeout",
            str(TIMEOUT),
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"}
        started = time.monotonic()
        process = subprocess.Popen(
            [*argv, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        killer = threading.Timer(TIMEOUT + FINISH + 30, process.kill)
        killer.start()
        streams: dict[str, bytes] = {}
        readers = [
            threading.Thread(target=lambda n=name, f=pipe: streams.__setitem__(n, f.read()))
            for name, pipe in (("out", process.stdout), ("err", process.stderr))
        ]
        for reader in readers:
            reader.start()
        # wait4, not wait: its rusage is this child's own peak memory.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        killer.cancel()
        for reader in readers:
            reader.join()
    result = Result(
        mode.id,
        process.returncode,
        seconds,
        usage.ru_maxrss / 1024,  # KiB on Linux
        streams.get("out", b"").decode(errors="replace"),
        streams.get("err", b"").decode(errors="replace"),
    )
    if result.code != 1:
        result.problems.append(f"exit {result.code}, not 1")
    if "Traceback" in result.stderr or "internal error" in result.stderr:
        result.problems.append("the tool crashed: " + result.stderr.strip().splitlines()[-1][:200])
    if not result.stdout.strip():
        result.problems.append("no diagnosis printed")
    # The bound is on the pulls, as the tool measures them ("N HTTP exchanges in X s" on
    # stderr): interpreter start-up on a loaded machine is not the registry's doing. The whole
    # process must still end well before the kill timer.
    pulled = re.search(r"HTTP exchanges in ([0-9.]+)s", result.stderr)
    if pulled is None:
        result.problems.append("no 'HTTP exchanges in' line on stderr")
    elif float(pulled.group(1)) > TIMEOUT + SLACK:
        result.problems.append(f"pulls took {pulled.group(1)} s (bound {TIMEOUT + SLACK:.0f} s)")
    if seconds > TIMEOUT + FINISH:
        result.problems.append(f"the process took {seconds:.1f} s (bound {TIMEOUT + FINISH:.0f} s)")
    if result.rss_mb > MAX_RSS_MB:
        result.problems.append(f"peak RSS {result.rss_mb:.0f} MB (bound {MAX_RSS_MB} MB)")
    return result


def test_the_catalogue_has_at_least_thirty_modes() -> None:
    assert len(MODES) >= 30
    assert len({m.id for m in MODES}) == len(MODES)


def test_every_mode_ends_in_a_diagnosis_within_its_bounds_four_at_a_time() -> None:
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(run_mode, MODES))
    failures = [f"{r.mode}: {'; '.join(r.problems)}" for r in results if r.problems]
    slowest = max(results, key=lambda r: r.seconds)
    biggest = max(results, key=lambda r: r.rss_mb)
    print(
        f"\nslowest: {slowest.mode} {slowest.seconds:.1f} s; biggest: {biggest.mode} {biggest.rss_mb:.0f} MB"
    )
    assert not failures, "\n".join(failures)
