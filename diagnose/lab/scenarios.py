"""The catalogue of situations the lab reproduces: one scenario per pull problem users meet.

Each scenario names how the lab must behave (``LabConfig`` switches), what to pull from it (a
repository inside the lab, an identity) and the rule the diagnosis must reach. ``diagnose demo``
runs them, ``diagnose lab --scenario NAME`` serves one, and the test suite checks every one.
This module is data only: it must not start servers, send requests or word a diagnosis, and
it imports no lab plumbing (``demo --list`` stays light).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from diagnose.lab.modes import LabAuth, LabToken, LabV1

if TYPE_CHECKING:
    from diagnose.lab.server import LabConfig

NO_SUCH_DIGEST = "sha256:" + "0" * 64


@dataclass(frozen=True, slots=True)
class LabScenario:
    """One situation: how the lab behaves, what is pulled as whom, which rule explains it."""

    name: str
    summary: str  # one line for ``demo --list``
    path: str  # repository[:tag | @digest] inside the lab
    rule: str  # the diagnosis id the comparison must reach
    auth: LabAuth = LabAuth.TOKEN
    v1: LabV1 = LabV1.ABSENT
    token: LabToken = LabToken.NORMAL
    not_a_registry: bool = False
    proxy_error: bool = False
    user: str | None = None
    password: str | None = None  # None: the user's lab password
    tls_verify: bool = False  # True: the strict pull insists on https (against a plain-HTTP lab)
    refused: bool = False  # pull from a port of the lab's host where nothing listens

    def config(self, host: str = "127.0.0.1", registry_port: int = 0, token_port: int = 0) -> LabConfig:
        """The lab this scenario needs."""
        from diagnose.lab.server import LabConfig  # the servers load only when a lab is wanted

        return LabConfig(
            auth=self.auth,
            v1=self.v1,
            not_a_registry=self.not_a_registry,
            proxy_error=self.proxy_error,
            token=self.token,
            host=host,
            registry_port=registry_port,
            token_port=token_port,
        )

    def credentials(self, users: Mapping[str, str]) -> tuple[str, str] | None:
        """(user, password) to pull with, or None for an anonymous pull."""
        if self.user is None:
            return None
        return self.user, self.password if self.password is not None else users.get(self.user, "")


_s = LabScenario


SCENARIOS: tuple[LabScenario, ...] = (
    # --- the original report and its neighbours
    _s(
        "missing-image",
        "anonymous pull of an image that does not exist",
        "library/thisimagedoesntexist",
        "unauthorized-hidden-by-v1",
    ),
    _s(
        "private-anonymous",
        "anonymous pull of a private image",
        "alice/private-app",
        "unauthorized-hidden-by-v1",
    ),
    _s(
        "private-owner",
        "the private image, logged in as its owner",
        "alice/private-app",
        "both-ok",
        user="alice",
    ),
    _s(
        "owner-missing-repo",
        "logged in as alice, a repository she does not have",
        "alice/does-not-exist",
        "tag-missing",
        user="alice",
    ),
    _s(
        "other-user",
        "logged in as alice, bob's private repository",
        "bob/tools:1.0",
        "no-pull-access",
        user="alice",
    ),
    _s(
        "missing-tag",
        "a tag that does not exist in a public repository",
        "library/busybox:no-such-tag",
        "tag-missing",
    ),
    _s(
        "missing-digest",
        "a digest that does not exist in a public repository",
        f"library/busybox@{NO_SUCH_DIGEST}",
        "tag-missing",
    ),
    _s(
        "v1-only",
        "an image that exists only on the legacy V1 API",
        "library/oldtimer",
        "only-on-v1",
        v1=LabV1.PRESENT,
    ),
    _s("public-ok", "a public multi-platform image: both pulls succeed", "library/busybox", "both-ok"),
    _s("blob-redirect", "blobs answer 307 to presigned storage URLs", "library/redirected", "both-ok"),
    # --- credentials
    _s(
        "wrong-password",
        "alice with a wrong password",
        "alice/private-app",
        "credentials-rejected",
        user="alice",
        password="not-her-password",
    ),
    _s(
        "unknown-user",
        "a user the registry does not know",
        "library/alpine",
        "credentials-rejected",
        user="mallory",
        password="whatever",
    ),
    _s(
        "basic-no-credentials",
        "an htpasswd (Basic) registry, no credentials",
        "alice/private-app",
        "basic-auth-no-credentials",
        auth=LabAuth.BASIC,
    ),
    _s(
        "basic-ok",
        "an htpasswd (Basic) registry, logged in",
        "alice/private-app",
        "both-ok",
        auth=LabAuth.BASIC,
        user="alice",
    ),
    _s(
        "open-registry-missing",
        "a registry without authentication, missing repository",
        "team/nothing-here",
        "tag-missing",
        auth=LabAuth.NONE,
    ),
    # --- tokens
    _s(
        "token-expired",
        "the token service's clock is an hour behind: tokens arrive expired",
        "library/alpine",
        "token-rejected",
        token=LabToken.EXPIRED,
    ),
    _s(
        "token-endpoint-unreachable",
        "the token realm names a port where nothing listens",
        "library/alpine",
        "token-endpoint-unreachable",
        token=LabToken.UNREACHABLE,
    ),
    _s(
        "token-answer-empty",
        "the token service answers 200 without a token",
        "library/alpine",
        "token-answer-empty",
        token=LabToken.EMPTY,
    ),
    _s(
        "dns-failure",
        "the token realm names a host that does not resolve",
        "library/alpine",
        "dns-failure",
        token=LabToken.UNRESOLVABLE,
    ),
    _s(
        "push-only-token",
        "bob's token for his upload repository grants push, not pull",
        "bob/uploads",
        "token-without-pull",
        user="bob",
    ),
    _s(
        "name-without-library",
        "an official image named without library/ on a non-Hub registry",
        "alpine",
        "name-without-library",
    ),
    # --- registry answers
    _s(
        "denied", "the registry knows the repository and refuses: 403 DENIED", "library/quarantined", "denied"
    ),
    _s(
        "repository-renamed",
        "the repository was renamed: 404 NAME_UNKNOWN with the new name",
        "library/oldname",
        "repository-renamed",
    ),
    _s(
        "rate-limited-hub",
        "429 TOOMANYREQUESTS with Docker Hub's ratelimit-* headers",
        "library/ratelimited",
        "pull-quota-exhausted",
    ),
    _s(
        "rate-limited",
        "a bare 429 (abuse limit): no Retry-After, no ratelimit-* headers",
        "library/throttled",
        "rate-limited",
    ),
    _s("server-error", "the manifest answers 500 with an HTML page", "library/broken", "server-error"),
    _s(
        "proxy-error",
        "a reverse proxy answers 502 Bad Gateway for everything",
        "library/alpine",
        "proxy-in-the-way",
        proxy_error=True,
    ),
    _s(
        "not-a-registry",
        "a web server, not a registry, at that address",
        "library/alpine",
        "not-a-registry",
        not_a_registry=True,
    ),
    _s(
        "registry-refused",
        "nothing listens on the registry's port",
        "library/alpine",
        "connection-error",
        refused=True,
    ),
    _s(
        "plain-http",
        "the registry speaks plain HTTP and the strict client insists on TLS",
        "library/alpine",
        "plain-http-registry",
        tls_verify=True,
    ),
    # --- content
    _s("oci-image", "an OCI image: docker 1.12 cannot accept it", "library/oci-only", "oci-not-accepted"),
    _s(
        "windows-only",
        "a manifest list with only Windows images",
        "library/windows-only",
        "windows-only-image",
    ),
    _s(
        "schema1-only",
        "a Docker schema1 image: docker >= 26 and containerd 2 refuse it",
        "library/schema1-only",
        "schema1-image",
    ),
    _s("corrupt-config", "the config blob is served with wrong bytes", "library/corrupt", "integrity-error"),
    _s(
        "blob-unknown",
        "the manifest names a layer the registry does not have",
        "library/half-pushed",
        "blob-missing",
    ),
    _s(
        "storage-url-expired",
        "blob redirects point at presigned URLs that have expired",
        "library/expired-links",
        "storage-url-expired",
    ),
)

BY_NAME: dict[str, LabScenario] = {scenario.name: scenario for scenario in SCENARIOS}
