"""Pulls through a real forward proxy on 127.0.0.1, the way Go clients pick one.

The registry is named ``registry.test``: only the proxy can resolve it, so a pull that
succeeds proves the requests went through the proxy; the lab's token server stays on
127.0.0.1, which Go never proxies, and must be reached directly.
"""

from __future__ import annotations

import json

import pytest

from diagnose.lab import Lab
from diagnose.model import FailureKind, Outcome, PullResult, Strategy
from diagnose.proxy import proxy_environment
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pull
from diagnose.transport import TransportOptions
from tests.helpers_proxy import forward_proxy

HOSTS = {"registry.test": "127.0.0.1"}


def pull_via(lab: Lab, proxy_url: str, path: str, *, scheme_var: str = "HTTP_PROXY") -> PullResult:
    port = lab.registry_host.rsplit(":", 1)[1]
    ref = parse_reference(f"registry.test:{port}/{path}")
    env = proxy_environment({scheme_var: proxy_url, "HTTPS_PROXY": proxy_url})
    return run_pull(
        ref,
        Strategy.V2_ONLY,
        PullOptions(tls_verify=False),
        TransportOptions(timeout=5, proxy_env=env),
    )


def test_pull_goes_through_the_proxy_and_records_it(lab: Lab) -> None:
    with forward_proxy(HOSTS) as proxy:
        result = pull_via(lab, proxy.url, "library/busybox:1.36")
    assert result.outcome is Outcome.OK, result.message
    registry = [e for e in result.exchanges if "registry.test" in e.request.url]
    token = [e for e in result.exchanges if "/token" in e.request.url]
    assert registry and all(e.proxy == proxy.url for e in registry)
    # The token realm is on 127.0.0.1: never proxied, as in Go.
    assert token and all(e.proxy is None for e in token)
    assert any("registry.test" in line for line in proxy.seen)
    assert not any("/token" in line for line in proxy.seen)


def test_without_the_proxy_the_name_does_not_resolve(lab: Lab) -> None:
    port = lab.registry_host.rsplit(":", 1)[1]
    result = run_pull(
        parse_reference(f"registry.test:{port}/library/busybox:1.36"),
        Strategy.V2_ONLY,
        PullOptions(tls_verify=False),
        TransportOptions(timeout=5),
    )
    assert result.outcome is not Outcome.OK
    assert result.exchanges[0].failure is not None
    assert result.exchanges[0].failure.kind is FailureKind.DNS


def test_a_proxy_answering_502_is_recorded_as_the_proxy_answer(lab: Lab) -> None:
    with forward_proxy(HOSTS, mode="502") as proxy:
        result = pull_via(lab, proxy.url, "library/busybox:1.36")
    # skopeo --tls-verify=false tries https first: the proxy refuses the CONNECT tunnel ...
    https, plain = result.exchanges[0], result.exchanges[1]
    assert https.failure is not None and https.failure.kind is FailureKind.PROXY
    assert "502 Bad Gateway" in https.failure.detail
    # ... then plain http, where the proxy's own HTML page is the answer.
    assert plain.request.url.startswith("http://registry.test")
    assert plain.proxy == proxy.url
    assert plain.response is not None and plain.response.status == 502
    assert "Bad Gateway" in plain.response.body
    assert result.outcome is not Outcome.OK


def test_a_tunnel_refused_by_the_proxy_is_a_proxy_failure(lab: Lab) -> None:
    port = lab.registry_host.rsplit(":", 1)[1]
    with forward_proxy(HOSTS, mode="407") as proxy:
        result = run_pull(
            parse_reference(f"registry.test:{port}/library/busybox:1.36"),
            Strategy.V2_ONLY,
            PullOptions(tls_verify=True),  # https first: a CONNECT tunnel
            TransportOptions(timeout=5, proxy_env=proxy_environment({"HTTPS_PROXY": proxy.url})),
        )
    first = result.exchanges[0]
    assert first.request.url.startswith("https://registry.test")
    assert first.failure is not None and first.failure.kind is FailureKind.PROXY, first.failure
    assert "407" in first.failure.detail and proxy.url.split("//")[1] in first.failure.detail
    assert any(line.startswith("CONNECT registry.test:") for line in proxy.seen)


def test_proxy_credentials_never_reach_the_report(lab: Lab) -> None:
    with forward_proxy(HOSTS) as proxy:
        secret_url = proxy.url.replace("http://", "http://corp-user:pr0xy-s3cret-pw@")
        result = pull_via(lab, secret_url, "library/busybox:1.36")
    assert result.outcome is Outcome.OK, result.message
    recorded = [e.proxy for e in result.exchanges if e.proxy]
    assert recorded and all("pr0xy-s3cret-pw" not in p for p in recorded)


def test_skopeo_words_a_refused_tunnel_like_go(lab: Lab) -> None:
    port = lab.registry_host.rsplit(":", 1)[1]
    with forward_proxy(HOSTS, mode="407") as proxy:
        result = run_pull(
            parse_reference(f"registry.test:{port}/library/busybox:1.36"),
            Strategy.V2_ONLY,
            PullOptions(tls_verify=True),
            TransportOptions(timeout=5, proxy_env=proxy_environment({"HTTPS_PROXY": proxy.url})),
        )
    assert result.outcome is Outcome.CONNECTION_ERROR
    # net/http transport.go: a non-200 CONNECT fails with the status text alone.
    assert result.message.endswith(f'Get "https://registry.test:{port}/v2/": Proxy Authentication Required')


def test_the_diagnosis_names_the_proxy_that_refused(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from diagnose.cli import main

    port = lab.registry_host.rsplit(":", 1)[1]
    with forward_proxy(HOSTS, mode="407") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with pytest.raises(SystemExit) as exited:
            main(["compare", f"registry.test:{port}/library/busybox:1.36", "--json", "--timeout", "5"])
    report = json.loads(capsys.readouterr().out)
    assert exited.value.code == 1
    diagnosis = report["diagnosis"]
    assert diagnosis["id"] == "proxy-refused", diagnosis
    assert "407 Proxy Authentication Required" in diagnosis["explanation"]
    assert proxy.url in diagnosis["explanation"]
    assert any(e["proxy"] == proxy.url for e in report["exchanges"])
    steps = " ".join(diagnosis["next_steps"])
    assert f"@{proxy.url.split('//')[1]}" in steps  # the user's own proxy, not a made-up host


def test_a_proxy_error_page_is_diagnosed_as_the_proxy(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from diagnose.cli import main

    port = lab.registry_host.rsplit(":", 1)[1]
    with forward_proxy(HOSTS, mode="502") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(SystemExit):
            main(["compare", f"registry.test:{port}/library/busybox:1.36", "--json", "--no-tls-verify"])
    diagnosis = json.loads(capsys.readouterr().out)["diagnosis"]
    # https first: the CONNECT is refused (502); then http, where the proxy's HTML page answers.
    assert diagnosis["id"] in ("proxy-refused", "proxy-in-the-way"), diagnosis
    assert proxy.url in diagnosis["explanation"]
