"""containerd's pull (ctr, nerdctl, the CRI plugin, docker's containerd store): HEAD first.

Faithful to containerd v1.6.20 ``remotes/docker/resolver.go`` (Resolve: no ``/v2/`` ping;
``HEAD …/manifests/<tag>`` with containerd's Accept list; 404 tries the next path or host, any
other failure is remembered; a success needs ``Docker-Content-Digest`` and a length, else GET),
``request.doWithRetries`` / ``retryRequest`` (401 -> the authorizer learns the challenge and the
request is sent again; 405 on a manifest HEAD -> GET; 408 and 429 -> again; at most six answers),
``remotes/docker/authorizer.go`` (a Bearer token after the first 401 -- anonymous ``GET
realm?scope&service``, or with credentials an OAuth2 ``POST`` that falls back to ``GET`` on
400/401/404 or 405; Basic only with a username and secret; a second 401 for the same request
whose challenge carries ``error=`` ends the pull) and ``remotes/docker/config/hosts.go`` (no hosts
directory: docker.io -> https://registry-1.docker.io, localhost and 127.0.0.0/8 -> plain http,
anything else https; ``PullOptions.containerd_server`` stands for a hosts.toml ``server``).

This module decides only what is sent. It sends through the ``HttpClient`` it is given and never
raises on registry misbehaviour; the message comes from the ``containerd`` client model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from urllib.parse import urlencode

from diagnose.challenge import Challenge, parse_challenges
from diagnose.clients import containerd as wording
from diagnose.clients.base import PullFacts
from diagnose.concurrency import run_in_order
from diagnose.http import DEFAULT_MAX_BODY, BodySink, HttpClient, Reply
from diagnose.model import (
    ImageReference,
    Outcome,
    Protocol,
    PullError,
    PullResult,
    PullStep,
    StepKind,
    Strategy,
    TokenGrant,
    header_value,
    header_values,
)
from diagnose.pullers.common import (
    DOCKER_LIST,
    DOCKER_V2,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    absorb,
    choose_platform,
    content_type,
    declared_size,
    describe_access,
    is_loopback_host,
    outcome_for_failure,
    outcome_for_status,
    parse_manifest,
    pull_error,
    reply_words,
    sha256_digest,
    short_type,
    step_for,
    token_grant,
)
from diagnose.pullers.options import PullOptions
from diagnose.tokens import token_from_answer

CLIENT = "ctr (containerd 1.6)"

# remotes/docker/resolver.go: the Accept header of a resolve (one comma-separated value)
ACCEPT = ", ".join((DOCKER_V2, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX, "*/*"))
MAX_ANSWERS = 6  # retryRequest: no retry once more than five answers were seen
OAUTH_FALLBACK = frozenset({400, 401, 404})  # authorizer.go: POST unsupported, use GET
PARALLEL_CHILDREN = 0
"""No limit: ctr makes a download limiter only for --max-concurrent-downloads (containerd
v1.6.20 pull.go:211-215), so images.Dispatch starts the config and every layer at once
(images/handlers.go:154-188, one errgroup goroutine per child)."""


def registry_base(ref: ImageReference, options: PullOptions) -> str:
    """config/hosts.go defaults, or the hosts.toml ``server`` the user named."""
    if options.containerd_server:
        return options.containerd_server.rstrip("/")
    if ref.domain in ("docker.io", "registry-1.docker.io"):
        return "https://registry-1.docker.io"
    if is_loopback_host(ref.domain):
        return f"http://{ref.domain}"
    return f"https://{ref.domain}"


class _Stop(Exception):  # internal control flow; never escapes this module
    def __init__(self, outcome: Outcome, error: PullError) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome
        self.error = error


@dataclass(slots=True)
class _Pull:
    ref: ImageReference
    client: HttpClient
    options: PullOptions
    steps: list[PullStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tokens: list[TokenGrant] = field(default_factory=list)
    base: str = ""
    bearer: Challenge | None = None
    token: str | None = None
    basic: tuple[str, str] | None = None

    def run(self) -> PullResult:
        self.base = registry_base(self.ref, self.options)
        try:
            resolved = self.resolve()
            self.new_fetcher()
            manifest = self.fetch_manifest(resolved, "manifest") if isinstance(resolved, str) else resolved
            if manifest.is_index:
                chosen = choose_platform(manifest, self.options.platform, match_variant=True)
                if chosen is None:
                    available = ", ".join(p for p, _ in manifest.platforms) or "none"
                    self.notes.append(f"platforms in the index: {available}")
                    detail = f"no {self.options.platform} entry in the index"
                    raise _Stop(
                        Outcome.UNSUPPORTED, PullError(step="platform", detail=detail, kind=StepKind.MANIFEST)
                    )
                manifest = self.fetch_manifest(chosen, "platform manifest")
            self.children(manifest)
        except _Stop as stop:
            return self.result(stop.outcome, stop.error)
        return self.result(Outcome.OK, None)

    def result(self, outcome: Outcome, error: PullError | None) -> PullResult:
        result = PullResult(
            strategy=Strategy.CONTAINERD,
            outcome=outcome,
            protocol=Protocol.V2,
            message="",
            client=CLIENT,
            steps=tuple(self.steps),
            exchanges=self.client.exchanges(),
            error=error,
            notes=tuple(self.notes),
            tokens=tuple(self.tokens),
        )
        if result.ok:
            return replace(result, message=f"{self.ref.canonical}: resolved")
        message, _code = wording.MODELS[0].predict(PullFacts(self.ref, result, self.options.platform))
        return replace(result, message=message)

    # -- requests with containerd's retry and authorization ---------------------------------

    def headers(self, *extra: tuple[str, str]) -> list[tuple[str, str]]:
        out = list(extra)
        if self.token is not None:
            out.append(("Authorization", f"Bearer {self.token}"))
        return out

    def send(
        self,
        label: str,
        kind: StepKind,
        method: str,
        url: str,
        *extra: tuple[str, str],
        body_sink: BodySink | None = None,
        stream_limit: int | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> Reply:
        """request.doWithRetries: send, learn from a 401, send again while it makes sense."""
        answers = 0
        while True:
            self.authorize()
            reply = self.client.send(
                label,
                method,
                url,
                kind=kind,
                headers=self.headers(*extra),
                basic_auth=self.basic,
                body_sink=body_sink,
                stream_limit=stream_limit if body_sink is not None else None,
                max_body=max_body,
            )
            answers += 1
            if reply.failure is not None or answers >= MAX_ANSWERS:
                return reply
            if reply.status == 401:
                if not self.learn(reply, answers):
                    return reply
                self.steps.append(step_for(label, method, reply, reply_words(reply)))
                continue
            if reply.status == 405 and method == "HEAD" and "/manifests/" in url:
                self.steps.append(step_for(label, method, reply, "405: HEAD not allowed, GET instead"))
                method = "GET"
                continue
            if reply.status in (408, 429):
                self.steps.append(step_for(label, method, reply, reply_words(reply)))
                self.notes.append(f"{reply.status}: containerd sends the request again")
                continue
            return reply

    def learn(self, reply: Reply, answers: int) -> bool:
        """authorizer.go AddResponses: True when the request should be sent again."""
        for challenge in parse_challenges(header_values(reply.headers, "WWW-Authenticate")):
            if challenge.scheme == "bearer":
                if challenge.error and answers > 1:
                    return False  # invalidAuthorization: "server message: <error>"
                if self.bearer is None:
                    self.bearer = challenge
                return True
            creds = self.options.credentials
            if challenge.scheme == "basic" and creds and creds[0] and creds[1]:
                if self.basic is not None:
                    return True
                self.basic = creds
                return True
        return False  # "failed to find supported auth scheme": the 401 stands

    def authorize(self) -> None:
        """dockerAuthorizer.Authorize: fetch the Bearer token once, before the next request."""
        if self.bearer is None or self.token is not None:
            return
        challenge = self.bearer
        scope = f"repository:{self.ref.path}:pull"
        scopes = sorted({scope, *(challenge.scope or "").split()} - {""})
        creds = self.options.credentials
        realm = challenge.realm or ""
        reply: Reply | None = None
        method = "POST"
        if creds and creds[1]:
            form = [("grant_type", "password"), ("username", creds[0]), ("password", creds[1])]
            form += [("scope", " ".join(scopes)), ("service", challenge.service or "")]
            form += [("client_id", "containerd-client"), ("access_type", "online")]
            reply = self.client.send(
                "token",
                "POST",
                realm,
                kind=StepKind.TOKEN,
                headers=[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                body=urlencode(form).encode(),
            )
            if reply.failure is None and reply.status in OAUTH_FALLBACK:
                self.steps.append(
                    step_for("token", "POST", reply, f"{reply.status}: OAuth POST refused, GET")
                )
                reply = None
        if reply is None:
            method = "GET"
            params = [("scope", s) for s in scopes] + [("service", challenge.service or "")]
            if creds and creds[0]:
                params.append(("account", creds[0]))
            url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(params)}"
            reply = self.client.send(
                "token",
                "GET",
                url,
                kind=StepKind.TOKEN,
                basic_auth=creds if creds and creds[0] and creds[1] else None,
            )
        token = token_from_answer(reply.body) if reply.failure is None and reply.status == 200 else None
        grant = token_grant(reply, " ".join(scopes), issued=token is not None)
        self.tokens.append(grant)
        if token is None:
            self.steps.append(step_for("token", method, reply, reply_words(reply)))
            outcome = Outcome.AUTH_FAILED if reply.status == 401 else None
            if reply.failure is not None:
                outcome = outcome_for_failure(reply.failure.kind)
            elif reply.status == 200:
                outcome = Outcome.PROTOCOL_ERROR
            raise _Stop(outcome or outcome_for_status(reply.status or 0), pull_error("token", reply))
        access = tuple(a.scope for a in grant.access or ())
        self.steps.append(step_for("token", method, reply, describe_access(access)))
        self.notes.append(f"token for {' '.join(scopes)} granted: {', '.join(access) or 'nothing'}")
        self.token = token

    # -- resolve, then fetch ----------------------------------------------------------------

    def new_fetcher(self) -> None:
        """ctr asks the resolver for a Fetcher after Resolve, and the hosts function behind it
        builds a new http.Transport and a new authorizer on every call (containerd v1.6.20
        remotes/docker/config/hosts.go:75-160 ConfigureHosts, called by resolver.go:437-440
        base() from both Resolve :222 and Fetcher :398; pull.go:131-136): the fetch starts on
        new connections and without the token Resolve got, so its first request is answered
        401 and the token is fetched again."""
        self.client.new_connections()
        self.bearer, self.token, self.basic = None, None, None

    def resolve(self) -> Manifest | str:
        """Resolver.Resolve: HEAD the manifest (by digest: then the blob), first error wins.

        The digest to fetch, or, when the HEAD named none, the manifest Resolve read with GET."""
        ref = self.ref.reference_in_repo
        paths = [f"manifests/{ref}"]
        if self.ref.digest is not None:
            paths.append(f"blobs/{ref}")  # resolver.go: fall back to blobs on not found
        first: tuple[Outcome, PullError] | None = None
        last_404: Reply | None = None
        for path in paths:
            url = f"{self.base}/v2/{self.ref.path}/{path}"
            reply = self.send("manifest", StepKind.MANIFEST, "HEAD", url, ("Accept", ACCEPT))
            if reply.failure is not None:
                self.steps.append(step_for("manifest", "HEAD", reply, reply_words(reply)))
                first = first or (outcome_for_failure(reply.failure.kind), pull_error("manifest", reply))
                continue
            assert reply.status is not None
            if reply.status == 404:
                self.steps.append(step_for("manifest", "HEAD", reply, reply_words(reply)))
                last_404 = reply
                continue
            if reply.status > 399:
                self.steps.append(step_for("manifest", "HEAD", reply, reply_words(reply)))
                first = first or (outcome_for_status(reply.status), pull_error("manifest", reply))
                continue
            digest = self.ref.digest or header_value(reply.headers, "Docker-Content-Digest")
            length = header_value(reply.headers, "Content-Length")
            self.steps.append(step_for("manifest", "HEAD", reply, f"{reply.status} {digest or 'no digest'}"))
            if not digest or length is None:
                self.notes.append("no Docker-Content-Digest header: containerd GETs the manifest instead")
                return self.fetch_manifest(ref, "manifest")
            return digest
        if first is not None:
            raise _Stop(*first)
        error = (
            pull_error("manifest", last_404)
            if last_404 is not None
            else PullError(step="manifest", kind=StepKind.MANIFEST)
        )
        raise _Stop(Outcome.NOT_FOUND, error)

    def fetch_manifest(self, reference: str, label: str) -> Manifest:
        url = f"{self.base}/v2/{self.ref.path}/manifests/{reference}"
        reply = self.send(label, StepKind.MANIFEST, "GET", url, ("Accept", ACCEPT))
        if reply.failure is not None or reply.status != 200:
            self.steps.append(step_for(label, "GET", reply, reply_words(reply)))
            step = label if label != "manifest" else "content"
            raise self.stop(step, reply)
        manifest = parse_manifest(reply.body, content_type(reply.headers))
        if manifest is None:
            self.steps.append(step_for(label, "GET", reply, "unparseable manifest"))
            detail = "the manifest body is not a manifest containerd can read"
            raise _Stop(
                Outcome.PROTOCOL_ERROR, PullError(step=label, exchange_id=reply.exchange_id, detail=detail)
            )
        self.steps.append(step_for(label, "GET", reply, f"200 {short_type(manifest.media_type)}"))
        return manifest

    def children(self, manifest: Manifest) -> None:
        """The config and the layers, all at once (``PARALLEL_CHILDREN``). containerd's errgroup
        reports the first error in time and cancels the rest; diagnose lets every request end
        and reports the first by position (config, then the layers in order), so the report
        does not depend on which answer happened to come first. Steps stay in that order."""
        total = len(manifest.layer_digests)
        jobs: list[tuple[str, str, bool, bool, int | None]] = []
        if manifest.config_digest:
            jobs.append(("config", manifest.config_digest, True, True, None))
        for number, digest in enumerate(manifest.layer_digests, start=1):
            size = declared_size(manifest, number - 1)
            jobs.append((f"layer {number}/{total}", digest, self.options.verify_layers, False, size))
        lanes = [replace(self, steps=[], notes=[], tokens=[]) for _ in jobs]
        tasks = [partial(lane.child, *job) for lane, job in zip(lanes, jobs, strict=True)]
        first: _Stop | None = None
        for lane, stop in zip(lanes, run_in_order(tasks, PARALLEL_CHILDREN), strict=True):
            absorb(self, lane)
            first = first or stop
        if first is not None:
            raise first

    def child(self, label: str, digest: str, verify: bool, is_config: bool, size: int | None) -> _Stop | None:
        """One blob, on a lane of its own: None when it is there, else how the pull ends."""
        try:
            self.blob(label, digest, verify=verify, is_config=is_config, size=size)
        except _Stop as stop:
            return stop
        return None

    def blob(
        self, label: str, digest: str, *, verify: bool, is_config: bool = False, size: int | None = None
    ) -> None:
        url = f"{self.base}/v2/{self.ref.path}/blobs/{digest}"
        method = "GET" if verify else "HEAD"
        # A streamed body is hashed whole by the client (Reply.body_digest): a layer larger than
        # what a reply keeps in memory is verified, never judged from its first bytes.
        sink = _discard if verify else None
        reply = self.send(
            label,
            StepKind.CONFIG if is_config else StepKind.LAYER,
            method,
            url,
            body_sink=sink,
            stream_limit=size,
            max_body=0 if verify and not is_config else DEFAULT_MAX_BODY,  # a layer is hashed, not kept
        )
        if reply.failure is not None or reply.status != 200:
            self.steps.append(step_for(label, method, reply, reply_words(reply)))
            raise self.stop(label, reply)
        if verify and _whole_digest(reply) is None:
            self.steps.append(step_for(label, method, reply, "200 not verified (body not read whole)"))
            return
        if verify and _whole_digest(reply) != digest:
            self.steps.append(step_for(label, method, reply, "digest mismatch"))
            detail = f"{label}: digest mismatch for {digest}"
            raise _Stop(
                Outcome.INTEGRITY_ERROR, PullError(step=label, exchange_id=reply.exchange_id, detail=detail)
            )
        self.steps.append(step_for(label, method, reply, "200 digest ok" if verify else "200 present"))

    def stop(self, step: str, reply: Reply) -> _Stop:
        if reply.failure is not None:
            return _Stop(outcome_for_failure(reply.failure.kind), pull_error(step, reply))
        return _Stop(outcome_for_status(reply.status or 0), pull_error(step, reply))


def pull_containerd(ref: ImageReference, client: HttpClient, options: PullOptions) -> PullResult:
    """Run containerd's pull; always returns a result, never raises on registry behaviour."""
    return _Pull(ref, client, options).run()


def _discard(_chunk: bytes) -> None:
    """A body sink that keeps nothing: the client still hashes every byte."""


def _whole_digest(reply: Reply) -> str | None:
    """The digest of the whole body, or None when only part of it was read."""
    if reply.body_digest is not None:
        return reply.body_digest
    return None if reply.body_truncated else sha256_digest(reply.body)
