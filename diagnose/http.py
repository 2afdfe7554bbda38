"""The seam between pullers and the network: what a puller sends and what it gets back.

Pullers, replay and tests program against ``HttpClient``; this module must not import
``requests`` (or anything that sends), so a puller can be imported and tested without it and
``diagnose --version`` stays fast. ``transport.RecordingClient`` sends for real;
``replay.ReplayClient`` answers from a recording.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from diagnose.model import Exchange, Headers, StepKind, Strategy, TokenClaims, TransportFailure

DEFAULT_MAX_BODY = 4 * 1024 * 1024
"""Bytes of a body a puller may read into memory (manifests, token answers, error pages)."""

RECORDED_BODY_LIMIT = 64 * 1024
"""Bytes of a body kept in the recording (terminal, JSON, HAR, cassette)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What a puller sees of one logical request (after following redirects).

    Unlike the recorded ``Exchange``, the headers and body are NOT redacted: a puller
    needs the real token to use it. A Reply must never be stored or rendered.
    """

    exchange_id: int  # id of the last hop's Exchange
    url: str  # final URL, after redirects
    status: int | None  # None when failure is set
    reason: str = ""
    headers: Headers = ()
    body: bytes = b""  # at most max_body bytes
    body_truncated: bool = False
    failure: TransportFailure | None = None
    token_claims: TokenClaims | None = None  # decoded claims of a token in the body (as recorded)
    # "sha256:<hex>" of the whole body, when it was read to its end (streamed to a body_sink,
    # or not longer than max_body). Pullers verify digests with it, so a replayed recording
    # whose body was not kept still gets the verdict made when it was captured.
    body_digest: str | None = None
    body_size: int | None = None  # bytes of the body read (as recorded, in a replay)


BodySink = Callable[[bytes], None]


class HttpClient(Protocol):
    """What a puller needs from a transport: send a request under a step label."""

    @property
    def strategy(self) -> Strategy: ...

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
        """Send one request; record each hop; return the final answer or the failure.

        - ``kind`` says what the request is for; it is recorded on every hop and is what the
          rules read (``step`` is only the label shown to people). Pullers always pass it.
        - ``headers`` may repeat a name (docker 1.12 sends four separate Accept headers).
        - ``basic_auth`` sets ``Authorization: Basic``; it is recorded redacted.
        - redirects (301/302/303/307/308) are followed by the client itself, at most 10 hops,
          each hop recorded as its own Exchange with ``redirect_of`` set. ``Authorization`` is
          dropped when scheme, host or port change unless ``keep_auth_on_redirect(from, to)``
          says otherwise; the drop is noted on the Exchange. Too many hops -> failure
          ``too_many_redirects``.
        - ``body_sink`` receives every body chunk as it streams; the Reply body then keeps
          only ``max_body`` bytes. Without a sink, reading stops at ``max_body`` and
          ``body_truncated`` is set. ``Reply.body_digest`` is the sha256 of the whole body
          whenever it was read to its end (check digests with it, not with ``body``).
        - ``stream_limit`` (with a sink): stop streaming once more than this many bytes came
          (the size the manifest declared), so a server cannot stream forever into a
          ``--layers`` check; ``body_truncated`` is then set and there is no ``body_digest``.
        - transport failures (DNS, refused, reset, TLS, timeout) are returned as
          ``Reply.failure``, never raised.
        """
        ...

    def refuse(
        self, step: str, method: str, url: str, detail: str, *, kind: StepKind = StepKind.OTHER
    ) -> int:
        """Record a request the client refused to send (kind ``client_side``); return its id.

        Docker's ``no basic auth credentials`` never reaches the wire, but it is a step of
        the pull and the evidence must show it.
        """
        ...

    def exchanges(self) -> tuple[Exchange, ...]:
        """Every exchange this client recorded, in order."""
        ...

    def new_connections(self) -> None:
        """From now on send on connections of a new pool, as a client that builds a new Go
        ``http.Transport`` midway does (containerd's fetcher): nothing opened so far is reused."""
        ...


ProgressSink = Callable[[str, str, int, "int | None"], None]
"""``(pull, step, bytes so far, Content-Length or None)``, called as a streamed body (a layer)
arrives; the CLI draws a progress bar from it on a terminal."""


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """How the transport connects; the same for both pullers."""

    verify: bool | str = True  # False = skip TLS verification; str = CA bundle path (--ca-cert)
    # Seconds one pull may take as a whole (issue 8): no server can hold a pull past it; each
    # connect and each read waits at most this long, and never past the pull's deadline.
    timeout: float = 30.0
    user_agent: str | None = None  # default: diagnose/<version>
    max_redirects: int = 10
    progress: ProgressSink | None = None  # streamed bodies report here (compare --layers)
    # HTTP(S)_PROXY / NO_PROXY / REQUEST_METHOD as the user's environment had them (both cases);
    # the proxy of each request is chosen from these like Go's ProxyFromEnvironment (proxy.py).
    proxy_env: tuple[tuple[str, str], ...] = ()
    # CA files added to the trusted roots (a certs.d directory's *.crt, skopeo --cert-dir), and
    # the client certificate pair (NAME.cert, NAME.key) for registries that ask for one.
    ca_files: tuple[str, ...] = ()
    client_cert: tuple[str, str] | None = None
    # The emulated client's connection reuse (Go's http.Transport). keep_alive=False is
    # DisableKeepAlives: every request opens its own connection (and TLS handshake) and says
    # ``Connection: close``. idle_per_host is MaxIdleConnsPerHost: connections beyond it are
    # closed once their request is done (Go's DefaultMaxIdleConnsPerHost is 2).
    keep_alive: bool = True
    idle_per_host: int = 2
