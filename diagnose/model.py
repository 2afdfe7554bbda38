"""The data model shared by every layer: exchanges, pull results, diagnoses, the report.

This module is the contract between the pullers, the rules and the renderers, and it is
the shape of the JSON report (``schema: diagnose/v1``). It must not import requests, rich
or typer, and it must not do I/O: everything here is a frozen value.

Everything stored here has already been redacted by the transport (see ``redact.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

SCHEMA = "diagnose/v1"


class Strategy(StrEnum):
    """The pull behaviours we compare: one per family of clients whose requests differ."""

    V2_ONLY = "v2-only"  # strict V2 client: skopeo / containers-image
    V2_THEN_V1 = "v2-then-v1"  # Docker Engine 1.6-1.12: V2, then fall back to the V1 API
    # Docker Engine >= 17 (graph-driver store): V2 endpoints only, https then http for insecure
    # registries (127.0.0.0/8 and --insecure-registry), manifest HEAD then GET (>= 20.10)
    DOCKER_ENDPOINTS = "docker-endpoints"
    # containerd's resolver (ctr, nerdctl, CRI, docker's containerd store): manifest HEAD first,
    # no /v2/ ping, auth only after a 401, per-host configuration (plain http for localhost)
    CONTAINERD = "containerd"
    # The strict pull again, anonymously, when an identity was used and a pull failed with 401,
    # 403 or 404: the difference tells "no access" from "not there" (the contrast run).
    V2_ONLY_ANONYMOUS = "v2-only-anonymous"


class Outcome(StrEnum):
    """How a pull ended, classified from what the registry really answered."""

    OK = "ok"
    UNAUTHORIZED = "unauthorized"  # 401: existence is not revealed
    DENIED = "denied"  # 403: authenticated but refused
    NOT_FOUND = "not_found"  # repo, tag or V1 image not found
    AUTH_FAILED = "auth_failed"  # credentials rejected by the token endpoint
    RATE_LIMITED = "rate_limited"
    TLS_ERROR = "tls_error"
    CONNECTION_ERROR = "connection_error"  # DNS, refused, reset
    TIMEOUT = "timeout"
    PROTOCOL_ERROR = "protocol_error"  # not a registry, unparseable answer, redirect loop
    UNSUPPORTED = "unsupported"  # no matching platform or media type
    INTEGRITY_ERROR = "integrity_error"  # digest mismatch
    SERVER_ERROR = "server_error"  # 5xx
    # Not a registry answer: diagnose itself failed (a bug in a puller or a rule). The pull's
    # evidence is kept, ``PullResult.tool_error`` says what broke, and the CLI exits 3.
    INTERNAL_ERROR = "internal_error"


class Protocol(StrEnum):
    """Which registry API produced the outcome a client reports."""

    V2 = "v2"
    V1 = "v1"


class FailureKind(StrEnum):
    """Why an exchange got no usable HTTP response."""

    DNS = "dns"
    REFUSED = "refused"
    RESET = "reset"
    TLS = "tls"
    TIMEOUT = "timeout"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BODY_TOO_LARGE = "body_too_large"  # kept as a note on a response, see RecordedResponse
    INVALID_URL = "invalid_url"
    CLIENT_SIDE = "client_side"  # the client refused to send (docker's "no basic auth credentials")
    PROXY = "proxy"  # the proxy refused or failed the tunnel (CONNECT answered 407, 502, ...)
    OTHER = "other"


class StepKind(StrEnum):
    """What a request is for, as the puller that sent it says (never guessed from its label).

    Facts and rules read this, so a step can be relabelled ("layer 2/3", "platform manifest")
    without changing a diagnosis.
    """

    PING = "ping"  # GET /v2/
    TOKEN = "token"  # Bearer token endpoint (the challenge's realm)
    MANIFEST = "manifest"  # GET/HEAD /v2/<name>/manifests/<ref> (index or platform manifest)
    CONFIG = "config"  # the config blob
    LAYER = "layer"  # a layer blob (HEAD, GET, or GET for the error body)
    V1_PING = "v1_ping"  # GET /v1/_ping
    V1_IMAGES = "v1_images"  # GET /v1/repositories/<name>/images (X-Docker-Token)
    V1_TAGS = "v1_tags"  # GET /v1/repositories/<name>/tags[/<tag>]
    V1_ANCESTRY = "v1_ancestry"  # GET /v1/images/<id>/ancestry
    V1_IMAGE_JSON = "v1_image_json"  # GET /v1/images/<id>/json
    V1_LAYER = "v1_layer"  # GET /v1/images/<id>/layer
    OTHER = "other"  # anything else (tests, a request a puller did not classify)

    @property
    def is_v1(self) -> bool:
        return self.value.startswith("v1_")


def step_kind_of_label(label: str) -> StepKind:
    """Best reading of a step label from a report written before ``kind`` was recorded.

    Only for loading old files (json_report, cassette); pullers always pass the kind.
    """
    text = label.strip().lower()
    exact = {
        "ping": StepKind.PING,
        "token": StepKind.TOKEN,
        "manifest": StepKind.MANIFEST,
        "platform manifest": StepKind.MANIFEST,
        "config": StepKind.CONFIG,
        "v1 ping": StepKind.V1_PING,
        "v1 images": StepKind.V1_IMAGES,
        "v1 tag": StepKind.V1_TAGS,
        "v1 tags": StepKind.V1_TAGS,
        "v1 ancestry": StepKind.V1_ANCESTRY,
        "v1 json": StepKind.V1_IMAGE_JSON,
        "v1 layer": StepKind.V1_LAYER,
    }
    if text in exact:
        return exact[text]
    if text.startswith("layer"):
        return StepKind.LAYER
    return StepKind.OTHER


Headers = tuple[tuple[str, str], ...]
"""Header pairs in wire order; a name may repeat (several WWW-Authenticate lines)."""


def header_values(headers: Headers, name: str) -> tuple[str, ...]:
    """All values of header ``name`` (case-insensitive), in order."""
    wanted = name.lower()
    return tuple(value for key, value in headers if key.lower() == wanted)


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of header ``name``, or None."""
    values = header_values(headers, name)
    return values[0] if values else None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as sent, after redaction."""

    method: str
    url: str
    headers: Headers = ()
    body: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """A response as received, after redaction; the body is capped (``body_truncated``)."""

    status: int
    reason: str
    headers: Headers = ()
    body: str = ""
    body_size: int | None = None  # bytes read (or Content-Length when the body was not read)
    body_truncated: bool = False
    body_encoding: str = "utf-8"  # "utf-8" or "base64" for binary bodies
    # sha256 of the whole body as received, kept when ``body`` is not all of it (a streamed
    # layer, a capped config): replay then keeps the verdict made at capture time.
    body_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """An exchange that never produced a response (or was abandoned while reading it)."""

    kind: FailureKind
    detail: str


@dataclass(frozen=True, slots=True)
class TokenAccess:
    """One entry of a token's ``access`` claim (distribution docs/spec/auth/jwt.md)."""

    type: str  # "repository", "registry" ...
    name: str  # "library/busybox"
    actions: tuple[str, ...]  # ("pull",); empty: the token grants nothing on that name

    @property
    def scope(self) -> str:
        """``repository:library/busybox:pull`` (actions comma-joined; empty after the last colon)."""
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The decoded claims of a Bearer token (a JWT) the registry's token server issued.

    Kept beside the recorded body, never inside it: the body keeps ``"token": "<redacted>"``.
    Only the claims that diagnose are kept; the signature never is.
    """

    iss: str | None = None
    sub: str | None = None  # "" when the token server issued an anonymous token
    aud: tuple[str, ...] = ()
    exp: int | None = None
    nbf: int | None = None
    iat: int | None = None
    access: tuple[TokenAccess, ...] | None = None  # None: the token has no access claim

    def actions_on(self, repository: str) -> tuple[str, ...] | None:
        """Actions granted on ``repository`` (every repository entry when it is ""); None: no claim."""
        if self.access is None:
            return None
        actions: list[str] = []
        for entry in self.access:
            if entry.type not in ("", "repository"):
                continue
            if repository and entry.name != repository:
                continue
            actions.extend(a for a in entry.actions if a not in actions)
        return tuple(actions)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and what came back: a response, or a transport failure."""

    id: int
    strategy: Strategy
    step: str  # "ping", "token", "manifest", "config", "layer 1/3", "v1 images", ...
    request: RecordedRequest
    response: RecordedResponse | None = None
    failure: TransportFailure | None = None
    elapsed_ms: float = 0.0
    redirect_of: int | None = None  # id of the exchange whose Location led here
    note: str | None = None  # e.g. "Authorization not forwarded to another host"
    started_at: str = ""  # ISO 8601 UTC, ms precision, when the request was sent ("" if unknown)
    proxy: str | None = None  # the proxy it went through (Go's ProxyFromEnvironment), redacted
    kind: StepKind = StepKind.OTHER  # what the request was for, as its puller said
    token_claims: TokenClaims | None = None  # decoded claims of a token in the response body
    # What the request cost in round trips before the first byte (None: not known, e.g. an
    # older report): whether it opened a new TCP connection, and whether that did a TLS handshake.
    new_connection: bool | None = None
    tls_handshake: bool | None = None


@dataclass(frozen=True, slots=True)
class RegistryError:
    """One entry of a registry error body (``{"errors": [...]}``) or its legacy forms."""

    code: str  # upper-case code, e.g. "UNAUTHORIZED"; "UNKNOWN" when unrecognised
    message: str
    detail: str | None = None  # JSON text of the detail, if any


@dataclass(frozen=True, slots=True)
class PullError:
    """Structured evidence for a failed pull: where it failed and what was said."""

    step: str
    exchange_id: int | None = None
    status: int | None = None
    registry_errors: tuple[RegistryError, ...] = ()
    challenge_error: str | None = None  # the Bearer challenge's error= parameter, if any
    failure: TransportFailure | None = None
    detail: str = ""  # one line in plain words, e.g. "manifest GET answered 401"
    kind: StepKind | None = None  # the failing step's kind (else: that of exchange_id)


@dataclass(frozen=True, slots=True)
class PullStep:
    """A line of the comparison table: one step of a pull and how it went."""

    label: str
    method: str
    url: str
    status: int | None  # None when no response (transport failure or client-side refusal)
    result: str  # short words: "401 Bearer challenge", "token (access: none)", "refused" ...
    exchange_id: int | None = None


@dataclass(frozen=True, slots=True)
class MessageVariant:
    """Another form of a client's output, printed under another condition (``when``).

    Docker 1.12 ends a 401 from its daemon differently in a terminal (a login prompt) and
    without one (an error): the report shows one form as ``message`` and keeps the other here.
    """

    when: str
    message: str


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """One token request of a pull: the scope asked and what the token server granted."""

    exchange_id: int  # the token request's exchange
    scope: str  # asked, e.g. "repository:library/busybox:pull"
    issued: bool  # a token came back (False: refused, failed, or an answer without a token)
    access: tuple[TokenAccess, ...] | None = None  # granted; None: opaque token or none issued
    subject: str | None = None  # the token's ``sub``: "" for an anonymous token, None: unknown

    def actions_on(self, repository: str) -> tuple[str, ...] | None:
        """Actions granted on ``repository``; None when the grant is unknown."""
        if not self.issued or self.access is None:
            return None
        return TokenClaims(access=self.access).actions_on(repository)


@dataclass(frozen=True, slots=True)
class PullResult:
    """What one strategy did and what its client would have printed."""

    strategy: Strategy
    outcome: Outcome
    protocol: Protocol | None  # the API that produced the reported outcome
    message: str  # the line that client would print
    client: str  # which client the message models, with version, e.g. "skopeo 1.16 (c/image 5.32)"
    steps: tuple[PullStep, ...] = ()
    exchanges: tuple[Exchange, ...] = ()
    error: PullError | None = None
    notes: tuple[str, ...] = ()  # human-readable remarks; rules never parse them
    variants: tuple[MessageVariant, ...] = ()  # the client's other outputs, e.g. in a terminal
    daemon_error: str | None = None  # docker: the daemon's own error, before the CLI printed it
    tokens: tuple[TokenGrant, ...] = ()  # every token request: scope asked, access granted
    tool_error: str | None = None  # set only with Outcome.INTERNAL_ERROR: the bug, in one line

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed image reference, normalised the way docker reads it."""

    input: str
    domain: str  # "docker.io", "localhost:5000", "127.0.0.1:8080"
    path: str  # "library/ubuntu"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """``domain/path``: the fully qualified repository name."""
        return f"{self.domain}/{self.path}"

    @property
    def canonical(self) -> str:
        """``docker.io/library/ubuntu:latest``: tag defaults to latest unless a digest is given."""
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def familiar(self) -> str:
        """What docker shows: ``ubuntu:latest``, ``alice/app:1``, ``host:5000/app:1``."""
        if self.domain == "docker.io":
            short = self.path.removeprefix("library/") if self.path.count("/") == 1 else self.path
        else:
            short = self.name
        if self.tag:
            short += f":{self.tag}"
        if self.digest:
            short += f"@{self.digest}"
        return short

    @property
    def reference_in_repo(self) -> str:
        """The tag or digest used in ``/v2/<path>/manifests/<ref>`` (digest wins)."""
        return self.digest or self.tag or "latest"


class AuthMode(StrEnum):
    ANONYMOUS = "anonymous"
    CREDENTIALS = "credentials"


@dataclass(frozen=True, slots=True)
class AuthInfo:
    """Which identity was presented; never the password."""

    mode: AuthMode
    source: str  # "none", "--creds", "docker config", ...
    username: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A further finding of a diagnosis: what another pull revealed (``findings`` in the JSON).

    The ``Diagnosis`` itself is the primary finding; these are the others, in rule order.
    """

    id: str  # a rule id, like Diagnosis.id
    title: str
    explanation: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The explanation: why the two pulls differ, what is known, what to do next."""

    id: str
    differ: bool
    title: str
    explanation: str
    known: tuple[str, ...] = ()
    unknowable: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    tool_error: str | None = None  # the rules themselves failed (a bug in diagnose): what broke
    findings: tuple[Finding, ...] = ()  # what else the pulls revealed, beyond the primary finding


@dataclass(frozen=True, slots=True)
class ClientPrediction:
    """What one modelled client prints for the pull its family makes (``clients`` in the JSON)."""

    client: str  # model id, e.g. "docker-20.10"
    name: str  # human name with versions, e.g. "Docker Engine 19.03-28 (graph-driver store)"
    strategy: Strategy  # the pull the prediction derives from
    message: str  # exactly what the client prints; "" when it would succeed
    exit_code: int  # the client's exit status; 0 when it would succeed
    source: str  # repository, file and version the wording comes from


@dataclass(frozen=True, slots=True)
class PullIdentity:
    """Which identity one pull presented and where it came from; never the secret."""

    strategy: Strategy
    mode: AuthMode
    source: str  # "--creds", "file …, key "…"", "credential helper docker-credential-…", "none"
    username: str | None = None
    identity_token: bool = False  # an OAuth2 refresh token (``identitytoken``) instead of a password
    stored: bool = False  # a stored login (auth file or credential helper), not one given on the command line
    looked_up: str | None = None  # the stored-login key this pull's client looks up
    problem: str | None = None  # why a stored login could not be used (a helper failed)
    near_miss: str | None = None  # a login stored under a key this client does not match
    unused_login: str | None = None  # a stored login that was not used (--anonymous)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What the user asked of a run, as typed values, so ``replay`` can rebuild it exactly."""

    platform: str = "linux/amd64"
    tls_verify: bool = True
    ca_cert: str | None = None  # the --ca-cert path given (the file itself is not kept)
    insecure_registries: tuple[str, ...] = ()
    verify_layers: bool = False
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one ``compare`` produced; serialised by render/json_report.py."""

    reference: ImageReference
    auth: AuthInfo
    pulls: tuple[PullResult, ...]
    diagnosis: Diagnosis
    tool_version: str
    created: str = ""  # ISO 8601 UTC
    options: tuple[tuple[str, str], ...] = field(default=())  # platform, tls-verify, ...
    clients: tuple[ClientPrediction, ...] = ()  # every modelled client's prediction
    table: tuple[Strategy, ...] = ()  # the pulls the comparison table shows; () = every pull
    settings: RunSettings | None = None  # the options, typed; None in reports written before it
    identities: tuple[PullIdentity, ...] = ()  # per pull; () in reports written before them
    replayed_at: str = ""  # ISO 8601 UTC of the ``diagnose replay`` that produced this report

    @property
    def table_pulls(self) -> tuple[PullResult, ...]:
        """The pulls the comparison table shows (and the exit code reads); the others feed the
        client predictions."""
        if not self.table:
            return self.pulls
        return tuple(p for p in self.pulls if p.strategy in self.table)

    @property
    def exchanges(self) -> tuple[Exchange, ...]:
        """All exchanges of all pulls, ordered by id."""
        return tuple(sorted((e for p in self.pulls for e in p.exchanges), key=lambda e: e.id))
