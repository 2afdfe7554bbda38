"""Docker Engine >= 17's pull (graph-driver image store): V2 endpoints only, no V1.

Faithful to moby v20.10.24 ``distribution/pull.go`` (the endpoint loop: the *last* fallback
error is reported, a non-fallback error stops at once, http is skipped for a host that proved
TLS), ``registry/service_v2.go`` (docker.io -> https://registry-1.docker.io; any other host ->
https, then http when insecure: 127.0.0.0/8 always, ``--insecure-registry``),
``distribution/pull_v2.go`` (ping ``/v2/``, any status; pullV2Tag: ``HEAD …/manifests/<tag>``,
then ``GET`` when the HEAD fails or names no digest, then the manifest ``GET`` by digest;
allowV1Fallback / continueOnError decide whether the next endpoint is tried).

This module decides only what is sent. It sends through the ``HttpClient`` it is given and never
raises on registry misbehaviour; the message comes from the ``docker-20.10`` client model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

from diagnose.challenge import Challenge, find_challenge, parse_challenges
from diagnose.clients import docker
from diagnose.clients.base import PullFacts
from diagnose.concurrency import run_in_order
from diagnose.http import DEFAULT_MAX_BODY, HttpClient, Reply
from diagnose.model import (
    FailureKind,
    ImageReference,
    Outcome,
    Protocol,
    PullError,
    PullResult,
    PullStep,
    StepKind,
    Strategy,
    TokenGrant,
    TransportFailure,
    header_value,
    header_values,
)
from diagnose.pullers.common import (
    DOCKER_LIST,
    DOCKER_V1_SIGNED,
    DOCKER_V2,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    absorb,
    choose_platform,
    content_type,
    declared_size,
    describe_access,
    fetch_token,
    outcome_for_failure,
    outcome_for_status,
    parse_manifest,
    ping_words,
    pull_error,
    reply_words,
    sha256_digest,
    short_type,
    step_for,
)
from diagnose.pullers.options import PullOptions
from diagnose.pullers.v2_then_v1 import HUB_DOMAINS, is_insecure

CLIENT = "docker 20.10 (graph-driver store)"

# distribution.ManifestMediaTypes() as moby 20.10 registers them (schema2, list, schema1, OCI)
ACCEPT = (DOCKER_V2, DOCKER_LIST, DOCKER_V1_SIGNED, OCI_MANIFEST, OCI_INDEX)
READABLE = frozenset({DOCKER_V2, DOCKER_V1_SIGNED, OCI_MANIFEST})

PARALLEL_LAYERS = 3
"""dockerd's --max-concurrent-downloads default (moby v20.10.24 daemon/config/config.go:29
DefaultMaxConcurrentDownloads; v28.0.0 :32): the download manager's transfer limit."""


def pull_endpoints(ref: ImageReference, options: PullOptions) -> tuple[str, ...]:
    """registry/service_v2.go lookupV2Endpoints (mirrors are not modelled)."""
    if ref.domain in HUB_DOMAINS:
        return ("https://registry-1.docker.io",)
    if is_insecure(ref.domain, options):
        return (f"https://{ref.domain}", f"http://{ref.domain}")
    return (f"https://{ref.domain}",)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """How one endpoint ended."""

    outcome: Outcome
    error: PullError | None = None
    fallback: bool = False  # fallbackError: try the next endpoint
    transport_ok: bool = False


class _Stop(Exception):  # internal control flow; never escapes this module
    def __init__(self, attempt: _Attempt) -> None:
        super().__init__(attempt.outcome.value)
        self.attempt = attempt


@dataclass(slots=True)
class _Pull:
    ref: ImageReference
    client: HttpClient
    options: PullOptions
    steps: list[PullStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tokens: list[TokenGrant] = field(default_factory=list)

    def run(self) -> PullResult:
        tls_confirmed: set[str] = set()
        last: _Attempt | None = None
        for url in pull_endpoints(self.ref, self.options):
            host = url.split("://", 1)[1]
            if url.startswith("http://") and host in tls_confirmed:
                self.notes.append(f"skipping {url}: {host} already answered over TLS")
                continue
            self.notes.append(f"trying to pull {docker.familiar_name(self.ref)} from {url} v2")
            try:
                attempt = self.attempt(url)
            except _Stop as stop:
                attempt = stop.attempt
            if attempt.outcome is Outcome.OK or not attempt.fallback:
                return self.result(attempt)
            if attempt.transport_ok and url.startswith("https://"):
                tls_confirmed.add(host)
            self.notes.append("attempting next endpoint for pull after the error above")
            last = attempt
        if last is None:
            detail = f"no endpoints found for {self.ref.familiar}"
            return self.result(_Attempt(Outcome.PROTOCOL_ERROR, PullError(step="endpoints", detail=detail)))
        return self.result(last)

    def result(self, attempt: _Attempt) -> PullResult:
        result = PullResult(
            strategy=Strategy.DOCKER_ENDPOINTS,
            outcome=attempt.outcome,
            protocol=Protocol.V2,
            message="",
            client=CLIENT,
            steps=tuple(self.steps),
            exchanges=self.client.exchanges(),
            error=attempt.error,
            notes=tuple(self.notes),
            tokens=tuple(self.tokens),
        )
        if result.ok:
            return _with_message(result, f"Status: Downloaded newer image for {self.ref.familiar}")
        message, _code = docker.BY_ERA[docker.DockerEra.D2010](
            PullFacts(self.ref, result, self.options.platform)
        )
        return _with_message(result, message)

    # -- one endpoint (distribution/pull_v2.go) ---------------------------------------------

    def attempt(self, base: str) -> _Attempt:
        ping = self.client.send("ping", "GET", f"{base}/v2/", kind=StepKind.PING)
        self.steps.append(step_for("ping", "GET", ping, ping_words(ping)))
        if ping.failure is not None:
            # NewV2Repository: fallbackError{transportOK: false}
            return _Attempt(outcome_for_failure(ping.failure.kind), pull_error("ping", ping), fallback=True)
        challenges: tuple[Challenge, ...] = ()
        if ping.status == 401:
            challenges = parse_challenges(header_values(ping.headers, "WWW-Authenticate"))
        headers: list[tuple[str, str]] = [("Accept", media) for media in ACCEPT]
        basic = self.authenticate(base, challenges, headers)
        if self.ref.digest is not None:
            manifest = self.get_manifest(base, self.ref.digest, "manifest", headers, basic)
        else:
            digest = self.resolve_tag(base, headers, basic)
            manifest = self.get_manifest(base, digest, "manifest", headers, basic)
        self.notes.append("manifest fetched: confirmedV2; 'Pulling from' is streamed from here on")
        if manifest.is_index:
            chosen = choose_platform(manifest, self.options.platform, match_variant=True)
            if chosen is None:
                available = ", ".join(p for p, _ in manifest.platforms) or "none"
                self.notes.append(f"platforms in the manifest list: {available}")
                detail = f"no {self.options.platform} entry in the manifest list"
                raise _Stop(
                    _Attempt(
                        Outcome.UNSUPPORTED, PullError(step="platform", detail=detail, kind=StepKind.MANIFEST)
                    )
                )
            manifest = self.get_manifest(base, chosen, "platform manifest", headers, basic)
        if manifest.is_index or manifest.media_type not in READABLE:
            detail = f"unsupported manifest media type {manifest.media_type or 'unknown'}"
            raise _Stop(
                _Attempt(
                    Outcome.UNSUPPORTED, PullError(step="manifest", detail=detail, kind=StepKind.MANIFEST)
                )
            )
        auth_only = [h for h in headers if h[0] == "Authorization"]
        if manifest.config_digest:
            self.blob(base, "config", manifest.config_digest, auth_only, basic, verify=True, is_config=True)
        self.layers(base, manifest, auth_only, basic)
        return _Attempt(Outcome.OK, transport_ok=True)

    def layers(
        self, base: str, manifest: Manifest, headers: list[tuple[str, str]], basic: tuple[str, str] | None
    ) -> None:
        """Every layer through the download manager, ``PARALLEL_LAYERS`` at a time, queued in
        layer order. The error docker reports is the top-most failing layer's: each layer
        waits for its parent's result and takes the parent's error only when its own download
        worked (moby v20.10.24 distribution/xfer/download.go:333-340; the pull waits for the
        top layer: :208-212). Steps stay in layer order whatever finished first."""
        total = len(manifest.layer_digests)
        lanes = [replace(self, steps=[], notes=[], tokens=[]) for _ in manifest.layer_digests]
        tasks = [
            partial(
                lane.layer,
                base,
                f"layer {number}/{total}",
                digest,
                headers,
                basic,
                declared_size(manifest, number - 1),
            )
            for number, (lane, digest) in enumerate(zip(lanes, manifest.layer_digests, strict=True), start=1)
        ]
        failed: _Attempt | None = None
        for lane, attempt in zip(lanes, run_in_order(tasks, PARALLEL_LAYERS), strict=True):
            absorb(self, lane)
            failed = attempt or failed
        if failed is not None:
            raise _Stop(failed)

    def layer(
        self,
        base: str,
        label: str,
        digest: str,
        headers: list[tuple[str, str]],
        basic: tuple[str, str] | None,
        size: int | None,
    ) -> _Attempt | None:
        """One layer, on a lane of its own: None when it is there, else how it failed."""
        try:
            self.blob(base, label, digest, headers, basic, verify=self.options.verify_layers, size=size)
        except _Stop as stop:
            return stop.attempt
        return None

    def authenticate(
        self, base: str, challenges: tuple[Challenge, ...], headers: list[tuple[str, str]]
    ) -> tuple[str, str] | None:
        bearer = find_challenge(challenges, "bearer")
        basic_challenge = find_challenge(challenges, "basic")
        creds = self.options.credentials
        if bearer is not None:
            scope = f"repository:{self.ref.path}:pull"
            # the token is fetched inside the manifest request's transport (auth/session.go)
            token = fetch_token(
                self.client,
                bearer,
                scope,
                creds if creds and all(creds) else None,
                identity_token=self.options.identity_token,
            )
            self.tokens.append(token.grant)
            if token.token is None:
                self.steps.append(step_for("token", "GET", token.reply, reply_words(token.reply)))
                raise _Stop(self.fallback_or_stop("token", token.reply))
            self.steps.append(step_for("token", "GET", token.reply, describe_access(token.access)))
            self.notes.append(f"token for {scope} granted: {', '.join(token.access) or 'nothing'}")
            headers.append(("Authorization", f"Bearer {token.token}"))
            return None
        if basic_challenge is not None:
            if not creds or not creds[0] or not creds[1]:
                method = "HEAD" if self.ref.digest is None else "GET"
                url = f"{base}/v2/{self.ref.path}/manifests/{self.ref.reference_in_repo}"
                exchange_id = self.client.refuse(
                    "manifest",
                    method,
                    url,
                    "no basic auth credentials (docker refuses to send)",
                    kind=StepKind.MANIFEST,
                )
                self.steps.append(
                    PullStep(
                        "manifest", method, url, None, "not sent: no basic auth credentials", exchange_id
                    )
                )
                error = PullError(
                    step="manifest",
                    exchange_id=exchange_id,
                    failure=TransportFailure(FailureKind.CLIENT_SIDE, "no basic auth credentials"),
                    detail="docker refused to send the manifest request: no basic auth credentials",
                )
                # allowV1Fallback: url.Error(ErrNoBasicAuthCredentials) -> fallbackError, transportOK false
                raise _Stop(_Attempt(Outcome.UNAUTHORIZED, error, fallback=True))
            return creds
        return None

    def resolve_tag(self, base: str, headers: list[tuple[str, str]], basic: tuple[str, str] | None) -> str:
        """vendored distribution tags.Get: HEAD, then GET when it failed or named no digest."""
        url = f"{base}/v2/{self.ref.path}/manifests/{self.ref.reference_in_repo}"
        head = self.client.send(
            "manifest", "HEAD", url, kind=StepKind.MANIFEST, headers=headers, basic_auth=basic
        )
        digest = header_value(head.headers, "Docker-Content-Digest") if head.failure is None else None
        if head.failure is not None:
            self.steps.append(step_for("manifest", "HEAD", head, reply_words(head)))
            raise _Stop(self.fallback_or_stop("manifest", head))
        if head.status is not None and 200 <= head.status < 400 and digest:
            self.steps.append(step_for("manifest", "HEAD", head, f"{head.status} {digest[:19]}…"))
            return digest
        self.steps.append(step_for("manifest", "HEAD", head, reply_words(head)))
        reply = self.client.send(
            "manifest", "GET", url, kind=StepKind.MANIFEST, headers=headers, basic_auth=basic
        )
        if reply.failure is not None or reply.status is None or not 200 <= reply.status < 400:
            self.steps.append(step_for("manifest", "GET", reply, reply_words(reply)))
            raise _Stop(self.fallback_or_stop("manifest", reply))
        self.steps.append(step_for("manifest", "GET", reply, f"{reply.status} descriptor"))
        return header_value(reply.headers, "Docker-Content-Digest") or sha256_digest(reply.body)

    def get_manifest(
        self,
        base: str,
        reference: str,
        label: str,
        headers: list[tuple[str, str]],
        basic: tuple[str, str] | None,
    ) -> Manifest:
        url = f"{base}/v2/{self.ref.path}/manifests/{reference}"
        reply = self.client.send(label, "GET", url, kind=StepKind.MANIFEST, headers=headers, basic_auth=basic)
        if reply.failure is not None or reply.status != 200:
            self.steps.append(step_for(label, "GET", reply, reply_words(reply)))
            if label == "manifest":
                raise _Stop(self.fallback_or_stop(label, reply))
            raise _Stop(self.fatal(label, reply))
        manifest = parse_manifest(reply.body, content_type(reply.headers))
        if manifest is None:
            self.steps.append(step_for(label, "GET", reply, "unparseable manifest"))
            detail = "the manifest body is not a manifest docker can read"
            error = PullError(step=label, exchange_id=reply.exchange_id, status=reply.status, detail=detail)
            raise _Stop(_Attempt(Outcome.PROTOCOL_ERROR, error))
        self.steps.append(step_for(label, "GET", reply, f"200 {short_type(manifest.media_type)}"))
        return manifest

    def blob(
        self,
        base: str,
        label: str,
        digest: str,
        headers: list[tuple[str, str]],
        basic: tuple[str, str] | None,
        *,
        verify: bool,
        is_config: bool = False,
        size: int | None = None,
    ) -> None:
        url = f"{base}/v2/{self.ref.path}/blobs/{digest}"
        method = "GET" if verify else "HEAD"
        kind = StepKind.CONFIG if is_config else StepKind.LAYER
        # A streamed body is hashed whole by the client (Reply.body_digest): a layer larger than
        # what a reply keeps in memory is verified, never judged from its first bytes.
        reply = self.client.send(
            label,
            method,
            url,
            kind=kind,
            headers=headers,
            basic_auth=basic,
            body_sink=_discard if verify else None,
            stream_limit=size if verify else None,  # never stream past the declared size
            max_body=0 if verify and not is_config else DEFAULT_MAX_BODY,  # a layer is hashed, not kept
        )
        if reply.failure is not None or reply.status != 200:
            self.steps.append(step_for(label, method, reply, reply_words(reply)))
            raise _Stop(self.fatal(label, reply))
        whole = reply.body_digest or (None if reply.body_truncated else sha256_digest(reply.body))
        if verify and whole is None:
            self.steps.append(step_for(label, method, reply, "200 not verified (body not read whole)"))
            return
        if verify and whole != digest:
            self.steps.append(step_for(label, method, reply, "digest mismatch"))
            detail = f"{label} digest mismatch for {digest}"
            error = PullError(step=label, exchange_id=reply.exchange_id, status=reply.status, detail=detail)
            raise _Stop(_Attempt(Outcome.INTEGRITY_ERROR, error))
        self.steps.append(step_for(label, method, reply, "200 digest ok" if verify else "200 present"))

    # -- which errors move on to the next endpoint (distribution/errors.go) ----------------------

    def fallback_or_stop(self, step: str, reply: Reply) -> _Attempt:
        error = pull_error(step, reply)
        if reply.failure is not None:
            return _Attempt(outcome_for_failure(reply.failure.kind), error, fallback=True, transport_ok=True)
        assert reply.status is not None
        outcome = outcome_for_status(reply.status)
        if step == "token":
            outcome = Outcome.AUTH_FAILED if reply.status == 401 else outcome
            if reply.status == 200:
                outcome = Outcome.PROTOCOL_ERROR
            return _Attempt(outcome, error, fallback=True, transport_ok=True)
        err = docker.response_error(reply.status, reply.reason, reply.headers, reply.body)
        return _Attempt(outcome, error, fallback=docker.continue_on_error(err), transport_ok=True)

    def fatal(self, step: str, reply: Reply) -> _Attempt:
        """An error after the manifest arrived: confirmedV2, no other endpoint is tried."""
        if reply.failure is not None:
            return _Attempt(outcome_for_failure(reply.failure.kind), pull_error(step, reply))
        assert reply.status is not None
        return _Attempt(outcome_for_status(reply.status), pull_error(step, reply))


def _with_message(result: PullResult, message: str) -> PullResult:
    return replace(result, message=message)


def pull_docker_endpoints(ref: ImageReference, client: HttpClient, options: PullOptions) -> PullResult:
    """Run docker >= 17's pull; always returns a result, never raises on registry behaviour."""
    return _Pull(ref, client, options).run()


def _discard(_chunk: bytes) -> None:
    """A body sink that keeps nothing: the client still hashes every byte."""
