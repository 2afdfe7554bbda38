"""``diagnose explain``: from a line a user pasted to the clients that print it and what it means.

Pure: ``explain(text)`` normalises the paste (client prefixes, ``level=error msg="…"`` log lines
with Go escaping, kubelet event lines, lines wrapped by a terminal), matches it against message
templates — placeholders, never exact strings — and returns which clients print it, which
registry answers produce it, what it cannot tell, the reference found in the text and the exact
``diagnose compare`` command to run next.

Two kinds of template: a **client** template says who prints a wording (``pull access denied for
X, repository does not exist or may require 'docker login'`` is docker 17.07-18.x or docker with
the containerd store); an **answer** template says which registry answer is inside (``requested
access to the resource is denied`` is a 401 ``insufficient_scope`` or a 403 DENIED). The client
ids are the ones of the report's ``clients`` list (``diagnose/clients/``); each template cites
where its wording comes from in the client models' sources.

This module must not do I/O, and must import nothing heavy (no requests, rich or typer): it
is the fast path of ``diagnose explain --json``.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

from diagnose.reference import InvalidReference, parse_reference
from diagnose.vendors import Situation, Vendor, advice, detect

# The client ids of the report (issue table); order is the order matches are listed in.
CLIENT_IDS: tuple[str, ...] = (
    "docker-1.12",
    "docker-1.12-rhel",
    "skopeo-2016",
    "docker-17",
    "docker-18",
    "docker-20.10",
    "docker-29-containerd",
    "containers-image-5.23",
    "containers-image-5.24",
    "containers-image-current",
    "containerd",
    "kubelet",
    "crane",
)
CLIENT_NAMES: dict[str, str] = {
    "docker-1.12": "Docker Engine 1.12",
    "docker-1.12-rhel": "RHEL/CentOS docker 1.12/1.13 (projectatomic)",
    "skopeo-2016": "skopeo 0.1.x (2016)",
    "docker-17": "docker 1.13-17.06",
    "docker-18": "docker 17.07-18.x",
    "docker-20.10": "docker 19.03-28 (graph-driver store)",
    "docker-29-containerd": "docker with the containerd image store (default from 29)",
    "containers-image-5.23": "skopeo 1.9 / podman 4.3 / buildah 1.28 (containers/image 5.23)",
    "containers-image-5.24": "skopeo 1.11-1.16 / podman 4.4-5.2 (containers/image 5.24-5.32)",
    "containers-image-current": "skopeo >= 1.17 / podman >= 5.3 (containers/image >= 5.33)",
    "containerd": "ctr / nerdctl (containerd 1.6-2.x)",
    "kubelet": "kubelet (kubectl describe pod events)",
    "crane": "crane (go-containerregistry)",
}

_DOCKER_GO_OLD = ("docker-1.12", "docker-1.12-rhel", "skopeo-2016", "docker-17", "docker-18")
_DOCKER_MODERN = ("docker-17", "docker-18", "docker-20.10")
_CIMAGE = ("containers-image-5.23", "containers-image-5.24", "containers-image-current")
_CIMAGE_TRIMMED = ("containers-image-5.24", "containers-image-current")
_CONTAINERD = ("docker-29-containerd", "containerd", "kubelet")
_GO_QUOTED_URL = ("docker-20.10", "docker-29-containerd", *_CIMAGE, "containerd", "kubelet", "crane")
_ALL = CLIENT_IDS


class Kind(StrEnum):
    CLIENT = "client"  # the wording identifies who prints it
    ANSWER = "answer"  # the wording identifies what the registry answered


@dataclass(frozen=True, slots=True)
class Template:
    """One wording. ``pattern`` uses placeholders: {ref} {repo} {tag} {url} {host} {any} {n} {word}."""

    kind: Kind
    pattern: str
    clients: tuple[str, ...]
    meaning: str
    answers: tuple[str, ...] = ()
    cannot_tell: str = ""
    situation: Situation | None = None
    source: str = ""


def _c(
    pattern: str, clients: tuple[str, ...], meaning: str, answers: tuple[str, ...] = (), **kw: str
) -> Template:
    situation = kw.pop("situation", None)
    return Template(
        Kind.CLIENT,
        pattern,
        clients,
        meaning,
        answers,
        situation=Situation(situation) if situation else None,
        **kw,
    )


def _a(
    pattern: str, meaning: str, answers: tuple[str, ...], clients: tuple[str, ...] = _ALL, **kw: str
) -> Template:
    situation = kw.pop("situation", None)
    return Template(
        Kind.ANSWER,
        pattern,
        clients,
        meaning,
        answers,
        situation=Situation(situation) if situation else None,
        **kw,
    )


_HIDDEN = "Whether the repository exists: registries answer the same for a missing and a private one."

TEMPLATES: tuple[Template, ...] = (
    # ---- docker 1.12 (moby v1.12.6 distribution/pull_v1.go, registry/session.go) -------------
    _c(
        "Error: image {ref} not found",
        ("docker-1.12", "docker-1.12-rhel"),
        "Docker fell back to the legacy V1 API and V1 had no such image. The V2 answer that came first "
        "(often a 401: not logged in, private or missing) went only to the daemon log.",
        (
            "V2 manifest: 401 UNAUTHORIZED, 404 MANIFEST_UNKNOWN or NAME_UNKNOWN (or docker had no Basic "
            "credentials), then V1 GET /v1/repositories/NAME/images: 404",
        ),
        cannot_tell=_HIDDEN + " The line also drops the registry host.",
        source="moby v1.12.6 distribution/pull_v1.go",
    ),
    _c(
        "Tag {tag} not found in repository {ref}",
        ("docker-1.12", "docker-1.12-rhel"),
        "Docker 1.12 found the repository on the legacy V1 API but not that tag.",
        ("V1 GET /v1/repositories/NAME/tags/TAG: 404",),
        source="moby v1.12.6 distribution/pull_v1.go",
    ),
    _c(
        "Error: Status {n} trying to pull repository {ref}: {any}",
        ("docker-1.12", "docker-1.12-rhel"),
        "The V1 images endpoint answered an unexpected status (a proxy page, a 403, a 5xx).",
        ("V1 GET /v1/repositories/NAME/images: a status other than 200, 401 and 404",),
        source="moby v1.12.6 registry/session.go",
    ),
    _c(
        "Pulling repository {ref}",
        ("docker-1.12", "docker-1.12-rhel"),
        "Docker 1.12 is pulling through the legacy V1 API (after a V2 error it falls back on).",
        (),
        source="moby v1.12.6 distribution/pull_v1.go",
    ),
    _c(
        "Error while pulling image: Get {url}: {any}",
        ("docker-1.12", "docker-1.12-rhel"),
        "The V1 index could not be reached (after V2 failed the same way or fell back).",
        (),
        source="moby v1.12.6 registry/session.go",
    ),
    _c(
        "Network timed out while trying to connect to {url}",
        ("docker-1.12", "docker-1.12-rhel"),
        "A V1 request timed out.",
        ("no answer in time",),
        source="moby v1.12.6 registry/session.go",
    ),
    _c(
        "this image was pulled from a legacy registry",
        ("docker-1.12", "docker-1.12-rhel"),
        "The pull succeeded through the legacy V1 API: the image is not on V2, and docker >= 17.12, "
        "podman, skopeo and containerd cannot pull it.",
        ("V2 manifest refused or missing; V1 serves the image",),
        source="moby v1.12.6 distribution/pull_v1.go",
    ),
    _c(
        "Please login prior to pull:",
        ("docker-1.12", "docker-1.12-rhel", "docker-17", "docker-18"),
        "The daemon answered the CLI with HTTP 401 (its error text said unauthorized: wrong or missing "
        "credentials), so the CLI asked for a login and then retried the pull.",
        ("token endpoint 401 (wrong password), or a registry 401 the daemon did not fall back on",),
        situation="credentials",
        source="moby v1.12.6 api/client/registry.go, engine-api client/image_pull.go",
    ),
    _c(
        "Cannot perform an interactive login from a non TTY device",
        ("docker-1.12", "docker-1.12-rhel", "docker-17", "docker-18", "docker-20.10"),
        "The docker CLI wanted to prompt for a login (the daemon answered 401) but was not on a terminal.",
        (),
        situation="credentials",
        source="moby api/client/login.go",
    ),
    _c(
        "no supported platform found in manifest list",
        ("docker-1.12", "docker-1.12-rhel"),
        "The image is a manifest list without an entry for this machine's platform.",
        ("200 manifest list without the requested os/architecture",),
        source="moby v1.12.6 distribution/pull_v2.go pullManifestList",
    ),
    _c(
        "{tag}: Pulling from {repo}",
        ("docker-1.12", "docker-1.12-rhel", "docker-17", "docker-18", "docker-20.10"),
        "Docker found the manifest on the V2 API and started pulling.",
        (),
        source="moby distribution/pull_v2.go",
    ),
    _c(
        "Cannot pull by digest with v1 registry",
        ("docker-1.12", "docker-1.12-rhel"),
        "A digest reference cannot be pulled from the V1 API; the V2 attempt failed first.",
        (),
        source="moby v1.12.6 distribution/pull_v1.go",
    ),
    # ---- RHEL docker (projectatomic/docker distribution/pull.go) ------------------------------
    _c(
        r"Trying to pull repository {ref} \.\.\.",
        ("docker-1.12-rhel",),
        "The RHEL/CentOS docker tries each configured registry in turn and prints every registry's error.",
        (),
        source="projectatomic/docker distribution/pull.go",
    ),
    # ---- skopeo 2016 (containers/image @ 2016-10, skopeo cmd) ---------------------------------
    _c(
        "Error initializing image from source docker://{ref}: {any}",
        ("skopeo-2016",),
        "skopeo (2016) could not open the image on the registry.",
        (),
        source="containers/image copy/copy.go (2016)",
    ),
    _c(
        "unable to retrieve auth token: 401 unauthorized",
        ("skopeo-2016",),
        "The token endpoint refused the credentials (or anonymous access).",
        ("token endpoint: 401",),
        situation="credentials",
        source="containers/image docker/docker_client.go (2016)",
    ),
    _c(
        "error pinging repository, response code {n}",
        ("skopeo-2016",),
        "GET /v2/ answered neither 200 nor 401: not a V2 registry at that address, or a proxy page.",
        ("GET /v2/: a status other than 200 and 401",),
        source="containers/image docker/docker_client.go (2016)",
    ),
    _c(
        "unexpected http code: {n}, URL: {url}",
        ("skopeo-2016",),
        "The token endpoint answered an unexpected status.",
        ("token endpoint: a status other than 200 and 401",),
        source="containers/image docker/docker_client.go (2016)",
    ),
    # ---- docker 1.13 - 18.x (moby distribution/errors.go translatePullError) -----------------
    _c(
        "repository {ref} not found: does not exist or no pull access",
        ("docker-17", "docker-1.12-rhel"),
        'The registry refused the pull (DENIED, or a 401 with error="insufficient_scope"): the repository '
        "does not exist or this identity may not pull it.",
        ('401 Bearer error="insufficient_scope"', "403 DENIED"),
        cannot_tell=_HIDDEN,
        situation="login",
        source="moby v1.13.0 distribution/errors.go",
    ),
    _c(
        "pull access denied for {ref}, repository does not exist or may require 'docker login'(?!:)",
        ("docker-18", "docker-29-containerd"),
        "The registry refused the pull: the repository does not exist, or it is private and this identity "
        "(anonymous or logged in) may not pull it.",
        ('401 Bearer error="insufficient_scope" (Docker Hub)', "401 UNAUTHORIZED", "403 DENIED"),
        cannot_tell=_HIDDEN,
        situation="login",
        source="moby v17.07.0-ce distribution/errors.go; moby daemon/containerd/image_pull.go",
    ),
    _c(
        "pull access denied for {ref}, repository does not exist or may require 'docker login': {any}",
        ("docker-20.10",),
        "The registry refused the pull: the repository does not exist, or it is private and this identity "
        "(anonymous or logged in) may not pull it.",
        ('401 Bearer error="insufficient_scope" (Docker Hub)', "403 DENIED"),
        cannot_tell=_HIDDEN,
        situation="login",
        source="moby v19.03.0 distribution/errors.go",
    ),
    _c(
        "manifest for {ref} not found(?!:)",
        ("docker-17", "docker-18"),
        "The registry answered 404 MANIFEST_UNKNOWN: the tag (or digest) does not exist.",
        ("404 MANIFEST_UNKNOWN",),
        cannot_tell="Whether the repository exists (registry:2 answers MANIFEST_UNKNOWN for both).",
        situation="not-found",
        source="moby v1.13.0 distribution/errors.go",
    ),
    _c(
        "manifest for {ref} not found: {any}",
        ("docker-20.10",),
        "The registry answered 404 MANIFEST_UNKNOWN: the tag (or digest) does not exist.",
        ("404 MANIFEST_UNKNOWN",),
        cannot_tell="Whether the repository exists (registry:2 answers MANIFEST_UNKNOWN for both).",
        situation="not-found",
        source="moby v19.03.0 distribution/errors.go",
    ),
    _c(
        "repository {ref} not found(?!: does)",
        ("docker-17", "docker-18", "docker-20.10"),
        "The registry answered 404 NAME_UNKNOWN: it does not know that repository.",
        ("404 NAME_UNKNOWN",),
        situation="not-found",
        source="moby v1.13.0 distribution/errors.go",
    ),
    _c(
        "no matching manifest for {word} in the manifest list entries",
        ("docker-17", "docker-18", "docker-20.10", "docker-29-containerd"),
        "The image is a multi-platform index without an entry for this machine's platform.",
        ("200 manifest list / OCI index without the requested os/architecture",),
        source="moby distribution/pull_v2.go",
    ),
    _c(
        "error pulling image configuration: {any}",
        ("docker-1.12", "docker-17", "docker-18", "docker-20.10"),
        "The manifest was fetched; fetching the image configuration blob (often from a CDN or object "
        "storage after a redirect) failed.",
        ("manifest 200; config blob GET failed (redirect target, BLOB_UNKNOWN, TLS, 403 from storage)",),
        source="moby distribution/pull_v2.go",
    ),
    _c(
        r"\[DEPRECATION NOTICE\] Docker Image Format v1",
        ("docker-20.10", "docker-29-containerd"),
        "The image is stored as a Docker schema1 manifest, which docker >= 26 refuses by default.",
        ("200 application/vnd.docker.distribution.manifest.v1+prettyjws",),
        source="moby pull_v2.go (schema1 deprecation)",
    ),
    _c(
        "mediaType in manifest should be {any}",
        ("docker-20.10",),
        "Docker 19.03 rejected an OCI manifest served for a Docker media type (moby#39727).",
        ("200 OCI manifest",),
        source="moby v19.03 distribution/pull_v2.go",
    ),
    _c(
        "authorization server did not include a token in the response",
        ("docker-1.12", "docker-17", "docker-18", "docker-20.10"),
        "The token endpoint answered 200 without a token (or access_token) field.",
        ("token endpoint: 200 JSON without token/access_token",),
        source="docker/distribution registry/client/auth/session.go",
    ),
    _c(
        "Error response from daemon: {any}",
        ("docker-1.12", "docker-1.12-rhel", "docker-17", "docker-18", "docker-20.10", "docker-29-containerd"),
        "The docker daemon refused the pull before streaming any progress.",
        (),
        source="moby client/request.go",
    ),
    # ---- docker with the containerd image store (moby daemon/containerd) ----------------------
    _c(
        "error from registry: {any}",
        ("docker-29-containerd",),
        "Docker's containerd image store relays the registry's own error text.",
        (),
        source="moby daemon/containerd/registry_errors.go",
    ),
    # ---- containers/image (skopeo, podman, buildah, CRI-O) -----------------------------------
    _c(
        "initializing source docker://{ref}: {any}",
        _CIMAGE,
        "skopeo/podman/buildah could not open the image on the registry.",
        (),
        source="containers/image copy/copy.go",
    ),
    _c(
        "reading manifest {tag} in {repo}: errors:\\s+{any}",
        ("containers-image-5.23",),
        "The registry sent several errors; containers/image <= 5.23 prints them all.",
        (),
        source="containers/image v5.23.0 docker/distribution_error.go",
    ),
    _c(
        "reading manifest {tag} in {repo}: (?:requested access to the resource is denied|authentication "
        "required)",
        _CIMAGE_TRIMMED,
        "The registry refused the manifest request; containers/image >= 5.24 prints only the first error and "
        "drops the code when the message is the default one.",
        (),
        source="containers/image v5.24.0 docker/errors.go",
    ),
    _c(
        "reading manifest {tag} in {repo}: (?:denied: requested access to the resource is "
        "denied|unauthorized: "
        "authentication required|manifest unknown: manifest unknown)",
        ("containers-image-5.23",),
        "The registry refused or did not find the manifest; containers/image <= 5.23 prints code and "
        "message.",
        (),
        source="containers/image v5.23.0 docker/distribution_error.go",
    ),
    _c(
        "reading manifest {tag} in {repo}: {any}",
        _CIMAGE,
        "The manifest request for that tag or digest failed.",
        (),
        source="containers/image docker/docker_client.go fetchManifest",
    ),
    _c(
        "pinging container registry {host}: {any}",
        _CIMAGE,
        "The first request (GET /v2/) failed: nothing was asked about the image yet.",
        (),
        source="containers/image docker/docker_client.go detectPropertiesHelper",
    ),
    _c(
        "can't talk to a V1 container registry",
        ("containers-image-5.23", "containers-image-5.24"),
        "GET /v2/ failed and /v1/_ping answered: the registry only speaks the legacy V1 API.",
        ("GET /v2/: 404 (no V2); GET /v1/_ping: 200 or 401",),
        source="containers/image docker/docker_client.go (removed in 5.33)",
    ),
    _c(
        "unable to retrieve auth token: invalid username/password: {any}",
        _CIMAGE,
        "The token endpoint rejected the credentials (stored ones are sent even for public images).",
        ("token endpoint: 401",),
        situation="credentials",
        source="containers/image docker/docker_client.go getBearerToken",
    ),
    _c(
        r"Requesting bearer token: invalid status code from registry {n} \({any}\)",
        ("containers-image-5.23", "containers-image-5.24"),
        "The token endpoint answered an unexpected status (GHCR answers 403 for an unknown organisation; "
        "GitLab 403 for a project it will not show).",
        ("token endpoint: a status other than 200, 401 and 429",),
        situation="permission",
        source="containers/image docker/errors.go (5.24-5.32)",
    ),
    _c(
        "Requesting bearer token: received unexpected HTTP status: {any}",
        ("containers-image-current",),
        "The token endpoint answered an unexpected status (GHCR answers 403 for an unknown organisation; "
        "GitLab 403 for a project it will not show).",
        ("token endpoint: a status other than 200, 401 and 429",),
        situation="permission",
        source="containers/image docker/errors.go (>= 5.33)",
    ),
    _c(
        "too many requests to registry",
        _CIMAGE,
        "The token endpoint answered 429.",
        ("token endpoint: 429",),
        situation="rate-limit",
        source="containers/image docker/errors.go",
    ),
    _c(
        "choosing image instance: no image found in (?:manifest list|image index) for {any}",
        _CIMAGE,
        "The image is a multi-platform index without an entry for the requested platform.",
        ("200 manifest list / OCI index without the requested os/architecture/variant",),
        source="containers/image internal/manifest list.go ChooseInstance",
    ),
    _c(
        "choosing an image from manifest list docker://{ref}: {any}",
        _CIMAGE,
        "podman pull, buildah pull and skopeo copy found no entry for the requested platform in the index.",
        ("200 manifest list / OCI index without the requested os/architecture/variant",),
        source="containers/image copy/copy.go (copy.Image)",
    ),
    _c(
        "no image found in (?:manifest list|image index) for architecture {any}",
        _CIMAGE,
        "The image is a multi-platform index without an entry for the requested platform.",
        ("200 manifest list / OCI index without the requested os/architecture/variant",),
        source="containers/image internal/manifest list.go ChooseInstance",
    ),
    _c(
        r"Trying to pull {ref}\.\.\.",
        _CIMAGE,
        "podman/buildah resolve the name and try it on a registry (one line per registry tried).",
        (),
        source="containers/common libimage/pull.go",
    ),
    _c(
        "reading blob {word}: {any}",
        _CIMAGE,
        "A layer or config blob could not be fetched or verified.",
        (),
        source="containers/image docker/docker_image_src.go GetBlob",
    ),
    # ---- containerd (core/remotes/docker, client/pull.go, ctr) -------------------------------
    _c(
        r"failed to pull and unpack image \"{ref}\": {any}",
        ("containerd", "kubelet"),
        "The CRI plugin (Kubernetes) or nerdctl failed to pull the image.",
        (),
        source="containerd internal/cri/server/images/image_pull.go",
    ),
    _c(
        r"failed to resolve reference \"{ref}\": {any}",
        _CONTAINERD,
        "containerd could not resolve the tag to a manifest digest (its first request, HEAD on the "
        "manifest).",
        (),
        source="containerd client/pull.go",
    ),
    _c(
        "pull access denied, repository does not exist or may require authorization: {any}",
        _CONTAINERD,
        "The registry refused containerd even after it fetched a token: missing, private, or no pull access.",
        ('401 after a token was presented (error="insufficient_scope")', "401 Basic without credentials"),
        cannot_tell=_HIDDEN,
        situation="login",
        source="containerd core/remotes/docker/resolver.go",
    ),
    _c(
        "failed to authorize: failed to fetch (?:anonymous|oauth) token: {any}",
        _CONTAINERD,
        "containerd's token request failed (unreachable token host, or a refusal at the token endpoint).",
        ("token endpoint: 401/403, or no connection",),
        situation="credentials",
        source="containerd core/remotes/docker/auth/fetch.go",
    ),
    _c(
        r"unexpected status from (?:GET|HEAD|POST) request to {url}: {any}",
        _CONTAINERD,
        "A request answered an unexpected status (HEAD answers carry no error body).",
        (),
        source="containerd core/remotes/errors/errors.go (>= 1.7)",
    ),
    _c(
        r"pulling from host {host} failed with status code \[manifests {tag}\]: {any}",
        _CONTAINERD,
        "containerd 1.5/1.6: the manifest request failed with that status.",
        (),
        source="containerd v1.6 remotes/docker/resolver.go",
    ),
    _c(
        "failed to do request: (?:Head|Get|Post) {url}: {any}",
        _CONTAINERD,
        "containerd's request failed in the network (DNS, TLS, connection).",
        (),
        source="containerd core/remotes/docker/resolver.go",
    ),
    _c(
        "{ref}: not found",
        _CONTAINERD,
        "The registry answered 404 to containerd's HEAD on the manifest: the tag does not exist (GHCR also "
        "answers so for a private package seen anonymously).",
        ("404 on HEAD /v2/NAME/manifests/TAG",),
        situation="not-found",
        source="containerd core/remotes/docker/resolver.go",
    ),
    _c(
        "no match for platform in manifest",
        _CONTAINERD,
        "The index has no entry for the node's platform.",
        ("200 index without the node's os/architecture",),
        source="containerd images/image.go",
    ),
    _c(
        "httpReadSeeker: failed open: {any}",
        _CONTAINERD,
        "containerd could not open a blob or child manifest it needed.",
        (),
        source="containerd core/remotes/docker/httpreadseeker.go",
    ),
    _c(
        "(?:Pulling Schema 1 images have been deprecated|is no longer supported since containerd)",
        _CONTAINERD,
        "The image is a Docker schema1 manifest, which containerd 2.x refuses.",
        ("200 application/vnd.docker.distribution.manifest.v1+prettyjws",),
        source="containerd core/remotes/docker/schema1 (2.0 deprecation)",
    ),
    _c(
        "ctr: {any}",
        ("containerd",),
        "containerd's ctr command failed.",
        (),
        source="containerd cmd/ctr/main.go",
    ),
    # ---- kubelet -----------------------------------------------------------------------------
    _c(
        r"Failed to pull image \"{ref}\": {any}",
        ("kubelet",),
        "The kubelet asked the container runtime to pull and it failed (the pod shows ErrImagePull, then "
        "ImagePullBackOff).",
        (),
        source="kubernetes pkg/kubelet/images/image_manager.go",
    ),
    _c(
        r"Back-off pulling image \"{ref}\"",
        ("kubelet",),
        "An earlier pull failed and the kubelet waits before retrying: look for the Failed event before it.",
        (),
        source="kubernetes pkg/kubelet/images/image_manager.go",
    ),
    _c(
        r"\b(?:ErrImagePull|ImagePullBackOff)\b",
        ("kubelet",),
        "The pod's container is waiting because its image could not be pulled; the Failed event says why.",
        (),
        source="kubernetes pkg/kubelet/images/types.go",
    ),
    _c(
        "image pull failed for {ref}, this may be because there are no credentials on this request",
        ("kubelet",),
        "Old docker-based kubelets said this for every pull failure, including a missing tag.",
        (),
        source="kubernetes (dockertools, <= 1.9)",
    ),
    # ---- crane (go-containerregistry pkg/v1/remote/transport/error.go) -------------------------
    _c(
        "(?:GET|HEAD) {url}: [A-Z_]{4,}: {any}",
        ("crane",),
        "crane prints the method, URL and the registry's own CODE: message (and detail).",
        (),
        source="go-containerregistry pkg/v1/remote/transport/error.go",
    ),
    _c(
        r"unexpected status code {n} [A-Za-z ]+",
        ("crane",),
        "The registry answered without a parsable error body (HEAD answers never have one).",
        (),
        source="go-containerregistry pkg/v1/remote/transport/error.go",
    ),
    _c(
        "fetching manifest {ref}: {any}",
        ("crane",),
        "crane could not fetch the manifest.",
        (),
        source="go-containerregistry cmd/crane",
    ),
    _c(
        "No matching credentials were found",
        ("crane",),
        "crane found no stored login for that registry and pulls anonymously.",
        (),
        source="go-containerregistry pkg/authn/keychain.go",
    ),
    # ---- URL errors: Go < 1.14 prints Get URL unquoted, newer Go quotes it ----------------------
    _c(
        r"(?:Get|Head) (?P<url>https?://[^\s\"]+): {any}",
        _DOCKER_GO_OLD,
        "A request failed (docker/skopeo built with Go < 1.14 print the URL unquoted).",
        (),
        source="Go net/url Error (Go < 1.14)",
    ),
    _c(
        r"(?:Get|Head) \"{url}\": {any}",
        _GO_QUOTED_URL,
        "A request failed (clients built with Go >= 1.14 quote the URL).",
        (),
        source="Go net/url Error (Go >= 1.14)",
    ),
    # ================= registry answers inside any of the above ===============================
    _a(
        r"errors:\s+denied: requested access to the resource is denied\s+unauthorized: authentication "
        r"required",
        "Docker Hub's answer for a repository that does not exist or is private: a 401 whose challenge says "
        'error="insufficient_scope" (read as DENIED) and whose body says UNAUTHORIZED.',
        ('401 WWW-Authenticate: Bearer …,error="insufficient_scope" + body UNAUTHORIZED',),
        ("docker-1.12", "containers-image-5.23", "docker-17", "docker-18", "docker-20.10"),
        cannot_tell=_HIDDEN,
        situation="login",
    ),
    _a(
        r"(?:denied: )?requested access to the resource is denied",
        "The registry refused the pull: the repository does not exist, or it is private and this identity "
        'may not pull it (Docker Hub says so with a 401 error="insufficient_scope").',
        ('401 Bearer error="insufficient_scope"', "403 DENIED"),
        cannot_tell=_HIDDEN,
        situation="login",
    ),
    _a(
        r"server message: insufficient_scope",
        "The registry's challenge said insufficient_scope: the token does not allow pulling this repository "
        "(missing, private, or no pull access).",
        ('401 Bearer error="insufficient_scope"',),
        _CONTAINERD,
        cannot_tell=_HIDDEN,
        situation="login",
    ),
    _a(
        r"invalid_token|token (?:is )?(?:expired|invalid)|authorization token has expired",
        "A token was presented and the registry rejected it as invalid or expired (clock skew, a slow pull "
        "outliving a short token, a token for another registry).",
        ('401 Bearer error="invalid_token"', '403 "Your authorization token has expired" (ECR)'),
        situation="token-expired",
    ),
    _a(
        r"(?:unauthorized: )?authentication required(?!, visit)",
        "The registry wants credentials (401 UNAUTHORIZED) and none were accepted for this request.",
        ("401 UNAUTHORIZED",),
        cannot_tell=_HIDDEN,
        situation="login",
    ),
    _a(
        r"authentication required, visit https://aka\.ms/acr/authorization",
        "Azure Container Registry refused the request (401): not logged in, no AcrPull permission, or — "
        "ACR answers the same — the tag does not exist.",
        ("401 UNAUTHORIZED (Azure Container Registry)",),
        cannot_tell="Whether the repository or tag exists: ACR answers 401 for both.",
        situation="login",
    ),
    _a(
        r"access to the requested resource is not authorized",
        "Quay (or a pre-2016 registry) refused the request with 401: private or missing, it does not say.",
        ("401 UNAUTHORIZED (Quay)",),
        cannot_tell=_HIDDEN,
        situation="login",
    ),
    _a(
        r"incorrect username or password|invalid username or password|invalid username/password",
        "The token endpoint rejected the user name and password (or token). Stored bad credentials are sent "
        "even for public images.",
        ('token endpoint: 401 {"details": "incorrect username or password"}',),
        situation="credentials",
    ),
    _a(
        r"no basic auth credentials",
        "The registry asks for Basic authentication and the client has no stored login for that exact "
        "host[:port]; docker and containerd refuse before sending anything (ECR, Nexus, htpasswd "
        "registries).",
        ("GET /v2/: 401 WWW-Authenticate: Basic realm=…",),
        (
            "docker-1.12",
            "docker-17",
            "docker-18",
            "docker-20.10",
            "docker-29-containerd",
            "containerd",
            "kubelet",
        ),
        cannot_tell="Whether the image exists: no request for it was sent.",
        situation="login",
    ),
    _a(
        r"(?:manifest unknown: )?manifest unknown|MANIFEST_UNKNOWN",
        "The registry answered 404 MANIFEST_UNKNOWN: the tag or digest does not exist (distribution also "
        "answers so for a missing repository, and for an OCI image asked without OCI media types).",
        ("404 MANIFEST_UNKNOWN",),
        cannot_tell="Whether the repository exists.",
        situation="not-found",
    ),
    _a(
        r"OCI (?:manifest|index) found, but accept header does not support OCI",
        "The image is an OCI image and the client did not accept OCI media types (docker 1.12): "
        "a content-negotiation problem, not a missing tag.",
        ('404 MANIFEST_UNKNOWN "OCI manifest found, but accept header does not support OCI manifests"',),
    ),
    _a(
        r"name unknown|repository name not known to registry|NAME_UNKNOWN",
        "The registry answered 404 NAME_UNKNOWN: it does not know that repository.",
        ("404 NAME_UNKNOWN",),
        situation="not-found",
    ),
    _a(
        r"blob unknown|BLOB_UNKNOWN",
        "The manifest names a blob (layer or config) that the registry does not have: a broken push, "
        "garbage collection, or a mirror missing content.",
        ("404 BLOB_UNKNOWN on GET /v2/NAME/blobs/DIGEST",),
    ),
    _a(
        r"toomanyrequests|too many requests|429 Too Many Requests|pull rate limit|Rate exceeded",
        "Rate limited (429): not a problem with the image.",
        ("429 TOOMANYREQUESTS (Docker Hub: ratelimit-limit / ratelimit-remaining headers)",),
        situation="rate-limit",
    ),
    _a(
        r"x509: certificate signed by unknown authority|unable to get local issuer",
        "TLS failed: the registry's certificate is signed by a CA this machine does not trust (a private CA "
        "or a TLS-intercepting proxy).",
        ("TLS handshake failure (no HTTP answer)",),
        cannot_tell="Anything about the image: no HTTP request completed.",
    ),
    _a(
        r"x509: certificate (?:has expired|is not valid for)|certificate is valid for",
        "TLS failed: the certificate has expired or does not name this host.",
        ("TLS handshake failure (no HTTP answer)",),
        cannot_tell="Anything about the image: no HTTP request completed.",
    ),
    _a(
        r"server gave HTTP response to HTTPS client|oversized record received",
        "The registry speaks plain HTTP on that port and the client insisted on TLS.",
        ("a plain-HTTP answer to a TLS handshake",),
        cannot_tell="Anything about the image: the client never sent its request over HTTP.",
    ),
    _a(
        r"no such host|lookup \S+(?: on \S+)?: (?:no such host|server misbehaving)|Temporary failure in "
        r"name resolution",
        "DNS failed: the host name does not resolve from this machine (typo, split-horizon DNS, proxy "
        "needed).",
        ("DNS lookup failure (no HTTP answer)",),
        cannot_tell="Anything about the image: the registry was never reached.",
    ),
    _a(
        r"connection refused",
        "Nothing listens on that host and port (wrong port, registry down, firewall rejecting).",
        ("TCP connection refused",),
        cannot_tell="Anything about the image: the registry was never reached.",
    ),
    _a(
        r"i/o timeout|request canceled|Client\.Timeout|context deadline exceeded|TLS handshake timeout",
        "A connection or an answer did not arrive in time (network, proxy, or an overloaded registry).",
        ("no answer in time",),
        cannot_tell="Whether the image exists.",
    ),
    _a(
        r"connection reset by peer|: EOF\b",
        "The connection was closed without an answer (a proxy, a TLS mismatch or a crashing server).",
        ("connection closed without an HTTP answer",),
    ),
    _a(
        r"invalid character '<' looking for beginning of value|StatusCode: \d+, \"?<|error parsing HTTP \d+ "
        r"response body",
        "The registry (or something in front of it) answered an error with a non-JSON body, usually an HTML "
        "page from a proxy, load balancer or web server.",
        ("4xx/5xx with an HTML or plain-text body",),
    ),
    _a(
        r"(?:received unexpected HTTP status: |: )?(?:50[0-4]) (?:Internal Server Error|Bad Gateway|Service "
        r"Unavailable|Gateway Timeout)",
        "The registry or a proxy in front of it failed (5xx): a server-side problem.",
        ("5xx",),
        cannot_tell="Whether the image exists.",
    ),
    _a(
        r"\b403 Forbidden\b",
        "The registry (or storage it redirected to) answered 403 Forbidden.",
        ("403",),
        situation="permission",
    ),
    _a(
        r"\b401 Unauthorized\b",
        "The registry or token endpoint answered 401 Unauthorized.",
        ("401",),
        situation="login",
    ),
    _a(
        r"Request has expired|SignatureDoesNotMatch|AccessDenied",
        "Object storage refused a presigned blob URL (expired or signed for another method): the registry "
        "itself answered fine.",
        ('blob 307 → storage 403 AccessDenied "Request has expired"',),
    ),
    _a(
        r"does not match expected|[Dd]igest did not match|failed size validation|digest mismatch",
        "Content did not hash to its digest: corrupt storage, or a proxy altered or truncated it.",
        ("200 with bytes that do not match the digest",),
    ),
    _a(
        r"stopped after 10 redirects",
        "The registry (or a proxy) redirects in a loop.",
        ("3xx redirect loop",),
    ),
    # ---- vendor texts -------------------------------------------------------------------------
    _a(
        r"artifactregistry\.repositories\.downloadArtifacts",
        "Google Artifact Registry refused: the principal lacks "
        "artifactregistry.repositories.downloadArtifacts on that repository — or the repository does not "
        "exist.",
        ("token endpoint /v2/token: 403 DENIED (Artifact Registry)",),
        cannot_tell='Whether the repository exists: the message says "(or it may not exist)".',
        situation="permission",
    ),
    _a(
        r"Unauthenticated request\. Unauthenticated requests do not have permission",
        "Google Artifact Registry refused an anonymous request.",
        ("token endpoint /v2/token: 403 DENIED (Artifact Registry, anonymous)",),
        situation="login",
    ),
    _a(
        r"You don't have the needed permissions to perform this operation",
        "gcr.io refused: not logged in with an account that can read the project's images.",
        ("401 UNAUTHORIZED (gcr.io)",),
        situation="permission",
    ),
    _a(
        r"is not authorized to perform: ecr:\w+",
        "Amazon ECR refused: the IAM identity lacks the ECR permission named in the message.",
        ("403 DENIED (ECR IAM policy)",),
        situation="permission",
    ),
    _a(
        r"The repository with name '[^']+' does not exist in the registry with id",
        "Amazon ECR has no repository of that name in that account and region.",
        ("404 NAME_UNKNOWN (ECR)",),
        situation="not-found",
    ),
    _a(
        r"denied: denied|permission_denied: read_package",
        "GitHub Container Registry refused: the token lacks read:packages, is stale, or the package is not "
        "shared with this user.",
        ("403 DENIED (GHCR)",),
        situation="permission",
    ),
    _a(
        r"denied: access forbidden|\baccess forbidden\b",
        "GitLab refused: the project path is wrong or the token lacks read_registry.",
        ('403 DENIED "access forbidden" (GitLab token endpoint)',),
        cannot_tell="Whether the project exists: GitLab answers the same for a wrong path.",
        situation="permission",
    ),
    _a(
        r"unauthorized to access repository: [^,]+, action: pull",
        "Harbor refused: the user is not a member of the project (or the repository does not exist).",
        ("401 UNAUTHORIZED (Harbor)",),
        cannot_tell=_HIDDEN,
        situation="permission",
    ),
    _a(
        r"The client does not have permission for manifest|Upstream repository is not configured properly",
        "JFrog Artifactory refused — it also says so when a remote repository's upstream lacks the tag.",
        ("401 UNAUTHORIZED (Artifactory)",),
        situation="permission",
    ),
    _a(
        r"The named manifest is not known to the registry",
        "JFrog Artifactory has no such tag (404 MANIFEST_UNKNOWN).",
        ("404 MANIFEST_UNKNOWN (Artifactory)",),
        situation="not-found",
    ),
)


# ---------------------------------------------------------------------------------------------
# Matching

_PLACEHOLDERS = {
    "{ref}": r"(?P<ref>[A-Za-z0-9][\w.\-/:@+]*)",
    "{repo}": r"(?P<repo>[A-Za-z0-9][\w.\-/:]*)",
    "{tag}": r"(?P<tag>sha256:[0-9a-fA-F]+|[\w][\w.\-]*)",
    "{url}": r"(?P<url>https?://[^\s\"]+)",
    "{host}": r"(?P<host>\[[0-9a-fA-F:]+\](?::\d+)?|[\w.\-]+(?::\d+)?)",
    "{any}": r".+?",
    "{n}": r"\d+",
    "{word}": r"\S+",
}


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # Whitespace in a wording may be a space, a newline or a terminal's wrap.
    text = re.sub(r"(?<![\\\[]) (?![^\[]*\])", r"\\s+", pattern)
    for placeholder, regex in _PLACEHOLDERS.items():
        first = True
        while placeholder in text:
            # Only the first occurrence captures (group names must be unique).
            text = text.replace(placeholder, regex if first else re.sub(r"\?P<\w+>", "?:", regex), 1)
            first = False
    return re.compile(text, re.DOTALL)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LOGFMT = re.compile(r"\b(?:msg|err|error)=\"((?:[^\"\\]|\\.)*)\"")
_GO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "a": "\a", "b": "\b"}


def go_unquote(text: str) -> str:
    """Undo Go's ``%q`` escaping as logrus writes it in ``msg="…"`` (lenient: unknown escapes stay)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _GO_ESCAPES:
            out.append(_GO_ESCAPES[nxt])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(nxt)
        digits = text[i + 2 : i + 2 + width] if width else ""
        if width and len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
            out.append(chr(int(digits, 16)))
            i += 2 + width
            continue
        out.append(char)
        i += 1
    return "".join(out)


def variants(text: str) -> tuple[str, ...]:
    """The readings of a paste worth matching: as is, log-line payloads unescaped, wrapped lines
    joined with a space (wrapped at a blank) and with nothing (wrapped inside a word)."""
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    bases = [text, *(go_unquote(m.group(1)) for m in _LOGFMT.finditer(text))]
    out: list[str] = []
    for base in bases:
        lines = [line.strip() for line in base.split("\n")]
        for candidate in (base, " ".join(x for x in lines if x), "".join(lines)):
            if candidate and candidate not in out:
                out.append(candidate)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Hit:
    """One template that matched, with the text it matched and its captured parts."""

    template: Template
    text: str
    groups: tuple[tuple[str, str], ...]


def _hits(text: str) -> list[Hit]:
    found: list[Hit] = []
    readings = variants(text)
    for template in TEMPLATES:
        for reading in readings:
            match = _compiled(template.pattern).search(reading)
            if match is not None:
                groups = tuple((k, v) for k, v in match.groupdict().items() if v)
                found.append(Hit(template, match.group(0), groups))
                break
    return found


# ---------------------------------------------------------------------------------------------
# The reference in the text

_HUB_HOSTS = {"registry-1.docker.io", "index.docker.io", "registry.hub.docker.com", "docker.io"}
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?:manifests/(?P<ref>[^/]+)|blobs/[^/]+|tags/list)/?$")
_V1_PATH = re.compile(r"^/v1/repositories/(?P<name>.+?)/(?:images|tags(?:/(?P<tag>[^/]+))?)$")


def _from_url(url: str) -> str | None:
    """``https://registry-1.docker.io/v2/library/x/manifests/1`` -> ``docker.io/library/x:1``."""
    try:
        parts = urlsplit(url.rstrip(".,;:)"))
    except ValueError:
        return None
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    if not host:
        return None
    if host in _HUB_HOSTS:
        host = "docker.io"
    path = parts.path
    match = _MANIFEST_PATH.match(path)
    if match:
        name, ref = match.group("name"), match.group("ref")
        if not ref:
            return f"{host}/{name}"
        return f"{host}/{name}{'@' if ref.startswith('sha256:') else ':'}{ref}"
    v1 = _V1_PATH.match(path)
    if v1:
        host = "docker.io" if host == "docker.io" else host
        return f"{host}/{v1.group('name')}" + (f":{v1.group('tag')}" if v1.group("tag") else "")
    scopes = parse_qs(parts.query).get("scope", [])
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name = rest.rpartition(":")[0]
        if kind == "repository" and name:
            service = (parse_qs(parts.query).get("service") or [""])[0].lower()
            if host == "auth.docker.io" or service == "registry.docker.io":
                return f"docker.io/{name}"
            registry = service if "." in service and "/" not in service else host
            return f"{registry}/{name}"
    return None


def _clean(ref: str) -> str:
    ref = ref.strip().strip("\"'`").removeprefix("docker://").rstrip(".,;:)")
    return ref


def _has_domain(ref: str) -> bool:
    first = ref.split("/", 1)[0]
    return "/" in ref and ("." in first or ":" in first or first == "localhost")


def _reference(hits: Iterable[Hit]) -> str | None:
    """The best reference named in the text: with a registry host and a tag when one is given."""
    candidates: list[str] = []
    for hit in hits:
        groups = dict(hit.groups)
        if "repo" in groups and "tag" in groups:
            tag = groups["tag"]
            candidates.append(_clean(groups["repo"]) + ("@" if tag.startswith("sha256:") else ":") + tag)
        if "ref" in groups:
            candidates.append(_clean(groups["ref"]))
        if "url" in groups:
            found = _from_url(groups["url"])
            if found:
                candidates.append(found)
    valid: list[str] = []
    for candidate in candidates:
        try:
            parse_reference(candidate)
        except InvalidReference:
            continue
        if candidate not in valid:
            valid.append(candidate)
    if not valid:
        return None

    def score(ref: str) -> tuple[int, int]:
        tail = ref.rsplit("/", 1)[-1]
        return (int(_has_domain(ref)), int(":" in tail or "@" in ref))

    best = max(valid, key=score)
    if _has_domain(best) and ":" not in best.rsplit("/", 1)[-1] and "@" not in best:
        # "Pulling repository host/name" plus "Error: image name:tag not found": add the tag.
        for other in valid:
            tail = other.rsplit("/", 1)[-1]
            if ":" in tail and best.endswith("/" + other.rsplit(":", 1)[0]):
                return best + ":" + other.rsplit(":", 1)[1]
    return best


# ---------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True, slots=True)
class ClientMatch:
    """One client that prints the text: what it means when that client says it."""

    client: str
    meaning: str
    registry_answers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """What ``explain`` found; ``to_json`` is the ``--json`` contract."""

    recognised: bool
    matches: tuple[ClientMatch, ...]
    reference: str | None
    command: str | None
    cannot_tell: tuple[str, ...] = ()
    vendor: str | None = None  # the vendor's display name, when the text or host names one
    next_steps: tuple[str, ...] = ()
    matched_text: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "recognised": self.recognised,
            "matches": [
                {"client": m.client, "meaning": m.meaning, "registry_answers": list(m.registry_answers)}
                for m in self.matches
            ],
            "reference": self.reference,
            "command": self.command,
        }


def _ordered(ids: Iterable[str]) -> tuple[str, ...]:
    wanted = set(ids)
    return tuple(client for client in CLIENT_IDS if client in wanted)


def _clients_of(client_hits: list[Hit]) -> tuple[str, ...]:
    """Clients able to print every wording that matched; a wording of another family (kubelet
    around docker's text) starts a second group instead of emptying the set."""
    groups: list[set[str]] = []
    for hit in sorted(client_hits, key=lambda h: len(h.template.clients)):
        wanted = set(hit.template.clients)
        for index, group in enumerate(groups):
            if group & wanted:
                groups[index] = group & wanted
                break
        else:
            groups.append(wanted)
    return _ordered(c for group in groups for c in group)


def _host_of(reference: str | None) -> str:
    if reference is None:
        return ""
    try:
        return parse_reference(reference).domain
    except InvalidReference:
        return ""


def _command(reference: str | None, hits: list[Hit]) -> str | None:
    if reference is None:
        return None
    parts = ["diagnose", "compare", reference]
    host = _host_of(reference)
    plain = any("plain HTTP" in hit.template.meaning for hit in hits)
    if plain and host and host != "docker.io":
        parts += ["--insecure-registry", host]
    return " ".join(shlex.quote(part) for part in parts)


def explain(text: str) -> Explanation:
    """Which clients print ``text``, what it means, and the ``diagnose compare`` to run next."""
    hits = _hits(text)
    if not hits:
        return Explanation(False, (), None, None)
    client_hits = [h for h in hits if h.template.kind is Kind.CLIENT]
    answer_hits = [h for h in hits if h.template.kind is Kind.ANSWER]
    # The most specific answer wins a tie: drop answers whose matched text lies inside another's.
    answer_hits = [
        h
        for h in answer_hits
        if not any(o is not h and h.text in o.text and len(o.text) > len(h.text) for o in answer_hits)
    ]

    if client_hits:
        clients = _clients_of(client_hits)
        # Client-specific answer wordings narrow the set (``errors:\n…`` is c/image <= 5.23 or docker).
        for hit in answer_hits:
            narrowed = _ordered(c for c in clients if c in hit.template.clients)
            if narrowed:
                clients = narrowed
    else:
        restricted = [h for h in answer_hits if h.template.clients != _ALL]
        clients = _ordered(c for h in restricted for c in h.template.clients) if restricted else CLIENT_IDS

    matches: list[ClientMatch] = []
    for client in clients:
        meanings: list[str] = []
        answers: list[str] = []
        for hit in [*client_hits, *answer_hits]:
            if client not in hit.template.clients:
                continue
            if hit.template.meaning not in meanings:
                meanings.append(hit.template.meaning)
            answers.extend(a for a in hit.template.answers if a not in answers)
        matches.append(ClientMatch(client, " ".join(meanings), tuple(answers)))

    reference = _reference(hits)
    cannot = tuple(dict.fromkeys(h.template.cannot_tell for h in hits if h.template.cannot_tell))
    if reference is None:
        cannot = (
            *cannot,
            "Which image: the text names no reference; pass it to `diagnose compare` yourself.",
        )
    host = _host_of(reference)
    vendor: Vendor | None = detect(host, [text])
    situation = next((h.template.situation for h in hits if h.template.situation is not None), None)
    steps = advice(vendor, situation, host) if vendor is not None and situation is not None else ()
    return Explanation(
        recognised=True,
        matches=tuple(matches),
        reference=reference,
        command=_command(reference, hits),
        cannot_tell=cannot,
        vendor=vendor.name if vendor else None,
        next_steps=steps,
        matched_text=tuple(dict.fromkeys(h.text for h in hits)),
    )


def render_text(result: Explanation) -> str:
    """Plain text for the terminal (no rich: ``explain`` stays light)."""
    if not result.recognised:
        return (
            "Not recognised: no client model prints this text.\n"
            "Paste the whole error line as the client printed it, or run `diagnose compare IMAGE`.\n"
        )
    lines = ["Recognised. Printed by:"]
    for match in result.matches:
        lines.append(f"  {match.client:<26} {CLIENT_NAMES.get(match.client, match.client)}")
    seen: list[str] = []
    lines.append("")
    lines.append("What it means:")
    for match in result.matches:
        if match.meaning not in seen:
            seen.append(match.meaning)
            lines.append(f"  {match.meaning}")
    answers = list(dict.fromkeys(a for m in result.matches for a in m.registry_answers))
    if answers:
        lines.append("")
        lines.append("Registry answers that produce it:")
        lines.extend(f"  - {a}" for a in answers)
    if result.cannot_tell:
        lines.append("")
        lines.append("What it cannot tell:")
        lines.extend(f"  - {c}" for c in result.cannot_tell)
    if result.vendor:
        lines.append("")
        lines.append(f"Registry: {result.vendor}")
        lines.extend(f"  - {s}" for s in result.next_steps)
    lines.append("")
    if result.command:
        lines.append(f"Next: {result.command}")
    else:
        lines.append("Next: diagnose compare with the image reference (the text names none).")
    return "\n".join(lines) + "\n"
