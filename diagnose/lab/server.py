"""Start and stop the lab: two ``ThreadingHTTPServer`` instances on 127.0.0.1, in daemon threads.

This is socket plumbing only: parse a request into a ``LabRequest``, record it, ask the app
(``registry.py``) for a ``LabResponse``, write it. It must not decide what the registry says,
must never write to stderr (no access log, no tracebacks), and must release every socket and
thread on ``stop()``.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType
from typing import Any

from diagnose.lab.content import LabContent, LabImage, build_content
from diagnose.lab.modes import LabToken
from diagnose.lab.registry import RegistryApp
from diagnose.lab.token_server import TokenApp
from diagnose.lab.tokens import TokenIssuer
from diagnose.lab.wire import LabAuth, LabRequest, LabResponse, LabV1
from diagnose.model import Headers

MAX_REQUEST_BODY = 1024 * 1024
LAB_USERS: Mapping[str, str] = MappingProxyType({"alice": "wonderland", "bob": "builder"})


@dataclass(frozen=True, slots=True)
class LabConfig:
    """What kind of registry the lab pretends to be."""

    auth: LabAuth = LabAuth.TOKEN
    v1: LabV1 = LabV1.ABSENT
    not_a_registry: bool = False  # every path (incl. /v2/) answers 404 text/html, no registry headers
    proxy_error: bool = False  # every path answers 502 text/html from a proxy, no registry headers
    token: LabToken = LabToken.NORMAL  # how the token service behaves (see LabToken)
    tls: tuple[str, str] | None = None  # (certfile, keyfile): serve the registry over HTTPS
    host: str = "127.0.0.1"
    registry_port: int = 0
    token_port: int = 0


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """A request as the lab received it (test aid)."""

    server: str  # "registry" or "token"
    method: str
    path: str  # request target: path and query
    headers: Headers


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """A request the lab answered, for ``diagnose lab``'s log: which server, what, which status."""

    server: str  # "registry" or "token"
    method: str
    path: str  # request target: path and query
    status: int


class _Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[SeenRequest] = []
        self.listener: Callable[[ServedRequest], None] | None = None

    def add(self, seen: SeenRequest) -> None:
        with self._lock:
            self._seen.append(seen)

    def served(self, served: ServedRequest) -> None:
        listener = self.listener
        if listener is not None:
            with contextlib.suppress(Exception):  # a broken log must not break the lab
                listener(served)

    def all(self) -> tuple[SeenRequest, ...]:
        with self._lock:
            return tuple(self._seen)


App = Callable[[LabRequest], LabResponse]


class _LabHTTPServer(ThreadingHTTPServer):
    """A quiet threading server that can wrap connections in TLS and cut them on stop."""

    daemon_threads = True
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        name: str,
        app: App,
        recorder: _Recorder,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.lab_name = name
        self.lab_app = app
        self.lab_recorder = recorder
        self._tls = tls
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Runs in the per-connection thread, so a slow or plain-HTTP client cannot block accept().
        conn: socket.socket = request
        if self._tls is not None:
            try:
                conn.settimeout(10)
                conn = self._tls.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            except (ssl.SSLError, OSError):
                return
        with self._open_lock:
            self._open.add(conn)
        try:
            super().finish_request(conn, client_address)
        except OSError:
            pass
        finally:
            with self._open_lock:
                self._open.discard(conn)
            if conn is not request:
                conn.close()

    def cut_connections(self) -> None:
        """Shut down keep-alive connections so their handler threads end."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Never print tracebacks: a client that hangs up mid-response is not our problem.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "diagnose-lab/1.0"
    sys_version = ""
    default_request_version = "HTTP/1.0"  # answer even a garbage request line with a status line
    timeout = 60
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (40 ms per response on Linux loopback). Measured by bench/.
    disable_nagle_algorithm = True
    server: _LabHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def version_string(self) -> str:
        return self.server_version

    def _serve(self) -> None:
        body = b""
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            # Chunked uploads are not supported by a read-only lab; do not try to reuse the connection.
            self.close_connection = True
        elif length_text:
            try:
                length = int(length_text)
            except ValueError:
                self._write(LabResponse(400, (("Content-Type", "text/plain"),), b"bad Content-Length\n"))
                self.close_connection = True
                return
            if length < 0 or length > MAX_REQUEST_BODY:
                self._write(LabResponse(413, (("Content-Type", "text/plain"),), b"request body too large\n"))
                self.close_connection = True
                return
            body = self.rfile.read(length)
        headers: Headers = tuple((k, v) for k, v in self.headers.items())
        self.server.lab_recorder.add(SeenRequest(self.server.lab_name, self.command, self.path, headers))
        request = LabRequest(self.command, self.path, headers, body, self.client_address[0])
        try:
            response = self.server.lab_app(request)
        except Exception:  # a lab bug must still produce an answer, not a dropped connection
            response = LabResponse(
                500,
                (("Content-Type", "application/json"),),
                b'{"errors":[{"code":"UNKNOWN","message":"lab error"}]}\n',
            )
        self._write(response)
        self.server.lab_recorder.served(
            ServedRequest(self.server.lab_name, self.command, self.path, response.status)
        )

    def _write(self, response: LabResponse) -> None:
        self.send_response(response.status, _reason(response.status))
        has_length = False
        for name, value in response.headers:
            if name.lower() == "content-length":
                has_length = True
            self.send_header(name, value)
        if not has_length and response.status not in (204, 304) and response.status >= 200:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class Lab:
    """A started lab: the registry and the token server. Use as a context manager or call stop()."""

    def __init__(
        self,
        config: LabConfig,
        registry: _LabHTTPServer,
        token: _LabHTTPServer,
        recorder: _Recorder,
        content: LabContent,
    ) -> None:
        self.config = config
        self._registry = registry
        self._token = token
        self._recorder = recorder
        self._content = content
        self.users: Mapping[str, str] = LAB_USERS
        host = config.host
        self.registry_host = f"{host}:{registry.server_address[1]}"
        self.registry_url = f"{'https' if config.tls else 'http'}://{self.registry_host}"
        self.token_url = realm_url(config, token.server_address[1])
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def _start(self) -> None:
        for server in (self._registry, self._token):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"lab-{server.lab_name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def images(self) -> tuple[LabImage, ...]:
        """The lab's catalogue: repository, tag, visibility, protocols, description."""
        return self._content.images

    def on_request(self, listener: Callable[[ServedRequest], None] | None) -> None:
        """Call ``listener`` after each answered request (``diagnose lab`` logs them)."""
        self._recorder.listener = listener

    def requests_seen(self) -> tuple[SeenRequest, ...]:
        """Every request received so far by either server, in arrival order."""
        return self._recorder.all()

    def stop(self) -> None:
        """Stop serving, cut open connections, join every thread and close the sockets."""
        if self._stopped:
            return
        self._stopped = True
        for server in (self._registry, self._token):
            server.shutdown()
        for thread in self._threads:
            thread.join()
        for server in (self._registry, self._token):
            server.cut_connections()
            server.server_close()  # joins the connection threads (block_on_close)

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def closed_port(host: str) -> int:
    """A port on ``host`` where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@functools.cache
def _unreachable_port(host: str) -> int:
    return closed_port(host)


def realm_url(config: LabConfig, token_port: int) -> str:
    """The token realm the registry's challenge names: the token server, or (by mode) a port
    where nothing listens or a host that never resolves (RFC 6761 ``.invalid``)."""
    if config.token is LabToken.UNREACHABLE:
        return f"http://{config.host}:{_unreachable_port(config.host)}/token"
    if config.token is LabToken.UNRESOLVABLE:
        return f"http://auth.diagnose-lab.invalid:{token_port}/token"
    return f"http://{config.host}:{token_port}/token"


def start_lab(config: LabConfig = LabConfig()) -> Lab:
    """Bind both servers (free ports by default), start them, and return the running Lab."""
    content = build_content()
    issuer = TokenIssuer()
    recorder = _Recorder()
    tls_context: ssl.SSLContext | None = None
    if config.tls is not None:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(config.tls[0], config.tls[1])

    token_app = TokenApp(content=content, issuer=issuer, users=LAB_USERS, mode=config.token)
    token_server = _LabHTTPServer((config.host, config.token_port), "token", token_app.handle, recorder, None)
    try:
        # The registry app needs its own URL (redirect Locations), known only after binding.
        holder: list[RegistryApp] = []

        def registry_handle(request: LabRequest) -> LabResponse:
            return holder[0].handle(request)

        registry_server = _LabHTTPServer(
            (config.host, config.registry_port), "registry", registry_handle, recorder, tls_context
        )
    except BaseException:
        token_server.server_close()
        raise
    scheme = "https" if config.tls else "http"
    holder.append(
        RegistryApp(
            content=content,
            issuer=issuer,
            users=LAB_USERS,
            token_url=realm_url(config, token_server.server_address[1]),
            base_url=f"{scheme}://{config.host}:{registry_server.server_address[1]}",
            auth=config.auth,
            v1=config.v1,
            not_a_registry=config.not_a_registry,
            proxy_error=config.proxy_error,
        )
    )
    lab = Lab(config, registry_server, token_server, recorder, content)
    lab._start()
    return lab
