"""The one place HTTP requests are sent, and where every exchange is recorded and redacted.

Pullers talk to an ``HttpClient`` (``http.py``); they never import this module. This module must not
classify outcomes or decide what a client would print: it only sends, records and returns.

``RecordingClient`` sends with one ``requests.Session`` through ``_WireAdapter``; it follows
redirects itself (each hop is its own ``Exchange``), maps every transport exception to a
``TransportFailure`` and redacts (``redact.py``) before anything is stored in the ``Recorder``.

Recorded bodies: text bodies are redacted in full and then capped at ``RECORDED_BODY_LIMIT``
bytes; binary bodies (layers: an octet-stream/tar/gzip media type, a NUL byte or invalid UTF-8)
keep only their first ``redact.BINARY_PREFIX`` bytes, base64-encoded (``body_encoding="base64"``).
``body_size`` is the number of (decoded) bytes read, or ``Content-Length`` for HEAD.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import http.client
import ipaddress
import os
import queue
import socket
import ssl
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
import requests.adapters
import requests.exceptions
import urllib3
import urllib3.exceptions
from urllib3._collections import HTTPHeaderDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry
from urllib3.util.ssl_ import create_urllib3_context

from diagnose import __version__
from diagnose.concurrency import in_turn
from diagnose.http import DEFAULT_MAX_BODY as DEFAULT_MAX_BODY
from diagnose.http import RECORDED_BODY_LIMIT as RECORDED_BODY_LIMIT
from diagnose.http import BodySink as BodySink
from diagnose.http import HttpClient as HttpClient
from diagnose.http import Reply as Reply
from diagnose.http import TransportOptions as TransportOptions
from diagnose.model import (
    Exchange,
    FailureKind,
    Headers,
    RecordedRequest,
    RecordedResponse,
    StepKind,
    Strategy,
    TokenClaims,
    TransportFailure,
    header_value,
)
from diagnose.proxy import choose_proxy
from diagnose.redact import (
    learned_secrets,
    recorded_body,
    redact_headers,
    redact_url,
    scrub_text,
)
from diagnose.tokens import token_answer_claims
from diagnose.transport_failures import SEND_ERRORS, failure_from_exception, is_timeout, origin

TOKEN_ANSWER_LIMIT = 64 * 1024
"""Bodies larger than this are not read for token claims (a token answer is a few KB)."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 64 * 1024
RECORDED_TOTAL_LIMIT = 2 * 1024 * 1024
"""Bytes of response bodies one run records in full (``Recorder.body_allowance``)."""
RECORDED_BODY_FLOOR = 2 * 1024
"""Bytes of each response body recorded once that budget is spent."""
STREAM_CHUNK = 1024 * 1024
"""Bytes per read when a body streams to a sink (layers): each read costs several Python calls
per TLS record, so large reads keep a 1 GiB layer from being bound by call overhead."""
REDACT_MARGIN = 16 * 1024
PULL_DEADLINE_NOTE = "the pull's --timeout deadline"


class Recorder:
    """Collects the exchanges of every client of one run; thread-safe.

    Both pullers share one Recorder so exchange ids are global and ordered by start time.
    """

    def __init__(self, body_budget: int = RECORDED_TOTAL_LIMIT) -> None:
        self._lock = threading.Lock()
        self._last_id = 0
        self._exchanges: list[Exchange] = []
        self._body_budget = body_budget

    def body_allowance(self, wanted: int) -> int:
        """Bytes of the next response body to record: ``wanted`` while the run's budget lasts,
        then ``RECORDED_BODY_FLOOR`` (a server that sends thousands of 64 KB answers cannot
        make the report hundreds of megabytes). ``spend`` what was kept."""
        with self._lock:
            return max(min(wanted, self._body_budget), min(wanted, RECORDED_BODY_FLOOR))

    def spend(self, recorded: int) -> None:
        with self._lock:
            self._body_budget = max(self._body_budget - recorded, 0)

    def next_id(self) -> int:
        # Concurrent layer requests of a pull take their ids in layer order (concurrency.in_turn).
        return in_turn(self._take_id)

    def _take_id(self) -> int:
        with self._lock:
            self._last_id += 1
            return self._last_id

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def exchanges(self) -> tuple[Exchange, ...]:
        """Every exchange recorded so far, ordered by id."""
        with self._lock:
            return tuple(sorted(self._exchanges, key=lambda e: e.id))


class _Watch:
    """The sockets of one client, so that its deadline (or Ctrl-C) can cut every one of them.

    A socket timeout bounds one ``recv``; a server that sends a header byte every 50 ms, or
    accepts and never finishes the TLS handshake, defeats it. ``abort`` shuts the client's
    sockets down, which wakes any thread blocked on them at once. It also notes, per thread,
    whether the request being sent opened a TCP connection and did a TLS handshake.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._local = threading.local()
        self.aborted_at: float | None = None
        self.reason = ""

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            aborted = self.aborted_at is not None
        if aborted:
            _shutdown(sock)

    def abort(self, reason: str) -> None:
        with self._lock:
            if self.aborted_at is not None:
                return
            self.aborted_at = time.monotonic()
            self.reason = reason
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    # -- per-request connection facts (the calling thread sends the request) --

    def begin(self) -> None:
        self._local.opened = False
        self._local.tls = False

    def opened(self) -> None:
        self._local.opened = True

    def handshake(self) -> None:
        self._local.tls = True

    def facts(self) -> tuple[bool, bool]:
        return bool(getattr(self._local, "opened", False)), bool(getattr(self._local, "tls", False))

    def untrack(self, sock: socket.socket) -> None:
        """``sock`` went back to a pool another client may take it from: this client's
        deadline must no longer cut it."""
        with self._lock:
            self._sockets.discard(sock)


def _unverified_context() -> ssl.SSLContext:
    """The TLS context of a client that does not verify (``--no-tls-verify``, docker's insecure
    registries), made once per client: left to itself urllib3 makes one per connection and loads
    the whole system CA store into it (a quarter of a second of CPU on a busy machine) only to
    ignore it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing to wake
        sock.shutdown(socket.SHUT_RDWR)


WatchOf = Callable[[], "_Watch | None"]
"""The watch of the client sending on the calling thread (``_Wire.serving``)."""


def _hand_over(conn: Any, watch: _Watch | None) -> None:
    """Make ``watch`` the one that may cut ``conn``'s socket (a pooled connection changes
    hands between the clients of a batch, and only its current user's deadline applies)."""
    sock = getattr(conn, "sock", None)
    if not isinstance(sock, socket.socket):
        return
    previous = getattr(conn, "diagnose_watch", None)
    if previous is not None and previous is not watch:
        previous.untrack(sock)
    if watch is not None:
        watch.track(sock)
    conn.diagnose_watch = watch


def _pool_classes(watch_of: WatchOf, keep_alive: bool = True) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pools whose connections report to the sending client's watch (urllib3's
    documented hooks): a new socket, the TLS handshake, and a kept-alive connection taken
    from (or given back to) the pool, which keeps it as the emulated Go client would
    (``_give_back``)."""

    class Dialling:
        """A new socket is the sending client's: it counts it (and, over TLS, the handshake
        that ``connect`` does next, or fails doing) and may cut it."""

        tls = False

        def _new_conn(self) -> socket.socket:
            watch = watch_of()
            if watch is not None:
                watch.opened()
            sock: socket.socket = super()._new_conn()  # type: ignore[misc]
            if watch is not None:
                watch.track(sock)
                if self.tls:
                    watch.handshake()
            self.diagnose_watch = watch
            return sock

    class Conn(Dialling, HTTPConnection):
        pass

    class TlsConn(Dialling, HTTPSConnection):
        tls = True

        def connect(self) -> None:
            _share_context(self)
            super().connect()
            # The TLS socket replaces (and detaches) the plain one: the watch must hold it.
            _hand_over(self, watch_of())

    class Pooling:
        """A kept-alive connection changes hands: taken, it is the sending client's (its socket
        is open already); given back, nobody's, and kept the way the Go client keeps it."""

        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)  # type: ignore[misc]
            _hand_over(conn, watch_of())
            return conn

        def _put_conn(self, conn: Any) -> None:
            if conn is not None:
                _hand_over(conn, None)
            _give_back(self, conn, keep_alive)  # type: ignore[arg-type]

    class Pool(Pooling, HTTPConnectionPool):
        ConnectionCls = Conn

    class TlsPool(Pooling, HTTPSConnectionPool):
        ConnectionCls = TlsConn

    return {"http": Pool, "https": TlsPool}


def _share_context(conn: HTTPSConnection) -> None:
    """Give a verifying connection the TLS context of its trust roots, made once per process.

    Left to itself urllib3 builds a context for every connection and parses the CA bundle into
    it (the system's 140 roots: tens of ms of CPU); docker's pulls dial for every request, so a
    run against a public registry paid that a dozen times. The context holds exactly what urllib3
    would have put in it, so the handshake on the wire is the same.
    """
    plain = conn.ca_cert_dir is None and conn.ca_cert_data is None and conn.key_password is None
    if conn.ssl_context is None and conn.ca_certs and plain and conn.ssl_version is None:
        conn.ssl_context = _verified_context(conn.ca_certs, conn.cert_file, conn.key_file)
        conn.ca_certs = conn.cert_file = conn.key_file = None


@functools.lru_cache(maxsize=16)
def _verified_context(ca_certs: str, cert_file: str | None, key_file: str | None) -> ssl.SSLContext:
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    context.load_verify_locations(cafile=ca_certs)
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    return context


def _give_back(pool: HTTPConnectionPool, conn: Any, keep_alive: bool) -> None:
    """Return a connection to its pool the way Go's transport keeps idle connections.

    Without keep-alive (DisableKeepAlives) it is closed, so the next request dials again. With
    it, at most the pool's size stay idle (MaxIdleConnsPerHost); one more is closed, silently
    (urllib3 would log a warning for it, and Go closes it without a word).
    """
    if conn is not None and not keep_alive:
        conn.close()
    idle = pool.pool
    if idle is None:  # the pool was closed
        if conn is not None:
            conn.close()
        return
    try:
        idle.put(conn, block=False)
    except queue.Full:
        if conn is not None:
            conn.close()


class _WireAdapter(requests.adapters.HTTPAdapter):
    """The single place a request goes on the wire.

    No retries (a retry would hide the first failure, which is the evidence) and no redirects
    (``RecordingClient`` follows them, recording each hop). The prepared request's headers are
    an ``urllib3`` ``HTTPHeaderDict``: urllib3's ``HTTPConnection.request`` calls
    ``putheader`` once per ``items()`` pair, so a repeated name goes out as separate header
    lines (docker 1.12 sends four ``Accept`` lines), which requests' own
    ``CaseInsensitiveDict`` cannot express. Its connections report to the client's ``_Watch``.
    """

    def __init__(
        self,
        watch_of: WatchOf,
        ssl_context: ssl.SSLContext | None = None,
        *,
        pool_size: int = 10,
        keep_alive: bool = True,
    ) -> None:
        self._watch_of = watch_of
        self._ssl_context = ssl_context
        self._keep_alive = keep_alive
        super().__init__(
            max_retries=Retry(total=0, connect=0, read=False, redirect=False, status=0),
            pool_maxsize=max(pool_size, 1),
        )

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._ssl_context is not None:
            kwargs.setdefault("ssl_context", self._ssl_context)
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._watch_of, self._keep_alive)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        # proxied sockets are cut too
        manager.pool_classes_by_scheme = _pool_classes(self._watch_of, self._keep_alive)
        return manager


class Wire:
    """The connections a client's requests go out on: urllib3's pools, the TLS roots and
    context, for one set of ``TransportOptions``.

    A client makes its own (closed with it), or a batch lends one ``Wire`` to the same pull
    kind of every reference (``connection_pools.py``), so a later reference finds the earlier
    ones' connections kept alive. Either way each request reports its sockets to the watch of
    the client sending it (``serving``): that client's deadline and Ctrl-C cut them, and its
    exchange records whether it opened a connection. Nothing else is shared: each client keeps
    its own session (no cookies), secrets, recorder and deadline.
    """

    def __init__(self, options: TransportOptions, *, pool_size: int | None = None) -> None:
        self._local = threading.local()
        self._bundle: str | None = None  # a temporary CA bundle: the roots plus options.ca_files
        self.verify = self._verify_setting(options)
        self.client_cert = options.client_cert
        context = _unverified_context() if options.verify is False else None
        # A client's own wire keeps as many idle connections per host as the Go client
        # (options.idle_per_host); a batch's shared wire keeps more (connection_pools.py).
        size = options.idle_per_host if pool_size is None else pool_size
        self.adapter = _WireAdapter(self._current, context, pool_size=size, keep_alive=options.keep_alive)
        if options.verify is False:
            # The user asked for it (--tls-verify=false); the warning would only be noise.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def _current(self) -> _Watch | None:
        watch: _Watch | None = getattr(self._local, "watch", None)
        return watch

    @contextlib.contextmanager
    def serving(self, watch: _Watch) -> Iterator[None]:
        """Connections made or taken on this thread meanwhile belong to ``watch``."""
        previous = self._current()
        self._local.watch = watch
        try:
            yield
        finally:
            self._local.watch = previous

    def close(self) -> None:
        self.adapter.close()
        if self._bundle is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._bundle)
            self._bundle = None

    def _verify_setting(self, options: TransportOptions) -> bool | str:
        """requests' ``verify``: certs.d CAs are added to the roots in use (the system's, or
        the --ca-cert bundle), as Go clients add them to the pool (tlsclientconfig)."""
        if options.verify is False or not options.ca_files:
            return options.verify
        base = options.verify if isinstance(options.verify, str) else _system_bundle()
        parts: list[bytes] = []
        for path in (base, *options.ca_files):
            if path:
                with contextlib.suppress(OSError):
                    parts.append(Path(path).read_bytes().rstrip(b"\n") + b"\n")
        handle, name = tempfile.mkstemp(prefix="diagnose-ca-", suffix=".pem")
        with os.fdopen(handle, "wb") as out:
            out.write(b"".join(parts))
        self._bundle = name
        return name


def _user_agent(options: TransportOptions) -> str:
    return options.user_agent or f"diagnose/{__version__}"


def _has(pairs: Sequence[tuple[str, str]], name: str) -> bool:
    wanted = name.lower()
    return any(key.lower() == wanted for key, _ in pairs)


def _without(pairs: Sequence[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    lowered = {n.lower() for n in names}
    return [(k, v) for k, v in pairs if k.lower() not in lowered]


def _system_bundle() -> str | None:
    """The OS trust store Go clients read (Debian: /etc/ssl/certs/ca-certificates.crt)."""
    paths = ssl.get_default_verify_paths()
    if paths.cafile and os.path.isfile(paths.cafile):
        return paths.cafile
    fallback = "/etc/ssl/certs/ca-certificates.crt"
    return fallback if os.path.isfile(fallback) else str(requests.utils.DEFAULT_CA_BUNDLE_PATH)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RecordingClient:
    """An ``HttpClient`` that sends real requests and records every hop, redacted.

    ``secrets`` are strings (passwords) scrubbed from everything recorded; the client adds
    the credentials it sees on the way (Basic passwords, Bearer tokens, token answers).
    Nothing raises to the caller except programming errors: failures are ``Reply.failure``.
    """

    def __init__(
        self,
        recorder: Recorder,
        strategy: Strategy,
        options: TransportOptions = TransportOptions(),
        *,
        secrets: Sequence[str] = (),
        wire: Wire | None = None,
    ) -> None:
        self._recorder = recorder
        self._strategy = strategy
        self._options = options
        self._lock = threading.Lock()
        self._secrets: list[str] = [s for s in secrets if s]
        self._mine: list[Exchange] = []
        # One deadline for the whole pull (issue 8): every connect, read and body of this
        # client fits inside it, and when it passes the watch cuts whatever is still open.
        self._deadline = time.monotonic() + options.timeout
        self._watch = _Watch()
        self._timer = threading.Timer(options.timeout, self._watch.abort, args=("deadline",))
        self._timer.daemon = True
        self._timer.start()
        # A lent wire (a batch's) outlives this client; its owner closes it.
        self._owns_wire = wire is None
        self._wire = wire if wire is not None else Wire(options)
        self._retired: list[Wire] = []  # wires replaced by new_connections, closed with the client
        session = requests.Session()
        # No environment magic: no ~/.netrc credentials, no REQUESTS_CA_BUNDLE overriding
        # --ca-cert. Proxies are resolved per request below, like Go's ProxyFromEnvironment.
        session.trust_env = False
        session.headers.clear()
        # Neither docker's nor containers/image's registry client keeps a cookie jar.
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        session.mount("http://", self._wire.adapter)
        session.mount("https://", self._wire.adapter)
        self._session = session

    # ----------------------------------------------------------------- HttpClient

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    def exchanges(self) -> tuple[Exchange, ...]:
        """This client's exchanges by id (concurrent requests finish in any order)."""
        with self._lock:
            return tuple(sorted(self._mine, key=lambda e: e.id))

    def close(self) -> None:
        self._timer.cancel()
        # Session.close would close the adapter, which a lent wire shares with other clients.
        if self._owns_wire:
            self._wire.close()
        for wire in self._retired:
            wire.close()
        self._retired = []

    def new_connections(self) -> None:
        """Later requests go out on a wire of their own, as through a new Go ``http.Transport``:
        no connection opened so far is reused (the earlier ones are closed with the client)."""
        if self._owns_wire:
            self._retired.append(self._wire)
        self._wire, self._owns_wire = Wire(self._options), True
        self._session.mount("http://", self._wire.adapter)
        self._session.mount("https://", self._wire.adapter)

    def abort(self, reason: str = "interrupted") -> None:
        """Stop this client now: open requests fail at once, later ones are not sent (Ctrl-C)."""
        self._watch.abort(reason)

    def __enter__(self) -> RecordingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def refuse(
        self, step: str, method: str, url: str, detail: str, *, kind: StepKind = StepKind.OTHER
    ) -> int:
        exchange_id = self._recorder.next_id()
        secrets = self._secret_list()
        self._store(
            Exchange(
                id=exchange_id,
                strategy=self._strategy,
                step=step,
                kind=kind,
                request=RecordedRequest(method=method, url=redact_url(url, secrets)),
                failure=TransportFailure(FailureKind.CLIENT_SIDE, scrub_text(detail, secrets)),
            )
        )
        return exchange_id

    def send(
        self,
        step: str,
        method: str,
        url: str,
        *,
        kind: StepKind = StepKind.OTHER,
        headers: Sequence[tuple[str, str]] = (),
        basic_auth: tuple[str, str] | None = None,
        body: bytes | None = None,
        follow_redirects: bool = True,
        keep_auth_on_redirect: Callable[[str, str], bool] | None = None,
        body_sink: BodySink | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        stream_limit: int | None = None,
    ) -> Reply:
        pairs: list[tuple[str, str]] = [(str(k), str(v)) for k, v in headers]
        if basic_auth is not None:
            user, password = basic_auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            pairs = [*_without(pairs, "Authorization"), ("Authorization", f"Basic {token}")]
        if not _has(pairs, "User-Agent"):
            pairs.insert(0, ("User-Agent", _user_agent(self._options)))
        if not _has(pairs, "Accept-Encoding"):
            # Go's transport (docker, skopeo) adds this itself and decodes transparently.
            pairs.append(("Accept-Encoding", "gzip"))
        if not self._options.keep_alive and not _has(pairs, "Connection"):
            # Go's transport with DisableKeepAlives asks the server to close (net/http
            # transport.go persistConn.roundTrip: req.extraHeaders().Set("Connection", "close")).
            pairs.append(("Connection", "close"))
        self._learn(learned_secrets(pairs))

        current_method, current_url, current_body = method.upper(), url, body
        redirect_of: int | None = None
        note: str | None = None
        hops = 0
        while True:
            with self._wire.serving(self._watch):
                reply, exchange_id = self._hop(
                    step,
                    kind,
                    current_method,
                    current_url,
                    pairs,
                    current_body,
                    follow_redirects=follow_redirects,
                    body_sink=body_sink,
                    max_body=max_body,
                    stream_limit=stream_limit,
                    redirect_of=redirect_of,
                    note=note,
                )
            location = header_value(reply.headers, "Location")
            if (
                not follow_redirects
                or reply.failure is not None
                or reply.status not in REDIRECT_STATUSES
                or not location
            ):
                return reply
            try:
                next_url = urljoin(current_url, location.strip())
            except ValueError:
                next_url = location.strip()  # unparseable Location: the next hop says invalid_url
            if hops >= self._options.max_redirects:
                return self._too_many_redirects(step, kind, current_method, next_url, exchange_id, hops)
            hops += 1
            if reply.status in (301, 302, 303) and current_method not in ("GET", "HEAD"):
                # Go net/http (client.go redirectBehavior): 301/302/303 turn a POST into a GET
                # without body; 307/308 keep method and body.
                current_method, current_body = "GET", None
                pairs = _without(pairs, "Content-Type", "Content-Length")
            note = None
            if origin(current_url) != origin(next_url) and _has(pairs, "Authorization"):
                keep = keep_auth_on_redirect is not None and keep_auth_on_redirect(current_url, next_url)
                _, target_host, target_port = origin(next_url)
                target = f"{target_host}:{target_port}" if target_port else target_host
                if keep:
                    note = f"Authorization forwarded to {target} (allowed for this redirect)"
                else:
                    # OCI distribution-spec: MUST NOT forward Authorization across hosts;
                    # requests does the same since CVE-2018-18074.
                    pairs = _without(pairs, "Authorization", "Cookie")
                    note = f"Authorization not forwarded to {target} (scheme, host or port changed)"
            redirect_of = exchange_id
            current_url = next_url

    def scrub(self, text: str) -> str:
        """``text`` without any secret this client was given or learned (passwords, tokens).

        Pullers quote registry answers and URLs in their messages; run.py passes every string
        of a PullResult through here, so the one place that knows the secrets redacts them.
        """
        return scrub_text(text, self._secret_list())

    def secrets(self) -> tuple[str, ...]:
        """The secrets given and learned so far, for scrubbing the report as a whole."""
        return tuple(self._secret_list())

    # ----------------------------------------------------------------- internals

    def _secret_list(self) -> list[str]:
        with self._lock:
            return list(self._secrets)

    def _learn(self, found: Sequence[str]) -> None:
        with self._lock:
            for secret in found:
                if secret not in self._secrets:
                    self._secrets.append(secret)

    def _store(self, exchange: Exchange) -> None:
        self._recorder.add(exchange)
        with self._lock:
            self._mine.append(exchange)

    def _too_many_redirects(
        self, step: str, kind: StepKind, method: str, url: str, previous_id: int, hops: int
    ) -> Reply:
        exchange_id = self._recorder.next_id()
        secrets = self._secret_list()
        failure = TransportFailure(
            FailureKind.TOO_MANY_REDIRECTS, f"stopped after {hops} redirects (not sent)"
        )
        self._store(
            Exchange(
                id=exchange_id,
                strategy=self._strategy,
                step=step,
                kind=kind,
                request=RecordedRequest(method=method, url=redact_url(url, secrets)),
                failure=failure,
                redirect_of=previous_id,
            )
        )
        return Reply(exchange_id=exchange_id, url=url, status=None, failure=failure)

    def _proxy_for(self, url: str) -> str | None:
        """The proxy a Go client would use for ``url`` (localhost and loopback never)."""
        return choose_proxy(url, dict(self._options.proxy_env)).proxy

    def _not_sent(self, step: str) -> TransportFailure:
        if self._watch.reason == "interrupted":
            return TransportFailure(FailureKind.OTHER, "not sent: interrupted")
        return TransportFailure(
            FailureKind.TIMEOUT,
            f"not sent: {PULL_DEADLINE_NOTE} ({self._options.timeout:g} s) had already run out before {step}",
        )

    def _cut(self, step: str, started: float, failure: TransportFailure | None) -> TransportFailure:
        """The failure of a request the deadline (or Ctrl-C) cut: which step, how long it waited.

        A socket timeout that fired at the same moment keeps its own words (connect or read);
        anything else the cut socket raised (reset, EOF) was the cut, not the server.
        """
        if self._watch.reason == "interrupted":
            return TransportFailure(FailureKind.OTHER, "interrupted (Ctrl-C)")
        waited = time.monotonic() - started
        if failure is not None and failure.kind is FailureKind.TIMEOUT:
            first = failure.detail
        else:
            first = f"no complete answer within {waited:.1f} s (read timeout)"
        return TransportFailure(
            FailureKind.TIMEOUT,
            f"{first}; {PULL_DEADLINE_NOTE} ({self._options.timeout:g} s) ran out during {step}",
        )

    def _record_request(
        self, method: str, url: str, wire: Headers, body: bytes | None, secrets: Sequence[str]
    ) -> RecordedRequest:
        recorded: str | None = None
        if body is not None:
            ctype = header_value(wire, "Content-Type")
            text, encoding, truncated = recorded_body(body, ctype, secrets, RECORDED_BODY_LIMIT)
            if encoding == "base64":
                recorded = f"<{len(body)} bytes of binary data>"
            else:
                recorded = text + (" …(truncated)" if truncated else "")
        return RecordedRequest(
            method=method,
            url=redact_url(url, secrets),
            headers=redact_headers(wire, secrets),
            body=recorded,
        )

    def _hop(
        self,
        step: str,
        kind: StepKind,
        method: str,
        url: str,
        pairs: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        follow_redirects: bool,
        body_sink: BodySink | None,
        max_body: int,
        redirect_of: int | None,
        note: str | None,
        stream_limit: int | None = None,
    ) -> tuple[Reply, int]:
        exchange_id = self._recorder.next_id()
        started_at = _utc_now_ms()
        started = time.monotonic()
        timeout = self._options.timeout
        wire = HTTPHeaderDict()
        for key, value in pairs:
            wire.add(key, value)
        response: requests.Response | None = None
        recorded_response: RecordedResponse | None = None
        failure: TransportFailure | None = None
        reply_body = b""
        truncated = False
        status: int | None = None
        reason = ""
        received: Headers = ()
        proxy = self._proxy_for(url)
        claims: TokenClaims | None = None
        body_digest: str | None = None
        io_done: float | None = None  # when the network part ended (redaction is not the server's)
        remaining = self._deadline - started
        per_io = min(timeout, max(remaining, 0.001))  # connect and each read, inside the deadline
        self._watch.begin()
        try:
            if self._watch.aborted_at is not None or remaining <= 0:
                failure = self._not_sent(step)
            else:
                try:
                    prepared = self._session.prepare_request(requests.Request(method, url, data=body))
                except SEND_ERRORS as exc:
                    failure = failure_from_exception(exc, url=url, timeout=timeout, proxy=proxy)
                    prepared = None
            if failure is None and prepared is not None:
                for key, value in prepared.headers.items():
                    if key not in wire:  # Content-Length for bodies
                        wire.add(key, value)
                prepared.headers = wire  # type: ignore[assignment]  # see _WireAdapter
                try:
                    response = self._session.send(
                        prepared,
                        stream=True,
                        allow_redirects=False,
                        timeout=(per_io, per_io),
                        verify=self._wire.verify,
                        cert=self._wire.client_cert,
                        proxies={"http": proxy, "https": proxy} if proxy else {},
                    )
                except SEND_ERRORS as exc:
                    failure = failure_from_exception(exc, url=url, timeout=timeout, proxy=proxy)
                io_done = time.monotonic()
            if response is not None:
                raw = response.raw
                status = response.status_code
                reason = response.reason or http.client.responses.get(status, "")
                received = tuple((str(k), str(v)) for k, v in raw.headers.items())
                redirect_hop = (
                    follow_redirects
                    and status in REDIRECT_STATUSES
                    and bool(response.headers.get("Location"))
                )
                body_size: int | None
                if method == "HEAD":
                    length = response.headers.get("Content-Length", "")
                    body_size = int(length) if length.isdigit() else None
                    # No body follows: hand the connection back to the pool as Go does, or
                    # closing the response would drop it and the next request would show a
                    # TCP and TLS handshake the client never makes.
                    raw.release_conn()
                else:
                    length = response.headers.get("Content-Length", "")
                    reply_body, body_size, truncated, failure, body_digest = self._read_body(
                        raw,
                        keep=RECORDED_BODY_LIMIT if redirect_hop else max_body,
                        sink=None if redirect_hop else body_sink,
                        started=started,
                        url=url,
                        step=step,
                        expected=int(length) if length.isdigit() else None,
                        stream_limit=stream_limit,
                    )
                io_done = time.monotonic()
                self._learn(learned_secrets((), reply_body))
                # The claims are evidence read from the real token before redaction removes
                # it; they are recorded beside the body, never written into it.
                if len(reply_body) <= TOKEN_ANSWER_LIMIT:
                    claims = token_answer_claims(reply_body)
                secrets = self._secret_list()
                ctype = response.headers.get("Content-Type")
                # Only what can be kept is redacted (plus a margin, so that a secret that starts
                # before the cap is still whole): redacting a 4 MB body costs seconds of the
                # pull's deadline and keeps nothing more. The full body was read for secrets above.
                limit = self._recorder.body_allowance(RECORDED_BODY_LIMIT) if reply_body else 0
                text, encoding, record_truncated = recorded_body(
                    reply_body[: limit + REDACT_MARGIN], ctype, secrets, limit
                )
                self._recorder.spend(len(text))
                recorded_response = RecordedResponse(
                    status=status,
                    reason=reason,
                    headers=redact_headers(received, secrets),
                    body=text,
                    body_size=body_size,
                    body_truncated=truncated or record_truncated,
                    body_encoding=encoding,
                    # Only when the recording lacks part of the body: then replay still knows
                    # what the whole body hashed to when it was captured.
                    body_sha256=body_digest if (truncated or record_truncated) else None,
                )
        finally:
            if response is not None:
                response.close()
        cut_at = self._watch.aborted_at
        # A socket timeout that ran to the pull's deadline is the deadline too, even when the
        # deadline's timer thread has not fired yet (both are set to the same instant).
        timed_out_at_deadline = (
            failure is not None
            and failure.kind is FailureKind.TIMEOUT
            and io_done is not None
            and io_done >= self._deadline
        )
        if (cut_at is not None and io_done is not None and started <= cut_at <= io_done) or (
            timed_out_at_deadline
        ):
            # The deadline (or Ctrl-C) cut this request while it was under way: whatever the
            # socket error looked like, the reason is the deadline, and this step hit it.
            failure = self._cut(step, started, failure)
        new_connection, tls_handshake = self._watch.facts()
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        secrets = self._secret_list()
        if failure is not None:
            failure = TransportFailure(failure.kind, scrub_text(failure.detail, secrets))
        self._store(
            Exchange(
                id=exchange_id,
                strategy=self._strategy,
                step=step,
                request=self._record_request(method, url, tuple(wire.items()), body, secrets),
                response=recorded_response,
                failure=failure,
                elapsed_ms=elapsed_ms,
                redirect_of=redirect_of,
                note=scrub_text(note, secrets) if note else None,
                started_at=started_at,
                proxy=redact_url(proxy, secrets) if proxy else None,
                kind=kind,
                token_claims=claims,
                new_connection=new_connection,
                tls_handshake=tls_handshake,
            )
        )
        if failure is not None:
            reply = Reply(
                exchange_id=exchange_id,
                url=url,
                status=None,
                reason=reason,
                headers=received,
                body=reply_body,
                body_truncated=truncated,
                failure=failure,
                token_claims=claims,
            )
        else:
            reply = Reply(
                exchange_id=exchange_id,
                url=url,
                status=status,
                reason=reason,
                headers=received,
                body=reply_body,
                body_truncated=truncated,
                token_claims=claims,
                body_digest=body_digest,
                body_size=body_size,
            )
        return reply, exchange_id

    def _read_body(
        self,
        raw: Any,
        *,
        keep: int,
        sink: BodySink | None,
        started: float,
        url: str,
        step: str,
        expected: int | None = None,
        stream_limit: int | None = None,
    ) -> tuple[bytes, int, bool, TransportFailure | None, str | None]:
        """Read a body in chunks: keep ``keep`` bytes, stream all of it to ``sink`` if given
        (or, with ``stream_limit``, until more than that many bytes came).

        Returns ``(kept, bytes_read, truncated, failure, digest)``; ``digest`` is the sha256 of
        the whole body when it was read to its end, else None. Each read waits at most
        ``timeout``, and never past the pull's deadline.
        """
        timeout = self._options.timeout
        kept = bytearray()
        hasher = hashlib.sha256()
        total = 0
        truncated = False
        progress = self._options.progress if sink is not None else None
        # With a stream limit, never ask for more than one byte past it (issue 6 item 16).
        stream_chunk = STREAM_CHUNK if stream_limit is None else max(1, min(STREAM_CHUNK, stream_limit + 1))
        applied = timeout  # the socket's read timeout now
        while True:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                return bytes(kept), total, truncated, _deadline_failure(total, started, timeout, step), None
            read_timeout = min(timeout, remaining)
            # Near the deadline the next read must not outlast it. Shortened in steps, not at
            # every chunk: a system call per MiB was 8% of a layer's streaming time.
            shorten = read_timeout < applied - TIMEOUT_STEP or read_timeout < min(applied, TIMEOUT_STEP)
            if shorten:
                _set_socket_timeout(raw, read_timeout)
                applied = read_timeout
            try:
                if sink is not None:
                    data = raw.read(stream_chunk, decode_content=True)
                else:
                    data = raw.read1(READ_CHUNK, decode_content=True)
            except SEND_ERRORS as exc:
                if read_timeout < timeout and is_timeout(exc):
                    return (
                        bytes(kept),
                        total,
                        truncated,
                        _deadline_failure(total, started, timeout, step),
                        None,
                    )
                failure = failure_from_exception(exc, url=url, timeout=timeout, reading_body=True)
                return bytes(kept), total, truncated, failure, None
            if not data:
                return bytes(kept), total, truncated, None, "sha256:" + hasher.hexdigest()
            total += len(data)
            hasher.update(data)
            room = keep - len(kept)
            if len(data) > room:
                truncated = True
            kept += data[: max(room, 0)]
            if sink is not None:
                sink(data)
                if progress is not None:
                    progress(self._strategy.value, step, total, expected)
                if stream_limit is not None and total > stream_limit:
                    return bytes(kept), total, True, None, None
            elif truncated:
                return bytes(kept), total, truncated, None, None


def _utc_now_ms() -> str:
    """Wall-clock start of a request, ms precision: HAR viewers and the waterfall need it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


TIMEOUT_STEP = 0.5
"""Seconds a body read may outlast the pull's deadline at most (the deadline timer cuts the
socket anyway): the read timeout is shortened when it is this much above what is left."""


def _set_socket_timeout(raw: Any, seconds: float) -> None:
    """Shorten the socket timeout so the next read cannot run past the body deadline."""
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        sock.settimeout(max(seconds, 0.001))


def _deadline_failure(total: int, started: float, timeout: float, step: str) -> TransportFailure:
    elapsed = time.monotonic() - started
    return TransportFailure(
        FailureKind.TIMEOUT,
        f"body too slow: {total} bytes in {elapsed:.1f} s; "
        f"{PULL_DEADLINE_NOTE} ({timeout:g} s) ran out during {step}",
    )
