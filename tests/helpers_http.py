"""A small threaded HTTP(S) test server on 127.0.0.1, for tests that send real requests.

Usage::

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.reply(200, b"hello", [("Content-Type", "text/plain")])

    with serve(Handler) as server:            # or serve(Handler, tls=True)
        client.send("step", "GET", server.url("/v2/"))
        server.requests                       # what the server saw, in order

TLS uses a throwaway CA and a leaf certificate for 127.0.0.1/localhost generated with
``cryptography``; ``server.ca_path`` is the CA bundle to trust. The handshake happens in the
per-connection thread, so a client speaking plain HTTP to the TLS port cannot stall others.
This module must not touch the internet or any global state beyond its own threads.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SeenRequest:
    """A request as the server received it: raw header lines, repeats and order kept."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def values(self, name: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.headers if k.lower() == name.lower())


class QuietHandler(BaseHTTPRequestHandler):
    """A handler base: no stderr logging, HTTP/1.1, records what it saw, ``reply`` helper."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def seen(self) -> SeenRequest:
        """Record this request (call once per request, before replying)."""
        request = SeenRequest(
            method=self.command,
            path=self.path,
            headers=tuple((k, v) for k, v in self.headers.raw_items()),
            body=self.read_body(),
        )
        with self.server.lock:
            self.server.seen_requests.append(request)
        return request

    def reply(
        self,
        status: int,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        *,
        content_length: int | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class OpenV2Handler(QuietHandler):
    """A registry without auth: ``GET /v2/`` answers 200 with the V2 version header; every
    other GET goes to ``answer`` (the misbehaviour under test)."""

    def do_GET(self) -> None:
        self.seen()
        if self.path == "/v2/":
            self.reply(200, b"{}", [("Docker-Distribution-API-Version", "registry/2.0")])
        else:
            self.answer()

    def answer(self) -> None:
        raise NotImplementedError


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    tls_context: ssl.SSLContext | None = None

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.lock = threading.Lock()
        self.seen_requests: list[SeenRequest] = []
        self.open_sockets: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls_context is not None:
            request.settimeout(5)
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self.lock:
            self.open_sockets.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self.lock:
                self.open_sockets.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-test is expected, not noise


@dataclass
class RunningServer:
    """A started server: base URL, port, CA bundle (TLS) and the requests it received."""

    scheme: str
    port: int
    ca_path: str | None
    _server: _Server = field(repr=False)

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    @property
    def requests(self) -> tuple[SeenRequest, ...]:
        with self._server.lock:
            return tuple(self._server.seen_requests)


@dataclass(frozen=True)
class Pki:
    """A throwaway CA and a leaf certificate for the given names, as PEM files."""

    ca_path: str
    cert_path: str
    key_path: str


def make_pki(
    directory: Path, names: Sequence[str] = ("127.0.0.1", "localhost"), *, expired: bool = False
) -> Pki:
    """Generate a CA and a leaf certificate for ``names`` (IPs or DNS names) in ``directory``;
    ``expired`` makes the leaf's validity end a day ago."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "diagnose test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    leaf_from = now - datetime.timedelta(days=3 if expired else 0, minutes=5)
    leaf_until = now + datetime.timedelta(days=-1 if expired else 1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(leaf_from)
        .not_valid_after(leaf_until)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "ca.pem"
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Pki(str(ca_path), str(cert_path), str(key_path))


@contextmanager
def serve(
    handler: type[BaseHTTPRequestHandler],
    *,
    tls: bool = False,
    names: Sequence[str] = ("127.0.0.1", "localhost"),
    client_ca: str | None = None,
    expired: bool = False,
) -> Iterator[RunningServer]:
    """Run ``handler`` on 127.0.0.1 (a free port) in a thread; stop it cleanly on exit.

    With ``tls=True`` the certificate covers ``names`` (pass other names to provoke a
    hostname mismatch) and ``RunningServer.ca_path`` is the CA to trust. With ``client_ca`` the
    server requires a client certificate signed by that CA (mutual TLS).
    """
    server = _Server(handler)
    ca_path: str | None = None
    with tempfile.TemporaryDirectory(prefix="diagnose-test-") as tmp:
        if tls:
            pki = make_pki(Path(tmp), names, expired=expired)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pki.cert_path, pki.key_path)
            if client_ca is not None:
                context.load_verify_locations(client_ca)
                context.verify_mode = ssl.CERT_REQUIRED
            server.tls_context = context
            ca_path = pki.ca_path
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield RunningServer("https" if tls else "http", server.server_address[1], ca_path, server)
        finally:
            server.shutdown()
            with server.lock:
                sockets = list(server.open_sockets)
            for sock in sockets:  # unblock handlers that are sleeping or trickling
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            server.server_close()
            thread.join(timeout=5)


# --------------------------------------------------------------------------- hostile registries


def echo_forms(secret: str) -> tuple[str, ...]:
    """``secret`` in every spelling a hostile or careless server may echo it back in.

    Raw; JSON with ``\\u`` escapes (some or all characters) and ``\\/``; Go ``%q`` and
    ``%+q``; percent-encoding (upper, lower, ``/``-safe, form); hex; base64 (standard, URL-safe)
    and the UTF-8-read-as-Latin-1 spelling a raw header value gets.
    """
    import base64
    import json
    import re
    from urllib.parse import quote, quote_plus

    raw = secret.encode("utf-8")

    def go_quote(text: str, ascii_only: bool) -> str:
        out = []
        for char in text:
            if char in '"\\':
                out.append("\\" + char)
            elif ascii_only and ord(char) > 0x7E:
                out.append(f"\\u{ord(char):04x}")
            else:
                out.append(char)
        return '"' + "".join(out) + '"'

    upper = quote(secret, safe="")
    forms = [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        "".join(f"\\u{ord(char):04x}" for char in secret),
        go_quote(secret, ascii_only=False),
        go_quote(secret, ascii_only=True),
        upper,
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), upper),
        quote(secret),
        quote_plus(secret),
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii"),
        raw.decode("latin-1"),
    ]
    return tuple(dict.fromkeys(forms))


class EchoingRegistry(QuietHandler):
    """A token-auth registry (realm on the same host) that echoes every credential it
    receives, in every spelling of ``echo_forms``, in its error bodies, its headers and its
    redirects. ``TOKEN`` is the opaque bearer token its token endpoint issues."""

    TOKEN = "opaque-Token-0123456789abcdefXYZ"

    def _echoes(self, seen: SeenRequest) -> list[str]:
        import base64
        import binascii

        said: list[str] = []
        for value in seen.values("Authorization"):
            scheme, _, credentials = value.partition(" ")
            said.append(value)
            said.append(credentials)
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(credentials).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    continue
                said.append(decoded)
                said.append(decoded.partition(":")[2])
        return [form for secret in said if secret for form in echo_forms(secret)]

    def _echo_headers(self, forms: Sequence[str]) -> list[tuple[str, str]]:
        headers = []
        for n, form in enumerate(forms):
            if "\r" in form or "\n" in form:
                continue
            try:
                form.encode("latin-1")
            except UnicodeEncodeError:
                form = form.encode("utf-8").decode("latin-1")  # raw UTF-8 bytes on the wire
            headers.append((f"X-Echo-{n}", form))
        return headers

    def _error(self, status: int, forms: Sequence[str], extra: Sequence[tuple[str, str]] = ()) -> None:
        import json

        errors = [
            {"code": "UNAUTHORIZED", "message": " | ".join(forms), "detail": list(forms)},
            {"code": "DENIED", "message": "raw: " + " ".join(forms)},
        ]
        body = json.dumps({"errors": errors}).encode() + b"\n" + " ".join(forms).encode("utf-8")
        headers = [("Content-Type", "application/json"), *extra, *self._echo_headers(forms)]
        self.reply(status, body, headers)

    def do_GET(self) -> None:
        from urllib.parse import quote

        seen = self.seen()
        host = self.headers.get("Host", "")
        forms = self._echoes(seen)
        version = ("Docker-Distribution-API-Version", "registry/2.0")
        realm = f'Bearer realm="http://{host}/token",service="echo"'
        if self.path.startswith("/token"):
            import json

            body = json.dumps({"token": self.TOKEN, "echo": forms}).encode()
            self.reply(200, body, [("Content-Type", "application/json"), *self._echo_headers(forms)])
        elif self.path.startswith("/v2/") and not seen.values("Authorization"):
            self._error(401, forms, [version, ("WWW-Authenticate", realm)])
        elif self.path == "/v2/":
            self.reply(200, b"{}", [version])
        elif self.path.startswith("/v2/") and "/manifests/" in self.path:
            query = "&".join(f"e{n}={quote(form, safe='')}" for n, form in enumerate(forms))
            path = quote(forms[0] if forms else "x", safe="")
            self.reply(302, b"", [version, ("Location", f"/echo/{path}?{query}")])
        else:
            challenge = (
                realm + ',error="invalid_token",error_description="' + " ".join(forms).replace('"', "'") + '"'
            )
            self._error(401, forms, [version, ("WWW-Authenticate", challenge)])


MARKDOWN_PAYLOAD = (
    "``[click](https://evil.example/x)` <img src=x onerror=alert(1)> <script>alert(1)</script> "
    "![i](https://evil.example/i.png) https://evil.example/bare www.evil.example a@evil.example "
    "<https://evil.example/auto> [ref]: https://evil.example *em* _u_ # h | x | &lt;b&gt; &#60;i&#62; "
    "\u202eevil\u202c \u2067iso\u2069 \u200f \x1b[2J"
)
"""Registry text that tries every way into a Markdown ticket or a terminal: links, images,
raw HTML, autolinks (bare, www, e-mail, angle), emphasis, entities, table pipes, a mis-paired
double-backtick run, bidirectional overrides and an escape sequence."""


class MarkdownInjection(QuietHandler):
    """An open V2 registry whose every answer after the ping quotes ``MARKDOWN_PAYLOAD`` in
    its error message, detail, headers and a body line of three backticks."""

    def do_GET(self) -> None:
        import json

        self.seen()
        version = ("Docker-Distribution-API-Version", "registry/2.0")
        if self.path == "/v2/":
            self.reply(200, b"{}", [version])
            return
        error = {"code": "DENIED", "message": MARKDOWN_PAYLOAD, "detail": MARKDOWN_PAYLOAD}
        body = json.dumps({"errors": [error]}, ensure_ascii=False).encode() + b"\n```\n</details>\n"
        header = MARKDOWN_PAYLOAD.replace("\x1b", "").encode("utf-8").decode("latin-1")
        self.reply(403, body, [version, ("Content-Type", "application/json"), ("X-Reason", header)])


class InflatingAnswers(QuietHandler):
    """An open V2 registry whose every answer after the ping is a 400 with an 8 KB gzip body
    that inflates to 8 MB of text (``Content-Encoding: gzip``), V1 paths included."""

    BODY = __import__("gzip").compress(b"A" * (8 * 1024 * 1024), 9)

    def do_GET(self) -> None:
        self.seen()
        version = ("Docker-Distribution-API-Version", "registry/2.0")
        if self.path == "/v2/":
            self.reply(200, b"{}", [version])
            return
        headers = [version, ("Content-Encoding", "gzip"), ("Content-Type", "text/plain")]
        self.reply(400, self.BODY, headers)


class BigAnswers(QuietHandler):
    """Every GET answers 500 with 64 KB of text."""

    def do_GET(self) -> None:
        self.seen()
        self.reply(500, b"E" * 64 * 1024, [("Content-Type", "text/plain")])


class V1IndexNamingAnotherHost(QuietHandler):
    """A V1-only registry (``/v2/`` is 404) whose image list names another host first in
    ``X-Docker-Endpoints``, then itself; its own tag lookup says 404. ``other`` is the other
    host's ``host:port``; ``standalone`` False makes docker use the index's token instead of
    Basic auth on every request."""

    other = ""
    standalone = True

    def do_GET(self) -> None:
        self.seen()
        me = self.headers.get("Host", "")
        if self.path == "/v1/_ping":
            flag = "true" if self.standalone else "false"
            self.reply(200, b"{}", [("X-Docker-Registry-Standalone", flag)])
        elif self.path.endswith("/images"):
            headers = [("Content-Type", "application/json"), ("X-Docker-Endpoints", f"{self.other}, {me}")]
            if not self.standalone:
                headers.append(("X-Docker-Token", 'signature=s1gn4tur3,repository="library/x",access=read'))
            self.reply(200, b"[]", headers)
        else:
            self.reply(404, b'{"error": "not found"}', [("Content-Type", "application/json")])


class AnswersEverything500(QuietHandler):
    """Records every request and answers 500: a host that must never see credentials."""

    def do_GET(self) -> None:
        self.seen()
        self.reply(500, b"", [("Content-Type", "text/plain")])


def jwt_with(claims: object) -> str:
    """An unsigned-looking JWT whose payload is ``claims`` (any JSON value)."""
    import base64
    import json

    def segment(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{segment({'alg': 'RS256', 'typ': 'JWT'})}.{segment(claims)}.c2lnbmF0dXJl"


class OddTokens(QuietHandler):
    """A token-auth registry whose token server issues ``token`` (set per test) and whose
    registry then refuses with 403 DENIED; ``deep`` makes every body deeply nested JSON."""

    token = ""
    deep = False

    def do_GET(self) -> None:
        import json

        self.seen()
        host = self.headers.get("Host", "")
        version = ("Docker-Distribution-API-Version", "registry/2.0")
        json_type = ("Content-Type", "application/json")
        nested = b"[" * 50_000 + b"]" * 50_000
        if self.path.startswith("/token"):
            body = json.dumps({"token": self.token}).encode()
            if self.deep:
                body = body[:-1] + b', "extra": ' + nested + b"}"
            self.reply(200, body, [json_type])
            return
        error = (
            b'{"errors": ' + nested + b"}" if self.deep else b'{"errors":[{"code":"DENIED","message":"no"}]}'
        )
        if not self.headers.get("Authorization"):
            challenge = f'Bearer realm="http://{host}/token",service="odd"'
            self.reply(401, error, [version, json_type, ("WWW-Authenticate", challenge)])
        else:
            self.reply(403, error, [version, json_type])


class EndlessLayer(QuietHandler):
    """An open V2 registry whose manifest declares a 1000-byte layer and whose blob answer
    then streams zeros without end (no Content-Length), until the client hangs up."""

    CONFIG = b"{}"

    def _manifest(self) -> bytes:
        import hashlib
        import json

        config = "sha256:" + hashlib.sha256(self.CONFIG).hexdigest()
        layer = {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000}
        return json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": 2,
                    "digest": config,
                },
                "layers": [{**layer, "digest": "sha256:" + "5" * 64}],
            }
        ).encode()

    def do_GET(self) -> None:
        self.seen()
        version = ("Docker-Distribution-API-Version", "registry/2.0")
        manifest_type = ("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
        if self.path == "/v2/":
            self.reply(200, b"{}", [version])
        elif "/manifests/" in self.path:
            self.reply(200, self._manifest(), [version, manifest_type])
        elif not self.path.endswith("5" * 64):
            self.reply(200, self.CONFIG, [version])
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"\0" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
