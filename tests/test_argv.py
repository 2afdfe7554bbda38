"""skopeo's boolean flag spellings (``--tls-verify=false``) are accepted as typed."""

from __future__ import annotations

import json

import pytest

from diagnose.argv import BadFlagValue, normalise


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["compare", "x", "--tls-verify=false"], ["compare", "x", "--no-tls-verify"]),
        (["compare", "x", "--tls-verify=False"], ["compare", "x", "--no-tls-verify"]),
        (["compare", "x", "--tls-verify=0"], ["compare", "x", "--no-tls-verify"]),
        (["compare", "x", "--tls-verify=true"], ["compare", "x", "--tls-verify"]),
        (["compare", "x", "--tls-verify=1"], ["compare", "x", "--tls-verify"]),
        (["compare", "x", "--tls-verify"], ["compare", "x", "--tls-verify"]),
        (["compare", "x", "--no-tls-verify"], ["compare", "x", "--no-tls-verify"]),
        (["compare", "--", "--tls-verify=false"], ["compare", "--", "--tls-verify=false"]),
    ],
)
def test_go_style_boolean_flags_become_typer_flags(given: list[str], expected: list[str]) -> None:
    assert normalise(given) == expected


def test_a_value_go_would_refuse_is_an_error() -> None:
    with pytest.raises(BadFlagValue, match='invalid boolean value "nope" for --tls-verify'):
        normalise(["compare", "x", "--tls-verify=nope"])


def test_the_cli_accepts_skopeo_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    from diagnose.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["compare", "127.0.0.1:1/library/x", "--tls-verify=false", "--json", "--timeout", "2"])
    assert exited.value.code == 1  # refused port: a diagnosis, not a usage error
    assert json.loads(capsys.readouterr().out)["settings"]["tls_verify"] is False


def test_the_cli_refuses_a_bad_value_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from diagnose.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["compare", "127.0.0.1:1/library/x", "--tls-verify=maybe"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--tls-verify" in err
