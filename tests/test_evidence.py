"""Evidence as data: what the real pullers record against the lab is typed, and survives the report.

Step kinds come from the puller that sent the request (never from its label), a token's decoded
claims are kept beside the recorded body (never inside it), every token request is listed on its
pull with the scope asked and the access granted, and the rules read none of the notes.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from diagnose.facts import facts_from
from diagnose.lab import LAB_USERS, Lab
from diagnose.model import (
    AuthInfo,
    AuthMode,
    PullResult,
    StepKind,
    Strategy,
    TokenAccess,
    step_kind_of_label,
)
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.render.json_report import render_json, report_from_dict, report_to_dict
from diagnose.run import PULLERS, build_report, replay_report, run_pull, run_pulls
from diagnose.transport import TransportOptions
from diagnose.urls import split_url

ALICE = ("alice", LAB_USERS["alice"])
ANONYMOUS = AuthInfo(AuthMode.ANONYMOUS, "none")
AS_ALICE = AuthInfo(AuthMode.CREDENTIALS, "--creds", "alice")


def _pulls(lab: Lab, path: str, creds: tuple[str, str] | None = None) -> tuple[PullResult, ...]:
    options = PullOptions(credentials=creds, tls_verify=False)
    return run_pulls(parse_reference(f"{lab.registry_host}/{path}"), options, TransportOptions(timeout=5))


def _kind_of_path(method: str, path: str) -> set[StepKind]:
    """The kinds a request to ``path`` may have: an independent reading of the URL."""
    if path.rstrip("/") == "/v2":
        return {StepKind.PING}
    if path.startswith("/token") or "/token" in path:
        return {StepKind.TOKEN}
    if "/manifests/" in path:
        return {StepKind.MANIFEST}
    if "/blobs/" in path:
        return {StepKind.CONFIG, StepKind.LAYER}
    if path == "/v1/_ping":
        return {StepKind.V1_PING}
    if path.startswith("/v1/repositories/") and path.endswith("/images"):
        return {StepKind.V1_IMAGES}
    if "/tags" in path:
        return {StepKind.V1_TAGS}
    if path.endswith("/ancestry"):
        return {StepKind.V1_ANCESTRY}
    if path.endswith("/json"):
        return {StepKind.V1_IMAGE_JSON}
    if path.endswith("/layer"):
        return {StepKind.V1_LAYER}
    return set()


@pytest.mark.parametrize("strategy", list(PULLERS), ids=str)
@pytest.mark.parametrize(
    ("fixture", "path", "creds"),
    [
        ("lab", "library/thisimagedoesntexist", None),
        ("lab", "alice/private-app", ALICE),
        ("lab_v1", "library/oldtimer", None),
        ("lab_basic", "library/busybox", None),
        ("lab", "library/busybox:nope", None),
    ],
)
def test_every_puller_says_what_each_request_is_for(
    request: pytest.FixtureRequest,
    strategy: Strategy,
    fixture: str,
    path: str,
    creds: tuple[str, str] | None,
) -> None:
    """Every strategy in run.PULLERS (new ones included) types every exchange it records."""
    lab: Lab = request.getfixturevalue(fixture)
    ref = parse_reference(f"{lab.registry_host}/{path}")
    result = run_pull(
        ref, strategy, PullOptions(credentials=creds, tls_verify=False), TransportOptions(timeout=5)
    )
    assert result.exchanges
    for exchange in result.exchanges:
        assert exchange.kind is not StepKind.OTHER, exchange.step
        path_part = split_url(exchange.request.url).path
        assert exchange.kind in _kind_of_path(exchange.request.method, path_part), (exchange.step, path_part)


def test_token_claims_are_kept_beside_the_body_never_inside(lab: Lab) -> None:
    for pull in _pulls(lab, "alice/private-app", ALICE):
        tokens = [e for e in pull.exchanges if e.kind is StepKind.TOKEN]
        assert tokens, pull.strategy
        for exchange in tokens:
            assert exchange.response is not None
            body = json.loads(exchange.response.body)
            assert body["token"] == "<redacted>"
            assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
            claims = exchange.token_claims
            assert claims is not None and claims.sub == "alice" and claims.iss == "diagnose-lab-token-server"
            assert claims.access == (TokenAccess("repository", "alice/private-app", ("pull",)),)
        (grant,) = pull.tokens
        assert grant.scope == "repository:alice/private-app:pull"
        assert grant.issued and grant.subject == "alice"
        assert grant.actions_on("alice/private-app") == ("pull",)
        assert grant.exchange_id == tokens[0].id


def test_an_anonymous_token_for_a_missing_repository_grants_nothing(lab: Lab) -> None:
    v2, docker = _pulls(lab, "library/thisimagedoesntexist")
    for pull in (v2, docker):
        (grant,) = pull.tokens
        assert grant.issued and grant.subject == ""
        assert grant.actions_on("library/thisimagedoesntexist") == ()
    facts = facts_from((v2, docker), ANONYMOUS)
    assert facts.token_actions == () and facts.token_grants_pull is False
    assert facts.token_issued and facts.token_subject == ""


def test_rules_never_read_notes(lab: Lab) -> None:
    """Rewording (or dropping) every note of real pulls changes no fact and no diagnosis."""
    for path, creds, auth in (
        ("library/thisimagedoesntexist", None, ANONYMOUS),
        ("alice/private-app", ALICE, AS_ALICE),
        ("library/busybox:nope", None, ANONYMOUS),
    ):
        pulls = _pulls(lab, path, creds)
        reworded = tuple(
            dataclasses.replace(p, notes=("token access: pull", "granted: repository:x:*")) for p in pulls
        )
        silent = tuple(dataclasses.replace(p, notes=()) for p in pulls)
        assert facts_from(reworded, auth) == facts_from(pulls, auth) == facts_from(silent, auth)


def test_typed_evidence_survives_the_json_report_and_replay(lab: Lab) -> None:
    pulls = _pulls(lab, "alice/private-app", ALICE)
    ref = parse_reference(f"{lab.registry_host}/alice/private-app")
    report = build_report(ref, pulls, AS_ALICE, (("tls_verify", "false"),))
    data = json.loads(render_json(report))
    token_exchanges = [e for e in data["exchanges"] if e["kind"] == "token"]
    assert token_exchanges and all(e["token_claims"]["sub"] == "alice" for e in token_exchanges)
    assert data["pulls"][0]["tokens"][0]["scope"] == "repository:alice/private-app:pull"
    assert data["pulls"][0]["tool_error"] is None
    loaded = report_from_dict(data)
    assert loaded == report
    # Replay serves the recorded claims to the pullers: the grants come back the same.
    replayed = replay_report(loaded)
    for before, after in zip(report.pulls, replayed.pulls, strict=True):
        assert [(t.scope, t.issued, t.access, t.subject) for t in after.tokens] == [
            (t.scope, t.issued, t.access, t.subject) for t in before.tokens
        ]
        assert [e.kind for e in after.exchanges] == [e.kind for e in before.exchanges]


def test_reports_written_before_typed_evidence_still_load(lab: Lab) -> None:
    """Old files: claims inside the token body, no kind, no tokens: read into the typed fields."""
    pulls = _pulls(lab, "library/thisimagedoesntexist")
    ref = parse_reference(f"{lab.registry_host}/library/thisimagedoesntexist")
    report = build_report(ref, pulls, ANONYMOUS)
    data = report_to_dict(report)
    for exchange in data["exchanges"]:
        claims = exchange.pop("token_claims")
        exchange.pop("kind")
        if claims is not None:
            body = json.loads(exchange["response"]["body"])
            body["diagnose_token_claims"] = {k: v for k, v in claims.items() if v is not None}
            exchange["response"]["body"] = json.dumps(body)
    for pull in data["pulls"]:
        pull.pop("tokens")
        pull.pop("tool_error")
        pull["error"].pop("kind")
    old = report_from_dict(data)
    assert [e.kind for e in old.exchanges] == [e.kind for e in report.exchanges]
    assert [e.token_claims for e in old.exchanges] == [e.token_claims for e in report.exchanges]
    assert [[(t.scope, t.issued, t.access) for t in p.tokens] for p in old.pulls] == [
        [(t.scope, t.issued, t.access) for t in p.tokens] for p in report.pulls
    ]
    assert facts_from(old.pulls, ANONYMOUS).token_actions == ()


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("ping", StepKind.PING),
        ("token", StepKind.TOKEN),
        ("platform manifest", StepKind.MANIFEST),
        ("layer 2/3", StepKind.LAYER),
        ("layer 1/1 (GET for the error body)", StepKind.LAYER),
        ("v1 images", StepKind.V1_IMAGES),
        ("v1 tag", StepKind.V1_TAGS),
        ("v1 json", StepKind.V1_IMAGE_JSON),
        ("something new", StepKind.OTHER),
    ],
)
def test_labels_of_old_reports_map_to_kinds(label: str, kind: StepKind) -> None:
    assert step_kind_of_label(label) is kind
