"""Typed evidence extracted once from the pulls of a run: what the registry really said.

Pure: ``facts_from`` reads the recorded ``PullResult`` values (exchanges, errors, notes) and
returns a ``Facts`` value; the rule table in ``rules.py`` reads only ``Facts``. This module must
not do I/O, import requests, rich or typer, or word a diagnosis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from diagnose.model import (
    AuthInfo,
    AuthMode,
    Exchange,
    FailureKind,
    Outcome,
    Protocol,
    PullResult,
    Strategy,
    header_value,
    header_values,
)
from diagnose.urls import split_url

DOCKER_HUB_HOSTS = frozenset(
    {"registry-1.docker.io", "index.docker.io", "docker.io", "registry.hub.docker.com"}
)

TOKEN_CLAIMS_KEY = "diagnose_token_claims"
"""Key under which the transport keeps a token's decoded claims in a redacted token body."""

_CHALLENGE_ERROR = re.compile(r'(?:^|[\s,])error\s*=\s*"?([A-Za-z_]+)"?', re.IGNORECASE)
_NOTE_TOKEN_ACCESS = re.compile(r"^token\b.*?\b(?:access|granted(?: access)?)\s*[:=]\s*(.*)$", re.IGNORECASE)
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_PLAIN_HTTP_MARKERS = (
    "http response to https client",
    "wrong version number",
    "oversized record",
    "plain http",
    "unknown protocol",
)
"""TLS failures that mean the port speaks plain HTTP, not that the certificate is untrusted."""
_RATELIMIT_HEADERS = ("retry-after", "ratelimit-limit", "ratelimit-remaining", "docker-ratelimit-source")


@dataclass(frozen=True, slots=True)
class Facts:
    """What the two pulls prove, in the terms the rules need. Derived once by ``facts_from``.

    ``v2_*`` describe the strict V2 pull (v2-only), ``fb_*`` the docker-1.12-style pull
    (v2-then-v1). A missing pull leaves its outcome None.
    """

    auth_mode: AuthMode
    username: str | None
    host: str  # the registry host the V2 API was asked on ("" when unknown)
    repository: str  # from the manifest URL, "" when unknown
    ref: str  # tag or digest from the manifest URL, "" when unknown
    # strict V2 pull
    v2_outcome: Outcome | None
    v2_protocol: Protocol | None
    v2_message: str
    v2_client: str
    v2_status: int | None  # HTTP status of the failing exchange
    v2_step: str
    v2_codes: tuple[str, ...]  # registry error codes of the failure, first one first
    v2_failure: FailureKind | None
    v2_failure_detail: str
    # docker-1.12-style pull
    fb_outcome: Outcome | None
    fb_protocol: Protocol | None
    fb_message: str
    fb_client: str
    fb_status: int | None
    fell_back: bool  # its V2 leg gave up and the V1 API was asked
    client_side_refusal: str | None  # e.g. "no basic auth credentials": never reached the wire
    v1_statuses: tuple[int | None, ...]  # each V1 exchange's status (None: no response)
    no_v1_api: bool  # V1 was asked and answered 404 to every path
    # registry evidence from either pull
    challenge_error: str | None  # a 401 Bearer challenge's error= ("insufficient_scope", ...)
    challenge_schemes: tuple[str, ...]  # lower-case schemes of 401 challenges: ("bearer",)
    version_header: bool  # Docker-Distribution-Api-Version: registry/2.0 was seen
    ping_status: int | None  # the strict pull's GET /v2/
    token_status: int | None  # the last token endpoint answer
    token_actions: tuple[str, ...] | None  # actions the token grants on the repo; None: unknown
    rate_limit_headers: tuple[tuple[str, str], ...]  # Retry-After, ratelimit-* of 429 answers
    plain_http: bool  # a TLS handshake failed because the port speaks plain HTTP
    differ: bool  # the pulls report different outcomes or different protocols
    # distribution answered docker's manifest GET "OCI manifest found, but accept header does not
    # support OCI manifests" (registry/handlers/manifests.go): docker 1.12 cannot accept OCI types.
    oci_not_accepted: bool = False

    @property
    def anonymous(self) -> bool:
        return self.auth_mode is AuthMode.ANONYMOUS

    @property
    def is_docker_hub(self) -> bool:
        return self.host in DOCKER_HUB_HOSTS

    @property
    def login_command(self) -> str:
        """``docker login`` as the user would type it for this registry."""
        return "docker login" if self.is_docker_hub or not self.host else f"docker login {self.host}"

    @property
    def image(self) -> str:
        """``library/foo:latest`` or ``the image`` when the URL was never built."""
        if not self.repository:
            return "the image"
        sep = "@" if self.ref.startswith("sha256:") else ":"
        return f"{self.repository}{sep}{self.ref}" if self.ref else self.repository

    @property
    def token_grants_pull(self) -> bool | None:
        if self.token_actions is None:
            return None
        return "pull" in self.token_actions or "*" in self.token_actions

    @property
    def v2_refused_401(self) -> bool:
        """The strict pull was refused with a 401: "denied or does not exist" (existence hidden)."""
        return self.v2_outcome is Outcome.UNAUTHORIZED or (
            self.v2_outcome is Outcome.DENIED and self.v2_status == 401
        )

    @property
    def basic_only(self) -> bool:
        return "basic" in self.challenge_schemes and "bearer" not in self.challenge_schemes

    def any_outcome(self, *outcomes: Outcome) -> bool:
        return self.v2_outcome in outcomes or self.fb_outcome in outcomes


# ---------------------------------------------------------------------------------------------
# Deriving facts


def _pull(pulls: Sequence[PullResult], strategy: Strategy) -> PullResult | None:
    return next((p for p in pulls if p.strategy is strategy), None)


def _path(url: str) -> str:
    return split_url(url).path


def _is_v1(exchange: Exchange) -> bool:
    return _path(exchange.request.url).startswith("/v1/") or exchange.step.lower().startswith("v1")


def _is_token(exchange: Exchange) -> bool:
    return "token" in exchange.step.lower()


def _status(exchange: Exchange) -> int | None:
    return exchange.response.status if exchange.response is not None else None


def _failing_status(pull: PullResult | None) -> int | None:
    if pull is None:
        return None
    if pull.error is not None and pull.error.status is not None:
        return pull.error.status
    if pull.error is not None and pull.error.exchange_id is not None:
        for exchange in pull.exchanges:
            if exchange.id == pull.error.exchange_id:
                return _status(exchange)
    return None


def _claims_actions(exchange: Exchange, repository: str) -> tuple[str, ...] | None:
    """Actions granted by a token answer whose redacted body kept the decoded claims."""
    if exchange.response is None or TOKEN_CLAIMS_KEY not in exchange.response.body:
        return None
    try:
        data = json.loads(exchange.response.body)
    except (ValueError, RecursionError):
        return None
    claims = data.get(TOKEN_CLAIMS_KEY) if isinstance(data, dict) else None
    if not isinstance(claims, dict):
        return None
    access = claims.get("access")
    if not isinstance(access, list):
        return ()
    actions: list[str] = []
    for entry in access:
        if not isinstance(entry, dict) or entry.get("type") not in (None, "repository"):
            continue
        if repository and entry.get("name") not in (None, repository):
            continue
        for action in entry.get("actions") or ():
            if isinstance(action, str) and action not in actions:
                actions.append(action)
    return tuple(actions)


def _notes_actions(notes: Sequence[str], repository: str) -> tuple[str, ...] | None:
    """Token access from a puller note: ``token for scope S granted access: repository:x:pull``,
    ``token for S granted: nothing`` (pullers/v2_only.py, pullers/v2_then_v1.py) or a bare
    ``token access: pull``. Scopes of other repositories are ignored."""
    found: tuple[str, ...] | None = None
    for note in notes:
        match = _NOTE_TOKEN_ACCESS.search(note)
        if match is None:
            continue
        actions: list[str] = []
        for item in match.group(1).split(", "):
            item = item.strip().rstrip(".")
            if item.lower() in ("", "none", "nothing", "empty", "[]"):
                continue
            if item.count(":") >= 2:  # a scope: type:name:actions (the name may hold a port)
                kind_name, _, acts = item.rpartition(":")
                name = kind_name.partition(":")[2]
                if repository and name != repository:
                    continue
                item = acts
            actions.extend(a for a in item.split(",") if a and a not in actions)
        found = tuple(actions)
    return found


_OCI_NOT_ACCEPTED = re.compile(r"OCI (manifest|index) found, but accept header does not support OCI")


def facts_from(pulls: Sequence[PullResult], auth: AuthInfo) -> Facts:
    """Derive the facts the rules read from the two pull results (pure)."""
    v2 = _pull(pulls, Strategy.V2_ONLY)
    fb = _pull(pulls, Strategy.V2_THEN_V1)
    ordered = [p for p in (v2, fb) if p is not None] + [p for p in pulls if p not in (v2, fb)]
    exchanges = [e for p in ordered for e in p.exchanges]

    host = ""
    repository = ""
    ref = ""
    for exchange in exchanges:
        parts = split_url(exchange.request.url)
        if not host and parts.path.startswith("/v2/"):
            host = parts.netloc
        match = _MANIFEST_PATH.match(parts.path)
        if match and not repository:
            repository, ref = match.group("name"), match.group("ref")

    challenge_error: str | None = None
    for p in ordered:
        if p.error is not None and p.error.challenge_error:
            challenge_error = p.error.challenge_error
            break
    schemes: list[str] = []
    version_header = False
    rate_headers: list[tuple[str, str]] = []
    for exchange in exchanges:
        response = exchange.response
        if response is None:
            continue
        if any(
            "registry/2.0" in v.split()
            for v in header_values(response.headers, "Docker-Distribution-Api-Version")
        ):
            version_header = True
        if response.status == 401 and not _is_token(exchange):
            for value in header_values(response.headers, "WWW-Authenticate"):
                scheme = value.strip().split(" ", 1)[0].lower()
                if scheme and scheme not in schemes:
                    schemes.append(scheme)
                match = _CHALLENGE_ERROR.search(value)
                if match and challenge_error is None:
                    challenge_error = match.group(1)
        if response.status == 429:
            for name in _RATELIMIT_HEADERS:
                found = header_value(response.headers, name)
                if found is not None and all(n != name for n, _ in rate_headers):
                    rate_headers.append((name, found))

    token_status: int | None = None
    token_actions: tuple[str, ...] | None = None
    for exchange in exchanges:
        if _is_token(exchange) or (exchange.response and TOKEN_CLAIMS_KEY in exchange.response.body):
            if token_status is None or exchange.response is not None:
                token_status = _status(exchange)
            actions = _claims_actions(exchange, repository)
            if actions is not None and token_actions is None:
                token_actions = actions
    if token_actions is None:
        for p in ordered:
            token_actions = _notes_actions(p.notes, repository)
            if token_actions is not None:
                break

    ping_status = None
    if v2 is not None:
        ping = next((e for e in v2.exchanges if _path(e.request.url).rstrip("/") == "/v2"), None)
        ping_status = _status(ping) if ping is not None else None

    fb_exchanges = fb.exchanges if fb is not None else ()
    v1 = [e for e in fb_exchanges if _is_v1(e)]
    v1_statuses = tuple(_status(e) for e in v1)
    refusal = next(
        (
            e.failure.detail
            for e in fb_exchanges
            if e.failure is not None and e.failure.kind is FailureKind.CLIENT_SIDE
        ),
        None,
    )
    failure = v2.error.failure if v2 is not None and v2.error is not None else None
    tls_details = [
        e.failure.detail for e in exchanges if e.failure is not None and e.failure.kind is FailureKind.TLS
    ]
    if v2 is not None and v2.outcome is Outcome.TLS_ERROR:
        tls_details.append(v2.message)
    plain_http = any(marker in d.lower() for d in tls_details for marker in _PLAIN_HTTP_MARKERS)

    differ = False
    if v2 is not None and fb is not None:
        differ = v2.outcome is not fb.outcome or v2.protocol is not fb.protocol

    oci_not_accepted = any(
        e.response is not None
        and e.response.status == 404
        and _OCI_NOT_ACCEPTED.search(e.response.body) is not None
        for e in fb_exchanges
    )

    return Facts(
        auth_mode=auth.mode,
        username=auth.username,
        host=host,
        repository=repository,
        ref=ref,
        v2_outcome=v2.outcome if v2 else None,
        v2_protocol=v2.protocol if v2 else None,
        v2_message=v2.message if v2 else "",
        v2_client=v2.client if v2 else "",
        v2_status=_failing_status(v2),
        v2_step=v2.error.step if v2 is not None and v2.error is not None else "",
        v2_codes=tuple(e.code for e in v2.error.registry_errors) if v2 is not None and v2.error else (),
        v2_failure=failure.kind if failure is not None else None,
        v2_failure_detail=failure.detail if failure is not None else "",
        fb_outcome=fb.outcome if fb else None,
        fb_protocol=fb.protocol if fb else None,
        fb_message=fb.message if fb else "",
        fb_client=fb.client if fb else "",
        fb_status=_failing_status(fb),
        fell_back=bool(v1) or (fb is not None and fb.protocol is Protocol.V1),
        client_side_refusal=refusal,
        v1_statuses=v1_statuses,
        no_v1_api=any(s is not None for s in v1_statuses)
        and all(s == 404 for s in v1_statuses if s is not None),
        challenge_error=challenge_error,
        challenge_schemes=tuple(schemes),
        version_header=version_header,
        ping_status=ping_status,
        token_status=token_status,
        token_actions=token_actions,
        rate_limit_headers=tuple(rate_headers),
        plain_http=plain_http,
        differ=differ,
        oci_not_accepted=oci_not_accepted,
    )


# ---------------------------------------------------------------------------------------------
# Shared wording
