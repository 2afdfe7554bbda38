"""Which registry product answered, and what its users must do: vendor-aware next steps.

Pure: a vendor is recognised from the registry host, the token realm and service, response
headers and error texts (facts gathered from public issue threads and vendor documentation), and
``advice`` turns a situation into concrete steps for that vendor, filled in from the host (ECR
account and region, ACR registry name, Artifact Registry location). This module must not do I/O,
import requests, rich or typer, or decide a diagnosis; it only names the product and its habits.

Facts behind the advice (restated, not copied):
- ECR: ``aws ecr get-login-password`` returns a token valid for 12 hours; the Basic challenge says
  ``service="ecr.amazonaws.com"``; an expired token answers 403 "Your authorization token has
  expired"; pulling needs ``ecr:BatchGetImage`` and ``ecr:GetDownloadUrlForLayer``.
- Artifact Registry: denials name ``artifactregistry.repositories.downloadArtifacts`` and are
  answered at ``/v2/token``; the Artifact Registry Reader role grants it.
- ACR: 401 "authentication required, visit https://aka.ms/acr/authorization"; pull needs AcrPull.
- GHCR: a personal access token with ``read:packages``; GITHUB_TOKEN needs ``packages: read``.
- GitLab: realm ``…/jwt/auth``, service ``container_registry``; tokens need ``read_registry``.
- Harbor: realm ``…/service/token``, service ``harbor-registry``; project members and robot
  accounts with pull permission may pull.
- Quay: 401 "access to the requested resource is not authorized" for private and missing alike.
- Artifactory: ``X-Jfrog-Version`` header, realm ``…/artifactory/api/docker/<repo>/v2/token``.
- Nexus: ``Server: Nexus/…``, ``realm="Sonatype Nexus Repository Manager"``.
- Docker Hub: realm ``auth.docker.io``, ``docker-ratelimit-source`` and ``ratelimit-*`` headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Situation(StrEnum):
    """What the user needs advice for; rules map their ids to one of these."""

    LOGIN = "login"  # refused anonymously: log in with a credential that can pull
    CREDENTIALS = "credentials"  # the credential itself was rejected
    PERMISSION = "permission"  # authenticated, but this identity may not pull
    TOKEN_EXPIRED = "token-expired"  # a token was presented and rejected as invalid/expired
    RATE_LIMIT = "rate-limit"
    NOT_FOUND = "not-found"


@dataclass(frozen=True, slots=True)
class Vendor:
    """A registry product and how to recognise it."""

    id: str
    name: str
    hosts: tuple[str, ...]  # regular expressions over the lower-case host (port removed)
    markers: tuple[str, ...]  # lower-case substrings of realms, headers or error texts


DOCKER_HUB = Vendor(
    "docker-hub",
    "Docker Hub",
    (r"(registry-1\.|index\.)?docker\.io", r"registry\.hub\.docker\.com"),
    ("auth.docker.io", "docker-ratelimit-source", "registry.docker.io", "docker.com/increase-rate-limit"),
)
ECR = Vendor(
    "ecr",
    "Amazon ECR",
    (r"\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", r"public\.ecr\.aws"),
    ("ecr.amazonaws.com", "ecr:batchgetimage", "your authorization token has expired"),
)
ARTIFACT_REGISTRY = Vendor(
    "artifact-registry",
    "Google Artifact Registry",
    (r"[a-z0-9-]+-docker\.pkg\.dev",),
    ("artifactregistry.",),
)
GCR = Vendor(
    "gcr",
    "Google Container Registry (gcr.io)",
    (r"([a-z]+\.)?gcr\.io",),
    ("cloud.google.com/container-registry",),
)
ACR = Vendor(
    "acr",
    "Azure Container Registry",
    (r"[a-z0-9]+\.azurecr\.(io|cn|us)",),
    ("aka.ms/acr",),
)
GHCR = Vendor(
    "ghcr",
    "GitHub Container Registry",
    (r"ghcr\.io", r"docker\.pkg\.github\.com"),
    ("read_package", "ghcr.io/token"),
)
QUAY = Vendor("quay", "Quay", (r"quay\.io",), ("quay.io",))
GITLAB = Vendor(
    "gitlab",
    "GitLab container registry",
    (r"registry\.gitlab\.com", r"registry\.gitlab\.[a-z.]+"),
    ("/jwt/auth", 'service="container_registry"', "gitlab"),
)
HARBOR = Vendor("harbor", "Harbor", (), ("/service/token", "harbor-registry", "harbor"))
ARTIFACTORY = Vendor(
    "artifactory",
    "JFrog Artifactory",
    (r"[a-z0-9-]+\.jfrog\.io",),
    ("x-jfrog-version", "/artifactory/api/docker/", "artifactory"),
)
NEXUS = Vendor("nexus", "Sonatype Nexus", (), ("sonatype nexus", "nexus/"))

VENDORS: tuple[Vendor, ...] = (
    DOCKER_HUB,
    ECR,
    ARTIFACT_REGISTRY,
    GCR,
    ACR,
    GHCR,
    QUAY,
    GITLAB,
    HARBOR,
    ARTIFACTORY,
    NEXUS,
)


def _bare_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def vendor_of_host(host: str) -> Vendor | None:
    """The vendor whose host pattern matches ``host`` (``host:port`` allowed)."""
    bare = _bare_host(host)
    for vendor in VENDORS:
        if any(re.fullmatch(pattern, bare) for pattern in vendor.hosts):
            return vendor
    return None


def vendor_of_texts(texts: Iterable[str]) -> Vendor | None:
    """The first vendor one of whose markers occurs in the texts (realms, headers, bodies)."""
    lowered = [text.lower() for text in texts if text]
    for vendor in VENDORS:
        if any(marker in text for text in lowered for marker in vendor.markers):
            return vendor
    return None


def detect(host: str, texts: Iterable[str] = ()) -> Vendor | None:
    """The vendor named by the host, else by the answers' texts; None for a plain registry."""
    return vendor_of_host(host) if host and vendor_of_host(host) else vendor_of_texts(texts)


# ---------------------------------------------------------------------------------------------
# Advice


def _ecr_parts(host: str) -> tuple[str, str] | None:
    match = re.fullmatch(
        r"(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?", _bare_host(host)
    )
    return (match.group(1), match.group(2)) if match else None


def _login(vendor: Vendor, host: str) -> str:
    """The vendor's own login command for this host."""
    bare = _bare_host(host)
    if vendor is ECR:
        parts = _ecr_parts(host)
        if parts is not None:
            return (
                f"`aws ecr get-login-password --region {parts[1]} | docker login --username AWS "
                f"--password-stdin {bare}`"
            )
        if bare == "public.ecr.aws":
            return (
                "`aws ecr-public get-login-password --region us-east-1 | docker login --username AWS "
                "--password-stdin public.ecr.aws`"
            )
        return "`aws ecr get-login-password --region <region> | docker login --username AWS --password-stdin`"
    if vendor is ARTIFACT_REGISTRY or vendor is GCR:
        return f"`gcloud auth configure-docker {bare}`" if bare else "`gcloud auth configure-docker`"
    if vendor is ACR:
        return (
            f"`az acr login --name {bare.split('.', 1)[0]}`" if bare else "`az acr login --name <registry>`"
        )
    if vendor is DOCKER_HUB:
        return "`docker login`"
    return f"`docker login {bare}`" if bare else "`docker login`"


def advice(vendor: Vendor | None, situation: Situation, host: str = "") -> tuple[str, ...]:
    """Next steps that only make sense for this vendor (empty for a plain registry)."""
    if vendor is None:
        return ()
    login = _login(vendor, host)
    name = vendor.name
    if vendor is ECR:
        steps = {
            Situation.LOGIN: (
                f"{name} has no anonymous pulls for private repositories: log in with {login}.",
                "ECR login tokens last 12 hours: CI jobs and nodes must refresh them "
                "(or use amazon-ecr-credential-helper).",
            ),
            Situation.CREDENTIALS: (f"ECR tokens last 12 hours; get a fresh one with {login}.",),
            Situation.TOKEN_EXPIRED: (f"ECR tokens last 12 hours; get a fresh one with {login}.",),
            Situation.PERMISSION: (
                "The IAM identity needs `ecr:BatchGetImage` and `ecr:GetDownloadUrlForLayer` on the "
                "repository (and `ecr:GetAuthorizationToken`); check the repository policy for "
                "cross-account pulls.",
            ),
            Situation.NOT_FOUND: (
                "ECR repositories are per account and region: check the account id and region in the host.",
            ),
            Situation.RATE_LIMIT: ("ECR throttles API calls per account and region; retry with backoff.",),
        }
    elif vendor is ARTIFACT_REGISTRY or vendor is GCR:
        steps = {
            Situation.LOGIN: (f"Configure docker's credential helper for {name}: {login}.",),
            Situation.CREDENTIALS: (
                f"Refresh the credentials: {login} (access tokens from `gcloud auth print-access-token` "
                "last one hour).",
            ),
            Situation.TOKEN_EXPIRED: (f"Refresh the credentials: {login} (access tokens last one hour).",),
            Situation.PERMISSION: (
                "The principal needs `artifactregistry.repositories.downloadArtifacts` on that repository "
                "(role Artifact Registry Reader); the denial also covers a repository that does not exist.",
            ),
            Situation.NOT_FOUND: ("Check the project, location and repository parts of the path.",),
            Situation.RATE_LIMIT: ("Check the project's Artifact Registry quotas.",),
        }
    elif vendor is ACR:
        steps = {
            Situation.LOGIN: (f"Log in with {login} (or a service principal / token with pull scope).",),
            Situation.CREDENTIALS: (f"Refresh the credentials with {login}: its tokens last 3 hours.",),
            Situation.TOKEN_EXPIRED: (f"Refresh the credentials with {login}: its tokens last 3 hours.",),
            Situation.PERMISSION: (
                "The identity needs the AcrPull role on the registry (or a repository-scoped token with "
                "`content/read`); ACR answers 401 for a missing tag too.",
            ),
            Situation.NOT_FOUND: (
                "ACR answers 401 even for a missing tag: list the tags with `az acr repository show-tags`.",
            ),
            Situation.RATE_LIMIT: ("Check the registry's SKU limits (Basic/Standard/Premium).",),
        }
    elif vendor is GHCR:
        steps = {
            Situation.LOGIN: (
                "Log in with `docker login ghcr.io` using a personal access token (classic) with "
                "`read:packages`; in GitHub Actions, give GITHUB_TOKEN `packages: read`.",
            ),
            Situation.CREDENTIALS: (
                "A stale or revoked GitHub token is sent even for public packages: `docker logout ghcr.io`, "
                "then log in with a token that has `read:packages`.",
            ),
            Situation.TOKEN_EXPIRED: (
                "Log in again with `docker login ghcr.io` and a valid token with `read:packages`.",
            ),
            Situation.PERMISSION: (
                "The token needs `read:packages`, and the package must grant this user or repository read "
                "access (package settings → Manage access).",
            ),
            Situation.NOT_FOUND: ("GHCR hides private packages: check the owner and package name.",),
            Situation.RATE_LIMIT: ("GHCR limits requests per minute; retry later.",),
        }
    elif vendor is GITLAB:
        steps = {
            Situation.LOGIN: (
                f"Log in with {login} using a deploy token or access token with `read_registry` "
                "(in CI: `$CI_REGISTRY_USER` / `$CI_JOB_TOKEN`).",
            ),
            Situation.CREDENTIALS: (
                f"The token was rejected: create one with `read_registry` and {login} again.",
            ),
            Situation.TOKEN_EXPIRED: (
                "GitLab registry tokens last 5 minutes by default on self-managed instances; log in again.",
            ),
            Situation.PERMISSION: (
                "The user or token needs `read_registry` and at least Reporter access to the project; "
                "GitLab answers the same for a wrong project path.",
            ),
            Situation.NOT_FOUND: ("Check the group/project path: it is part of the image name.",),
            Situation.RATE_LIMIT: (),
        }
    elif vendor is HARBOR:
        steps = {
            Situation.LOGIN: (
                f"Log in with {login} as a project member or a robot account with pull permission.",
            ),
            Situation.CREDENTIALS: (f"Check the user or robot account secret, then {login} again.",),
            Situation.TOKEN_EXPIRED: (f"Log in again with {login}.",),
            Situation.PERMISSION: (
                "Add the user (at least Limited Guest) or a robot account with pull permission to the "
                "Harbor project.",
            ),
            Situation.NOT_FOUND: (
                "Harbor image names start with the project: "
                f"`{_bare_host(host) or 'registry'}/project/repository`.",
            ),
            Situation.RATE_LIMIT: ("A proxy-cache project relays the upstream's rate limit.",),
        }
    elif vendor is QUAY:
        steps = {
            Situation.LOGIN: (f"Log in with {login} using a robot account or an encrypted password.",),
            Situation.CREDENTIALS: (
                f"Check the robot account token or encrypted password, then {login} again.",
            ),
            Situation.TOKEN_EXPIRED: (f"Log in again with {login}.",),
            Situation.PERMISSION: (
                "Grant the user or robot account read permission on the repository; Quay answers 401 for "
                "private and missing repositories alike.",
            ),
            Situation.NOT_FOUND: (
                "Quay answers 401 for a missing repository too: check the organisation and name.",
            ),
            Situation.RATE_LIMIT: (),
        }
    elif vendor is ARTIFACTORY:
        steps = {
            Situation.LOGIN: (f"Log in with {login} using an identity token.",),
            Situation.CREDENTIALS: (f"Check the identity token, then {login} again.",),
            Situation.TOKEN_EXPIRED: (f"Log in again with {login}.",),
            Situation.PERMISSION: (
                "The user needs Read permission on the Docker repository; for a remote (proxy) repository "
                "of Docker Hub, official images need the `library/` path.",
            ),
            Situation.NOT_FOUND: (
                "Artifactory answers 401/404 when the upstream of a remote repository has no such tag.",
            ),
            Situation.RATE_LIMIT: (
                "A remote repository relays Docker Hub's rate limit; authenticate it upstream.",
            ),
        }
    elif vendor is NEXUS:
        steps = {
            Situation.LOGIN: (
                f"Log in with {login}; for anonymous pulls the Docker Bearer Token Realm must be active.",
            ),
            Situation.CREDENTIALS: (f"Check the user's password, then {login} again.",),
            Situation.TOKEN_EXPIRED: (f"Log in again with {login}.",),
            Situation.PERMISSION: ("The user needs `nx-repository-view-docker-<repository>-read`.",),
            Situation.NOT_FOUND: ("Check which Nexus repository (and port or path) serves this image.",),
            Situation.RATE_LIMIT: (),
        }
    else:  # Docker Hub
        steps = {
            Situation.LOGIN: (
                "Log in with `docker login` (a personal access token with read scope is enough).",
            ),
            Situation.CREDENTIALS: (
                "Docker Hub wants a personal access token as password when 2FA or SSO is on; "
                "`docker logout` then `docker login`.",
            ),
            Situation.TOKEN_EXPIRED: (
                "Docker Hub tokens last 5 minutes; a slow pull or a skewed clock (`timedatectl`) "
                "makes them look expired.",
            ),
            Situation.PERMISSION: (
                "Ask the repository's owner (or organisation team) to grant this account read access.",
            ),
            Situation.NOT_FOUND: (
                "Official images live under `library/`; check the namespace on hub.docker.com.",
            ),
            Situation.RATE_LIMIT: (
                "Anonymous pulls are counted per IP address: log in, or use a pull-through mirror.",
            ),
        }
    return steps.get(situation, ())
