"""The rule table, one row per rule, on evidence the real pullers record against real servers.

Every row runs the pulls (``run_pulls``: the real pullers, the recording transport and its
redactor) against the lab (tests/conftest.py) or a small misbehaving registry on 127.0.0.1, then
diagnoses what was recorded: no hand-written copies of pull results. A row names the rule it
expects, words the explanation and next steps must contain, and words they must never contain
(placeholders, claims the evidence does not support).
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from diagnose.facts import RunFlags, facts_from
from diagnose.lab import LAB_USERS, Lab, LabConfig, start_lab
from diagnose.model import (
    AuthInfo,
    AuthMode,
    Diagnosis,
    ImageReference,
    Outcome,
    Protocol,
    PullResult,
    Strategy,
)
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.rules import RULES, diagnose, select_rule
from diagnose.run import PULLERS, build_report, run_pulls
from diagnose.transport import TransportOptions
from tests import factories as f
from tests.helpers_http import OpenV2Handler, make_pki, serve

ALICE = ("alice", LAB_USERS["alice"])
VERSION = ("Docker-Distribution-API-Version", "registry/2.0")

PLACEHOLDERS = ("IMAGE", "HOST", "SRC", "DST", "USER:PASS", "REPO", "FILE", "os/arch")
"""Never in a next step: every command uses the real reference and this run's flags."""


class DeniedRegistry(OpenV2Handler):
    """ECR-like: the manifest is refused with 403 DENIED (the repository exists, no permission)."""

    def answer(self) -> None:
        body = json.dumps(
            {"errors": [{"code": "DENIED", "message": "not authorized to perform: ecr:BatchGetImage"}]}
        )
        self.reply(403, body.encode(), [VERSION, ("Content-Type", "application/json")])


class NameUnknownRegistry(OpenV2Handler):
    def answer(self) -> None:
        body = json.dumps({"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]})
        self.reply(404, body.encode(), [VERSION, ("Content-Type", "application/json")])


class ManifestNotJson(OpenV2Handler):
    def answer(self) -> None:
        self.reply(200, b"{not json", [VERSION, ("Content-Type", "application/json")])


class Hangs(OpenV2Handler):
    """Answers the ping, then never answers the manifest request (until the server stops)."""

    def answer(self) -> None:
        self.rfile.read(1)  # blocks until the client gives up or the server shuts the socket


@dataclass(frozen=True)
class Case:
    rule_id: str
    where: str  # a fixture giving the registry host: "lab", "lab_v1", "lab_basic", "lab_tls", ...
    path: str  # repository[:tag|@digest] on that host
    differ: bool
    mentions: tuple[str, ...] = ()  # in the explanation ("{host}" is the registry host)
    steps_mention: tuple[str, ...] = ()  # in the next steps
    never: tuple[str, ...] = ()  # in no part of the diagnosis
    creds: tuple[str, str] | None = None
    options: dict[str, object] = field(default_factory=dict)  # PullOptions fields
    run_options: tuple[tuple[str, str], ...] = (("tls_verify", "false"),)
    verify: bool | str = True
    timeout: float = 5.0

    @property
    def id(self) -> str:
        return f"{self.rule_id}-{self.where}-{self.path}"


CASES = [
    Case("both-ok", "lab", "library/busybox:1.36", False, ("library/busybox:1.36",)),
    Case(
        "plain-http-registry",
        "lab",
        "library/busybox:1.36",
        True,
        ("plain HTTP", "--tls-verify=false", "falls back to plain http", "went over http"),
        ("diagnose compare {host}/library/busybox:1.36 --insecure-registry {host}",),
        never=("without checking the certificate",),
        options={"tls_verify": True},
        run_options=(),
    ),
    Case(
        "tls-error",
        "lab_tls",
        "library/busybox:1.36",
        True,
        ("certificate", "skips certificate verification", "went over https without checking"),
        (
            "diagnose compare {host}/library/busybox:1.36 --ca-cert ca.crt",
            "/etc/docker/certs.d/{host}/ca.crt",
        ),
        never=("plain http", "nothing about the image is known"),
        options={"tls_verify": True},
        run_options=(),
    ),
    Case("connection-error", "refused", "library/busybox", True, ("refused",), ("getent hosts 127.0.0.1",)),
    Case(
        "timeout", "hangs", "team/app:1.0", False, ("timed out",), ("curl -vk https://{host}/v2/",), timeout=1
    ),
    Case(
        "credentials-rejected",
        "lab",
        "library/busybox:1.36",
        False,
        ("401", "'alice'"),
        (
            "docker login {host}",
            "run `diagnose compare {host}/library/busybox:1.36 --no-tls-verify`.",
            "docker logout {host}",
        ),
        creds=("alice", "not-her-password"),
    ),
    Case(
        "pull-quota-exhausted",
        "lab",
        "library/ratelimited",
        False,
        ("429", "TOOMANYREQUESTS"),
        ("and run `diagnose compare {host}/library/ratelimited --no-tls-verify`:",),
    ),
    Case(
        "oci-not-accepted",
        "lab",
        "library/oci-only",
        True,
        ("OCI manifest found", "MANIFEST_UNKNOWN", "content-negotiation"),
        (
            "skopeo copy --tls-verify=false --format v2s2 docker://{host}/library/oci-only "
            "docker://{host}/library/oci-only:latest-v2s2",
        ),
    ),
    Case("only-on-v1", "lab_v1", "library/oldtimer", True, ("legacy V1",), ("V2 registry",)),
    Case(
        "basic-auth-no-credentials",
        "lab_basic",
        "library/busybox:1.36",
        True,
        ("Basic challenge", "no basic auth credentials", "not found"),
        ("docker login {host}", "run `diagnose compare {host}/library/busybox:1.36 --no-tls-verify`:"),
    ),
    Case(
        "basic-credentials-rejected",
        "lab_basic",
        "library/busybox:1.36",
        True,
        ("HTTP Basic", "'alice'", "does not accept"),
        ("docker login {host}", "run `diagnose compare {host}/library/busybox:1.36 --no-tls-verify`."),
        never=("token server accepted", "a token was issued", "Logged in", "ask the repository's owner"),
        creds=("alice", "not-her-password"),
    ),
    Case(
        "unauthorized-hidden-by-v1",
        "lab",
        "library/thisimagedoesntexist",
        True,
        ("401", "insufficient_scope", "requested access to the resource is denied", "fall back"),
        ("docker login {host}", "a 401 again means this account has no pull access"),
    ),
    Case(
        "unauthorized-anonymous",
        "lab",
        "alice/private-app@sha256:" + "a" * 64,
        False,
        ("401", "anonymous"),
        (
            "run `diagnose compare {host}/alice/private-app@sha256:" + "a" * 64 + " --no-tls-verify`:",
            "the digest is missing",
        ),
        never=("the tag is missing",),
    ),
    Case(
        "no-pull-access",
        "lab",
        "bob/tools:1.0",
        True,
        ("'alice'", "insufficient_scope", "granted no pull access", "it issued a token to 'alice'"),
        ("pull (read) access", "bob/tools:1.0"),
        creds=ALICE,
    ),
    Case("denied", "denied", "team/app:1.0", False, ("403", "ecr:BatchGetImage"), ("pull permission",)),
    Case(
        "not-a-registry",
        "lab_not_registry",
        "library/busybox",
        True,
        ("404", "Docker-Distribution-Api-Version", "{host}"),
        ("curl -sik https://{host}/v2/",),
    ),
    Case(
        "tag-missing",
        "lab",
        "library/busybox:nope",
        True,
        ("MANIFEST_UNKNOWN", "busybox:nope", "the tag is not there", "V1 answered 404"),
        ("skopeo list-tags --tls-verify=false docker://{host}/library/busybox", "tag's spelling"),
    ),
    Case(
        "tag-missing",
        "lab",
        "library/busybox@sha256:" + "0" * 64,
        False,
        ("MANIFEST_UNKNOWN", "the digest is not there"),
        ("skopeo list-tags --tls-verify=false docker://{host}/library/busybox", "Check the digest"),
        never=("the tag is not there", "tag's spelling", "look the tag up"),
    ),
    Case(
        "repository-missing",
        "name_unknown",
        "team/nothere:1.0",
        True,  # docker 1.12 falls back to V1 on NAME_UNKNOWN
        ("NAME_UNKNOWN", "team/nothere"),
        ("repository name",),
    ),
    Case(
        "no-matching-platform",
        "lab",
        "library/busybox",
        False,
        ("linux/s390x", "platform"),
        ("diagnose compare {host}/library/busybox --no-tls-verify --platform linux/amd64",),
        options={"platform": "linux/s390x"},
        run_options=(("tls_verify", "false"), ("platform", "linux/s390x")),
    ),
    Case("integrity-error", "lab", "library/corrupt", False, ("did not hash",), ("registry operator",)),
    Case("server-error", "lab", "library/broken", False, ("500", "manifest"), ("Run again later",)),
    Case("unexplained", "not_json", "team/app:1.0", False, ("protocol_error",), ("--save report.json",)),
]


@pytest.fixture(scope="module")
def lab_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The lab over TLS, with a certificate from a CA the clients are not given."""
    pki = make_pki(Path(tmp_path_factory.mktemp("pki")))
    with start_lab(LabConfig(tls=(pki.cert_path, pki.key_path))) as running:
        yield running


def _host(request: pytest.FixtureRequest, where: str) -> Iterator[str]:
    handlers = {
        "denied": DeniedRegistry,
        "name_unknown": NameUnknownRegistry,
        "not_json": ManifestNotJson,
        "hangs": Hangs,
    }
    if where in handlers:
        with serve(handlers[where]) as server:
            yield f"127.0.0.1:{server.port}"
    elif where == "refused":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        yield f"127.0.0.1:{port}"  # nothing listens there any more
    else:
        lab: Lab = request.getfixturevalue(where)
        yield lab.registry_host


def _auth(creds: tuple[str, str] | None) -> AuthInfo:
    return (
        AuthInfo(AuthMode.CREDENTIALS, "--creds", creds[0]) if creds else AuthInfo(AuthMode.ANONYMOUS, "none")
    )


def _run(case: Case, host: str) -> tuple[ImageReference, tuple[PullResult, ...], Diagnosis]:
    ref = parse_reference(f"{host}/{case.path}")
    options = dataclasses.replace(
        PullOptions(credentials=case.creds, tls_verify=False),
        **case.options,  # type: ignore[arg-type]
    )
    pulls = run_pulls(ref, options, TransportOptions(timeout=case.timeout, verify=case.verify))
    report = build_report(ref, pulls, _auth(case.creds), case.run_options)
    return ref, pulls, report.diagnosis


def _text(diagnosis: Diagnosis) -> str:
    return " ".join(
        (
            diagnosis.title,
            diagnosis.explanation,
            *diagnosis.known,
            *diagnosis.unknowable,
            *diagnosis.next_steps,
            *(f"{f.title} {f.explanation}" for f in diagnosis.findings),
        )
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_row(request: pytest.FixtureRequest, case: Case) -> None:
    hosts = _host(request, case.where)
    host = next(hosts)
    try:
        _, _, diagnosis = _run(case, host)
    finally:
        hosts.close()
    assert diagnosis.id == case.rule_id, (diagnosis.id, diagnosis.explanation)
    assert diagnosis.differ is case.differ
    for text in case.mentions:
        wanted = text.format(host=host)
        assert wanted in diagnosis.explanation, f"{wanted!r} not in {diagnosis.explanation!r}"
    steps = " ".join(diagnosis.next_steps)
    for text in case.steps_mention:
        wanted = text.format(host=host)
        assert wanted in steps, f"{wanted!r} not in {steps!r}"
    everything = _text(diagnosis)
    for text in case.never:
        assert text not in everything, f"{text!r} in {everything!r}"
    for placeholder in PLACEHOLDERS:
        assert placeholder not in steps.replace(host, ""), f"placeholder {placeholder!r} in {steps!r}"
    assert diagnosis.next_steps, "every diagnosis says what to do next"
    assert diagnosis.title


def test_rule_ids_are_unique_and_kebab_case() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert rule_id == rule_id.lower() and " " not in rule_id and "_" not in rule_id


def test_every_rule_is_reachable_and_tested() -> None:
    # A rule is tested by a case here, by a lab scenario (tests/test_catalogue.py runs each), or
    # (internal-error) by tests/test_tool_errors.py.
    from diagnose.lab.scenarios import SCENARIOS

    tested = {case.rule_id for case in CASES} | {s.rule for s in SCENARIOS} | {"internal-error"}
    tested |= {row[0] for row in FACTORY_ROWS}
    assert tested == {rule.id for rule in RULES}


def test_last_rule_is_a_catch_all(lab: Lab) -> None:
    ref = parse_reference(f"{lab.registry_host}/library/busybox:1.36")
    pulls = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=5))
    facts = facts_from(pulls, _auth(None))
    assert RULES[-1].applies(facts)
    assert (
        select_rule(dataclasses.replace(facts, v2_outcome=Outcome.PROTOCOL_ERROR, fb_outcome=None))
        is RULES[-1]
    )


# --- rules whose situation neither the lab nor a small server here produces ---------------------------

FACTORY_ROWS = [
    (
        "proxy-refused",
        f.scenario_proxy_refused,
        ("407 Proxy Authentication Required", "registry.corp.example"),
        ("HTTPS_PROXY=", "NO_PROXY"),
    ),
    (
        "client-certificate-required",
        f.scenario_tls_client_certificate,
        ("client certificate", "certificate required", "registry.corp.example"),
        ("/etc/containers/certs.d/registry.corp.example/", "/etc/docker/certs.d/registry.corp.example/"),
    ),
    (
        "tls-handshake-failed",
        f.scenario_tls_cut,
        ("client certificate", "EOF occurred in violation of protocol"),
        ("openssl s_client -connect registry.corp.example",),
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "scenario", "mentions", "steps_mention"), FACTORY_ROWS, ids=lambda r: str(r)
)
def test_rule_row_from_factories(
    rule_id: str,
    scenario: Callable[[], tuple[PullResult, ...]],
    mentions: tuple[str, ...],
    steps_mention: tuple[str, ...],
) -> None:
    diagnosis = diagnose(scenario(), f.ANONYMOUS)
    assert diagnosis.id == rule_id
    for text in mentions:
        assert text in diagnosis.explanation, f"{text!r} not in {diagnosis.explanation!r}"
    steps = " ".join(diagnosis.next_steps)
    for text in steps_mention:
        assert text in steps, f"{text!r} not in {steps!r}"


# --- what the old code got wrong (issue "a diagnosis you can trust", items 3, 5, 6) ---------------


def test_tls_diagnosis_tells_what_the_docker_pull_revealed(lab_tls: Lab) -> None:
    """Unknown CA on 127.0.0.1: docker 1.12 skips verification and gets an OCI manifest it
    cannot accept. The diagnosis says so (a second finding), never 'retries over plain http'
    nor 'nothing about the image is known'."""
    case = Case(
        "tls-error", "lab_tls", "library/oci-only", True, options={"tls_verify": True}, run_options=()
    )
    _, pulls, diagnosis = _run(case, lab_tls.registry_host)
    docker = next(p for p in pulls if p.strategy is Strategy.V2_THEN_V1)
    assert "https" in {e.request.url.split(":", 1)[0] for e in docker.exchanges if e.response is not None}
    assert diagnosis.id == "tls-error"
    assert "retries over plain http" not in _text(diagnosis)
    assert "nothing about the image is known" not in _text(diagnosis)
    assert [f.id for f in diagnosis.findings] == ["oci-not-accepted"]
    assert "OCI manifest found" in diagnosis.findings[0].explanation


def test_no_matching_platform_lists_what_the_index_offers(lab: Lab) -> None:
    case = next(c for c in CASES if c.rule_id == "no-matching-platform")
    _, _, diagnosis = _run(case, lab.registry_host)
    assert "The index offers: linux/amd64, linux/arm64/v8." in diagnosis.known


# --- any number of pulls (issue "what every client prints", item 3) --------------------------------


def test_rules_over_every_pull_lead_with_the_original_question(lab: Lab) -> None:
    """Four pulls (strict, docker 1.12, docker >= 17, containerd): the diagnosis is the one the
    original pair gets, and a further finding names what each other client concluded."""
    ref = parse_reference(f"{lab.registry_host}/library/thisimagedoesntexist")
    every = run_pulls(
        ref, PullOptions(tls_verify=False), TransportOptions(timeout=5), strategies=list(PULLERS)
    )
    assert len(every) >= 4
    pair = tuple(p for p in every if p.strategy in (Strategy.V2_ONLY, Strategy.V2_THEN_V1))
    full = diagnose(every, _auth(None))
    assert full.id == diagnose(pair, _auth(None)).id == "unauthorized-hidden-by-v1"
    others = next(f for f in full.findings if f.id == "other-pulls")
    for pull in every:
        if pull.strategy not in (Strategy.V2_ONLY, Strategy.V2_THEN_V1):
            assert f"{pull.strategy} ({pull.client}) ended {pull.outcome}" in others.explanation
    facts = facts_from(every, _auth(None))
    assert [p.strategy for p in facts.pulls][:2] == [Strategy.V2_ONLY, Strategy.V2_THEN_V1]
    assert {p.strategy for p in facts.others} == {p.strategy for p in every} - {
        Strategy.V2_ONLY,
        Strategy.V2_THEN_V1,
    }


def test_pulls_of_strategies_the_rules_do_not_know_break_nothing(lab: Lab) -> None:
    """Only other clients ran (or a strategy the rules were never written for): still a diagnosis."""
    ref = parse_reference(f"{lab.registry_host}/library/busybox:nope")
    others = [s for s in PULLERS if s not in (Strategy.V2_ONLY, Strategy.V2_THEN_V1)]
    pulls = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=5), strategies=others)
    diagnosis = diagnose(pulls, _auth(None), RunFlags(reference=f"{lab.registry_host}/library/busybox:nope"))
    assert diagnosis.id == "tag-missing"
    assert diagnosis.next_steps
    # Three pulls in any order, strict one last: read by strategy, not by position.
    strict = run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=5))
    shuffled = (*pulls, *reversed(strict))
    assert diagnose(shuffled, _auth(None)).id == diagnose(strict, _auth(None)).id


def test_a_single_pull_is_diagnosed(lab: Lab) -> None:
    ref = parse_reference(f"{lab.registry_host}/library/busybox:nope")
    (v2,) = run_pulls(
        ref, PullOptions(tls_verify=False), TransportOptions(timeout=5), strategies=[Strategy.V2_ONLY]
    )
    diagnosis = diagnose((v2,), _auth(None))
    assert diagnosis.id == "tag-missing" and diagnosis.differ is False


# --- facts read from real evidence ----------------------------------------------------------------


def test_facts_of_the_anonymous_missing_image(lab: Lab) -> None:
    ref = parse_reference(f"{lab.registry_host}/library/thisimagedoesntexist")
    facts = facts_from(
        run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=5)), _auth(None)
    )
    assert facts.host == lab.registry_host
    assert facts.repository == "library/thisimagedoesntexist" and facts.ref == "latest"
    assert facts.v2_outcome is Outcome.UNAUTHORIZED and facts.v2_status == 401
    assert facts.fb_outcome is Outcome.NOT_FOUND and facts.fb_protocol is Protocol.V1
    assert facts.fell_back and facts.no_v1_api
    assert facts.challenge_error == "insufficient_scope"
    assert facts.challenge_schemes == ("bearer",)
    assert facts.version_header
    assert facts.token_actions == () and facts.token_grants_pull is False
    assert facts.token_issued and facts.token_subject == ""
    assert facts.ping_status == 401
    assert facts.login_command == f"docker login {lab.registry_host}"
    assert facts.differ


def test_facts_of_the_basic_registry(lab_basic: Lab) -> None:
    ref = parse_reference(f"{lab_basic.registry_host}/library/busybox:1.36")
    anonymous = facts_from(
        run_pulls(ref, PullOptions(tls_verify=False), TransportOptions(timeout=5)), _auth(None)
    )
    assert anonymous.basic_only and not anonymous.basic_sent and not anonymous.token_issued
    assert (
        anonymous.client_side_refusal is not None
        and "no basic auth credentials" in anonymous.client_side_refusal
    )
    wrong = ("alice", "not-her-password")
    pulls = run_pulls(ref, PullOptions(credentials=wrong, tls_verify=False), TransportOptions(timeout=5))
    assert facts_from(pulls, _auth(wrong)).basic_sent


def test_multi_line_client_output_is_quoted_by_its_last_line(lab: Lab) -> None:
    case = next(c for c in CASES if c.rule_id == "unauthorized-hidden-by-v1")
    _, _, diagnosis = _run(case, lab.registry_host)
    assert "“Error: image library/thisimagedoesntexist:latest not found”" in diagnosis.explanation
    assert "Pulling repository" not in diagnosis.explanation


def test_unknowable_of_the_anonymous_401_says_existence_is_hidden(lab: Lab) -> None:
    case = next(c for c in CASES if c.rule_id == "unauthorized-hidden-by-v1")
    _, _, diagnosis = _run(case, lab.registry_host)
    assert any("does not tell whether the repository exists" in u for u in diagnosis.unknowable)
