"""The docker-style pull: Docker Engine 1.12's V2 attempt, then its V1 fallback.

Faithful to moby v1.12.6 (78d18021) ``distribution/pull.go`` (the endpoint loop),
``distribution/pull_v2.go`` / ``distribution/errors.go`` (what may fall back),
``distribution/pull_v1.go`` + ``registry/session.go`` (the V1 session) and
``registry/service_v2.go`` / ``service_v1.go`` / ``config.go`` (the endpoint list), with the
vendored docker/distribution (07f32ac) for the V2 client. Each rule cites file and line.

The essential behaviour: the error the user sees is the one of the *last endpoint tried*,
so a V2 ``401`` that falls back to a V1-less registry becomes ``Error: image … not found``.

This module sends only through the ``HttpClient`` it is given (besides resolving the registry's
name, as docker's isSecureIndex and Go's dial errors do) and never raises on registry
misbehaviour. It decides what is sent; every text docker prints or logs comes from
``diagnose.clients.docker112``, none is written here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from urllib.parse import urlsplit

from diagnose.challenge import Challenge
from diagnose.clients import docker112, longer_than_declared, stopped_at_declared_size
from diagnose.clients.docker112 import ManifestKind, V2Error, V2ErrorKind
from diagnose.concurrency import run_in_order
from diagnose.http import HttpClient, Reply
from diagnose.model import (
    FailureKind,
    ImageReference,
    MessageVariant,
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
    Manifest,
    absorb,
    choose_platform,
    content_type,
    declared_size,
    describe_access,
    outcome_for_failure,
    outcome_for_status,
    parse_manifest,
    ping_words,
    pull_error,
    refresh_grant_form,
    reply_words,
    sha256_digest,
    short_type,
    status_text,
    step_for,
    token_grant,
)
from diagnose.pullers.options import PullOptions

CLIENT = "docker 1.12.6"

# Only the start of a layer is read unless --layers asks for all of it: enough for an error body.
BLOB_PEEK = 64 * 1024

PARALLEL_LAYERS = 3
"""docker 1.12's --max-concurrent-downloads default (moby v1.12.6 daemon/config.go:24
defaultMaxConcurrentDownloads): the layer download manager's transfer limit."""

INDEX_SERVER = "https://index.docker.io"
# moby v1.12.6 reference/reference.go:174-187 maps only index.docker.io to docker.io (diagnose's
# reference parser does the same), and registry/service_v2.go:13 / service_v1.go:12 treat only
# that name as the Hub: registry-1.docker.io/… is an ordinary host with its own /v1/_ping.
HUB_DOMAINS = frozenset({"docker.io"})

Resolver = Callable[[str], tuple[str, ...]]


def lookup_ip(host: str) -> tuple[str, ...]:
    """Go's ``net.LookupIP`` as registry/config.go:155-165 uses it: an IP literal is itself, a
    name is resolved (every address), a failed lookup gives nothing."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One entry of docker's endpoint list (LookupPullEndpoints)."""

    url: str  # scheme://host
    version: int  # 2 or 1

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def https(self) -> bool:
        return self.url.startswith("https://")


def is_insecure(host: str, options: PullOptions, lookup: Resolver = lookup_ip) -> bool:
    """Docker's isSecureIndex, inverted (moby v1.12.6 registry/config.go:84-178).

    - docker.io is always secure: its IndexConfigs entry is written last (config.go:120-126), so
      not even ``--insecure-registry docker.io`` relaxes it;
    - an ``--insecure-registry`` entry that is not a CIDR matches only that exact ``host[:port]``
      (config.go:110-116): a bare IP is not a /32;
    - otherwise the host name is resolved and every address checked against the CIDRs, which
      always include 127.0.0.0/8 (config.go:90, 149-175): a name that resolves to 127.x is
      insecure too.

    diagnose's ``--no-tls-verify`` is read as listing the host as insecure (never the Hub).
    """
    if host == "docker.io":
        return False
    if not options.tls_verify:
        return True
    networks = [ipaddress.ip_network("127.0.0.0/8")]
    for entry in options.insecure_registries:
        network = _cidr(entry)
        if network is not None:
            networks.append(network)
        elif entry == host:
            return True
    for address in lookup(_split_host(host)):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if any(ip.version == network.version and ip in network for network in networks):
            return True
    return False


def _cidr(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Go's ``net.ParseCIDR``: only ``address/prefix`` (host bits allowed) is a network."""
    if "/" not in entry:
        return None
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def _split_host(host: str) -> str:
    """Go's ``net.SplitHostPort``, falling back to the whole name (config.go:149-153)."""
    if host.startswith("[") and "]" in host:
        return host[1 : host.index("]")]
    if host.count(":") == 1:
        return host.rsplit(":", 1)[0]
    return host


def pull_endpoints(
    ref: ImageReference, options: PullOptions, lookup: Resolver = lookup_ip
) -> tuple[Endpoint, ...]:
    """The endpoints docker 1.12 tries, in order (registry/service.go:243-260 lookupEndpoints:
    service_v2.go:10-79, then service_v1.go:9-53)."""
    if ref.domain in HUB_DOMAINS:
        return (Endpoint("https://registry-1.docker.io", 2), Endpoint(INDEX_SERVER, 1))
    host = ref.domain
    insecure = is_insecure(host, options, lookup)
    endpoints = [Endpoint(f"https://{host}", 2)]
    if insecure:
        endpoints.append(Endpoint(f"http://{host}", 2))
    endpoints.append(Endpoint(f"https://{host}", 1))
    if insecure:
        endpoints.append(Endpoint(f"http://{host}", 1))
    return tuple(endpoints)


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one endpoint ended: success, a fallback error, or an error that stops the pull."""

    ok: bool
    message: str  # the error text (Go's err.Error()) or the success line
    outcome: Outcome
    fallback: bool = False
    confirmed_v2: bool = False
    transport_ok: bool = False
    no_support: bool = False  # ErrNoSupport (pull by digest from V1)
    error: PullError | None = None


@dataclass(slots=True)
class _Pull:
    ref: ImageReference
    client: HttpClient
    options: PullOptions
    steps: list[PullStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tokens: list[TokenGrant] = field(default_factory=list)
    output: list[str] = field(default_factory=list)  # progress lines the CLI showed
    flushed: bool = False  # once progress was streamed, errors lose their daemon prefix
    bearer: str | None = None  # the token the V2 auth transport adds to every request

    # -- the endpoint loop (distribution/pull.go Pull) ---------------------------------

    def run(self) -> PullResult:
        if _tag_was_defaulted(self.ref):
            self.output.append(docker112.default_tag_line())
        confirmed_v2 = False
        tls_confirmed: set[str] = set()
        last: Attempt | None = None
        last_protocol = Protocol.V2
        keep_no_support = True
        for endpoint in pull_endpoints(self.ref, self.options):
            if confirmed_v2 and endpoint.version == 1:
                self.notes.append(docker112.log_skipping_v1(endpoint.url))
                continue
            if not endpoint.https and endpoint.host in tls_confirmed:
                self.notes.append(docker112.log_skipping_non_tls(endpoint.url))
                continue
            self.notes.append(docker112.log_trying(self.ref.path, endpoint.url, endpoint.version))
            attempt = self.attempt_v2(endpoint) if endpoint.version == 2 else self.attempt_v1(endpoint)
            if attempt.ok:
                return self.result(attempt, Protocol.V2 if endpoint.version == 2 else Protocol.V1)
            if docker112.NO_TIMEOUT_HANG in attempt.message:
                # a request without a client timeout stalled: docker would still be waiting
                return self.result(attempt, Protocol.V2 if endpoint.version == 2 else Protocol.V1)
            if not attempt.fallback:
                self.notes.append(docker112.log_not_continuing(attempt.message))
                return self.result(attempt, Protocol.V2 if endpoint.version == 2 else Protocol.V1)
            confirmed_v2 = confirmed_v2 or attempt.confirmed_v2
            if endpoint.https and attempt.transport_ok:
                tls_confirmed.add(endpoint.host)
            # Go's discardNoSupportErrors, inverted: an ErrNoSupport is kept only while every
            # error so far was one.
            if not attempt.no_support:
                keep_no_support = False
            if not attempt.no_support or keep_no_support or last is None:
                last, last_protocol = attempt, (Protocol.V2 if endpoint.version == 2 else Protocol.V1)
            self.notes.append(docker112.log_next_endpoint(attempt.message))
        if last is None:
            message = docker112.no_endpoints_error(self.ref.familiar)
            return self.result(Attempt(False, message, Outcome.PROTOCOL_ERROR), Protocol.V2)
        return self.result(last, last_protocol)

    def result(self, attempt: Attempt, protocol: Protocol) -> PullResult:
        variants: tuple[MessageVariant, ...] = ()
        if attempt.ok:
            lines = [*self.output, attempt.message]
        elif docker112.NO_TIMEOUT_HANG in attempt.message:
            lines = [*self.output, docker112.NO_TIMEOUT_HANG]
        else:
            creds = self.options.credentials
            shown = docker112.cli_failure(
                attempt.message, flushed=self.flushed, stored_username=creds[0] if creds else None
            )
            lines = [*self.output, *shown.lines]
            if shown.terminal_lines is not None:
                # The report shows the form without a terminal (it is final; the prompt waits
                # for input); the terminal's login prompt is kept as a variant.
                terminal = "\n".join([*self.output, *shown.terminal_lines])
                variants = (MessageVariant(docker112.TERMINAL_VARIANT, terminal),)
                self.notes.append(docker112.login_hides_error_note(attempt.message))
        return PullResult(
            variants=variants,
            daemon_error=None if attempt.ok else attempt.message,
            strategy=Strategy.V2_THEN_V1,
            outcome=attempt.outcome,
            protocol=protocol,
            message="\n".join(lines),
            client=CLIENT,
            steps=tuple(self.steps),
            exchanges=self.client.exchanges(),
            error=attempt.error,
            notes=tuple(self.notes),
            tokens=tuple(self.tokens),
        )

    # -- V2 (distribution/pull_v2.go) ---------------------------------------------------

    def attempt_v2(self, endpoint: Endpoint) -> Attempt:
        ping = self.client.send("ping", "GET", f"{endpoint.url}/v2/", kind=StepKind.PING)
        self.steps.append(step_for("ping", "GET", ping, ping_words(ping)))
        if ping.failure is not None:
            # registry/auth.go PingV2Registry: a transport error -> fallbackError, transportOK false.
            text = docker112.url_error("Get", ping.url, self.transport_text(ping, client_timeout=True))
            return self.transport_attempt("ping", ping, text, confirmed_v2=False)
        found_v2 = docker112.confirms_v2(ping.headers)
        if found_v2:
            self.notes.append(docker112.note_confirmed_v2(endpoint.host))
        challenges: tuple[Challenge, ...] = ()
        if ping.status == 401:  # D12 authchallenge.go: challenges are kept only for a 401 ping
            challenges = docker112.ping_challenges(header_values(ping.headers, "WWW-Authenticate"))
        manifest_ref = self.ref.reference_in_repo
        manifest_url = f"{endpoint.url}/v2/{self.ref.path}/manifests/{manifest_ref}"
        headers: list[tuple[str, str]] = [("Accept", media) for media in docker112.ACCEPT]
        basic: tuple[str, str] | None = None
        creds = self.options.credentials
        usable = creds if creds and creds[0] and creds[1] else None
        # D12 auth/session.go:95-105: the token handler, then the basic handler, each for every
        # challenge of its scheme (M12 distribution/registry.go:87); the last one sets
        # Authorization, and the first error ends the request before it is sent.
        for challenge in challenges:
            if challenge.scheme.lower() != "bearer":
                continue
            token = self.fetch_token(challenge, usable)
            if isinstance(token, Attempt):
                return self.token_failure_attempt(token, manifest_url, found_v2)
            self.bearer = token
            basic = None
        for challenge in challenges:
            if challenge.scheme.lower() != "basic":
                continue
            if usable is None:
                return self.no_basic_credentials(manifest_url, found_v2)
            basic, self.bearer = usable, None
        if self.bearer is not None:
            headers.append(("Authorization", f"Bearer {self.bearer}"))
        reply = self.client.send(
            "manifest", "GET", manifest_url, kind=StepKind.MANIFEST, headers=headers, basic_auth=basic
        )
        if reply.failure is not None:
            self.steps.append(step_for("manifest", "GET", reply, reply_words(reply)))
            err = docker112.transport_v2_error("Get", reply.url, self.transport_text(reply))
            error = self.reply_error("manifest", reply)
            return self.v2_error_attempt(err, outcome_for_failure(reply.failure.kind), found_v2, error)
        assert reply.status is not None
        if not _success_status(reply.status):
            # D12 registry/client/repository.go:475-496: 304 is ErrManifestNotModified, any other
            # 2xx/3xx is unmarshalled, the rest goes through HandleErrorResponse.
            self.steps.append(step_for("manifest", "GET", reply, reply_words(reply)))
            err = docker112.manifest_response_error(reply.status, status_text(reply), reply.body)
            error = self.reply_error("manifest", reply)
            return self.v2_error_attempt(err, outcome_for_status(reply.status), found_v2, error)
        return self.v2_success(endpoint, reply, headers, basic, found_v2)

    def v2_success(
        self,
        endpoint: Endpoint,
        reply: Reply,
        headers: list[tuple[str, str]],
        basic: tuple[str, str] | None,
        found_v2: bool,
    ) -> Attempt:
        media = content_type(reply.headers)
        kind, problem = docker112.unmarshal_manifest(media, reply.body)
        manifest = parse_manifest(reply.body, media)
        plugin = manifest is not None and manifest.config_media_type.startswith(
            "application/vnd.docker.plugin"
        )
        if kind is None or manifest is None or (kind is ManifestKind.SCHEMA2 and plugin):
            # D12 UnmarshalManifest fails inside manSvc.Get (or M12 pull_v2.go:364-367 refuses a
            # plugin): before confirmedV2 is set and before "Pulling from" is printed. A plain
            # error, so continueOnError (errors.go:76-77) falls back keeping the ping's confirmedV2.
            text = problem or docker112.PLUGIN_MANIFEST
            described = short_type(media) if media else "no Content-Type"
            self.steps.append(
                step_for("manifest", "GET", reply, f"200 {described} (docker 1.12 cannot read it)")
            )
            err = V2Error(V2ErrorKind.OTHER, (), text)
            outcome = Outcome.PROTOCOL_ERROR if manifest is None else Outcome.UNSUPPORTED
            return self.v2_error_attempt(err, outcome, found_v2, self.reply_error("manifest", reply))
        self.steps.append(step_for("manifest", "GET", reply, f"{reply.status} {short_type(media or kind)}"))
        # M12 pull_v2.go:372-375: the manifest arrived, so this is a V2 registry (confirmedV2).
        self.output.append(docker112.pulling_from_line(self.ref.reference_in_repo, self.ref.path))
        self.flushed = True
        shown_digest = _shown_digest(kind, reply.body)
        if kind is ManifestKind.LIST:
            picked = self.v2_platform(endpoint, manifest, headers, basic)
            if isinstance(picked, Attempt):
                return picked
            kind, manifest = picked
        if kind is ManifestKind.SCHEMA1:
            problem = docker112.schema1_problem(
                manifest.schema_version, len(manifest.layer_digests), self.ref.familiar
            )
            if problem is not None:
                return Attempt(
                    False,
                    problem,
                    Outcome.UNSUPPORTED,
                    error=PullError(step="manifest", detail=problem, kind=StepKind.MANIFEST),
                )
        elif manifest.config_digest:
            attempt = self.v2_config(endpoint, manifest.config_digest, basic)
            if attempt is not None:
                return attempt
        attempt = self.v2_layers(endpoint, manifest, basic)
        if attempt is not None:
            return attempt
        self.output.append(docker112.digest_line(shown_digest))
        message = docker112.downloaded_status_line(self.ref.familiar)
        return Attempt(True, message, Outcome.OK, confirmed_v2=True, transport_ok=True)

    def v2_platform(
        self,
        endpoint: Endpoint,
        listed: Manifest,
        headers: list[tuple[str, str]],
        basic: tuple[str, str] | None,
    ) -> Attempt | tuple[ManifestKind, Manifest]:
        """M12 pull_v2.go:634-688 pullManifestList: OS and architecture only, then GET by digest."""
        digest = choose_platform(listed, self.options.platform, match_variant=False)
        if digest is None:
            message = docker112.NO_SUPPORTED_PLATFORM
            error = PullError(
                step="manifest",
                detail=f"no {self.options.platform} entry in the manifest list",
                kind=StepKind.MANIFEST,
            )
            return Attempt(False, message, Outcome.UNSUPPORTED, error=error)
        url = f"{endpoint.url}/v2/{self.ref.path}/manifests/{digest}"
        reply = self.client.send(
            "platform manifest", "GET", url, kind=StepKind.MANIFEST, headers=headers, basic_auth=basic
        )
        if reply.failure is not None or not _success_status(reply.status):
            self.steps.append(step_for("platform manifest", "GET", reply, reply_words(reply)))
            return self.fatal_reply_attempt("platform manifest", reply)
        media = content_type(reply.headers)
        kind, problem = docker112.unmarshal_manifest(media, reply.body)
        manifest = parse_manifest(reply.body, media)
        if kind is None or manifest is None:
            self.steps.append(
                step_for("platform manifest", "GET", reply, f"200 {short_type(media)} (unreadable)")
            )
            text = problem or docker112.UNSUPPORTED_MANIFEST
            outcome = Outcome.PROTOCOL_ERROR if manifest is None else Outcome.UNSUPPORTED
            return Attempt(False, text, outcome, error=self.reply_error("platform manifest", reply))
        self.steps.append(
            step_for("platform manifest", "GET", reply, f"{reply.status} {short_type(media or kind)}")
        )
        if kind is ManifestKind.LIST:
            message = docker112.UNSUPPORTED_MANIFEST  # M12 pull_v2.go:686-687
            return Attempt(
                False,
                message,
                Outcome.UNSUPPORTED,
                error=PullError(step="manifest", detail=message, kind=StepKind.MANIFEST),
            )
        return kind, manifest

    def v2_config(self, endpoint: Endpoint, digest: str, basic: tuple[str, str] | None) -> Attempt | None:
        """M12 pull_v2.go:693-715 pullSchema2ImageConfig; errors become ImageConfigPullError."""
        url = f"{endpoint.url}/v2/{self.ref.path}/blobs/{digest}"
        reply = self.client.send(
            "config", "GET", url, kind=StepKind.CONFIG, headers=self.blob_headers(), basic_auth=basic
        )
        if reply.failure is not None or not _success_status(reply.status):
            self.steps.append(step_for("config", "GET", reply, reply_words(reply)))
            error = self.reply_error("config", reply)
            if reply.failure is not None:
                inner = docker112.url_error("Get", reply.url, self.transport_text(reply))
                outcome = outcome_for_failure(reply.failure.kind)
            else:
                assert reply.status is not None
                inner = docker112.blob_error(reply.status, status_text(reply), reply.body)
                outcome = outcome_for_status(reply.status)
            # ImageConfigPullError never falls back (distribution/errors.go:74-75).
            return Attempt(False, docker112.config_error(inner), outcome, error=error)
        # body_digest: the whole body's digest, also when a replay holds only part of it.
        computed = reply.body_digest or sha256_digest(reply.body)
        if computed != digest or (reply.body_truncated and reply.body_digest is None):
            self.steps.append(step_for("config", "GET", reply, "digest mismatch"))
            message = docker112.config_error(docker112.config_verification_failed(digest))
            error = PullError(
                step="config", exchange_id=reply.exchange_id, status=reply.status, detail=message
            )
            return Attempt(False, message, Outcome.INTEGRITY_ERROR, error=error)
        self.steps.append(step_for("config", "GET", reply, "200 digest ok"))
        return None

    def v2_layers(
        self, endpoint: Endpoint, manifest: Manifest, basic: tuple[str, str] | None
    ) -> Attempt | None:
        """Every layer through the download manager, ``PARALLEL_LAYERS`` at a time, queued in
        layer order (M12 distribution/xfer/download.go:91-151). The error docker reports is the
        top-most failing layer's: a layer takes its parent's error only when its own download
        worked (download.go:295-308), and the pull waits for the top layer (:176-180). Steps
        stay in layer order whatever finished first."""
        total = len(manifest.layer_digests)
        lanes = [replace(self, steps=[], notes=[], tokens=[], output=[]) for _ in manifest.layer_digests]
        tasks = [
            partial(
                lane.v2_layer,
                endpoint,
                f"layer {number}/{total}",
                digest,
                basic,
                declared_size(manifest, number - 1),
            )
            for number, (lane, digest) in enumerate(zip(lanes, manifest.layer_digests, strict=True), start=1)
        ]
        failed: Attempt | None = None
        for lane, attempt in zip(lanes, run_in_order(tasks, PARALLEL_LAYERS), strict=True):
            absorb(self, lane)
            failed = attempt or failed
        return failed

    def v2_layer(
        self,
        endpoint: Endpoint,
        label: str,
        digest: str,
        basic: tuple[str, str] | None,
        size: int | None = None,
    ) -> Attempt | None:
        """A layer is fetched with GET (D12 transport/http_reader.go:172-184), never HEAD.

        Without ``verify_layers`` only the start of the body is read (enough for an error body);
        with it the whole layer streams through sha256, as docker's verifier does.
        """
        url = f"{endpoint.url}/v2/{self.ref.path}/blobs/{digest}"
        hasher = hashlib.sha256() if self.options.verify_layers else None
        reply = self.client.send(
            label,
            "GET",
            url,
            kind=StepKind.LAYER,
            headers=self.blob_headers(),
            basic_auth=basic,
            body_sink=hasher.update if hasher is not None else None,
            max_body=BLOB_PEEK if hasher is None else 0,
            stream_limit=size if hasher is not None else None,  # issue 6 item 16
        )
        if reply.failure is not None or not _success_status(reply.status):
            self.steps.append(step_for(label, "GET", reply, reply_words(reply)))
            error = self.reply_error(label, reply)
            self.notes.append(docker112.LAYER_RETRY_NOTE)
            if reply.failure is not None:
                text = docker112.layer_transport_error(self.transport_text(reply))
                return Attempt(False, text, outcome_for_failure(reply.failure.kind), error=error)
            assert reply.status is not None
            text = docker112.blob_error(reply.status, status_text(reply), reply.body)
            return Attempt(False, text, outcome_for_status(reply.status), error=error)
        # body_digest: the whole layer's digest, taken while it streamed (in a replay: as
        # captured; a recording too old to hold one is not re-judged).
        too_long = hasher is not None and size is not None and longer_than_declared(reply.body_size, size)
        if too_long and size is not None:
            self.notes.append(stopped_at_declared_size(label, size))
        if too_long or (hasher is not None and reply.body_digest is not None and reply.body_digest != digest):
            self.steps.append(step_for(label, "GET", reply, "digest mismatch"))
            message = docker112.layer_verification_failed(digest)
            error = PullError(step=label, exchange_id=reply.exchange_id, status=reply.status, detail=message)
            return Attempt(False, message, Outcome.INTEGRITY_ERROR, error=error)
        self.steps.append(
            step_for(label, "GET", reply, "200 verified" if hasher is not None else "200 present")
        )
        return None

    def blob_headers(self) -> list[tuple[str, str]]:
        """A blob GET carries no Accept header: only what the auth transport adds
        (http_reader.go:172 builds a bare request). Basic auth is passed separately."""
        return [("Authorization", f"Bearer {self.bearer}")] if self.bearer else []

    def fatal_reply_attempt(self, step: str, reply: Reply) -> Attempt:
        """An error after the manifest arrived: confirmedV2, so it never reaches V1."""
        error = self.reply_error(step, reply)
        if reply.failure is not None:
            text = docker112.url_error("Get", reply.url, self.transport_text(reply))
            return Attempt(False, text, outcome_for_failure(reply.failure.kind), error=error)
        assert reply.status is not None
        if reply.status == 304:
            return Attempt(False, docker112.MANIFEST_NOT_MODIFIED, Outcome.PROTOCOL_ERROR, error=error)
        err = docker112.v2_response_error(reply.status, status_text(reply), reply.body)
        return Attempt(False, err.text, outcome_for_status(reply.status), error=error)

    def fetch_token(self, challenge: Challenge, creds: tuple[str, str] | None) -> str | Attempt:
        """D12 auth/session.go:362-443 fetchTokenWithBasicAuth: the token, or how it failed
        (an Attempt whose message is the inner error, wrapped later as ``Get <manifest>: …``)."""
        scope = f"repository:{self.ref.path}:pull"
        if self.options.identity_token:
            # D12 auth/session.go fetchTokenWithOAuth: a stored identity token is sent as the
            # OAuth2 refresh-token grant (client_id "docker", M12 registry/auth.go AuthClientID).
            reply = self.client.send(
                "token",
                "POST",
                challenge.realm or "",
                kind=StepKind.TOKEN,
                headers=[("Content-Type", "application/x-www-form-urlencoded")],
                body=refresh_grant_form(challenge, scope, self.options.identity_token, "docker").encode(),
            )
        else:
            account = creds[0] if creds else None
            url = docker112.token_url(challenge.realm or "", challenge.service, scope, account)
            reply = self.client.send("token", "GET", url, kind=StepKind.TOKEN, basic_auth=creds)
        error = self.reply_error("token", reply)
        if reply.failure is not None:
            self.steps.append(step_for("token", "GET", reply, reply_words(reply)))
            inner = docker112.url_error("Get", reply.url, self.transport_text(reply, client_timeout=True))
            return Attempt(False, inner, outcome_for_failure(reply.failure.kind), error=error)
        assert reply.status is not None
        token, problem = docker112.token_answer(reply.status, status_text(reply), reply.body)
        grant = token_grant(reply, scope, issued=token is not None)
        self.tokens.append(grant)
        if token is None:
            self.steps.append(step_for("token", "GET", reply, reply_words(reply)))
            if 200 <= reply.status <= 399:
                outcome = Outcome.PROTOCOL_ERROR
            else:
                outcome = Outcome.AUTH_FAILED if reply.status == 401 else outcome_for_status(reply.status)
            return Attempt(False, problem or docker112.NO_TOKEN, outcome, error=error)
        access = tuple(a.scope for a in grant.access or ())
        self.steps.append(step_for("token", "GET", reply, describe_access(access)))
        self.notes.append(docker112.note_token_granted(scope, access))
        return token

    def token_failure_attempt(self, failed: Attempt, manifest_url: str, found_v2: bool) -> Attempt:
        """The token fetch runs inside the transport, so Go wraps it as ``Get <manifest url>: …``."""
        err = docker112.transport_v2_error("Get", manifest_url, failed.message)
        assert failed.error is not None
        return self.v2_error_attempt(err, failed.outcome, found_v2, failed.error)

    def no_basic_credentials(self, manifest_url: str, found_v2: bool) -> Attempt:
        """D12 auth/session.go:488-497 basicHandler: refused before sending."""
        exchange_id = self.client.refuse(
            "manifest",
            "GET",
            manifest_url,
            "no basic auth credentials (docker refuses to send)",
            kind=StepKind.MANIFEST,
        )
        self.steps.append(
            PullStep(
                "manifest", "GET", manifest_url, None, "not sent: no basic auth credentials", exchange_id
            )
        )
        err = docker112.no_basic_credentials_error("Get", manifest_url)
        error = PullError(
            step="manifest",
            exchange_id=exchange_id,
            failure=TransportFailure(FailureKind.CLIENT_SIDE, "no basic auth credentials"),
            detail="docker refused to send the manifest request: no basic auth credentials",
        )
        return self.v2_error_attempt(err, Outcome.UNAUTHORIZED, found_v2, error)

    def v2_error_attempt(self, err: V2Error, outcome: Outcome, found_v2: bool, error: PullError) -> Attempt:
        """allowV1Fallback, then continueOnError (pull_v2.go Pull, distribution/errors.go)."""
        # allowV1Fallback applies to the tag-manifest GET only, not to a pull by digest.
        if self.ref.digest is None and docker112.allow_v1_fallback(err):
            # confirmedV2 is cleared on purpose: V1 is tried even though the ping proved V2. The
            # url.Error branch (no basic auth credentials) leaves transportOK false.
            self.notes.append(docker112.note_v1_fallback(err.text))
            transport_ok = err.kind is not V2ErrorKind.NO_BASIC_CREDENTIALS
            return Attempt(
                False,
                err.text,
                outcome,
                fallback=True,
                confirmed_v2=False,
                transport_ok=transport_ok,
                error=error,
            )
        if docker112.continue_on_error(err):
            return Attempt(
                False, err.text, outcome, fallback=True, confirmed_v2=found_v2, transport_ok=True, error=error
            )
        return Attempt(False, err.text, outcome, error=error)

    def transport_attempt(self, step: str, reply: Reply, text: str, *, confirmed_v2: bool) -> Attempt:
        assert reply.failure is not None
        return Attempt(
            False,
            text,
            outcome_for_failure(reply.failure.kind),
            fallback=True,
            confirmed_v2=confirmed_v2,
            transport_ok=False,
            error=self.reply_error(step, reply),
        )

    # -- V1 (distribution/pull_v1.go, registry/session.go) -----------------------------

    def attempt_v1(self, endpoint: Endpoint) -> Attempt:
        if self.ref.digest is not None:
            # M12 pull_v1.go:38-42: fallbackError{ErrNoSupport{…}}
            message = docker112.NO_DIGEST_ON_V1
            return Attempt(False, message, Outcome.UNSUPPORTED, fallback=True, no_support=True)
        index = f"{endpoint.url}/v1/"
        # session.go authorizeClient + authTransport: a standalone https registry gets Basic auth
        # on every request, even empty ("Og=="); otherwise Basic goes only on the request that
        # asks for a token (X-Docker-Token: true), and only when a username is set.
        always_basic = False
        if endpoint.url != INDEX_SERVER and endpoint.https:
            ping = self.client.send("v1 ping", "GET", f"{index}_ping", kind=StepKind.V1_PING)
            if ping.failure is not None:
                self.steps.append(step_for("v1 ping", "GET", ping, ping.failure.kind.value))
                # NewSession fails; it comes back as a fallbackError and becomes lastErr.
                text = docker112.v1_ping_error(ping.url, self.transport_text(ping))
                return self.transport_attempt("v1 ping", ping, text, confirmed_v2=False)
            standalone = _v1_standalone(ping)
            self.steps.append(
                step_for(
                    "v1 ping", "GET", ping, f"{ping.status} (ignored; standalone={str(standalone).lower()})"
                )
            )
            always_basic = standalone
        creds = self.options.credentials
        session_basic = (creds or ("", "")) if always_basic else None
        images_basic = creds if creds and creds[0] else session_basic
        self.output.append(docker112.pulling_repository_line(self.ref.name))
        self.flushed = True
        images_url = f"{index}repositories/{self.ref.path}/images"
        reply = self.client.send(
            "v1 images",
            "GET",
            images_url,
            kind=StepKind.V1_IMAGES,
            headers=[("X-Docker-Token", "true")],
            basic_auth=images_basic,
        )
        tag = self.ref.tag or "latest"
        if reply.failure is not None:
            self.steps.append(step_for("v1 images", "GET", reply, reply.failure.kind.value))
            text = docker112.v1_transport_error(reply.url, reply.failure.kind, self.transport_text(reply))
            return Attempt(
                False,
                text,
                outcome_for_failure(reply.failure.kind),
                error=self.reply_error("v1 images", reply),
            )
        assert reply.status is not None
        if reply.status != 200:
            self.steps.append(step_for("v1 images", "GET", reply, reply_words(reply)))
            text = docker112.v1_images_error(reply.status, self.ref.path, tag, reply.body)
            return Attempt(
                False, text, outcome_for_status(reply.status), error=self.reply_error("v1 images", reply)
            )
        problem = docker112.v1_decode_error(reply.body, docker112.V1Body.IMAGE_LIST)
        if problem is not None:
            # M12 registry/session.go:467-470: the image list must decode as []*ImgData.
            self.steps.append(step_for("v1 images", "GET", reply, "200 unreadable image list"))
            return Attempt(False, problem, Outcome.PROTOCOL_ERROR, error=self.reply_error("v1 images", reply))
        self.steps.append(step_for("v1 images", "GET", reply, "200 image list"))
        return self.v1_pull_tag(endpoint, reply, tag, session_basic)

    def v1_pull_tag(
        self, endpoint: Endpoint, images: Reply, tag: str, basic: tuple[str, str] | None
    ) -> Attempt:
        """M12 pull_v1.go:92-131 with registry/session.go:326-358 GetRemoteTag."""
        # registry/session.go:123-138: the index's X-Docker-Token values (joined with ",") are
        # sent as "Authorization: Token …" on later requests that carry no other Authorization.
        token = ",".join(header_values(images.headers, "X-Docker-Token"))
        extra: list[tuple[str, str]] = []
        if token and basic is None:
            extra.append(("Authorization", f"Token {token}"))
        data_endpoints = _data_endpoints(endpoint, images)
        repo = self.ref.path if "/" in self.ref.path else f"library/{self.ref.path}"
        for data in data_endpoints:
            headers, auth = self.v1_credentials_for(data, extra, basic)
            reply = self.client.send(
                "v1 tag",
                "GET",
                f"{data}repositories/{repo}/tags/{tag}",
                kind=StepKind.V1_TAGS,
                headers=headers,
                basic_auth=auth,
            )
            self.steps.append(step_for("v1 tag", "GET", reply, reply_words(reply)))
            if reply.failure is not None:
                # session.go:336-338: a transport error ends the lookup at once.
                text = docker112.url_error("Get", reply.url, self.transport_text(reply))
                return Attempt(
                    False,
                    text,
                    outcome_for_failure(reply.failure.kind),
                    error=self.reply_error("v1 tag", reply),
                )
            if reply.status == 404:
                text = docker112.v1_tag_not_found(tag, self.ref.name)
                return Attempt(False, text, Outcome.NOT_FOUND, error=self.reply_error("v1 tag", reply))
            if reply.status != 200:
                continue  # session.go:347-349: the next data endpoint
            problem = docker112.v1_decode_error(reply.body, docker112.V1Body.TAG)
            if problem is not None:
                return Attempt(
                    False, problem, Outcome.PROTOCOL_ERROR, error=self.reply_error("v1 tag", reply)
                )
            image_id = json.loads(reply.body)
            invalid = docker112.v1_invalid_image_id(image_id)
            if invalid is not None:
                return Attempt(
                    False, invalid, Outcome.PROTOCOL_ERROR, error=self.reply_error("v1 tag", reply)
                )
            return self.v1_download(data_endpoints, image_id, tag, extra, basic)
        message = docker112.NO_REGISTRY_ENDPOINT
        error = PullError(step="v1 tag", detail=message, kind=StepKind.V1_TAGS)
        return Attempt(False, message, Outcome.PROTOCOL_ERROR, error=error)

    def v1_download(
        self,
        data_endpoints: list[str],
        image_id: str,
        tag: str,
        extra: list[tuple[str, str]],
        basic: tuple[str, str] | None,
    ) -> Attempt:
        """M12 pull_v1.go:165-184: every data endpoint in turn; the last one's error is shown."""
        failed: tuple[str, str, Reply | None] | None = None
        for data in data_endpoints:
            failed = self.v1_pull_image(data, image_id, *self.v1_credentials_for(data, extra, basic))
            if failed is None:
                self.output.append(docker112.downloaded_status_line(self.ref.familiar))
                return Attempt(True, docker112.legacy_registry_line(self.ref.name), Outcome.OK)
        assert failed is not None
        inner, step, reply = failed
        text = docker112.v1_image_error(tag, self.ref.name, inner)
        if reply is None:
            return Attempt(False, text, Outcome.PROTOCOL_ERROR, error=PullError(step=step, detail=text))
        if reply.failure is not None:
            outcome = outcome_for_failure(reply.failure.kind)
        else:
            outcome = outcome_for_status(reply.status or 0)
            if outcome is Outcome.OK:
                outcome = Outcome.PROTOCOL_ERROR
        return Attempt(False, text, outcome, error=self.reply_error(step, reply))

    def v1_pull_image(
        self, data: str, image_id: str, extra: list[tuple[str, str]], basic: tuple[str, str] | None
    ) -> tuple[str, str, Reply | None] | None:
        """M12 pull_v1.go:187-256 pullImage: ancestry, every layer's JSON, then the layers.

        Returns None on success, else (Go's error text, step, the reply that failed).
        """
        ancestry = self.client.send(
            "v1 ancestry",
            "GET",
            f"{data}images/{image_id}/ancestry",
            kind=StepKind.V1_ANCESTRY,
            headers=extra,
            basic_auth=basic,
        )
        self.steps.append(step_for("v1 ancestry", "GET", ancestry, reply_words(ancestry)))
        if ancestry.failure is not None:
            return (
                docker112.url_error("Get", ancestry.url, self.transport_text(ancestry)),
                "v1 ancestry",
                ancestry,
            )
        if ancestry.status != 200:
            return docker112.v1_ancestry_error(ancestry.status or 0, image_id), "v1 ancestry", ancestry
        problem = docker112.v1_decode_error(ancestry.body, docker112.V1Body.ANCESTRY)
        if problem is not None:
            return docker112.v1_ancestry_body_error(problem), "v1 ancestry", ancestry
        history = [item for item in json.loads(ancestry.body) if isinstance(item, str)]
        if not history:
            return docker112.v1_empty_history(image_id), "v1 ancestry", None
        layers = list(reversed(history))
        for layer_id in layers:  # pull_v1.go:205-232: all the JSONs first, bottom-most first
            reply = self.client.send(
                "v1 json",
                "GET",
                f"{data}images/{layer_id}/json",
                kind=StepKind.V1_IMAGE_JSON,
                headers=extra,
                basic_auth=basic,
            )
            self.steps.append(step_for("v1 json", "GET", reply, reply_words(reply)))
            if reply.failure is not None or reply.status != 200:
                self.notes.append(docker112.V1_JSON_RETRY_NOTE)
                if reply.failure is not None:
                    url_text = docker112.url_error("Get", reply.url, self.transport_text(reply))
                    return docker112.v1_json_transport_error(url_text), "v1 json", reply
                return docker112.v1_json_error(reply.status or 0), "v1 json", reply
        # pull_v1.go:235: the layers go through the same download manager as V2's, so
        # PARALLEL_LAYERS at a time and the top-most failing layer's error (see v2_layers).
        get = partial(
            self.client.send, kind=StepKind.V1_LAYER, headers=extra, basic_auth=basic, max_body=BLOB_PEEK
        )
        tasks = [partial(get, "v1 layer", "GET", f"{data}images/{layer_id}/layer") for layer_id in layers]
        failed: tuple[str, str, Reply | None] | None = None
        for layer_id, reply in zip(layers, run_in_order(tasks, PARALLEL_LAYERS), strict=True):
            self.steps.append(step_for("v1 layer", "GET", reply, reply_words(reply)))
            if reply.failure is not None:
                failed = docker112.v1_layer_error(0, layer_id), "v1 layer", reply
            elif reply.status != 200:
                failed = docker112.v1_layer_error(reply.status or 0, layer_id), "v1 layer", reply
        return failed

    def v1_credentials_for(
        self, data: str, extra: list[tuple[str, str]], basic: tuple[str, str] | None
    ) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
        """Issue 6 item 15: credentials go only to the registry the user named. docker 1.12
        sends them to every ``X-Docker-Endpoints`` host too (``v1_credentials_withheld``); a
        request to another host goes without them, and the note says what docker would send."""
        named = {_host_port(e.url) for e in pull_endpoints(self.ref, self.options)}
        if _host_port(data) in named or (not extra and basic is None):
            return extra, basic
        note = docker112.v1_credentials_withheld(
            urlsplit(data).netloc, basic=basic is not None, token=bool(extra)
        )
        if note not in self.notes:
            self.notes.append(note)
        return [], None

    # -- evidence -------------------------------------------------------------------------

    def transport_text(self, reply: Reply, *, client_timeout: bool = False) -> str:
        """Go's text for a failed request; only the V2 ping and the token fetch have a client
        timeout (D4), and Go names the address it dialled (D5)."""
        assert reply.failure is not None
        return docker112.transport_error_text(
            reply.failure.kind, dial_address(reply.url), reply.failure.detail, client_timeout=client_timeout
        )

    def reply_error(self, step: str, reply: Reply) -> PullError:
        return pull_error(step, reply)


def dial_address(url: str, lookup: Resolver = lookup_ip) -> str:
    """The ``ip:port`` Go's net.OpError prints for a failed dial (D5): the resolved address
    (unverified for names with several: Go orders them by RFC 6724, as getaddrinfo does) and the
    scheme's default port when the URL has none."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "<invalid host>"
    addresses = lookup(host) if host else ()
    address = addresses[0] if addresses else host
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _success_status(status: int | None) -> bool:
    """D12 registry/client/repository.go:103-107 SuccessStatus (200-399), minus 304 (:475)."""
    return status is not None and 200 <= status <= 399 and status != 304


def _shown_digest(kind: ManifestKind, body: bytes) -> str:
    """The ``Digest:`` line: sha256 of the bytes received, or for schema1 of the signed payload
    without its signatures (M12 pull_v2.go:500)."""
    if kind is ManifestKind.SCHEMA1:
        canonical = docker112.schema1_canonical(body)
        if canonical is not None:
            return sha256_digest(canonical)
    return sha256_digest(body)


def _tag_was_defaulted(ref: ImageReference) -> bool:
    """The CLI adds ``:latest`` (and says so) when the input named neither tag nor digest.

    A tag or digest can only appear in the last path component of the input.
    """
    last = ref.input.rsplit("/", 1)[-1]
    return ":" not in last and "@" not in last


def _v1_standalone(ping: Reply) -> bool:
    """endpoint_v1.go pingV1: standalone unless the body or the header says otherwise."""
    standalone = True
    try:
        data = json.loads(ping.body)
        if isinstance(data, dict) and isinstance(data.get("standalone"), bool):
            standalone = data["standalone"]
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    header = header_value(ping.headers, "X-Docker-Registry-Standalone") or ""
    if header.lower() == "true" or header == "1":
        return True
    if header:
        return False
    return standalone


def _host_port(url: str) -> tuple[str, int | None]:
    """Host and port (the scheme's default when none is given) a URL sends to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url, None
    return (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(parts.scheme)


def _data_endpoints(endpoint: Endpoint, images: Reply) -> list[str]:
    """M12 registry/session.go:398-415, 456-465: every X-Docker-Endpoints line, split on commas,
    with the index's scheme; without the header, the index host itself."""
    scheme = urlsplit(endpoint.url).scheme
    listed = header_values(images.headers, "X-Docker-Endpoints")
    if not any(value.strip() for value in listed):
        return [f"{endpoint.url}/v1/"]
    return [f"{scheme}://{host.strip()}/v1/" for value in listed for host in value.split(",")]


def pull_v2_then_v1(ref: ImageReference, client: HttpClient, options: PullOptions) -> PullResult:
    """Run docker 1.12's pull; always returns a result, never raises on registry behaviour."""
    return _Pull(ref, client, options).run()
