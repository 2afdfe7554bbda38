"""A transport that serves a recording: re-run the pullers offline on a user's attachment.

``ReplayClient`` implements ``HttpClient`` from recorded ``Exchange`` values (from a JSON
report or a cassette). It must not send anything, must not raise on a request the recording
does not hold (that is evidence: a ``Reply.failure`` of kind ``other``), and must not try to
undo redaction: a replayed token answer says ``"<redacted>"`` and that is fine, because the
recorded registry answers do not depend on it.

Replay must not change the evidence: a served exchange is the recorded one, id, timing,
step kind and redirect link included; only requests the recording does not hold get new
ids (after every recorded one). A body that was not recorded whole is never re-judged: its
``Reply.body_digest`` is the digest taken when it was captured (``RecordedResponse.body_sha256``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence

from diagnose.http import DEFAULT_MAX_BODY, BodySink, Reply
from diagnose.model import (
    AuthMode,
    Exchange,
    FailureKind,
    RecordedRequest,
    RecordedResponse,
    Report,
    RunSettings,
    StepKind,
    Strategy,
    TokenClaims,
    TransportFailure,
)
from diagnose.pullers.options import PullOptions
from diagnose.redact import redact_url

REDACTED_PASSWORD = "<redacted>"
"""Stands in for the password, which was never recorded: docker sends ``account=`` only when
both a user and a password are set, so a placeholder keeps the requests the same shape."""


def settings_of(saved: Report) -> RunSettings:
    """The run's settings: the typed ones, or, for reports written before them, the text options."""
    if saved.settings is not None:
        return saved.settings
    text = dict(saved.options)
    try:
        timeout = float(text.get("timeout", "30"))
    except ValueError:
        timeout = 30.0
    return RunSettings(
        platform=text.get("platform", "linux/amd64"),
        tls_verify=text.get("tls_verify", "true") == "true",
        verify_layers=text.get("verify_layers", "false") == "true",
        timeout=timeout,
    )


IDENTITY_OF = {Strategy.DOCKER_ENDPOINTS: Strategy.V2_THEN_V1, Strategy.CONTAINERD: Strategy.V2_ONLY}
"""The pull whose identity a family's pull presents: docker >= 17 reads docker's stored login
like docker 1.12; ctr is given the user's ``--user`` like the strict pull."""


def replay_options(saved: Report, strategy: Strategy | None = None) -> PullOptions:
    """The PullOptions of one pull (``strategy``) of the run that produced ``saved``: every
    setting that shapes requests, and the identity that pull presented.

    The one place replay rebuilds a run (``diagnose replay`` and the cassette tests use it):
    an option left out here makes the pullers ask for requests the recording does not hold.
    Secrets were never recorded; placeholders keep the requests the same shape.
    """
    settings = settings_of(saved)
    credentials = (saved.auth.username, REDACTED_PASSWORD) if saved.auth.username else None
    identity_token = None
    like = IDENTITY_OF.get(strategy, strategy) if strategy is not None else None
    own = next((i for i in saved.identities if i.strategy is like), None)
    if own is not None:
        credentials, identity_token = None, None
        if own.mode is AuthMode.CREDENTIALS and own.identity_token:
            identity_token = REDACTED_PASSWORD
        elif own.mode is AuthMode.CREDENTIALS:
            credentials = (own.username or "", REDACTED_PASSWORD)
    return PullOptions(
        credentials=credentials,
        identity_token=identity_token,
        platform=settings.platform,
        tls_verify=settings.tls_verify,
        insecure_registries=settings.insecure_registries,
        verify_layers=settings.verify_layers,
    )


def id_source(exchanges: Sequence[Exchange]) -> Iterator[int]:
    """Ids for exchanges a replay adds (requests not in the recording): after every recorded id.

    Share one between the replay clients of a report so the new ids stay unique.
    """
    return itertools.count(max((e.id for e in exchanges), default=0) + 1)


def recorded_digest(response: RecordedResponse, body: bytes) -> str | None:
    """The digest of the whole body as captured: recorded, or computed when the body is all there."""
    if response.body_sha256 is not None:
        return response.body_sha256
    complete = not response.body_truncated and (response.body_size is None or response.body_size == len(body))
    return "sha256:" + hashlib.sha256(body).hexdigest() if complete else None


def _is_refusal(exchange: Exchange) -> bool:
    return exchange.failure is not None and exchange.failure.kind is FailureKind.CLIENT_SIDE


def _body_bytes(response: RecordedResponse) -> bytes:
    if response.body_encoding == "base64":
        try:
            return base64.b64decode(response.body)
        except (binascii.Error, ValueError):
            return b""
    return response.body.encode("utf-8")


class ReplayClient:
    """Serve, per strategy and in order, the recorded answer to each matching request.

    A request matches the first unserved exchange of this strategy with the same method and
    the same redacted URL (a chain start is preferred over a redirect hop). When the
    recorded answer is a redirect that the original client followed, the recorded hops are
    served too, as ``RecordingClient`` would have followed them.
    """

    def __init__(
        self, exchanges: Sequence[Exchange], strategy: Strategy, *, new_ids: Iterator[int] | None = None
    ) -> None:
        self._strategy = strategy
        self._recorded = sorted((e for e in exchanges if e.strategy == strategy), key=lambda e: e.id)
        self._served: set[int] = set()
        self._mine: list[Exchange] = []
        self._lock = threading.Lock()
        self._new_ids = new_ids if new_ids is not None else id_source(exchanges)

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    def exchanges(self) -> tuple[Exchange, ...]:
        """Served and added exchanges by id, as ``RecordingClient`` gives them."""
        with self._lock:
            return tuple(sorted(self._mine, key=lambda e: e.id))

    def close(self) -> None:
        """Nothing to release; present for symmetry with ``RecordingClient``."""

    def new_connections(self) -> None:
        """A recording has no connections to renew: each served exchange keeps its recorded
        ``new_connection`` and ``tls_handshake``."""

    def refuse(
        self, step: str, method: str, url: str, detail: str, *, kind: StepKind = StepKind.OTHER
    ) -> int:
        wanted = redact_url(url)
        with self._lock:
            recorded = self._take(method.upper(), wanted, refused=True)
            if recorded is not None:  # the refusal was recorded too: keep it as it was
                self._mine.append(recorded)
                return recorded.id
        return self._add(
            step,
            kind,
            RecordedRequest(method=method, url=redact_url(url)),
            failure=TransportFailure(FailureKind.CLIENT_SIDE, detail),
        )

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
        stream_limit: int | None = None,  # a recording holds at most a prefix of any layer
    ) -> Reply:
        method = method.upper()
        wanted = redact_url(url)
        with self._lock:
            original = self._take(method, wanted)
        if original is None:
            detail = f"not in the recording: {method} {wanted}"
            failure = TransportFailure(FailureKind.OTHER, detail)
            exchange_id = self._add(step, kind, RecordedRequest(method=method, url=wanted), failure=failure)
            return Reply(exchange_id=exchange_id, url=url, status=None, failure=failure)
        while True:
            # The recorded exchange itself, id and all: replay adds no evidence of its own.
            with self._lock:
                self._mine.append(original)
            follow_up = None
            if follow_redirects and original.response is not None:
                with self._lock:
                    follow_up = self._take_hop(original.id)
            if follow_up is None:
                return self._reply(original, original.id, body_sink, max_body)
            original = follow_up

    # ----------------------------------------------------------------- internals

    def _take(self, method: str, url: str, *, refused: bool = False) -> Exchange | None:
        """The first unserved recorded exchange for this request; a client-side refusal (never
        sent) answers only ``refuse`` and a sent request only ``send``."""
        candidates = [
            e
            for e in self._recorded
            if e.id not in self._served
            and e.request.method.upper() == method
            and e.request.url == url
            and _is_refusal(e) == refused
        ]
        if not candidates:
            return None
        chosen = next((e for e in candidates if e.redirect_of is None), candidates[0])
        self._served.add(chosen.id)
        return chosen

    def _take_hop(self, original_id: int) -> Exchange | None:
        for e in self._recorded:
            if e.redirect_of == original_id and e.id not in self._served:
                self._served.add(e.id)
                return e
        return None

    def _add(
        self,
        step: str,
        kind: StepKind,
        request: RecordedRequest,
        *,
        response: RecordedResponse | None = None,
        failure: TransportFailure | None = None,
        elapsed_ms: float = 0.0,
        redirect_of: int | None = None,
        note: str | None = None,
        started_at: str = "",
        token_claims: TokenClaims | None = None,
        new_connection: bool | None = None,
        tls_handshake: bool | None = None,
    ) -> int:
        with self._lock:
            exchange = Exchange(
                id=next(self._new_ids),
                strategy=self._strategy,
                step=step,
                request=request,
                response=response,
                failure=failure,
                elapsed_ms=elapsed_ms,
                redirect_of=redirect_of,
                note=note,
                started_at=started_at,
                kind=kind,
                token_claims=token_claims,
                new_connection=new_connection,
                tls_handshake=tls_handshake,
            )
            self._mine.append(exchange)
            return exchange.id

    def _reply(
        self, original: Exchange, exchange_id: int, body_sink: BodySink | None, max_body: int
    ) -> Reply:
        response = original.response
        url = original.request.url
        if response is None:
            failure = original.failure or TransportFailure(FailureKind.OTHER, "recorded without response")
            return Reply(exchange_id=exchange_id, url=url, status=None, failure=failure)
        body = _body_bytes(response)
        digest = recorded_digest(response, body)
        if body_sink is not None and body:
            body_sink(body)
        kept = body[:max_body]
        truncated = response.body_truncated or len(body) > len(kept)
        if original.failure is not None:  # the body broke off mid-way
            return Reply(
                exchange_id=exchange_id,
                url=url,
                status=None,
                reason=response.reason,
                headers=response.headers,
                body=kept,
                body_truncated=truncated,
                failure=original.failure,
                token_claims=original.token_claims,
            )
        return Reply(
            exchange_id=exchange_id,
            url=url,
            status=response.status,
            reason=response.reason,
            headers=response.headers,
            body=kept,
            body_truncated=truncated,
            token_claims=original.token_claims,
            body_digest=digest,
            body_size=response.body_size,
        )
