"""A small forward proxy on 127.0.0.1 for tests: CONNECT tunnels and absolute-form requests.

Go clients never proxy localhost or loopback addresses, so tests name the registry by a host
that only this proxy knows (``hosts={"registry.test": "127.0.0.1"}``): the client cannot
resolve it itself, which also proves the request really went through the proxy.

``mode`` makes the proxy misbehave like a corporate proxy does: ``"forward"`` relays,
``"407"`` asks for proxy credentials, ``"502"`` answers with an HTML Bad Gateway page.
This module must not touch the internet: names outside ``hosts`` get a 502.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

BAD_GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
    b"<p>The proxy server received an invalid response from an upstream server.</p></body></html>"
)


@dataclass
class ProxyState:
    mode: str
    hosts: Mapping[str, str]
    seen: list[str] = field(default_factory=list)  # request lines, in order
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        state = self.server.state
        line = self.rfile.readline(65536).decode("latin-1").rstrip("\r\n")
        headers: list[bytes] = []
        while True:
            raw = self.rfile.readline(65536)
            if raw in (b"\r\n", b"\n", b""):
                break
            headers.append(raw)
        with state.lock:
            state.seen.append(line)
        parts = line.split(" ")
        if len(parts) != 3:
            return
        method, target, version = parts
        if state.mode == "407":
            self._answer(
                407, "Proxy Authentication Required", b"", [b'Proxy-Authenticate: Basic realm="corp"']
            )
            return
        if state.mode == "502":
            self._answer(502, "Bad Gateway", BAD_GATEWAY_HTML, [b"Content-Type: text/html"])
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = self._connect(host, int(port))
            if upstream is None:
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            self._pipe(upstream)
            return
        # absolute-form: http://host:port/path
        rest = target.split("://", 1)[-1]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        upstream = self._connect(host, int(port or 80))
        if upstream is None:
            return
        kept = [h for h in headers if not h.lower().startswith((b"proxy-", b"connection:"))]
        upstream.sendall(
            f"{method} /{path} {version}\r\n".encode("latin-1")
            + b"".join(kept)
            + b"Connection: close\r\n\r\n"
        )
        length = next(
            (int(h.split(b":", 1)[1]) for h in headers if h.lower().startswith(b"content-length:")), 0
        )
        if length:
            upstream.sendall(self.rfile.read(length))
        self._relay_response(upstream)

    def _connect(self, host: str, port: int) -> socket.socket | None:
        address = self.server.state.hosts.get(host.strip("[]").lower())
        if address is None:
            self._answer(502, "Bad Gateway", BAD_GATEWAY_HTML, [b"Content-Type: text/html"])
            return None
        try:
            return socket.create_connection((address, port), timeout=10)
        except OSError:
            self._answer(502, "Bad Gateway", BAD_GATEWAY_HTML, [b"Content-Type: text/html"])
            return None

    def _answer(self, status: int, reason: str, body: bytes, extra: list[bytes]) -> None:
        head = [f"HTTP/1.1 {status} {reason}".encode(), f"Content-Length: {len(body)}".encode(), *extra]
        head.append(b"Connection: close")
        self.wfile.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.wfile.flush()

    def _relay_response(self, upstream: socket.socket) -> None:
        # The proxy closes the client connection after each answer; it says so in the head, so
        # the client never reuses a connection the proxy is about to close.
        head = b""
        with upstream:
            while b"\r\n\r\n" not in head:
                data = upstream.recv(65536)
                if not data:
                    break
                head += data
            status_and_headers, sep, rest = head.partition(b"\r\n\r\n")
            lines = [h for h in status_and_headers.split(b"\r\n") if not h.lower().startswith(b"connection:")]
            self.wfile.write(b"\r\n".join([*lines, b"Connection: close"]) + sep + rest)
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                self.wfile.write(data)
            self.wfile.flush()

    def _pipe(self, upstream: socket.socket) -> None:
        client = self.connection
        with upstream:
            sockets = [client, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: ProxyState


@dataclass
class RunningProxy:
    url: str
    state: ProxyState

    @property
    def seen(self) -> list[str]:
        with self.state.lock:
            return list(self.state.seen)


@contextmanager
def forward_proxy(hosts: Mapping[str, str], mode: str = "forward") -> Iterator[RunningProxy]:
    """A proxy on a free 127.0.0.1 port; stopped on exit."""
    server = _ProxyServer(("127.0.0.1", 0), _Handler)
    server.state = ProxyState(mode=mode, hosts={k.lower(): v for k, v in hosts.items()})
    thread = threading.Thread(target=server.serve_forever, name="test-proxy", daemon=True)
    thread.start()
    try:
        yield RunningProxy(f"http://127.0.0.1:{server.server_address[1]}", server.state)
    finally:
        server.shutdown()
        server.server_close()
        with suppress(RuntimeError):
            thread.join(timeout=5)
