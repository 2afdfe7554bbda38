"""The catalogue of situations: every lab scenario, compared for real, reaches its rule.

One parametrised test per scenario runs ``compare`` against the lab serving that scenario (real
HTTP on 127.0.0.1), checks the rule id, that no placeholder reaches the next steps, and that
every client's predicted message (all 13 models: the pulls ``compare`` does not run by default
are run too) is recognised by ``explain`` with that client's id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from diagnose.cli import main
from diagnose.clients.catalogue import predict_all
from diagnose.demo import UnknownScenario, run_scenario, select
from diagnose.explain import CLIENT_IDS, explain
from diagnose.http import TransportOptions
from diagnose.lab import LAB_USERS, Lab, LabConfig, start_lab
from diagnose.lab.scenarios import BY_NAME, SCENARIOS, LabScenario
from diagnose.model import ClientPrediction, Report, Strategy
from diagnose.pullers.options import PullOptions
from diagnose.rules import RULES
from diagnose.run import run_pulls
from diagnose.vendors import VENDORS, Situation, advice, detect

PLACEHOLDERS = re.compile(r"\b(?:IMAGE|HOST|SRC|DST|REPO)\b")


@pytest.fixture(scope="module")
def labs() -> Iterator[dict[LabConfig, Lab]]:
    started: dict[LabConfig, Lab] = {}
    yield started
    for lab in started.values():
        lab.stop()


def _lab(labs: dict[LabConfig, Lab], scenario: LabScenario) -> Lab:
    config = scenario.config()
    if config not in labs:
        labs[config] = start_lab(config)
    return labs[config]


def _other_predictions(report: Report, scenario: LabScenario) -> tuple[ClientPrediction, ...]:
    """The clients whose pulls ``compare`` does not run by default (docker >= 17, containerd,
    kubelet): run those pulls too and predict from them."""
    extra = tuple(s for s in Strategy if s not in {p.strategy for p in report.pulls})
    options = PullOptions(credentials=scenario.credentials(LAB_USERS), tls_verify=scenario.tls_verify)
    pulls = run_pulls(report.reference, options, TransportOptions(timeout=30.0), strategies=extra)
    return predict_all(pulls, report.reference) if pulls else ()


def _strict_message(report: Report) -> str:
    return next(p.message for p in report.pulls if p.strategy.value == "v2-only")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_reaches_its_rule(labs: dict[LabConfig, Lab], scenario: LabScenario) -> None:
    report = run_scenario(scenario, _lab(labs, scenario), timeout=30.0)
    diagnosis = report.diagnosis
    assert diagnosis.id == scenario.rule, (diagnosis.id, diagnosis.explanation)
    assert diagnosis.next_steps
    for step in diagnosis.next_steps:
        assert not PLACEHOLDERS.search(step), step
    predictions = (*report.clients, *_other_predictions(report, scenario))
    assert {p.client for p in predictions} == set(CLIENT_IDS)
    for prediction in predictions:
        if not prediction.message:
            continue
        if prediction.client == "crane" and prediction.message == f"Error: {_strict_message(report)}":
            continue  # the crane model borrows the strict pull's words where it does not model the case
        found = explain(prediction.message)
        assert prediction.client in [m.client for m in found.matches], (prediction.client, prediction.message)


def test_the_catalogue_has_at_least_32_situations_each_with_a_rule() -> None:
    assert len(SCENARIOS) >= 32
    assert len(BY_NAME) == len(SCENARIOS)
    rule_ids = {rule.id for rule in RULES}
    for scenario in SCENARIOS:
        assert scenario.rule in rule_ids, scenario.name
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", scenario.name)
        assert "\n" not in scenario.summary
    # 28 distinct rules; the rest (TLS, timeout, …) have rule-table rows (tests/test_rules.py)
    assert len({s.rule for s in SCENARIOS}) >= 28


def test_select_keeps_the_order_and_refuses_unknown_names() -> None:
    assert [s.name for s in select(["dns-failure", "denied"])] == ["dns-failure", "denied"]
    assert select() == SCENARIOS
    with pytest.raises(UnknownScenario, match="no-such-scenario"):
        select(["no-such-scenario"])


def test_demo_list_prints_one_line_per_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--list"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(SCENARIOS)
    for line, scenario in zip(lines, SCENARIOS, strict=True):
        assert line.startswith(scenario.name + " ") and f"[{scenario.rule}]" in line


def test_demo_runs_the_named_scenarios_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--json", "token-expired", "windows-only"])
    assert exited.value.code == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["diagnosis"]["id"] for r in reports] == ["token-rejected", "windows-only-image"]


@pytest.mark.parametrize("args", [["demo", "nope"], ["lab", "--scenario", "nope", "--port", "0"]])
def test_unknown_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert "demo --list" in capsys.readouterr().err


def test_lab_banner_for_a_scenario_names_the_command() -> None:
    from rich.console import Console

    from diagnose.lab.banner import render_scenario

    scenario = BY_NAME["push-only-token"]
    with start_lab(scenario.config()) as lab:
        console = Console(record=True, width=200)
        render_scenario(lab, scenario, console)
    text = console.export_text()
    assert f"diagnose compare {lab.registry_host}/bob/uploads --no-tls-verify --creds bob:" in text
    assert "token-without-pull" in text


# ---- vendors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "texts", "vendor"),
    [
        ("registry-1.docker.io", (), "docker-hub"),
        ("123456789012.dkr.ecr.us-east-2.amazonaws.com", (), "ecr"),
        ("public.ecr.aws", (), "ecr"),
        ("europe-west1-docker.pkg.dev", (), "artifact-registry"),
        ("eu.gcr.io", (), "gcr"),
        ("myreg.azurecr.io", (), "acr"),
        ("ghcr.io", (), "ghcr"),
        ("quay.io", (), "quay"),
        ("registry.gitlab.com", (), "gitlab"),
        ("acme.jfrog.io", (), "artifactory"),
        (
            "harbor.corp.example",
            ('Bearer realm="https://harbor.corp.example/service/token",service="harbor-registry"',),
            "harbor",
        ),
        ("nexus.corp.example:8082", ("Server: Nexus/3.61.0-02 (OSS)",), "nexus"),
        ("art.corp.example", ("X-JFrog-Version: Artifactory/7.12.8",), "artifactory"),
        (
            "gitlab.corp.example:5050",
            ('Bearer realm="https://gitlab.corp.example/jwt/auth",service="container_registry"',),
            "gitlab",
        ),
        ("registry.corp.example", ("Content-Type: application/json",), None),
    ],
)
def test_vendor_detection(host: str, texts: tuple[str, ...], vendor: str | None) -> None:
    found = detect(host, texts)
    assert (found.id if found else None) == vendor


def test_vendor_advice_is_concrete_for_every_vendor_and_situation() -> None:
    hosts = {"ecr": "123456789012.dkr.ecr.us-east-2.amazonaws.com", "acr": "myreg.azurecr.io"}
    for vendor in VENDORS:
        for situation in Situation:
            for step in advice(vendor, situation, hosts.get(vendor.id, "registry.example")):
                assert not PLACEHOLDERS.search(step), (vendor.id, situation, step)
    ecr = " ".join(advice(VENDORS[1], Situation.TOKEN_EXPIRED, hosts["ecr"]))
    assert "aws ecr get-login-password --region us-east-2" in ecr and "12 hours" in ecr
    ar = " ".join(advice(VENDORS[2], Situation.PERMISSION, "europe-west1-docker.pkg.dev"))
    assert "artifactregistry.repositories.downloadArtifacts" in ar
    assert "read:packages" in " ".join(advice(VENDORS[5], Situation.LOGIN, "ghcr.io"))
    assert "read_registry" in " ".join(advice(VENDORS[7], Situation.LOGIN, "registry.gitlab.com"))
    assert "az acr login --name myreg" in " ".join(advice(VENDORS[4], Situation.LOGIN, hosts["acr"]))


# ---- vendor steps reach the diagnosis ----------------------------------------------------------


def test_diagnosis_adds_the_vendors_steps() -> None:
    from diagnose.rules import diagnose
    from tests import factories as f

    ecr = diagnose(f.scenario_denied(host="123456789012.dkr.ecr.eu-central-1.amazonaws.com"), f.ALICE)
    assert ecr.id == "denied"
    steps = " ".join(ecr.next_steps)
    assert "ecr:BatchGetImage" in steps
    hub = diagnose(f.scenario_hub_anonymous_missing(), f.ANONYMOUS)
    assert any("personal access token" in step for step in hub.next_steps)
    # the answer's text names ECR's permission even when the host does not look like ECR
    assert "ecr:GetDownloadUrlForLayer" in " ".join(
        diagnose(f.scenario_denied(host="r.corp.example"), f.ALICE).next_steps
    )
    plain = diagnose(f.scenario_tag_missing(host="registry.corp.example"), f.ANONYMOUS)
    assert plain.id == "tag-missing"
    assert not any("hub.docker.com" in step or "ECR" in step for step in plain.next_steps)
