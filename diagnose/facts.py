"""Typed evidence extracted once from the pulls of a run: what the registry really said.

Pure: ``facts_from`` reads the recorded ``PullResult`` values (exchanges, errors, notes) and
returns a ``Facts`` value; the rule table in ``rules.py`` reads only ``Facts``. This module must
not do I/O, import requests, rich or typer, or word a diagnosis.
"""

from __future__ import annotations

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
    StepKind,
    Strategy,
    TokenGrant,
    header_value,
    header_values,
)
from diagnose.signals import NO_SIGNALS, Signals, index_platforms, signals_from
from diagnose.urls import split_url

DOCKER_HUB_HOSTS = frozenset(
    {"registry-1.docker.io", "index.docker.io", "docker.io", "registry.hub.docker.com"}
)

_CHALLENGE_ERROR = re.compile(r'(?:^|[\s,])error\s*=\s*"?([A-Za-z_]+)"?', re.IGNORECASE)
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

STRICT = Strategy.V2_ONLY
"""The pull the diagnosis measures every other against: a strict V2 client (skopeo)."""
FALLBACK = Strategy.V2_THEN_V1
"""docker 1.12's pull: the original question is why it disagrees with the strict one."""


@dataclass(frozen=True, slots=True)
class RunFlags:
    """What the user asked of the run that the suggested commands must repeat (never a secret)."""

    reference: str = ""  # the image reference as the user typed it ("" when unknown)
    tls_verify: bool = True
    ca_cert: str | None = None  # the --ca-cert path given
    insecure_registries: tuple[str, ...] = ()
    platform: str = "linux/amd64"

    @staticmethod
    def from_options(reference: str, options: Sequence[tuple[str, str]]) -> RunFlags:
        """From a report's ``options`` pairs (``tls_verify``, ``ca_cert``, ``insecure_registries``,
        ``platform``); unknown keys are ignored, missing ones keep their defaults."""
        given = dict(options)
        insecure = given.get("insecure_registries", "")
        return RunFlags(
            reference=reference,
            tls_verify=given.get("tls_verify", "true") != "false",
            ca_cert=given.get("ca_cert") or None,
            insecure_registries=tuple(h for h in insecure.replace(" ", ",").split(",") if h),
            platform=given.get("platform", "linux/amd64") or "linux/amd64",
        )


@dataclass(frozen=True, slots=True)
class PullFacts:
    """What one pull (of any strategy, known to the rules or not) proves. Derived from its
    typed evidence only: step kinds, token grants, errors, statuses; never from notes."""

    strategy: Strategy
    outcome: Outcome
    protocol: Protocol | None
    message: str
    client: str
    status: int | None  # HTTP status of the failing exchange
    step: str  # the failing step's label, for people
    step_kind: StepKind | None  # the failing step's kind, for rules
    codes: tuple[str, ...]  # registry error codes of the failure, first one first
    failure: FailureKind | None
    failure_detail: str
    asked_v1: bool  # the pull sent a V1 API request (docker's fallback)
    v1_statuses: tuple[int | None, ...]  # each V1 exchange's status (None: no response)
    client_side_refusal: str | None  # e.g. "no basic auth credentials": never reached the wire
    tokens: tuple[TokenGrant, ...]
    tool_error: bool = False  # the pull ended in a bug of diagnose, not a registry answer
    answered_schemes: tuple[str, ...] = ()  # URL schemes of its requests that got an HTTP answer

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass(frozen=True, slots=True)
class Facts:
    """What the pulls prove, in the terms the rules need. Derived once by ``facts_from``.

    Any number of pulls: ``pulls`` holds one ``PullFacts`` per pull, strict first, docker
    1.12's second, the others in the order they ran. ``v2_*`` describe the strict V2 pull
    (v2-only), ``fb_*`` the docker-1.12-style pull (v2-then-v1): the rules lead with why
    those two disagree. A missing pull leaves its outcome None; an unknown strategy is
    read like any other pull and never breaks a rule.
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
    # registry evidence from any pull
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
    v2_step_kind: StepKind | None = None
    token_issued: bool = False  # some token request of some pull got a token
    token_subject: str | None = None  # ``sub`` of the first issued token ("" = anonymous token)
    basic_sent: bool = False  # a request carried Basic credentials (user and password)
    pulls: tuple[PullFacts, ...] = ()
    tool_error: bool = False  # some pull ended in a bug of diagnose itself
    # The catalogue's situations (tokens, DNS, proxies, storage, renames, platforms, vendor).
    signals: Signals = NO_SIGNALS
    flags: RunFlags = RunFlags()
    lead: Strategy | None = None  # the pull read as the strict one (another when v2-only did not run)
    platforms_offered: tuple[str, ...] = ()  # platforms of an index a pull received

    # -- what the suggested commands need --------------------------------------------------

    @property
    def is_digest(self) -> bool:
        return self.ref.startswith("sha256:") or "@" in self.flags.reference

    @property
    def ref_word(self) -> str:
        """``digest`` for a pull by digest, else ``tag``: a digest is never called the tag."""
        return "digest" if self.is_digest else "tag"

    @property
    def registry(self) -> str:
        """The registry's host[:port] as the user names it (docker.io for Docker Hub)."""
        if self.is_docker_hub:
            return "docker.io"
        if self.host:
            return self.host
        first = self.flags.reference.split("/", 1)[0]
        return first if "/" in self.flags.reference and ("." in first or ":" in first) else "docker.io"

    @property
    def reference(self) -> str:
        """The reference to put in a suggested command: as typed, else rebuilt from the URLs."""
        if self.flags.reference:
            return self.flags.reference
        if not self.repository:
            return self.registry
        sep = "@" if self.ref.startswith("sha256:") else ":"
        return f"{self.registry}/{self.repository}{sep + self.ref if self.ref else ''}"

    @property
    def repository_name(self) -> str:
        """``host/repository`` without tag or digest, for ``skopeo list-tags``."""
        if self.repository:
            return f"{self.registry}/{self.repository}"
        return self.reference.split("@", 1)[0].rsplit(":", 1)[0] if self.flags.reference else self.registry

    @property
    def diagnose_flags(self) -> str:
        """The ``diagnose compare`` flags this run needed, with a leading space (or "")."""
        return self._flags(self.flags.platform)

    def _flags(self, platform: str) -> str:
        flags: list[str] = []
        if not self.flags.tls_verify:
            flags.append("--no-tls-verify")
        if self.flags.ca_cert:
            flags.append(f"--ca-cert {self.flags.ca_cert}")
        flags.extend(f"--insecure-registry {h}" for h in self.flags.insecure_registries)
        if platform != "linux/amd64":
            flags.append(f"--platform {platform}")
        return "".join(f" {f}" for f in flags)

    @property
    def skopeo_flags(self) -> str:
        """skopeo's spelling of the same TLS choices, with a leading space (or "")."""
        insecure = not self.flags.tls_verify or self.registry in self.flags.insecure_registries
        if insecure:
            return " --tls-verify=false"
        if self.flags.ca_cert:
            directory = self.flags.ca_cert.rsplit("/", 1)[0] if "/" in self.flags.ca_cert else "."
            return f" --cert-dir {directory}"  # skopeo reads every *.crt there as a CA
        return ""

    def compare_command(self, *extra: str, platform: str | None = None) -> str:
        """``diagnose compare REF`` with this run's flags (``platform`` instead of its own) and
        ``extra`` ones."""
        flags = self._flags(self.flags.platform if platform is None else platform)
        if platform == "linux/amd64":
            flags += " --platform linux/amd64"  # asked for explicitly: say it
        return f"diagnose compare {self.reference}{flags}" + "".join(f" {e}" for e in extra)

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

    @property
    def others(self) -> tuple[PullFacts, ...]:
        """Pulls beyond the strict one and docker 1.12's (docker >= 17, containerd, ...)."""
        return tuple(p for p in self.pulls if p.strategy not in (STRICT, FALLBACK, self.lead))

    def pull(self, strategy: Strategy) -> PullFacts | None:
        return next((p for p in self.pulls if p.strategy == strategy), None)

    def any_outcome(self, *outcomes: Outcome) -> bool:
        """Whether the strict pull or docker 1.12's ended in one of ``outcomes``.

        The primary diagnosis answers the original question (why those two disagree); what the
        other pulls concluded is reported as further findings (``others``).
        """
        return self.v2_outcome in outcomes or self.fb_outcome in outcomes

    @property
    def fb_reached_registry(self) -> bool:
        """docker 1.12's pull got HTTP answers (over http, or https without verification)."""
        fb = self.pull(FALLBACK)
        return fb is not None and bool(fb.answered_schemes)


# ---------------------------------------------------------------------------------------------
# Deriving facts


def _pull(pulls: Sequence[PullResult], strategy: Strategy) -> PullResult | None:
    return next((p for p in pulls if p.strategy == strategy), None)


def _path(url: str) -> str:
    return split_url(url).path


def _status(exchange: Exchange) -> int | None:
    return exchange.response.status if exchange.response is not None else None


def _failing_exchange(pull: PullResult) -> Exchange | None:
    if pull.error is None or pull.error.exchange_id is None:
        return None
    return next((e for e in pull.exchanges if e.id == pull.error.exchange_id), None)


def _failing_status(pull: PullResult) -> int | None:
    if pull.error is not None and pull.error.status is not None:
        return pull.error.status
    exchange = _failing_exchange(pull)
    return _status(exchange) if exchange is not None else None


def _failing_kind(pull: PullResult) -> StepKind | None:
    if pull.error is None:
        return None
    if pull.error.kind is not None:
        return pull.error.kind
    exchange = _failing_exchange(pull)
    return exchange.kind if exchange is not None else None


def pull_facts(pull: PullResult) -> PullFacts:
    """The facts of one pull, whatever its strategy (pure)."""
    v1 = [e for e in pull.exchanges if e.kind.is_v1]
    refusal = next(
        (
            e.failure.detail
            for e in pull.exchanges
            if e.failure is not None and e.failure.kind is FailureKind.CLIENT_SIDE
        ),
        None,
    )
    error = pull.error
    failure = error.failure if error is not None else None
    return PullFacts(
        strategy=pull.strategy,
        outcome=pull.outcome,
        protocol=pull.protocol,
        message=pull.message,
        client=pull.client,
        status=_failing_status(pull),
        step=error.step if error is not None else "",
        step_kind=_failing_kind(pull),
        codes=tuple(e.code for e in error.registry_errors) if error is not None else (),
        failure=failure.kind if failure is not None else None,
        failure_detail=failure.detail if failure is not None else "",
        asked_v1=bool(v1),
        v1_statuses=tuple(_status(e) for e in v1),
        client_side_refusal=refusal,
        tokens=pull.tokens,
        tool_error=pull.tool_error is not None,
        answered_schemes=tuple(
            dict.fromkeys(split_url(e.request.url).scheme for e in pull.exchanges if e.response is not None)
        ),
    )


_OCI_NOT_ACCEPTED = re.compile(r"OCI (manifest|index) found, but accept header does not support OCI")


def _ordered(pulls: Sequence[PullResult]) -> list[PullResult]:
    """The strict pull first, docker 1.12's second, then every other pull in run order."""
    v2 = _pull(pulls, STRICT)
    fb = _pull(pulls, FALLBACK)
    first = [p for p in (v2, fb) if p is not None]
    return first + [p for p in pulls if all(p is not q for q in first)]


def _token_facts(
    ordered: Sequence[PullResult], repository: str
) -> tuple[tuple[str, ...] | None, bool, str | None]:
    """(actions granted on the repository, whether any token was issued, its subject)."""
    grants = [g for p in ordered for g in p.tokens]
    issued = [g for g in grants if g.issued]
    actions = next((a for g in issued if (a := g.actions_on(repository)) is not None), None)
    subject = next((g.subject for g in issued if g.subject is not None), None)
    return actions, bool(issued), subject


def _platforms_offered(exchanges: Sequence[Exchange]) -> tuple[str, ...]:
    """Platforms of the first index or manifest list a pull received (the registry's answer)."""
    for exchange in exchanges:
        response = exchange.response
        if exchange.kind is not StepKind.MANIFEST or response is None or response.status != 200:
            continue
        if '"manifests"' not in response.body or response.body_encoding != "utf-8":
            continue
        offered = index_platforms(response.body)
        if offered:
            return offered
    return ()


def facts_from(pulls: Sequence[PullResult], auth: AuthInfo, flags: RunFlags | None = None) -> Facts:
    """Derive the facts the rules read from any number of pull results (pure).

    The strict pull and docker 1.12's are read by strategy; when the strict one did not run,
    the first pull takes its place, so a run of other clients alone is still explained.
    """
    v2 = _pull(pulls, STRICT)
    fb = _pull(pulls, FALLBACK)
    ordered = _ordered(pulls)
    if v2 is None and ordered and ordered[0] is not fb:
        v2 = ordered[0]
    per_pull = tuple(pull_facts(p) for p in ordered)
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
    basic_sent = False
    rate_headers: list[tuple[str, str]] = []
    for exchange in exchanges:
        authorization = header_value(exchange.request.headers, "Authorization") or ""
        if authorization.lower().startswith("basic") and "empty" not in authorization:
            basic_sent = True  # the redactor keeps 'Basic <redacted: user "x">' as evidence
        response = exchange.response
        if response is None:
            continue
        if any(
            "registry/2.0" in v.split()
            for v in header_values(response.headers, "Docker-Distribution-Api-Version")
        ):
            version_header = True
        if response.status == 401 and exchange.kind is not StepKind.TOKEN:
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
    for exchange in exchanges:
        if exchange.kind is StepKind.TOKEN and (token_status is None or exchange.response is not None):
            token_status = _status(exchange)
    token_actions, token_issued, token_subject = _token_facts(ordered, repository)

    ping_status = None
    if v2 is not None:
        # The ping that got an answer (https may fail first and http answer, with TLS off).
        pings = [e for e in v2.exchanges if e.kind is StepKind.PING]
        answered = [e for e in pings if e.response is not None]
        ping = answered[-1] if answered else (pings[-1] if pings else None)
        ping_status = _status(ping) if ping is not None else None

    v2f = next((f for p, f in zip(ordered, per_pull, strict=True) if p is v2), None)
    fbf = next((p for p in per_pull if p.strategy == FALLBACK), None)
    fb_exchanges = fb.exchanges if fb is not None else ()
    v1_statuses = fbf.v1_statuses if fbf is not None else ()
    tls_details = [
        e.failure.detail for e in exchanges if e.failure is not None and e.failure.kind is FailureKind.TLS
    ]
    if v2 is not None and v2.outcome is Outcome.TLS_ERROR:
        tls_details.append(v2.message)
    plain_http = any(marker in d.lower() for d in tls_details for marker in _PLAIN_HTTP_MARKERS)

    if v2 is not None and fb is not None:
        differ = v2.outcome is not fb.outcome or v2.protocol is not fb.protocol
    else:
        differ = len({(p.outcome, p.protocol) for p in ordered}) > 1

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
        v2_outcome=v2f.outcome if v2f else None,
        v2_protocol=v2f.protocol if v2f else None,
        v2_message=v2f.message if v2f else "",
        v2_client=v2f.client if v2f else "",
        v2_status=v2f.status if v2f else None,
        v2_step=v2f.step if v2f else "",
        v2_codes=v2f.codes if v2f else (),
        v2_failure=v2f.failure if v2f else None,
        v2_failure_detail=v2f.failure_detail if v2f else "",
        fb_outcome=fbf.outcome if fbf else None,
        fb_protocol=fbf.protocol if fbf else None,
        fb_message=fbf.message if fbf else "",
        fb_client=fbf.client if fbf else "",
        fb_status=fbf.status if fbf else None,
        fell_back=fbf is not None and (fbf.asked_v1 or fbf.protocol is Protocol.V1),
        client_side_refusal=fbf.client_side_refusal if fbf else None,
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
        v2_step_kind=v2f.step_kind if v2f else None,
        token_issued=token_issued,
        token_subject=token_subject,
        basic_sent=basic_sent,
        pulls=per_pull,
        tool_error=any(p.tool_error for p in per_pull),
        signals=signals_from([p for p in ordered if p.strategy in (STRICT, FALLBACK)] or ordered, host),
        flags=flags or RunFlags(),
        lead=v2.strategy if v2 is not None else None,
        platforms_offered=_platforms_offered(exchanges),
    )
