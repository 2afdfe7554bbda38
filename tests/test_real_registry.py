"""Differential tests against a real registry: the real skopeo versus our v2-only pull.

For every scenario of tests/realreg/scenarios.py (Debian's ``docker-registry`` 2.8 in
token, htpasswd and no-auth modes, started by the ``real_registries`` fixture) we run the
installed skopeo and our v2-only pull on the same target and check that

(a) both succeed or both fail, and that this is what the scenario expects;
(b) our outcome class is what the recorded HTTP exchanges show (and what the scenario
    expects), e.g. a final 401 from the registry -> ``unauthorized``;
(c) our predicted message equals skopeo's real error once the version-dependent wrappers
    are removed. The pullers word messages for current c/image (>= 5.24); Debian
    bookworm's skopeo 1.9.3 vendors c/image 5.23.1, so the prediction is re-worded for
    5.23 first (differential.predict_for_installed_skopeo; the differences are listed in
    differential.VERSION_DIFFERENCES).

Tests marked ``real_registry`` need ``apt-get install docker-registry skopeo``; the
unmarked ones check the helpers on fixed inputs.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from diagnose.model import (
    Exchange,
    FailureKind,
    RecordedRequest,
    RecordedResponse,
    Strategy,
    TransportFailure,
)
from tests.realreg.differential import comparable, compare, outcome_from_evidence, run_skopeo
from tests.realreg.pki import make_pki
from tests.realreg.scenarios import SCENARIOS, Scenario
from tests.realreg.skopeo import Skopeo, normalise, strip_wrappers
from tests.realreg.stack import RealRegistries
from tests.realreg.tokenserver import TokenPolicy, TokenServer, parse_scope

real = pytest.mark.real_registry


@real
def test_stack_is_up(real_registries: RealRegistries) -> None:
    regs = real_registries
    assert len({regs.token, regs.basic, regs.open, regs.closed}) == 4
    assert (regs.cert_dir / "ca.crt").read_bytes() == regs.ca_cert.read_bytes()
    assert set(regs.users) == {"alice", "bob"}
    assert regs.token_server.startswith("https://127.0.0.1:")
    for log in regs.logs.values():
        assert log.exists()


@real
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_skopeo_behaves_as_expected(
    real_registries: RealRegistries, real_skopeo: Skopeo, scenario: Scenario
) -> None:
    """The skopeo half alone: the registry stack answers as the scenario says."""
    run = run_skopeo(real_skopeo, real_registries, scenario)
    assert run.exit_code in (0, 1, 2), run.stderr  # -1: timed out, anything else: crashed
    assert run.ok is scenario.expect_ok, run.stderr
    if not run.ok:
        assert run.core_message, run.stderr


@real
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_v2_only_pull_agrees_with_real_skopeo(
    real_registries: RealRegistries, real_skopeo: Skopeo, scenario: Scenario
) -> None:
    c = compare(real_skopeo, real_registries, scenario)
    context = (
        f"\nskopeo exit {c.skopeo.exit_code}: {c.skopeo.message!r}"
        f"\nours: {c.result.outcome.value}: {c.result.message!r}"
        f"\nsteps: {[(s.label, s.status, s.result) for s in c.result.steps]}"
    )
    # (a) same success, and the one the scenario expects
    assert c.skopeo.ok is scenario.expect_ok, context
    assert c.result.ok is c.skopeo.ok, context
    # (b) our outcome is what the wire shows, and what the scenario expects
    assert c.evidence == scenario.expect_outcome, context
    assert c.result.outcome.value == c.evidence, context
    # (c) same message, modulo the command/version wrappers
    if not c.skopeo.ok:
        assert c.predicted_core == c.real_core, context
    # and the password never reaches the recording
    creds = scenario.creds(real_registries)
    if creds is not None:
        recorded = json.dumps([repr(e) for e in c.result.exchanges])
        assert creds[1] not in recorded


# --- helpers on fixed inputs (no binaries needed) ------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "message"),
    [
        (
            'time="2024-05-01T10:00:00Z" level=fatal msg="Error parsing image name '
            '\\"docker://h/x:1\\": reading manifest 1 in h/x: manifest unknown: manifest unknown"\n',
            'Error parsing image name "docker://h/x:1": '
            "reading manifest 1 in h/x: manifest unknown: manifest unknown",
        ),
        (
            'time="2024-05-01T10:00:00Z" level=fatal msg="a: errors:\\ndenied: d\\nunauthorized: u"\n',
            "a: errors:\ndenied: d\nunauthorized: u",
        ),
        (
            "FATA[0000] Error retrieving manifest for image: boom\n",
            "Error retrieving manifest for image: boom",
        ),
        ('time="x" level=warning msg="w"\ntime="x" level=fatal msg=plain\n', "plain"),
        ("", ""),
    ],
)
def test_normalise_strips_the_logrus_wrapper(stderr: str, message: str) -> None:
    assert normalise(stderr) == message


@pytest.mark.parametrize(
    ("message", "core"),
    [
        (
            'Error parsing image name "docker://127.0.0.1:5000/a/b:1.0": reading manifest 1.0 in '
            "127.0.0.1:5000/a/b: manifest unknown",
            "manifest unknown",
        ),
        ("Error reading manifest latest in docker.io/library/x: denied", "denied"),
        ("Error retrieving manifest for image: unauthorized", "unauthorized"),
        ("initializing source docker://x:1: reading manifest 1 in x: denied", "denied"),
        (
            "Error parsing manifest for image: choosing image instance: no image",
            "choosing image instance: no image",
        ),
        ("pinging container registry h: refused", "pinging container registry h: refused"),
    ],
)
def test_strip_wrappers(message: str, core: str) -> None:
    assert strip_wrappers(message) == core


def test_comparable_ignores_the_go_tls_wrapper() -> None:
    new = 'pinging container registry h: Get "https://h/v2/": tls: failed to verify certificate: x509: bad'
    old = 'pinging container registry h: Get "https://h/v2/": x509: bad'
    assert comparable(new) == comparable(old)


@pytest.mark.parametrize(
    ("scope", "parsed"),
    [
        ("repository:library/busybox:pull", ("repository", "library/busybox", ("pull",))),
        ("repository:alice/x:pull,push", ("repository", "alice/x", ("pull", "push"))),
        ("repository(plugin):a/b:pull", ("repository", "a/b", ("pull",))),
        ("repository:localhost:5000/a:pull", ("repository", "localhost:5000/a", ("pull",))),
        ("registry:catalog:*", ("registry", "catalog", ("*",))),
        ("nonsense", None),
    ],
)
def test_parse_scope(scope: str, parsed: tuple[str, str, tuple[str, ...]] | None) -> None:
    assert parse_scope(scope) == parsed


def test_outcome_from_evidence() -> None:
    def ex(step: str, status: int | None, body: str = "", kind: FailureKind | None = None) -> Exchange:
        return Exchange(
            id=1,
            strategy=Strategy.V2_ONLY,
            step=step,
            request=RecordedRequest("GET", "https://h/v2/"),
            response=None if status is None else RecordedResponse(status, "", body=body),
            failure=None if kind is None else TransportFailure(kind, "x"),
        )

    index = json.dumps({"manifests": [{"platform": {"os": "linux", "architecture": "arm64"}}]})
    assert outcome_from_evidence((ex("manifest", 401),), "linux/amd64") == "unauthorized"
    assert outcome_from_evidence((ex("token", 401),), "linux/amd64") == "auth_failed"
    assert outcome_from_evidence((ex("manifest", 404),), "linux/amd64") == "not_found"
    assert outcome_from_evidence((ex("ping", None, kind=FailureKind.TLS),), "linux/amd64") == "tls_error"
    assert outcome_from_evidence((ex("ping", None, kind=FailureKind.REFUSED),), "x/y") == "connection_error"
    assert outcome_from_evidence((ex("manifest", 200, index),), "linux/amd64") == "unsupported"
    assert outcome_from_evidence((ex("manifest", 200, index),), "linux/arm64") == "ok"
    assert outcome_from_evidence((), "linux/amd64") == "no exchanges"


def test_token_server_jwt_is_what_distribution_verifies(tmp_path: Path) -> None:
    """ES256 over header.claims, r||s signature, x5c = [leaf DER] chaining to the CA."""

    def b64url(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    pki = make_pki(tmp_path / "pki")
    server = TokenServer(
        policy=TokenPolicy(users={"alice": "pw"}, public={"library/busybox"}),
        issuer="iss",
        service="svc",
        signing_key=pki.signing_key,
        signing_cert_der=pki.signing_cert_der,
        server_cert=pki.server_cert,
        server_key=pki.server_key,
    )
    try:
        answer = server.issue(
            "alice",
            ["repository:alice/app:pull,push", "repository:bob/app:pull", "repository:library/busybox:pull"],
            "svc",
        )
    finally:
        server.stop()
    assert answer["token"] == answer["access_token"]
    assert answer["expires_in"] == 300 and answer["issued_at"].endswith("Z")
    head, claims, signature = answer["token"].split(".")
    header = json.loads(b64url(head))
    payload = json.loads(b64url(claims))
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
    raw = b64url(signature)
    assert len(raw) == 64  # JWS r||s, not DER
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert payload["iss"] == "iss" and payload["aud"] == "svc" and payload["sub"] == "alice"
    assert payload["nbf"] <= payload["iat"] < payload["exp"]
    assert payload["access"] == [
        {"type": "repository", "name": "alice/app", "actions": ["pull", "push"]},
        {"type": "repository", "name": "library/busybox", "actions": ["pull"]},
    ]
