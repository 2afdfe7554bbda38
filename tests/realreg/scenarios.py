"""The differential scenario matrix run against the real registries.

Each ``Scenario`` names a target on one of the registries of ``stack.RealRegistries``,
the identity presented and what the registry is known to answer (from distribution 2.8's
behaviour and our token server's policy, see tokenserver.py). ``expect_ok`` and
``expect_outcome`` are fixed expectations, so that a run where skopeo and our puller
agree on the wrong thing still fails.

Used by tests/test_real_registry.py and by ``python -m tests.realreg.scenario_table``.
This module must not start anything or run skopeo.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.realreg.stack import RealRegistries, RegistryKind

WRONG_PASSWORD = "definitely-not-the-password"


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    registry: str  # RegistryKind
    repository: str
    tag: str
    user: str | None  # None: anonymous
    expect_ok: bool
    expect_outcome: str  # diagnose.model.Outcome value
    wrong_password: bool = False
    with_ca: bool = True  # False: neither skopeo nor our pull is given the throwaway CA
    platform: str = "linux/amd64"
    why: str = ""

    def ref(self, regs: RealRegistries) -> str:
        if self.tag.startswith("sha256:"):  # a digest reference
            return f"{regs.host(self.registry)}/{self.repository}@{self.tag}"
        return regs.ref(self.registry, self.repository, self.tag)

    def creds(self, regs: RealRegistries) -> tuple[str, str] | None:
        if self.user is None:
            return None
        if self.wrong_password or self.user not in regs.users:
            return (self.user, WRONG_PASSWORD)
        return regs.creds(self.user)

    @property
    def identity(self) -> str:
        if self.user is None:
            return "anonymous"
        return f"{self.user} (wrong password)" if self.wrong_password else self.user


T, B, OPN, C, PL = (
    RegistryKind.TOKEN,
    RegistryKind.BASIC,
    RegistryKind.OPEN,
    RegistryKind.CLOSED,
    RegistryKind.PLAIN,
)
MISSING_DIGEST = "sha256:" + "0" * 64

# fmt: off
SCENARIOS: tuple[Scenario, ...] = (
    # --- token registry, anonymous -------------------------------------------------------
    Scenario("anon-public", T, "library/busybox", "latest", None, True, "ok",
             why="public index, linux/amd64 picked"),
    Scenario("anon-missing-repo", T, "library/nope", "latest", None, False, "unauthorized",
             why="token has access [] -> 401 insufficient_scope; existence not revealed"),
    Scenario("anon-private-repo", T, "alice/private", "1.0", None, False, "unauthorized",
             why="same 401 as a missing repo"),
    Scenario("anon-missing-tag", T, "library/busybox", "nope", None, False, "not_found",
             why="public repo: pull granted, 404 MANIFEST_UNKNOWN"),
    Scenario("anon-missing-digest", T, "library/busybox", MISSING_DIGEST, None, False, "not_found",
             why="public repo: pull granted, 404 MANIFEST_UNKNOWN for the digest"),
    # --- token registry, the namespace owner ---------------------------------------------
    Scenario("owner-private", T, "alice/private", "1.0", "alice", True, "ok"),
    Scenario("owner-missing-repo", T, "alice/nope", "1.0", "alice", False, "not_found",
             why="alice owns alice/*: token grants pull, registry says 404 MANIFEST_UNKNOWN"),
    Scenario("owner-missing-tag", T, "alice/private", "nope", "alice", False, "not_found"),
    Scenario("owner-public", T, "library/alpine", "3.19", "alice", True, "ok"),
    # --- token registry, another user ----------------------------------------------------
    Scenario("other-private", T, "alice/private", "1.0", "bob", False, "unauthorized",
             why="bob's token has access [] for alice/private -> 401 insufficient_scope"),
    Scenario("other-missing-repo", T, "alice/nope", "1.0", "bob", False, "unauthorized"),
    Scenario("other-public", T, "library/busybox", "latest", "bob", True, "ok"),
    Scenario("wrong-password", T, "library/busybox", "latest", "alice", False, "auth_failed",
             wrong_password=True, why="token endpoint 401 {details: incorrect username or password}"),
    Scenario("unknown-user", T, "library/busybox", "latest", "mallory", False, "auth_failed",
             why="no such account: the token endpoint answers as for a wrong password"),
    # --- htpasswd Basic registry ---------------------------------------------------------
    Scenario("basic-anon", B, "library/busybox", "latest", None, False, "unauthorized",
             why="Basic challenge, no credentials"),
    Scenario("basic-creds", B, "library/busybox", "latest", "bob", True, "ok"),
    Scenario("basic-wrong-password", B, "library/busybox", "latest", "alice", False,
             "unauthorized", wrong_password=True),
    Scenario("basic-missing-tag", B, "alice/private", "nope", "alice", False, "not_found"),
    # --- no-auth registry ----------------------------------------------------------------
    Scenario("open-public", OPN, "library/alpine", "3.19", None, True, "ok"),
    Scenario("open-missing-repo", OPN, "library/nope", "latest", None, False, "not_found",
             why="no auth: distribution answers 404 MANIFEST_UNKNOWN for a missing repo"),
    Scenario("open-missing-tag", OPN, "library/alpine", "nope", None, False, "not_found",
             why="no auth: 404 MANIFEST_UNKNOWN for the tag"),
    Scenario("open-arm64", OPN, "library/busybox", "latest", None, True, "ok",
             platform="linux/arm64/v8"),
    # --- transport and platform ----------------------------------------------------------
    Scenario("unknown-ca", OPN, "library/busybox", "latest", None, False, "tls_error",
             with_ca=False, why="server cert from the throwaway CA, client trusts only system roots"),
    Scenario("refused", C, "library/busybox", "latest", None, False, "connection_error",
             why="nothing listens on the port"),
    Scenario("plain-http-registry", PL, "library/alpine", "3.19", None, False, "tls_error",
             why="the registry speaks plain HTTP; a verifying client speaks TLS to it"),
    Scenario("no-matching-platform", T, "library/armonly", "1.0", None, False, "unsupported",
             why="index has only linux/arm64"),
)
# fmt: on
