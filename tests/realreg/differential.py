"""Run one scenario both ways (real skopeo, our v2-only pull) and compare the two.

- ``run_ours`` calls ``diagnose.run.run_pull`` with the v2-only strategy on the same target,
  the same identity and the same CA as skopeo gets.
- ``outcome_from_evidence`` classifies a pull from its recorded exchanges alone, as a check
  on the puller's own classification (independent of its code, deliberately simple).
- ``predict_for_installed_skopeo`` turns our prediction (written for current c/image,
  >= 5.24) into what the installed skopeo 1.9.3 (c/image 5.23.1) prints for the same
  exchange, using ``diagnose.clients.skopeo`` with ``CImage.V5_23``; where the two
  versions word a message differently is listed in ``VERSION_DIFFERENCES``.
- ``comparable`` removes the wrappers that depend on the skopeo command and version.

This module must not start servers; the stack comes from stack.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.realreg.scenarios import Scenario
from tests.realreg.skopeo import Skopeo, SkopeoRun, strip_wrappers
from tests.realreg.stack import RealRegistries

if TYPE_CHECKING:
    from diagnose.model import Exchange, PullResult

OUR_TIMEOUT = 10.0

VERSION_DIFFERENCES: tuple[tuple[str, str, str], ...] = (
    (
        "registry error with several causes (401 + Bearer error=insufficient_scope)",
        "errors:\\ndenied: requested access to the resource is denied"
        "\\nunauthorized: authentication required",
        "requested access to the resource is denied",
    ),
    (
        "error whose message is its code's default (404 MANIFEST_UNKNOWN)",
        "manifest unknown: manifest unknown",
        "manifest unknown",
    ),
    (
        "no matching platform in an index (ChooseInstance)",
        'no image found in image index for architecture amd64, variant "", OS linux',
        'no image found in image index for architecture "amd64", variant "", OS "linux"',
    ),
    (
        "TLS verification failure (Go >= 1.20 wraps x509 errors; bookworm's skopeo is Go 1.19)",
        "x509: certificate signed by unknown authority",
        "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    ),
)
"""(what, skopeo 1.9.3 / c/image 5.23.1 as observed here, current c/image) — for the README."""


def run_skopeo(skopeo: Skopeo, regs: RealRegistries, scenario: Scenario) -> SkopeoRun:
    return skopeo.inspect(
        scenario.ref(regs),
        cert_dir=regs.cert_dir if scenario.with_ca else None,
        creds=scenario.creds(regs),
        platform=scenario.platform,
    )


def run_ours(regs: RealRegistries, scenario: Scenario) -> PullResult:
    from diagnose.model import Strategy
    from diagnose.pullers.options import PullOptions
    from diagnose.reference import parse_reference
    from diagnose.run import run_pull
    from diagnose.transport import TransportOptions

    return run_pull(
        parse_reference(scenario.ref(regs)),
        Strategy.V2_ONLY,
        PullOptions(credentials=scenario.creds(regs), platform=scenario.platform, tls_verify=True),
        TransportOptions(verify=str(regs.ca_cert) if scenario.with_ca else True, timeout=OUR_TIMEOUT),
    )


def _platform_missing(body: str, platform: str) -> bool:
    """True when ``body`` is an index/list without an entry for ``platform`` (os/arch)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if not isinstance(data, dict) or not isinstance(data.get("manifests"), list):
        return False
    want = tuple(platform.split("/")[:2])
    for entry in data["manifests"]:
        plat = entry.get("platform") or {}
        if (plat.get("os"), plat.get("architecture")) == want:
            return False
    return True


def outcome_from_evidence(exchanges: tuple[Exchange, ...], platform: str) -> str:
    """What the last recorded exchange says about how the pull ended."""
    if not exchanges:
        return "no exchanges"
    last = exchanges[-1]
    if last.failure is not None:
        return {
            "tls": "tls_error",
            "refused": "connection_error",
            "dns": "connection_error",
            "reset": "connection_error",
            "timeout": "timeout",
        }.get(last.failure.kind.value, "protocol_error")
    assert last.response is not None
    status = last.response.status
    if last.step == "token":
        return "auth_failed" if status == 401 else f"token answered {status}"
    if 200 <= status < 300:
        if last.request.method == "GET" and _platform_missing(last.response.body, platform):
            return "unsupported"
        return "ok"
    return {401: "unauthorized", 403: "denied", 404: "not_found", 429: "rate_limited"}.get(
        status, "server_error" if status >= 500 else f"status {status}"
    )


# Go >= 1.20 (crypto/tls) wraps certificate errors as "tls: failed to verify certificate: …";
# skopeo 1.9.3 in bookworm is built with Go 1.19. A Go difference, not a c/image one.
_GO_TLS_WRAP = re.compile(r"tls: failed to verify certificate: ")
# c/image <= 5.23 ChooseInstance: "architecture %s, variant %q, OS %s"; later all %q.


def result_platform(result: PullResult) -> str:
    """The platform the pull asked for, from its error detail ("no linux/amd64 entry ...")."""
    detail = result.error.detail if result.error is not None else ""
    words = detail.split()
    return words[1] if len(words) > 1 and words[0] == "no" else "linux/amd64"


def comparable(message: str) -> str:
    """A message with command/version wrappers removed, for comparing two clients."""
    return _GO_TLS_WRAP.sub("", strip_wrappers(message)).strip()


def _error_exchange(result: PullResult) -> Exchange | None:
    if result.error is None or result.error.exchange_id is None:
        return None
    for exchange in result.exchanges:
        if exchange.id == result.error.exchange_id:
            return exchange
    return None


def predict_for_installed_skopeo(result: PullResult) -> str:
    """Our message, re-worded as c/image 5.23.1 (skopeo 1.9.3) words it for the same exchange.

    The pullers word messages for current c/image. Only the registry-error text in the
    middle differs between 5.23 and >= 5.24 (errors merged vs first error only, code
    prefix kept vs dropped), so we recompute that text (or the token-endpoint error) for
    both versions from the recorded response and swap it; the platform message likewise
    (diagnose.clients.skopeo.no_platform_error).
    """
    from diagnose.clients.skopeo import CImage, no_platform_error, registry_error_text, token_error
    from diagnose.pullers.common import split_platform

    message = result.message
    exchange = _error_exchange(result)
    if exchange is not None and exchange.response is not None:
        response = exchange.response
        status_line = f"{response.status} {response.reason}".strip()
        body = response.body.encode()
        if exchange.step == "token":
            current = token_error(response.status, status_line, body)
            old = token_error(response.status, status_line, body, version=CImage.V5_23)
        else:
            current, _ = registry_error_text(response.status, status_line, response.headers, body)
            old, _ = registry_error_text(
                response.status, status_line, response.headers, body, version=CImage.V5_23
            )
        if current and current in message:
            message = message.replace(current, old, 1)
    if result.outcome.value == "unsupported":
        os_name, arch, variant = split_platform(result_platform(result))
        for kind in ("manifest list", "image index"):
            current = no_platform_error(kind, os_name, arch, variant)
            message = message.replace(
                current, no_platform_error(kind, os_name, arch, variant, version=CImage.V5_23)
            )
    return message


@dataclass(frozen=True, slots=True)
class Comparison:
    """One scenario run both ways."""

    scenario: Scenario
    skopeo: SkopeoRun
    result: PullResult
    evidence: str  # outcome_from_evidence
    predicted: str  # our message in the installed skopeo's wording ("" when ok)

    @property
    def same_success(self) -> bool:
        return self.skopeo.ok == self.result.ok

    @property
    def real_core(self) -> str:
        return comparable(self.skopeo.message)

    @property
    def predicted_core(self) -> str:
        return "" if self.result.ok else comparable(self.predicted)

    @property
    def messages_match(self) -> bool:
        return (self.skopeo.ok and self.result.ok) or self.real_core == self.predicted_core

    @property
    def match(self) -> bool:
        return (
            self.same_success
            and self.messages_match
            and self.evidence == self.result.outcome.value == self.scenario.expect_outcome
            and self.skopeo.ok is self.scenario.expect_ok
        )


def compare(skopeo: Skopeo, regs: RealRegistries, scenario: Scenario) -> Comparison:
    real = run_skopeo(skopeo, regs, scenario)
    ours = run_ours(regs, scenario)
    predicted = "" if ours.ok else predict_for_installed_skopeo(ours)
    return Comparison(
        scenario=scenario,
        skopeo=real,
        result=ours,
        evidence=outcome_from_evidence(ours.exchanges, scenario.platform),
        predicted=predicted,
    )
