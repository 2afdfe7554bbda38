"""The rule table: one row per rule, built from tests/factories.py scenarios."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from diagnose.facts import Facts, facts_from
from diagnose.model import AuthInfo, Outcome, Protocol, PullResult
from diagnose.rules import RULES, diagnose, select_rule
from tests import factories as f


@dataclass(frozen=True)
class Row:
    rule_id: str
    scenario: Callable[[], tuple[PullResult, ...]]
    auth: AuthInfo
    differ: bool
    explanation_mentions: tuple[str, ...]
    steps_mention: tuple[str, ...] = ()


ROWS = [
    Row(
        "internal-error",
        f.scenario_internal_error,
        f.ANONYMOUS,
        True,
        ("a bug in diagnose", "KeyError: 'mediaType'", "exchanges recorded before the bug are kept"),
        ("bug report",),
    ),
    Row("both-ok", f.scenario_both_ok, f.ANONYMOUS, False, ("library/busybox:latest",)),
    Row(
        "plain-http-registry",
        f.scenario_plain_http,
        f.ANONYMOUS,
        True,
        ("plain HTTP", "--tls-verify=false", "127.0.0.0/8", "Error: image library/busybox:x not found"),
        ("--no-tls-verify", "--insecure-registry 127.0.0.1:5000"),
    ),
    Row(
        "proxy-refused",
        f.scenario_proxy_refused,
        f.ANONYMOUS,
        True,
        ("407 Proxy Authentication Required", "registry.corp.example"),
        ("HTTPS_PROXY=http://USER:PASSWORD@proxy:port", "NO_PROXY"),
    ),
    Row(
        "client-certificate-required",
        f.scenario_tls_client_certificate,
        f.ANONYMOUS,
        True,
        ("client certificate", "certificate required", "registry.corp.example"),
        ("/etc/containers/certs.d/registry.corp.example/", "/etc/docker/certs.d/registry.corp.example/"),
    ),
    Row(
        "tls-handshake-failed",
        f.scenario_tls_cut,
        f.ANONYMOUS,
        True,
        ("client certificate", "EOF occurred in violation of protocol"),
        ("openssl s_client -connect registry.corp.example",),
    ),
    Row(
        "tls-error",
        f.scenario_tls,
        f.ANONYMOUS,
        True,  # the docker-style pull reports the V1 ping
        ("x509: certificate signed by unknown authority", "registry.corp.example"),
        ("--ca-cert", "/etc/docker/certs.d/registry.corp.example/ca.crt"),
    ),
    Row(
        "dns-failure",
        f.scenario_connection,
        f.ANONYMOUS,
        True,
        ("no such host", "nosuchhost.example does not resolve"),
        ("getent hosts nosuchhost.example", "HTTPS_PROXY"),
    ),
    Row("timeout", f.scenario_timeout, f.ANONYMOUS, True, ("timed out",), ("proxy",)),
    Row(
        "credentials-rejected",
        f.scenario_credentials_rejected,
        f.ALICE,
        False,
        ("401", "'alice'", "incorrect username or password"),
        ("docker login", "docker logout"),
    ),
    Row(
        "pull-quota-exhausted",
        f.scenario_rate_limited,
        f.ANONYMOUS,
        False,
        ("429", "ratelimit-remaining: 0;w=21600", "retry-after: 3600"),
        ("w=seconds", "--creds USER:PASS"),
    ),
    Row(
        "basic-auth-no-credentials",
        f.scenario_basic_no_credentials,
        f.ANONYMOUS,
        True,
        (
            "Basic challenge",
            "no basic auth credentials",
            "Error: image bmerry/abacuscm:latest not found",
            "404",
        ),
        ("--creds USER:PASS", "docker login registry:5000", "MANIFEST_UNKNOWN"),
    ),
    Row(
        "unauthorized-hidden-by-v1",
        f.scenario_hub_anonymous_missing,
        f.ANONYMOUS,
        True,
        (
            "401",
            "insufficient_scope",
            "requested access to the resource is denied",
            "Error: image library/thisimagedoesntexist:latest not found",
            "fall back",
        ),
        ("`docker login`", "a 401 again means this account has no pull access", "library/"),
    ),
    Row(
        "unauthorized-anonymous",
        f.scenario_hub_anonymous_no_fallback,
        f.ANONYMOUS,
        False,
        ("401", "anonymous", "unauthorized: authentication required"),
        ("--creds USER:PASS",),
    ),
    Row(
        "no-pull-access",
        f.scenario_hub_logged_in_no_access,
        f.ALICE,
        True,
        ("'alice'", "insufficient_scope", "no pull access", "Error: image alice/secret:latest not found"),
        ("pull (read) access", "alice/secret:latest"),
    ),
    Row(
        "denied",
        f.scenario_denied,
        f.ALICE,
        False,
        ("403", "ecr:BatchGetImage"),
        ("pull permission",),
    ),
    Row(
        "only-on-v1",
        f.scenario_only_on_v1,
        f.ANONYMOUS,
        True,
        ("legacy V1", "StatusCode: 404"),
        ("V2 registry",),
    ),
    Row(
        "only-on-v1",
        f.scenario_only_on_v1_behind_401,
        f.ANONYMOUS,
        True,
        ("legacy V1", "401", "requested access to the resource is denied"),
        ("V2 registry",),
    ),
    Row(
        "oci-not-accepted",
        f.scenario_oci_not_accepted,
        f.ANONYMOUS,
        True,
        (
            "OCI manifest found",
            "MANIFEST_UNKNOWN",
            "Error: image team/app:1.0 not found",
            "content-negotiation",
        ),
        ("--format v2s2",),
    ),
    Row(
        "not-a-registry",
        f.scenario_not_a_registry,
        f.ANONYMOUS,
        True,
        ("404", "Docker-Distribution-Api-Version", "www.example.com"),
        ("curl -si https://www.example.com/v2/",),
    ),
    Row(
        "tag-missing",
        f.scenario_tag_missing,
        f.ANONYMOUS,
        True,
        ("MANIFEST_UNKNOWN", "busybox:x", "Error: image busybox:x not found", "V1 answered 404"),
        ("skopeo list-tags docker://registry:5000/busybox",),
    ),
    Row(
        "repository-missing",
        f.scenario_repository_missing,
        f.ALICE,
        True,
        ("NAME_UNKNOWN", "team/nothere"),
        ("repository name",),
    ),
    Row(
        "no-matching-platform",
        f.scenario_no_platform,
        f.ANONYMOUS,
        False,
        ("s390x", "platform"),
        ("--platform",),
    ),
    Row(
        "integrity-error",
        f.scenario_integrity,
        f.ANONYMOUS,
        False,
        ("Digest did not match", "config"),
        ("registry operator",),
    ),
    Row(
        "server-error", f.scenario_server_error, f.ANONYMOUS, False, ("503", "manifest"), ("Run again later",)
    ),
    Row(
        "unexplained",
        f.scenario_unexplained,
        f.ANONYMOUS,
        False,
        ("protocol_error", "unexpected end of JSON"),
        ("--save",),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.rule_id}-{r.scenario.__name__}" for r in ROWS])
def test_rule_row(row: Row) -> None:
    diagnosis = diagnose(row.scenario(), row.auth)
    assert diagnosis.id == row.rule_id
    assert diagnosis.differ is row.differ
    for text in row.explanation_mentions:
        assert text in diagnosis.explanation, f"{text!r} not in {diagnosis.explanation!r}"
    steps = " ".join(diagnosis.next_steps)
    for text in row.steps_mention:
        assert text in steps, f"{text!r} not in {steps!r}"
    assert diagnosis.next_steps, "every diagnosis says what to do next"
    assert diagnosis.title


def test_rule_ids_are_unique_and_kebab_case() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert rule_id == rule_id.lower() and " " not in rule_id and "_" not in rule_id


def test_every_rule_is_reachable_and_tested() -> None:
    # A rule is tested by a row here or by a lab scenario (tests/test_catalogue.py runs each).
    from diagnose.lab.scenarios import SCENARIOS

    assert {row.rule_id for row in ROWS} | {s.rule for s in SCENARIOS} == {rule.id for rule in RULES}


def test_last_rule_is_a_catch_all() -> None:
    facts = facts_from(f.scenario_unexplained(), f.ANONYMOUS)
    assert RULES[-1].applies(facts)
    assert select_rule(facts) is RULES[-1]


def _facts(pulls: tuple[PullResult, ...], auth: AuthInfo = f.ANONYMOUS) -> Facts:
    return facts_from(pulls, auth)


def test_facts_of_the_hub_anonymous_case() -> None:
    facts = _facts(f.scenario_hub_anonymous_missing())
    assert facts.host == "registry-1.docker.io"
    assert facts.repository == "library/thisimagedoesntexist" and facts.ref == "latest"
    assert facts.v2_outcome is Outcome.UNAUTHORIZED and facts.v2_status == 401
    assert facts.fb_outcome is Outcome.NOT_FOUND and facts.fb_protocol is Protocol.V1
    assert facts.fell_back and facts.no_v1_api
    assert facts.challenge_error == "insufficient_scope"
    assert facts.challenge_schemes == ("bearer",)
    assert facts.version_header
    assert facts.token_actions == () and facts.token_grants_pull is False
    assert facts.ping_status == 401
    assert facts.login_command == "docker login"
    assert facts.differ


def test_facts_of_the_basic_case() -> None:
    facts = _facts(f.scenario_basic_no_credentials())
    assert facts.basic_only
    assert facts.client_side_refusal == "no basic auth credentials"
    assert facts.v1_statuses == (404, 404)
    assert facts.login_command == "docker login registry:5000"


def test_no_v1_api_ignores_v1_requests_that_got_no_answer() -> None:
    facts = _facts(f.scenario_plain_http())
    assert facts.v1_statuses == (None, 404)
    assert facts.no_v1_api
    assert facts.plain_http
    facts = _facts(f.scenario_only_on_v1_behind_401())
    assert not facts.no_v1_api


def test_multi_line_client_output_is_quoted_by_its_last_line() -> None:
    diagnosis = diagnose(f.scenario_plain_http(), f.ANONYMOUS)
    assert "“Error: image library/busybox:x not found”" in diagnosis.explanation
    assert "Pulling repository" not in diagnosis.explanation


def test_token_access_comes_from_the_typed_grant_never_from_notes() -> None:
    assert _facts(f.scenario_both_ok()).token_actions == ("pull",)
    v2, fb = f.scenario_hub_anonymous_missing()
    reworded = tuple(replace(p, notes=("token access: pull", "granted: repository:x:pull")) for p in (v2, fb))
    assert _facts(reworded) == _facts((v2, fb))
    assert _facts(f.scenario_tag_missing()).token_actions is None  # no token was asked for


def test_challenge_error_read_from_header_when_the_puller_did_not_set_it() -> None:
    v2, fb = f.scenario_hub_anonymous_missing()
    assert v2.error is not None
    v2 = replace(v2, error=replace(v2.error, challenge_error=None))
    assert _facts((v2, fb)).challenge_error == "insufficient_scope"


def test_rate_limit_without_headers_says_so() -> None:
    pulls = f.scenario_rate_limited(headers=[f.VERSION])
    diagnosis = diagnose(pulls, f.ANONYMOUS)
    assert diagnosis.id == "rate-limited"
    assert any("without Retry-After" in k for k in diagnosis.known)


def test_single_pull_is_diagnosed_without_crash() -> None:
    v2, _ = f.scenario_tag_missing()
    diagnosis = diagnose((v2,), f.ANONYMOUS)
    assert diagnosis.id == "tag-missing"
    assert diagnosis.differ is False


def test_unknowable_of_the_anonymous_401_says_existence_is_hidden() -> None:
    diagnosis = diagnose(f.scenario_hub_anonymous_missing(), f.ANONYMOUS)
    assert any("does not tell whether the repository exists" in u for u in diagnosis.unknowable)
