"""The strict V2 pull, as modern skopeo / containers-image does it. It never falls back.

Sequence (containers/image df7e80d docker/docker_client.go, docker/docker_image_src.go):
ping ``/v2/`` (https, then http only when TLS verification is off or the registry is
insecure), read the challenge, fetch a Bearer token (or send Basic, even empty), GET the
manifest with the full Accept list, choose the platform from an index, GET the config and
check its digest, check every layer (HEAD, or GET and verify with ``verify_layers``).
The first error ends the pull, and the message is what current skopeo prints.

This module sends only through the ``HttpClient`` it is given and never raises on
registry misbehaviour: every failure becomes a ``PullResult`` with evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

from diagnose.challenge import Challenge, find_challenge, parse_challenges
from diagnose.clients import longer_than_declared, skopeo, stopped_at_declared_size
from diagnose.concurrency import run_in_order
from diagnose.http import HttpClient, Reply
from diagnose.layer_files import LayerFile
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
    header_values,
)
from diagnose.pullers.common import (
    DOCKER_LIST,
    DOCKER_V1,
    DOCKER_V1_SIGNED,
    DOCKER_V2,
    OCI_INDEX,
    OCI_MANIFEST,
    V2_VERSION_HEADER,
    Manifest,
    choose_platform,
    content_type,
    declared_size,
    describe_access,
    fetch_token,
    host_port,
    outcome_for_failure,
    outcome_for_status,
    parse_manifest,
    ping_words,
    pull_error,
    reply_words,
    sha256_digest,
    short_type,
    split_platform,
    status_text,
    step_for,
    v2_api_host,
)
from diagnose.pullers.options import PullOptions

CLIENT = "skopeo (containers-image >= 5.33)"

# containers/image manifest.DefaultRequestedManifestMIMETypes, in its order; Go sends each
# value of the header slice as its own "Accept:" line.
ACCEPT = (OCI_MANIFEST, DOCKER_V2, DOCKER_V1_SIGNED, DOCKER_V1, DOCKER_LIST, OCI_INDEX)

OK_MESSAGE = skopeo.COPY_DONE  # skopeo copy's last progress line

PARALLEL_LAYERS = 6
"""Layers containers/image copies at once: copy/copy.go:39 maxParallelDownloads (df7e80d2),
taken in layer order (copy/single.go:517-525, a semaphore acquired before each goroutine)."""

# Single-image manifests containers-image reads (manifest/docker_schema1.go, docker_schema2.go,
# oci.go).
READABLE = frozenset({OCI_MANIFEST, DOCKER_V2, DOCKER_V1_SIGNED, DOCKER_V1})


class _Stop(Exception):  # internal control flow; never escapes this module
    """Ends the step sequence with a finished result."""

    def __init__(self, result: PullResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass(slots=True)
class _Pull:
    ref: ImageReference
    client: HttpClient
    options: PullOptions
    steps: list[PullStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tokens: list[TokenGrant] = field(default_factory=list)
    base: str = ""
    challenge: Challenge | None = None
    auth_header: tuple[tuple[str, str], ...] = ()
    basic: tuple[str, str] | None = None

    # -- results -------------------------------------------------------------------------

    def result(self, outcome: Outcome, message: str, error: PullError | None = None) -> PullResult:
        return PullResult(
            strategy=Strategy.V2_ONLY,
            outcome=outcome,
            protocol=Protocol.V2,
            message=message,
            client=CLIENT,
            steps=tuple(self.steps),
            exchanges=self.client.exchanges(),
            error=error,
            notes=tuple(self.notes),
            tokens=tuple(self.tokens),
        )

    def fail_reply(self, step: str, reply: Reply, message: str, outcome: Outcome | None = None) -> _Stop:
        """A stop for a request that got a response (or a transport failure)."""
        error = pull_error(step, reply)
        if reply.failure is not None:
            return _Stop(self.result(outcome or outcome_for_failure(reply.failure.kind), message, error))
        assert reply.status is not None
        return _Stop(self.result(outcome or outcome_for_status(reply.status), message, error))

    def transport_message(self, reply: Reply, method: str) -> str:
        assert reply.failure is not None
        inner = skopeo.transport_error_text(reply.failure.kind, host_port(reply.url), reply.failure.detail)
        return skopeo.go_url_error(method, reply.url, inner)

    # -- steps ---------------------------------------------------------------------------

    def ping(self) -> None:
        host = v2_api_host(self.ref.domain)
        insecure = not self.options.tls_verify or host in self.options.insecure_registries
        schemes = ("https", "http") if insecure else ("https",)
        reply: Reply | None = None
        for scheme in schemes:
            reply = self.client.send(
                "ping",
                "GET",
                f"{scheme}://{host}/v2/",
                kind=StepKind.PING,
                headers=[(V2_VERSION_HEADER, "registry/2.0")],
            )
            ok = reply.failure is None and reply.status in (200, 401)
            self.steps.append(step_for("ping", "GET", reply, ping_words(reply)))
            if ok:
                self.base = f"{scheme}://{host}"
                break
        assert reply is not None
        if not self.base:
            # The error of the last scheme tried is the one reported (detectPropertiesHelper).
            if reply.failure is not None:
                inner = self.transport_message(reply, "GET")
                raise self.fail_reply("ping", reply, skopeo.ping_error(host, inner))
            assert reply.status is not None
            text, _code = skopeo.registry_error_text(
                reply.status, status_text(reply), reply.headers, reply.body
            )
            outcome = Outcome.PROTOCOL_ERROR if reply.status < 500 else Outcome.SERVER_ERROR
            raise self.fail_reply("ping", reply, skopeo.ping_error(host, text), outcome)
        if reply.status == 401:
            challenges = parse_challenges(header_values(reply.headers, "WWW-Authenticate"))
            self.challenge = find_challenge(challenges, "bearer") or find_challenge(challenges, "basic")

    def authenticate(self) -> None:
        challenge = self.challenge
        if challenge is None:
            return
        if challenge.scheme == "basic":
            # containers/image always sends Basic auth to a Basic challenge, empty or not.
            self.basic = self.options.credentials or ("", "")
            if self.options.credentials is None:
                self.notes.append("Basic challenge and no credentials: sent empty Basic auth, as skopeo does")
            return
        scope = f"repository:{self.ref.path}:pull"
        # account= and Basic go to the token endpoint only with both a username and a password
        # (containers/image docker/docker_client.go getBearerToken).
        creds = self.options.credentials
        token = fetch_token(
            self.client,
            challenge,
            scope,
            creds if creds and all(creds) else None,
            [(V2_VERSION_HEADER, "registry/2.0")],
            identity_token=self.options.identity_token,
            client_id="containers/image",
        )
        reply = token.reply
        self.tokens.append(token.grant)
        if token.token is None:
            self.steps.append(step_for("token", "GET", reply, reply_words(reply)))
            if reply.failure is not None:
                raise self.fail_reply("token", reply, self.transport_message(reply, "GET"))
            assert reply.status is not None
            message = skopeo.token_error(reply.status, status_text(reply), reply.body)
            outcome = Outcome.AUTH_FAILED if reply.status == 401 else None
            if reply.status == 200:
                outcome = Outcome.PROTOCOL_ERROR
            raise self.fail_reply("token", reply, message, outcome)
        self.steps.append(step_for("token", "GET", reply, describe_access(token.access)))
        granted = "none" if not token.access else ", ".join(token.access)
        self.notes.append(f"token for scope {scope} granted access: {granted}")
        self.auth_header = (("Authorization", f"Bearer {token.token}"),)

    def request_headers(self, *extra: tuple[str, str]) -> list[tuple[str, str]]:
        return [(V2_VERSION_HEADER, "registry/2.0"), *self.auth_header, *extra]

    def get_manifest(self, reference: str, label: str) -> Manifest:
        url = f"{self.base}/v2/{self.ref.path}/manifests/{reference}"
        headers = self.request_headers(*(("Accept", media) for media in ACCEPT))
        reply = self.client.send(
            label, "GET", url, kind=StepKind.MANIFEST, headers=headers, basic_auth=self.basic
        )
        if reply.failure is not None:
            self.steps.append(step_for(label, "GET", reply, reply_words(reply)))
            raise self.fail_reply(label, reply, self.transport_message(reply, "GET"))
        assert reply.status is not None
        if reply.status != 200:
            self.steps.append(step_for(label, "GET", reply, reply_words(reply)))
            text, _code = skopeo.registry_error_text(
                reply.status, status_text(reply), reply.headers, reply.body
            )
            if reply.status == 429:
                # c/image retries 429s up to 5 times with backoff (2 s doubling, Retry-After
                # honoured) before reporting; diagnose asks once and says so.
                self.notes.append("skopeo would retry this 429 up to 5 times with backoff before failing")
            raise self.fail_reply(label, reply, skopeo.manifest_error(reference, self.ref.name, text))
        manifest = parse_manifest(reply.body, content_type(reply.headers))
        if manifest is None or reply.body_truncated:
            self.steps.append(step_for(label, "GET", reply, "unparseable manifest"))
            message = skopeo.manifest_error(reference, self.ref.name, skopeo.INVALID_MANIFEST)
            raise self.fail_reply(label, reply, message, Outcome.PROTOCOL_ERROR)
        if reference.startswith("sha256:") and manifest.digest != reference:
            self.steps.append(step_for(label, "GET", reply, "digest mismatch"))
            # containers/image docker/docker_image_src.go GetManifest -> manifest.MatchesDigest
            message = skopeo.manifest_digest_mismatch(reference)
            raise self.fail_reply(label, reply, message, Outcome.INTEGRITY_ERROR)
        self.steps.append(step_for(label, "GET", reply, f"200 {short_type(manifest.media_type)}"))
        return manifest

    def choose(self, index: Manifest) -> str:
        digest = choose_platform(index, self.options.platform, match_variant=True)
        if digest is not None:
            self.notes.append(f"index entry for {self.options.platform}: {digest}")
            return digest
        os_name, arch, variant = split_platform(self.options.platform)
        available = ", ".join(p for p, _ in index.platforms) or "none"
        self.notes.append(f"platforms in the index: {available}")
        # containers/image manifest/docker_schema2_list.go and oci_index.go ChooseInstance,
        # wrapped by image/unparsed.go "choosing image instance".
        kind = skopeo.index_kind(index.media_type == DOCKER_LIST)
        message = skopeo.no_platform_error(kind, os_name, arch, variant)
        error = PullError(
            step="manifest", detail=f"no {self.options.platform} entry in the index", kind=StepKind.MANIFEST
        )
        raise _Stop(self.result(Outcome.UNSUPPORTED, message, error))

    def get_config(self, manifest: Manifest) -> None:
        digest = manifest.config_digest
        if digest is None:
            self.notes.append("manifest has no config descriptor")
            return
        url = f"{self.base}/v2/{self.ref.path}/blobs/{digest}"
        reply = self.client.send(
            "config", "GET", url, kind=StepKind.CONFIG, headers=self.request_headers(), basic_auth=self.basic
        )
        if reply.failure is not None or reply.status != 200:
            self.steps.append(step_for("config", "GET", reply, reply_words(reply)))
            raise self.fail_reply("config", reply, self.blob_message(digest, reply))
        # body_digest: the whole body's digest, also when a replay holds only part of it.
        computed = reply.body_digest or sha256_digest(reply.body)
        if computed != digest or (reply.body_truncated and reply.body_digest is None):
            self.steps.append(step_for("config", "GET", reply, "digest mismatch"))
            # containers/image image/docker_schema2.go ConfigBlob
            message = skopeo.config_digest_mismatch(computed, digest)
            raise self.fail_reply("config", reply, message, Outcome.INTEGRITY_ERROR)
        self.steps.append(step_for("config", "GET", reply, "200 digest ok"))

    def check_layers(self, manifest: Manifest) -> None:
        """Every layer is checked, ``PARALLEL_LAYERS`` at a time; the error reported is the
        first by layer index (copy/single.go:541-545 reads the results in order once every
        layer's goroutine is done), and the steps are in layer order whatever finished first."""
        total = len(manifest.layer_digests)
        lanes = [replace(self, steps=[], notes=[], tokens=[]) for _ in manifest.layer_digests]
        tasks = [
            partial(lane.check_layer, number, total, digest, declared_size(manifest, number - 1))
            for number, (lane, digest) in enumerate(zip(lanes, manifest.layer_digests, strict=True), start=1)
        ]
        stops = run_in_order(tasks, PARALLEL_LAYERS)
        first: PullResult | None = None
        for lane, stop in zip(lanes, stops, strict=True):
            self.steps.extend(lane.steps)
            self.notes.extend(lane.notes)
            self.tokens.extend(lane.tokens)
            first = first or stop
        if first is not None:
            # rebuilt here: the lane's result holds only its own steps and the exchanges so far
            raise _Stop(self.result(first.outcome, first.message, first.error))

    def check_layer(self, number: int, total: int, digest: str, size: int | None) -> PullResult | None:
        """One layer (on a lane of its own): None when present, else the result it ends with."""
        try:
            self._check_layer(number, total, digest, size)
        except _Stop as stop:
            return stop.result
        return None

    def _check_layer(self, number: int, total: int, digest: str, size: int | None) -> None:
        label = f"layer {number}/{total}"
        url = f"{self.base}/v2/{self.ref.path}/blobs/{digest}"
        if self.options.verify_layers:
            self.verify_layer(label, url, digest, size)
            return
        reply = self.client.send(
            label, "HEAD", url, kind=StepKind.LAYER, headers=self.request_headers(), basic_auth=self.basic
        )
        if reply.failure is not None or reply.status != 200:
            self.steps.append(step_for(label, "HEAD", reply, reply_words(reply)))
            if reply.failure is None:
                # A HEAD answer has no body, so the registry's reason is missing; skopeo
                # GETs blobs anyway. Ask again with GET (a capped body) for the evidence.
                reply = self.client.send(
                    f"{label} (GET for the error body)",
                    "GET",
                    url,
                    kind=StepKind.LAYER,
                    headers=self.request_headers(),
                    basic_auth=self.basic,
                    max_body=64 * 1024,
                )
                self.steps.append(step_for(f"{label} (GET)", "GET", reply, reply_words(reply)))
                if reply.status == 200:
                    self.notes.append(f"{label}: HEAD failed but GET succeeded; skopeo (GET) would pull it")
                    return
            raise self.fail_reply(label, reply, self.blob_message(digest, reply))
        self.steps.append(step_for(label, "HEAD", reply, "200 present"))

    def verify_layer(self, label: str, url: str, digest: str, size: int | None = None) -> None:
        # --output DIR: the layer is written as it streams (memory stays flat), kept if verified.
        out = LayerFile(self.options.layer_dir, digest) if self.options.layer_dir else None

        reply = self.client.send(
            label,
            "GET",
            url,
            kind=StepKind.LAYER,
            headers=self.request_headers(),
            basic_auth=self.basic,
            body_sink=out.write if out is not None else _discard,  # the client hashes it (body_digest)
            max_body=0,
            stream_limit=size,  # issue 6 item 16: never stream past the declared size
        )
        if out is not None:
            verified = reply.failure is None and reply.status == 200 and reply.body_digest == digest
            written = out.finish(verified)
            if out.error is not None:
                self.notes.append(f"{label}: {out.error}")
            elif written is not None:
                self.notes.append(f"{label}: written to {written}")
        if reply.failure is not None or reply.status != 200:
            self.steps.append(step_for(label, "GET", reply, reply_words(reply)))
            raise self.fail_reply(label, reply, self.blob_message(digest, reply))
        if size is not None and longer_than_declared(reply.body_size, size):
            self.steps.append(step_for(label, "GET", reply, f"more than the declared {size} bytes"))
            self.notes.append(stopped_at_declared_size(label, size))
            # c/image hashes the whole body and reports the mismatch; its digest is unknown here.
            message = skopeo.layer_digest_mismatch(digest, "(not computed)")
            raise self.fail_reply(label, reply, message, Outcome.INTEGRITY_ERROR)
        computed = reply.body_digest
        if computed is None:
            # A replayed report from before digests were recorded: the body is not there and
            # the verdict made when it was captured is unknown; say so, never guess.
            self.steps.append(step_for(label, "GET", reply, "200 (body not recorded: not re-checked)"))
            self.notes.append(f"{label}: the layer body was not recorded, so its digest was not re-checked")
            return
        if computed != digest:
            self.steps.append(step_for(label, "GET", reply, "digest mismatch"))
            # containers/image copy/blob.go digest verification (internal/putblobdigest)
            message = skopeo.layer_digest_mismatch(digest, computed)
            raise self.fail_reply(label, reply, message, Outcome.INTEGRITY_ERROR)
        self.steps.append(step_for(label, "GET", reply, "200 digest ok"))

    def blob_message(self, digest: str, reply: Reply) -> str:
        if reply.failure is not None:
            return skopeo.blob_error(digest, self.transport_message(reply, "GET"))
        assert reply.status is not None
        text = ""
        if reply.status == 401:
            text, _code = skopeo.registry_error_text(
                reply.status, status_text(reply), reply.headers, reply.body
            )
        return skopeo.blob_error(digest, skopeo.blob_status_error(reply.status, status_text(reply), text))

    def run(self) -> PullResult:
        try:
            self.ping()
            self.authenticate()
            manifest = self.get_manifest(self.ref.reference_in_repo, "manifest")
            if manifest.is_index:
                manifest = self.get_manifest(self.choose(manifest), "platform manifest")
            if manifest.is_index or manifest.media_type not in READABLE:
                message = skopeo.unsupported_manifest_type(manifest.media_type)
                error = PullError(step="manifest", detail=message, kind=StepKind.MANIFEST)
                return self.result(Outcome.UNSUPPORTED, message, error)
            self.get_config(manifest)
            self.check_layers(manifest)
        except _Stop as stop:
            return stop.result
        self.notes.append(f"manifest digest {manifest.digest}")
        return self.result(Outcome.OK, OK_MESSAGE)


def _discard(_chunk: bytes) -> None:
    """A body sink that keeps nothing: the layer is streamed only to be hashed."""


def pull_v2_only(ref: ImageReference, client: HttpClient, options: PullOptions) -> PullResult:
    """Run the strict V2 pull; always returns a result, never raises on registry behaviour."""
    return _Pull(ref, client, options).run()
