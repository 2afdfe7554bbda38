"""Table tests for the WWW-Authenticate parser (diagnose.challenge)."""

from __future__ import annotations

import pytest

from diagnose.challenge import Challenge, find_challenge, parse_challenges

HUB_BEARER = (
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
    'scope="repository:library/foo:pull",error="insufficient_scope"'
)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            [HUB_BEARER],
            (
                Challenge(
                    "bearer",
                    (
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                        ("scope", "repository:library/foo:pull"),
                        ("error", "insufficient_scope"),
                    ),
                ),
            ),
            id="docker-hub-insufficient-scope",
        ),
        pytest.param(
            ['Basic realm="x", Bearer realm="y",service="z"'],
            (
                Challenge("basic", (("realm", "x"),)),
                Challenge("bearer", (("realm", "y"), ("service", "z"))),
            ),
            id="two-challenges-one-line",
        ),
        pytest.param(
            ["Negotiate", 'Basic realm="corp"'],
            (Challenge("negotiate"), Challenge("basic", (("realm", "corp"),))),
            id="one-per-line",
        ),
        pytest.param(
            ['BASIC realm="Sonatype Nexus Repository Manager"'],
            (Challenge("basic", (("realm", "Sonatype Nexus Repository Manager"),)),),
            id="nexus-upper-case-scheme",
        ),
        pytest.param(
            ['bearer REALM="r",Scope="repository:a/b:pull,push"'],
            (Challenge("bearer", (("realm", "r"), ("scope", "repository:a/b:pull,push"))),),
            id="comma-in-quoted-scope-and-key-case",
        ),
        pytest.param(
            [r'Basic realm="say \"hi\" \\ there"'],
            (Challenge("basic", (("realm", 'say "hi" \\ there'),)),),
            id="escaped-quotes",
        ),
        pytest.param(
            ["Negotiate YIIabc+/==", "Basic realm=x"],
            (Challenge("negotiate", token68="YIIabc+/=="), Challenge("basic", (("realm", "x"),))),
            id="token68",
        ),
        pytest.param(
            ["Negotiate abc, Basic realm=x"],
            (Challenge("negotiate", token68="abc"), Challenge("basic", (("realm", "x"),))),
            id="token68-then-challenge",
        ),
        pytest.param(
            ['Basic realm="auth required",Token'],
            (Challenge("basic", (("realm", "auth required"),)), Challenge("token")),
            id="v1-hub-spec-basic-and-token",
        ),
        pytest.param(
            ["Bearer realm=/"],
            (Challenge("bearer", (("realm", "/"),)),),
            id="odd-bare-realm",
        ),
        pytest.param(
            ['Bearer realm = "r" , service=s'],
            (Challenge("bearer", (("realm", "r"), ("service", "s"))),),
            id="spaces-around-equals",
        ),
        pytest.param(
            ['Bearer realm="unterminated'],
            (Challenge("bearer", (("realm", "unterminated"),)),),
            id="unterminated-quote",
        ),
        pytest.param(["", "   ", ",,,", '"""=', "=", '="'], (), id="garbage-is-empty"),
        pytest.param(
            ['realm="orphan", Basic realm="b"'],
            (Challenge("basic", (("realm", "b"),)),),
            id="param-before-any-scheme-dropped",
        ),
        pytest.param(["Basic,, ,Bearer"], (Challenge("basic"), Challenge("bearer")), id="bare-schemes"),
    ],
)
def test_parse_challenges(headers: list[str], expected: tuple[Challenge, ...]) -> None:
    assert parse_challenges(headers) == expected


def test_properties_and_param_lookup() -> None:
    (challenge,) = parse_challenges([HUB_BEARER + ',error_description="nope"'])
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scope == "repository:library/foo:pull"
    assert challenge.error == "insufficient_scope"
    assert challenge.error_description == "nope"
    assert challenge.param("SERVICE") == "registry.docker.io"
    assert challenge.param("missing") is None


def test_duplicate_param_first_wins() -> None:
    (challenge,) = parse_challenges(['Bearer realm="a",realm="b"'])
    assert challenge.realm == "a"
    assert challenge.params == (("realm", "a"), ("realm", "b"))


def test_find_challenge_is_case_insensitive_and_first() -> None:
    challenges = parse_challenges(['Basic realm="one"', 'Bearer realm="two"', 'basic realm="three"'])
    found = find_challenge(challenges, "BASIC")
    assert found is not None and found.realm == "one"
    bearer = find_challenge(challenges, "bearer")
    assert bearer is not None and bearer.realm == "two"
    assert find_challenge(challenges, "negotiate") is None
    assert find_challenge((), "basic") is None


@pytest.mark.parametrize(
    "value",
    ["\x00\xff", 'Bearer realm="\\', "Bearer \\", "Bearer ====", "B" * 10000 + ' realm="x"', 'Bearer a="\\'],
)
def test_garbage_never_raises(value: str) -> None:
    result = parse_challenges([value])
    assert isinstance(result, tuple)
