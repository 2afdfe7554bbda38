"""Pieces both pullers share: hosts, outcome classification, manifests, platforms, tokens.

Classification and manifest handling are pure functions. ``fetch_token`` sends through the
``HttpClient`` it is given and never raises. Nothing here decides what a client prints:
that wording lives in ``diagnose/clients/``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from diagnose.challenge import Challenge, find_challenge, parse_challenges
from diagnose.errors_body import parse_error_body
from diagnose.http import HttpClient, Reply
from diagnose.model import (
    FailureKind,
    Headers,
    Outcome,
    PullError,
    PullStep,
    StepKind,
    TokenGrant,
    header_value,
    header_values,
)
from diagnose.redact import redact_url
from diagnose.tokens import token_from_answer


class Lane(Protocol):
    """A pull's record (or one layer's lane of it): steps, notes and token grants."""

    steps: list[PullStep]
    notes: list[str]
    tokens: list[TokenGrant]


def absorb(pull: Lane, lane: Lane) -> None:
    """Append a layer lane's record to its pull (in layer order, whatever finished first);
    a note several layers made is kept once."""
    pull.steps.extend(lane.steps)
    pull.notes.extend(n for n in lane.notes if n not in pull.notes)
    pull.tokens.extend(lane.tokens)


# Manifest media types (distribution-spec, OCI image-spec).
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_V1 = "application/vnd.docker.distribution.manifest.v1+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_V2})

V2_VERSION_HEADER = "Docker-Distribution-API-Version"


def v2_api_host(domain: str) -> str:
    """The host a V2 client contacts for a reference's domain.

    docker.io is served by registry-1.docker.io for docker and containers-image
    (moby v1.12.6 registry/config.go DefaultV2Registry; containers/image docker/docker_client.go).
    """
    return "registry-1.docker.io" if domain == "docker.io" else domain


def host_port(url: str) -> str:
    """``host[:port]`` of a URL for Go's ``dial tcp`` text: never the userinfo, never raises."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid host>"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def is_loopback_host(host_port: str) -> bool:
    """Whether a registry host is on 127.0.0.0/8 or is ``localhost`` (docker: always insecure)."""
    host = urlsplit(f"//{host_port}").hostname or ""
    return host == "localhost" or host.startswith("127.")


def outcome_for_status(status: int) -> Outcome:
    """Classify a registry's HTTP answer. 401 is ``unauthorized`` whatever ``error=`` says."""
    if status == 401:
        return Outcome.UNAUTHORIZED
    if status == 403:
        return Outcome.DENIED
    if status == 404:
        return Outcome.NOT_FOUND
    if status == 429:
        return Outcome.RATE_LIMITED
    if status >= 500:
        return Outcome.SERVER_ERROR
    if 200 <= status < 300:
        return Outcome.OK
    return Outcome.PROTOCOL_ERROR


def outcome_for_failure(kind: FailureKind) -> Outcome:
    """Classify an exchange that got no usable response."""
    if kind is FailureKind.TLS:
        return Outcome.TLS_ERROR
    if kind is FailureKind.TIMEOUT:
        return Outcome.TIMEOUT
    if kind in (FailureKind.DNS, FailureKind.REFUSED, FailureKind.RESET, FailureKind.PROXY):
        return Outcome.CONNECTION_ERROR
    if kind is FailureKind.CLIENT_SIDE:
        return Outcome.UNAUTHORIZED
    return Outcome.PROTOCOL_ERROR


def status_text(reply: Reply) -> str:
    """Go's ``resp.Status``: ``"404 Not Found"``."""
    return f"{reply.status} {reply.reason}".strip()


def step_for(label: str, method: str, reply: Reply, result: str) -> PullStep:
    """A table row for a request that was sent (its URL redacted like the recording)."""
    return PullStep(
        label=label,
        method=method,
        url=redact_url(reply.url),
        status=reply.status,
        result=result,
        exchange_id=reply.exchange_id,
    )


def has_v2_version_header(headers: Headers) -> bool:
    """Docker's ``foundVersion``: any value, split on whitespace, equal to ``registry/2.0``.

    moby v1.12.6 vendor/.../registry/client/auth/api_version.go APIVersions.
    """
    for key, value in headers:
        if key.lower() == V2_VERSION_HEADER.lower() and "registry/2.0" in value.split():
            return True
    return False


def content_type(headers: Headers) -> str:
    """The media type of a response, without parameters."""
    value = header_value(headers, "Content-Type") or ""
    return value.split(";", 1)[0].strip().lower()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a puller needs from a manifest body."""

    media_type: str
    digest: str  # sha256 of the exact bytes received
    config_digest: str | None = None
    layer_digests: tuple[str, ...] = ()
    layer_sizes: tuple[int | None, ...] = ()  # declared sizes, beside layer_digests; () for schema1
    platforms: tuple[tuple[str, str], ...] = ()  # (platform "os/arch[/variant]", digest) for indexes
    schema_version: int | None = None
    config_media_type: str = ""

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def parse_manifest(body: bytes, header_type: str) -> Manifest | None:
    """Parse a manifest or index; None when the body is not a usable manifest."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    media_type = data.get("mediaType") if isinstance(data.get("mediaType"), str) else None
    kind = str(media_type or header_type or "")
    if not kind and isinstance(data.get("manifests"), list):
        kind = OCI_INDEX
    if not kind and isinstance(data.get("layers"), list):
        kind = OCI_MANIFEST
    schema = data.get("schemaVersion") if isinstance(data.get("schemaVersion"), int) else None
    digest = sha256_digest(body)
    if kind in INDEX_TYPES:
        entries = []
        for item in data.get("manifests") or ():
            if not isinstance(item, dict) or not isinstance(item.get("digest"), str):
                continue
            entries.append((_platform_text(item.get("platform")), item["digest"]))
        return Manifest(kind, digest, platforms=tuple(entries), schema_version=schema)
    if schema == 1:
        # Docker schema1: no config blob; layers are fsLayers[].blobSum (distribution
        # manifest/schema1). Signed when it carries JWS signatures.
        kind = DOCKER_V1_SIGNED if data.get("signatures") else DOCKER_V1
        sums = tuple(
            str(layer["blobSum"])
            for layer in data.get("fsLayers") or ()
            if isinstance(layer, dict) and isinstance(layer.get("blobSum"), str)
        )
        return Manifest(kind, digest, layer_digests=tuple(dict.fromkeys(sums)), schema_version=1)
    config = data.get("config")
    config_digest = config.get("digest") if isinstance(config, dict) else None
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    described = [
        layer
        for layer in data.get("layers") or ()
        if isinstance(layer, dict) and isinstance(layer.get("digest"), str)
    ]
    layers = tuple(str(layer["digest"]) for layer in described)
    sizes = tuple(_declared_size(layer.get("size")) for layer in described)
    return Manifest(
        kind,
        digest,
        config_digest=config_digest if isinstance(config_digest, str) else None,
        layer_digests=layers,
        layer_sizes=sizes,
        schema_version=schema,
        config_media_type=config_type if isinstance(config_type, str) else "",
    )


def _declared_size(size: object) -> int | None:
    """A descriptor's ``size`` when it is a usable byte count (a bool is not)."""
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def declared_size(manifest: Manifest, index: int) -> int | None:
    """The size the manifest declared for layer ``index`` (0-based), if it declared one."""
    return manifest.layer_sizes[index] if index < len(manifest.layer_sizes) else None


def _platform_text(platform: object) -> str:
    if not isinstance(platform, dict):
        return ""
    parts = [str(platform.get("os", "")), str(platform.get("architecture", ""))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def split_platform(platform: str) -> tuple[str, str, str]:
    """``linux/arm64/v8`` -> (os, arch, variant)."""
    parts = ([*platform.split("/"), "", "", ""])[:3]
    return parts[0], parts[1], parts[2]


def choose_platform(manifest: Manifest, wanted: str, *, match_variant: bool) -> str | None:
    """The digest of the entry for ``wanted``; None when there is none.

    Docker 1.12 compares only OS and architecture (moby v1.12.6 distribution/pull_v2.go
    pullManifestList); containers-image also honours the variant when one is asked for.
    """
    want_os, want_arch, want_variant = split_platform(wanted)
    for text, digest in manifest.platforms:
        entry_os, entry_arch, entry_variant = split_platform(text)
        if (entry_os, entry_arch) != (want_os, want_arch):
            continue
        if match_variant and want_variant and entry_variant != want_variant:
            continue
        return digest
    return None


@dataclass(frozen=True, slots=True)
class TokenResult:
    """A token request's outcome: a token, or the reply that refused one, and the typed grant."""

    token: str | None
    reply: Reply
    grant: TokenGrant

    @property
    def access(self) -> tuple[str, ...]:
        """The granted access as scope strings, for the step table: ``("repository:x:pull",)``."""
        return tuple(a.scope for a in self.grant.access or ())


def token_url(challenge: Challenge, scope: str, username: str | None) -> str:
    """``<realm>?service=…&scope=…[&account=…]``, as docker and containers-image build it.

    ``account`` is sent when credentials are used (distribution registry/client/auth/session.go;
    containers/image docker/docker_client.go getBearerToken).
    """
    params: list[tuple[str, str]] = []
    if challenge.service:
        params.append(("service", challenge.service))
    params.append(("scope", scope))
    if username:
        params.append(("account", username))
    realm = challenge.realm or ""
    separator = "&" if "?" in realm else "?"
    return f"{realm}{separator}{urlencode(params)}"


def refresh_grant_form(challenge: Challenge, scope: str, identity_token: str, client_id: str) -> str:
    """The OAuth2 refresh-token grant a client POSTs when its login is an identity token.

    containers/image docker/docker_client.go getBearerTokenOAuth2 (client_id
    ``containers/image``); docker's vendored distribution registry/client/auth/session.go
    fetchTokenWithOAuth (client_id ``docker``, moby registry/auth.go AuthClientID).
    """
    params: list[tuple[str, str]] = []
    if challenge.service:
        params.append(("service", challenge.service))
    params.append(("scope", scope))
    params += [("grant_type", "refresh_token"), ("refresh_token", identity_token), ("client_id", client_id)]
    return urlencode(params)


def fetch_token(
    client: HttpClient,
    challenge: Challenge,
    scope: str,
    credentials: tuple[str, str] | None,
    extra_headers: Sequence[tuple[str, str]] = (),
    *,
    identity_token: str | None = None,
    client_id: str = "docker",
) -> TokenResult:
    """GET a Bearer token from the challenge's realm (or, with an identity token, POST the
    OAuth2 refresh-token grant); never raises."""
    if identity_token:
        reply = client.send(
            "token",
            "POST",
            challenge.realm or "",
            kind=StepKind.TOKEN,
            headers=[*extra_headers, ("Content-Type", "application/x-www-form-urlencoded")],
            body=refresh_grant_form(challenge, scope, identity_token, client_id).encode("ascii"),
        )
    else:
        username = credentials[0] if credentials else None
        url = token_url(challenge, scope, username)
        reply = client.send(
            "token", "GET", url, kind=StepKind.TOKEN, headers=extra_headers, basic_auth=credentials
        )
    token = token_from_answer(reply.body) if reply.failure is None and reply.status == 200 else None
    grant = token_grant(reply, scope, issued=token is not None)
    return TokenResult(token, reply, grant)


def token_grant(reply: Reply, scope: str, *, issued: bool) -> TokenGrant:
    """The typed evidence of one token request: the scope asked and what was granted.

    The claims come from the transport, which read them from the real answer before
    redaction (a replayed answer says "<redacted>" but keeps its recorded claims). Pullers
    with their own token logic (containerd's OAuth POST) build their grant here too.
    """
    claims = reply.token_claims if issued else None
    return TokenGrant(
        reply.exchange_id,
        scope,
        issued=issued,
        access=claims.access if claims is not None else None,
        subject=claims.sub if claims is not None else None,
    )


def pull_error(step: str, reply: Reply) -> PullError:
    """The evidence of a failed step: the transport failure, or status, error body and challenge."""
    if reply.failure is not None:
        return PullError(
            step=step,
            exchange_id=reply.exchange_id,
            failure=reply.failure,
            detail=f"{step}: {reply.failure.kind.value}: {reply.failure.detail}",
        )
    body = parse_error_body(reply.body)
    bearer = find_challenge(parse_challenges(header_values(reply.headers, "WWW-Authenticate")), "bearer")
    return PullError(
        step=step,
        exchange_id=reply.exchange_id,
        status=reply.status,
        registry_errors=body.errors,
        challenge_error=bearer.error if bearer else None,
        detail=f"{step} answered {status_text(reply)}",
    )


def describe_access(access: Sequence[str]) -> str:
    """Short words for a token's grant, for the step table."""
    return "token (access: " + (", ".join(access) if access else "none") + ")"


def short_type(media_type: str) -> str:
    """Short words for a manifest media type, for the step table."""
    names = {
        OCI_INDEX: "OCI index",
        OCI_MANIFEST: "OCI manifest",
        DOCKER_LIST: "manifest list",
        DOCKER_V2: "schema2 manifest",
        DOCKER_V1_SIGNED: "schema1 manifest",
        DOCKER_V1: "schema1 manifest",
    }
    return names.get(media_type, media_type or "manifest")


def ping_words(reply: Reply) -> str:
    """Short words for a ping reply: ``401 Bearer challenge``."""
    if reply.failure is not None:
        return reply.failure.kind.value
    if reply.status == 401:
        challenges = parse_challenges(header_values(reply.headers, "WWW-Authenticate"))
        schemes = ", ".join(c.scheme.capitalize() for c in challenges) or "no"
        return f"401 {schemes} challenge"
    return reply_words(reply)


def reply_words(reply: Reply) -> str:
    """Short words for a reply: ``401 UNAUTHORIZED``, ``refused``, ``404 (HTML)``."""
    if reply.failure is not None:
        return reply.failure.kind.value
    body = parse_error_body(reply.body)
    codes = " ".join(dict.fromkeys(e.code for e in body.errors))
    if codes:
        return f"{reply.status} {codes}"
    if body.details:
        return f"{reply.status} {body.details[:40]}"
    return f"{reply.status} {reply.reason}".strip()
