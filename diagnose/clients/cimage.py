"""containers/image clients (podman, buildah, skopeo) by version, read from the strict V2 pull.

Their requests are the v2-only pull's (ping, Bearer token or Basic, manifest GET with the full
Accept list); only the wording differs between versions, so every model here re-reads the same
recorded answers. The registry-error rules per version live in ``clients/skopeo.py``; this
module adds each command's wrapping and exit status. Pure: no I/O, never raises on an answer.

Sources:
- podman wrapping: containers/podman v4.3 cmd/podman/images/pull.go (``Trying to pull %s...`` from
  libimage, then the error through cmd/podman/root.go ``Error: %s`` and exit status 125,
  registry.ExecErrorCodeGeneric); ``initializing source %s: %w`` is containers/image
  copy/copy.go (lower-cased in v5.14).
- 2016 skopeo: containers/skopeo @ 5d589d6d (2016-10-12) cmd/skopeo/main.go (logrus.Fatal,
  ``FATA[%04d]`` = seconds since start), vendored containers/image @ e2e450ea copy/copy.go
  (``Error initializing image from source %s: %v``), docker/docker_client.go (ping: ``error pinging
  repository, response code %d``; token: ``unable to retrieve auth token: 401 unauthorized``,
  ``unexpected http code: %d, URL: %s``) and the vendored docker/distribution
  registry/client/errors.go of that time (no WWW-Authenticate reading).
"""

from __future__ import annotations

from diagnose.clients import docker112, skopeo
from diagnose.clients.base import ClientModel, Prediction, PullFacts, body_bytes, host_of_url, last_path_part
from diagnose.clients.go import GoEra, status_line, transport_text, url_error
from diagnose.clients.skopeo import CImage
from diagnose.model import Strategy

PODMAN_EXIT = 125  # podman: "the error is with podman itself", every pull failure


def cimage_error(facts: PullFacts, version: CImage) -> str:
    """The error text containers/image returns (no command wrapping) for this pull."""
    pull = facts.pull
    exchange = facts.failing
    era = GoEra.GO119 if version is CImage.V5_23 else GoEra.GO120
    step = facts.step
    if exchange is None or step not in ("ping", "token", "manifest", "platform manifest"):
        # Later steps (config, layers, platform choice, digest checks) are worded like the
        # current version (derived: their texts did not change in the versions modelled).
        return _later_step(facts, version)
    host = host_of_url(exchange.request.url)
    if exchange.failure is not None:
        inner = transport_text(exchange.failure.kind, host, exchange.failure.detail, era)
        text = url_error(exchange.request.method, exchange.request.url, inner, era)
        return skopeo.ping_error(host, text) if step == "ping" else text
    response = exchange.response
    if response is None:
        return pull.message
    body = body_bytes(response)
    status = status_line(response.status, response.reason)
    if step == "token":
        return skopeo.token_error(response.status, status, body, version=version)
    text, _code = skopeo.registry_error_text(response.status, status, response.headers, body, version=version)
    if step == "ping":
        return skopeo.ping_error(host, text)
    repo = facts.ref.name
    return skopeo.manifest_error(last_path_part(exchange.request.url), repo, text)


def _later_step(facts: PullFacts, version: CImage) -> str:
    message = facts.pull.message
    if version is CImage.V5_23 and message.startswith("choosing image instance: "):
        # 5.23 quotes only the variant (observed with skopeo 1.9.3, see clients/skopeo.py)
        marker = "no image found in "
        kind = "manifest list" if "manifest list" in message else "image index"
        os_name, arch, variant = [*facts.platform.split("/"), "", "", ""][:3]
        return (
            "choosing image instance: "
            + marker
            + kind
            + " for "
            + (f'architecture {arch}, variant "{variant}", OS {os_name}')
        )
    return message


def first_code(facts: PullFacts, version: CImage) -> str | None:
    """The first registry error code of a failed manifest read (skopeo's exit status reads it)."""
    exchange = facts.failing
    if exchange is None or exchange.response is None or facts.step not in ("manifest", "platform manifest"):
        return None
    response = exchange.response
    _text, code = skopeo.registry_error_text(
        response.status,
        status_line(response.status, response.reason),
        response.headers,
        body_bytes(response),
        version=version,
    )
    return code


def _podman(version: CImage) -> ClientModel:
    def predict(facts: PullFacts) -> Prediction:
        if facts.pull.ok:
            return "", 0
        lines = [f"Trying to pull {facts.ref.canonical}..."]
        error = cimage_error(facts, version)
        if facts.step in ("ping", "token", "manifest", "platform manifest"):
            error = f"initializing source docker://{facts.ref.familiar}: {error}"
        lines.append(f"Error: {error}".rstrip("\n"))  # a merged list ends in "\n"; podman adds its own
        return "\n".join(lines), PODMAN_EXIT

    names = {
        CImage.V5_23: "podman 4.3 / buildah 1.28 / skopeo 1.9 (containers/image 5.23, Debian bookworm)",
        CImage.V5_24: "podman 4.4-5.2 / skopeo 1.11-1.16 (containers/image 5.24-5.32)",
        CImage.CURRENT: "podman >= 5.3 / skopeo >= 1.17 (containers/image >= 5.33)",
    }
    sources = {
        CImage.V5_23: "containers/image v5.23.1 docker/errors.go, docker/docker_client.go; "
        "containers/podman v4.3.1 cmd/podman/root.go",
        CImage.V5_24: "containers/image v5.24.0 docker/errors.go (commits d112de3, 6fa5cda); "
        "containers/podman v4.4 cmd/podman/root.go",
        CImage.CURRENT: "containers/image df7e80d (>= v5.33) docker/errors.go, docker/distribution_error.go, "
        "docker/docker_client.go; containers/podman cmd/podman/root.go",
    }
    ids = {
        CImage.V5_23: "containers-image-5.23",
        CImage.V5_24: "containers-image-5.24",
        CImage.CURRENT: "containers-image-current",
    }
    return ClientModel(ids[version], names[version], Strategy.V2_ONLY, sources[version], predict)


def skopeo_exit_code(facts: PullFacts, version: CImage) -> int:
    """skopeo (not podman): 2 for MANIFEST_UNKNOWN from 5.24 on, else 1 (clients/skopeo.py)."""
    if facts.pull.ok:
        return 0
    if version is CImage.V5_23:
        return 1
    return skopeo.exit_code(first_code(facts, version))


# --- skopeo 0.1.x (October 2016) ---------------------------------------------------------------


def skopeo2016_error(facts: PullFacts) -> str:
    """The error 2016 c/image returned: unwrapped V2 errors, no WWW-Authenticate reading."""
    exchange = facts.failing
    step = facts.step
    if exchange is None:
        return facts.pull.message
    if exchange.failure is not None:
        host = host_of_url(exchange.request.url)
        inner = docker112.transport_error_text(exchange.failure.kind, host, exchange.failure.detail)
        return docker112.url_error(exchange.request.method, exchange.request.url, inner)
    response = exchange.response
    if response is None:
        return facts.pull.message
    if step == "ping":
        return f"error pinging repository, response code {response.status}"
    if step == "token":
        if response.status == 401:
            return "unable to retrieve auth token: 401 unauthorized"
        if response.status != 200:
            return f"unexpected http code: {response.status}, URL: {exchange.request.url}"
        return facts.pull.message  # (derived) a 200 without a token: not modelled for 2016
    if step in ("manifest", "platform manifest"):
        err = docker112.v2_response_error(
            response.status, status_line(response.status, response.reason), body_bytes(response)
        )
        return err.text
    return facts.pull.message


def _predict_skopeo2016(facts: PullFacts) -> Prediction:
    if facts.pull.ok:
        return "", 0
    reference = f"docker://{facts.ref.familiar}"
    error = f"Error initializing image from source {reference}: {skopeo2016_error(facts)}"
    return f"FATA[{facts.elapsed_seconds:04d}] {error}", 1


SKOPEO_2016 = ClientModel(
    "skopeo-2016",
    "skopeo 0.1.x copy (containers/image, October 2016)",
    Strategy.V2_ONLY,
    "containers/skopeo 5d589d6d cmd/skopeo/main.go; containers/image e2e450ea copy/copy.go, "
    "docker/docker_client.go; vendored docker/distribution registry/client/errors.go",
    _predict_skopeo2016,
)

MODELS: tuple[ClientModel, ...] = (
    SKOPEO_2016,
    _podman(CImage.V5_23),
    _podman(CImage.V5_24),
    _podman(CImage.CURRENT),
)
