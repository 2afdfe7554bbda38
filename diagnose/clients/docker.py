"""Docker Engine clients, 1.12 to 29: what ``docker pull`` prints for the pull its daemon makes.

- ``docker-1.12`` / ``docker-1.12-rhel`` read the v2-then-v1 pull (its wording is
  ``clients/docker112.py``, applied by that puller);
- ``docker-17`` / ``docker-18`` / ``docker-20.10`` read the docker-endpoints pull (V2 only;
  ``distribution/errors.go`` TranslatePullError words the first registry error per era);
- ``docker-29-containerd`` reads the containerd pull (moby ``daemon/containerd/image_pull.go``
  and ``registry_errors.go`` re-word containerd's resolver errors).

Pure functions of recorded facts: no I/O, never raises on a registry answer.

Sources (moby/moby tags, read with git show):
- v17.06.2-ce distribution/errors.go: ``repository %s not found: does not exist or no pull access``;
- v18.09.9 distribution/errors.go: ``pull access denied for %s, repository does not exist or may
  require 'docker login'`` (since v17.07, commit 8d9f51e), no cause appended;
- v19.03.0 / v20.10.24 distribution/errors.go: the same wrapped around the registry error
  (errors.Wrapf), distribution/pull.go (endpoint loop), distribution/pull_v2.go (pullV2Tag: tags.Get
  HEAD then GET since v20.10.0, allowV1Fallback), vendored docker/distribution
  registry/client/errors.go (HandleErrorResponse reads the Bearer ``error=``);
- docker-v29.0.0 daemon/containerd/image_pull.go, daemon/containerd/registry_errors.go;
- projectatomic/docker 0b8dcc2d distribution/pull.go (``Trying to pull repository %s ... ``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from diagnose.clients import (
    NO_BASIC_AUTH_CREDENTIALS,
    GoErrcode,
    code_text,
    decode_errcode,
    docker112,
    legacy_details,
    skopeo,
)
from diagnose.clients.base import ClientModel, Prediction, PullFacts, body_bytes, host_of_url
from diagnose.clients.containerd import ContainerdVersion, resolve_error
from diagnose.clients.go import GoEra, status_line, transport_text, url_error
from diagnose.model import Exchange, FailureKind, ImageReference, Strategy

NOT_FOUND_CODES = ("DENIED", "MANIFEST_UNKNOWN", "NAME_UNKNOWN")  # TranslatePullError
FALLBACK_CODES = ("UNAUTHORIZED", "MANIFEST_UNKNOWN", "NAME_UNKNOWN")  # shouldV2Fallback
DAEMON_PREFIX = "Error response from daemon: "  # docker/cli via the API client
STREAMED_STEPS = ("platform", "platform manifest", "config")  # after "Pulling from" was streamed


class DockerEra(StrEnum):
    D17 = "17"  # 1.13 - 17.06
    D18 = "18"  # 17.07 - 18.09
    D2010 = "20.10"  # 19.03 - 28 (graph-driver store)


def familiar_name(ref: ImageReference) -> str:
    """reference.FamiliarName: ``foo`` for docker.io/library/foo, ``host:5000/x`` elsewhere."""
    if ref.domain == "docker.io":
        return ref.path.removeprefix("library/") if ref.path.count("/") == 1 else ref.path
    return ref.name


def default_tag_line(ref: ImageReference) -> list[str]:
    """docker/cli image/pull.go: ``Using default tag: latest`` when the input named no tag."""
    last = ref.input.rsplit("/", 1)[-1]
    return ["Using default tag: latest"] if ":" not in last and "@" not in last else []


@dataclass(frozen=True, slots=True)
class DistributionError:
    """A V2 error as docker's vendored distribution client holds it."""

    text: str  # Go's err.Error()
    first: GoErrcode | None = None  # the first registry error, when the answer carried a list
    transport: bool = False  # a url.Error (network failure, token failure, no basic credentials)
    unexpected_body: bool = False  # UnexpectedHTTPResponseError

    @property
    def first_is_error(self) -> bool:
        """errcode.Error (not a bare ErrorCode): what TranslatePullError and fallbacks look at."""
        return self.first is not None and not self.first.bare


def response_error(
    status: int, reason: str, headers: tuple[tuple[str, str], ...], body: bytes
) -> DistributionError:
    """HandleErrorResponse (distribution >= 2.6) for a non-2xx answer."""
    if not 400 <= status < 500:
        return DistributionError(f"received unexpected HTTP status: {status_line(status, reason)}")
    entries = skopeo.handle_error_response(status, headers, body)
    first = entries[0]
    if len(entries) == 1:
        if isinstance(first, GoErrcode):
            return DistributionError(first.text, first)
        return DistributionError(first.text, unexpected_body=True)
    text = "errors:\n" + "".join(entry.text + "\n" for entry in entries)
    return DistributionError(text, first if isinstance(first, GoErrcode) else None)


def manifest_method(era: DockerEra) -> str:
    """tags.Get sends HEAD first from 20.10.0 on; 17.x and 18.x GET the manifest by tag."""
    return "Head" if era is DockerEra.D2010 else "Get"


def v2_error(facts: PullFacts, era: DockerEra) -> DistributionError | None:
    """The error the endpoint that ended the pull returned (None when the pull names none)."""
    exchange = facts.failing
    error = facts.pull.error
    if error is None:
        return None
    go = GoEra.GO18 if era is not DockerEra.D2010 else GoEra.GO119
    step = facts.step
    if (
        exchange is not None
        and exchange.failure is not None
        and exchange.failure.kind is FailureKind.CLIENT_SIDE
    ):
        # auth/session.go: the Basic handler refuses an empty username or password
        method = _method(exchange, era)
        return DistributionError(
            url_error(method, exchange.request.url, NO_BASIC_AUTH_CREDENTIALS, go), transport=True
        )
    if exchange is None:
        return DistributionError(error.detail)
    if step == "token":
        manifest_url = _manifest_url(facts, exchange)
        method = manifest_method(era)
        if exchange.failure is not None:
            inner = transport_text(
                exchange.failure.kind, host_of_url(exchange.request.url), exchange.failure.detail, go
            )
            inner = url_error(exchange.request.method, exchange.request.url, inner, go)
        elif exchange.response is not None and exchange.response.status == 200:
            inner = "authorization server did not include a token in the response"
        else:
            assert exchange.response is not None
            answer = exchange.response
            inner = response_error(answer.status, answer.reason, answer.headers, body_bytes(answer)).text
        return DistributionError(url_error(method, manifest_url, inner, go), transport=True)
    if exchange.failure is not None:
        inner = transport_text(
            exchange.failure.kind, host_of_url(exchange.request.url), exchange.failure.detail, go
        )
        return DistributionError(
            url_error(_method(exchange, era), exchange.request.url, inner, go), transport=True
        )
    response = exchange.response
    assert response is not None
    return response_error(response.status, response.reason, response.headers, body_bytes(response))


def _method(exchange: Exchange, era: DockerEra) -> str:
    """The pull recorded 20.10's requests; 17.x / 18.x GET the manifest where 20.10 sends HEAD."""
    if era is not DockerEra.D2010 and exchange.step == "manifest":
        return "GET"
    return exchange.request.method


def _manifest_url(facts: PullFacts, token: Exchange) -> str:
    """The manifest URL whose request fetched the token (the ping before it names the endpoint)."""
    pings = [e for e in facts.pull.exchanges if e.step == "ping" and e.id < token.id]
    base = pings[-1].request.url.removesuffix("/v2/") if pings else f"https://{facts.ref.domain}"
    return f"{base}/v2/{facts.ref.path}/manifests/{facts.ref.reference_in_repo}"


def continue_on_error(err: DistributionError) -> bool:
    """pull_v2.go allowV1Fallback + distribution/errors.go continueOnError (not a mirror).

    Only an errcode.Error first in the list whose code is not UNAUTHORIZED, MANIFEST_UNKNOWN or
    NAME_UNKNOWN stops the pull at this endpoint; a bare ErrorCode, an unparsable body, an
    unexpected status and url errors all move on to the next endpoint.
    """
    if err.first_is_error:
        assert err.first is not None
        return err.first.code in FALLBACK_CODES
    return True


def translate(err: DistributionError, ref: ImageReference, era: DockerEra) -> str:
    """distribution/errors.go TranslatePullError: only the first error counts."""
    first = err.first
    if first is None or not err.first_is_error or first.code not in NOT_FOUND_CODES:
        return first.text if first is not None else err.text
    name = familiar_name(ref)
    if first.code == "DENIED":
        if era is DockerEra.D17:
            text = f"repository {name} not found: does not exist or no pull access"
        else:
            text = f"pull access denied for {name}, repository does not exist or may require 'docker login'"
    elif first.code == "MANIFEST_UNKNOWN":
        text = f"manifest for {ref.familiar} not found"
    else:
        text = f"repository {name} not found"
    if era is DockerEra.D2010:
        text += f": {first.text}"  # errors.Wrapf(e.cause, …) since 19.03
    return text


def _predict_endpoints(era: DockerEra) -> Callable[[PullFacts], Prediction]:
    def predict(facts: PullFacts) -> Prediction:
        if facts.pull.ok:
            return "", 0
        lines = default_tag_line(facts.ref)
        if facts.step == "platform":
            # pull_v2.go pullManifestList (17.06 and later)
            text = f"no matching manifest for {facts.platform} in the manifest list entries"
        else:
            err = v2_error(facts, era)
            text = translate(err, facts.ref, era) if err is not None else facts.pull.message
        streamed = facts.step in STREAMED_STEPS or facts.step.startswith("layer")
        if streamed:
            tag = facts.ref.digest or facts.ref.tag or "latest"
            # pull_v2.go: "Pulling from "+reference.FamiliarName(p.repo.Named()), where the
            # repository was made from reference.Path(name) (newV2Repository): the path alone,
            # "library/busybox" on every registry. Checked against the real docker 20.10.
            lines.append(f"{tag}: Pulling from {facts.ref.path}")
            if facts.step == "config":
                text = f"error pulling image configuration: {text}"
            lines.append(text)
        else:
            lines.append(DAEMON_PREFIX + text)
        return "\n".join(lines), 1

    return predict


# --- docker 1.12 --------------------------------------------------------------------------------


def _predict_docker112(facts: PullFacts) -> Prediction:
    if facts.pull.ok:
        return "", 0
    return facts.pull.message, 1


def _predict_docker112_rhel(facts: PullFacts) -> Prediction:
    """The RHEL build prints ``Trying to pull repository … ... `` first, which flushes the stream.

    So the final error never carries ``Error response from daemon:``. The transcript of the
    original report shows only the last endpoint's error, as upstream does; the projectatomic
    commit read (0b8dcc2d) joins every endpoint's error with newlines instead (noted, not modelled).
    """
    if facts.pull.ok:
        return "", 0
    message = facts.pull.message
    if facts.pull.daemon_error is not None:
        # no 401 login prompt either: the error was streamed (clients/docker112.py streamed_form)
        message = docker112.streamed_form(message, facts.pull.daemon_error)
    lines = message.split("\n")
    start = 1 if lines and lines[0].startswith("Using default tag:") else 0
    lines.insert(start, f"Trying to pull repository {facts.ref.name} ... ")
    lines[-1] = lines[-1].removeprefix(DAEMON_PREFIX)
    return "\n".join(lines), 1


# --- docker 29 with the containerd image store ------------------------------------------------


def _predict_docker29(facts: PullFacts) -> Prediction:
    if facts.pull.ok:
        return "", 0
    lines = default_tag_line(facts.ref)
    resolved = resolve_error(facts, ContainerdVersion.V2)
    ref = facts.ref.canonical
    if resolved.invalid_authorization and NO_BASIC_AUTH_CREDENTIALS not in resolved.text:
        name = familiar_name(facts.ref)
        text = f"pull access denied for {name}, repository does not exist or may require 'docker login'"
    elif resolved.no_platform:
        text = f"no matching manifest for {facts.platform} in the manifest list entries: {resolved.text}"
    elif resolved.status_error is not None:
        text = _registry_error(resolved.status_error, resolved.wrapped(ref))
    else:
        text = resolved.wrapped(ref)
    lines.append(DAEMON_PREFIX + text)
    return "\n".join(lines), 1


def _registry_error(exchange: Exchange, full: str) -> str:
    """daemon/containerd/registry_errors.go translateRegistryError for an unexpected status."""
    response = exchange.response
    assert response is not None
    body = body_bytes(response)
    errors, problem = decode_errcode(body) if body else ((), "empty body")
    if problem is not None and body:
        return f"unknown: {full}"  # the body is not JSON: fmt.Errorf("%w: %w", ErrUnknown, err)
    if not errors:
        details = legacy_details(body) if body else None
        if details and response.status in (401, 403):
            default = (
                "authentication required"
                if response.status == 401
                else "requested access to the resource is denied"
            )
            return f"error from registry: {default} - {details}"
        return f"unknown: {full}"
    messages = []
    for entry in errors:
        message = entry.message or code_text(entry.code)
        messages.append(message)
    return "error from registry: " + "\n".join(messages)


BY_ERA: dict[DockerEra, Callable[[PullFacts], Prediction]] = {
    era: _predict_endpoints(era) for era in DockerEra
}

MODELS: tuple[ClientModel, ...] = (
    ClientModel(
        "docker-1.12",
        "Docker Engine 1.12.6 (V2, then the V1 fallback)",
        Strategy.V2_THEN_V1,
        "moby/moby v1.12.6 distribution/pull.go, pull_v2.go, pull_v1.go, errors.go, registry/session.go",
        _predict_docker112,
    ),
    ClientModel(
        "docker-1.12-rhel",
        "docker 1.12/1.13 of RHEL/CentOS/Fedora (projectatomic 'docker-current')",
        Strategy.V2_THEN_V1,
        "projectatomic/docker 0b8dcc2d distribution/pull.go; moby/moby v1.12.6 distribution/pull_v1.go",
        _predict_docker112_rhel,
    ),
    ClientModel(
        "docker-17",
        "Docker Engine 1.13-17.06",
        Strategy.DOCKER_ENDPOINTS,
        "moby/moby v17.06.2-ce distribution/errors.go, distribution/pull.go, distribution/pull_v2.go",
        BY_ERA[DockerEra.D17],
    ),
    ClientModel(
        "docker-18",
        "Docker Engine 17.07-18.09",
        Strategy.DOCKER_ENDPOINTS,
        "moby/moby v18.09.9 distribution/errors.go, distribution/pull.go, distribution/pull_v2.go",
        BY_ERA[DockerEra.D18],
    ),
    ClientModel(
        "docker-20.10",
        "Docker Engine 19.03-28, graph-driver image store (Debian's docker.io 20.10)",
        Strategy.DOCKER_ENDPOINTS,
        "moby/moby v20.10.24 distribution/errors.go, distribution/pull.go, distribution/pull_v2.go, "
        "vendor/github.com/docker/distribution/registry/client/errors.go, repository.go",
        BY_ERA[DockerEra.D2010],
    ),
    ClientModel(
        "docker-29-containerd",
        "Docker Engine 29 with the containerd image store (containerd 2.1 resolver)",
        Strategy.CONTAINERD,
        "moby/moby docker-v29.0.0 daemon/containerd/image_pull.go, daemon/containerd/registry_errors.go; "
        "containerd/containerd v2.1.5 core/remotes/docker/resolver.go, errcode.go",
        _predict_docker29,
    ),
)
