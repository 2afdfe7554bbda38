"""Property tests for every parser that reads what a server or a file sends.

Each parser is fed arbitrary input and may only return its documented value or raise its
documented error; where a round trip exists (a reference, a challenge, an error body, a JWT,
an auth file) it must hold. The ``diagnose-ci`` profile is fixed and derandomised, so CI runs
the same examples every time; ``HYPOTHESIS_PROFILE=diagnose-deep`` explores more.
"""

from __future__ import annotations

import base64
import json
import os
import string
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from diagnose.challenge import Challenge, parse_challenges
from diagnose.credentials.resolve import AuthFileError, find_cimage
from diagnose.errors_body import BodyKind, ErrorBody, parse_error_body
from diagnose.model import ImageReference
from diagnose.redact import MIN_SECRET_LENGTH, REDACTED, REDACTED_JWT, scrub_text
from diagnose.reference import InvalidReference, parse_reference
from diagnose.tokens import decode_claims, token_access, token_from_answer

settings.register_profile(
    "diagnose-ci",
    derandomize=True,
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("diagnose-deep", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "diagnose-ci"))

# Anything a server or a user could send: control characters, surrogates excluded (not text).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
wire_text = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x2FF, exclude_categories=("Cs",)), max_size=300
)

# --------------------------------------------------------------------------- references

_lower_alnum = string.ascii_lowercase + string.digits
component = st.from_regex(r"[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}", fullmatch=True)
tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
domain = st.one_of(
    st.just("docker.io"),
    st.from_regex(r"[a-z][a-z0-9]{0,8}\.(?:com|io|example)(?::[1-9][0-9]{2,4})?", fullmatch=True),
    st.from_regex(r"localhost(?::[1-9][0-9]{2,4})?", fullmatch=True),
    st.from_regex(r"127\.0\.0\.[1-9](?::[1-9][0-9]{2,4})?", fullmatch=True),
)
digest = st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex())


@st.composite
def references(draw: st.DrawFn) -> str:
    parts = draw(st.lists(component, min_size=1, max_size=3))
    text = draw(domain) + "/" + "/".join(parts)
    if draw(st.booleans()):
        text += ":" + draw(tag)
    if draw(st.booleans()):
        text += "@" + draw(digest)
    return text


@given(any_text)
def test_reference_parser_returns_a_reference_or_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        assert str(exc)  # the one line the CLI prints
        return
    assert isinstance(ref, ImageReference)
    assert ref.path and ref.domain


@given(references())
def test_reference_canonical_form_round_trips(text: str) -> None:
    ref = parse_reference(text)
    again = parse_reference(ref.canonical)
    assert (again.domain, again.path, again.tag, again.digest) == (ref.domain, ref.path, ref.tag, ref.digest)
    first = ref.path.split("/", 1)[0]
    if ref.domain != "docker.io" or not ("." in first or ":" in first or first == "localhost"):
        # docker's own ambiguity: the familiar form of docker.io/0.0/x is "0.0/x", a registry.
        assert parse_reference(ref.familiar).canonical == ref.canonical


# --------------------------------------------------------------------------- WWW-Authenticate


@given(st.lists(wire_text, max_size=4))
def test_challenge_parser_never_raises(values: list[str]) -> None:
    challenges = parse_challenges(values)
    assert all(isinstance(c, Challenge) and c.scheme == c.scheme.lower() for c in challenges)


param_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
param_name = st.sampled_from(["realm", "service", "scope", "error", "error_description"])


@given(st.sampled_from(["Bearer", "bearer", "Basic"]), st.dictionaries(param_name, param_value, max_size=5))
def test_challenge_quoted_params_round_trip(scheme: str, params: dict[str, str]) -> None:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    header = scheme + " " + ",".join(f"{k}={quoted(v)}" for k, v in params.items())
    (challenge,) = parse_challenges([header])
    assert challenge.scheme == scheme.lower()
    assert dict(challenge.params) == params


# --------------------------------------------------------------------------- error bodies


@given(st.binary(max_size=400))
def test_error_body_parser_never_raises_on_bytes(body: bytes) -> None:
    parsed = parse_error_body(body)
    assert isinstance(parsed, ErrorBody) and isinstance(parsed.kind, BodyKind)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_error_body_parser_never_raises_on_json(value: object) -> None:
    parsed = parse_error_body(json.dumps(value).encode())
    assert isinstance(parsed.kind, BodyKind)


code = st.from_regex(r"[A-Z][A-Z_]{0,20}", fullmatch=True)


@given(st.lists(st.tuples(code, st.text(max_size=40)), min_size=1, max_size=4))
def test_error_body_errors_round_trip(entries: list[tuple[str, str]]) -> None:
    body = json.dumps({"errors": [{"code": c, "message": m} for c, m in entries]}).encode()
    parsed = parse_error_body(body)
    assert parsed.kind is BodyKind.ERRORS
    assert [e.message for e in parsed.errors] == [m for _, m in entries]
    assert parsed.raw_codes == tuple(c for c, _ in entries)


# --------------------------------------------------------------------------- token answers and JWTs


@given(st.binary(max_size=300))
def test_token_answer_parser_never_raises(body: bytes) -> None:
    token = token_from_answer(body)
    assert token is None or (isinstance(token, str) and token)


@given(st.text(min_size=1, max_size=60), st.sampled_from(["token", "access_token"]), json_values)
def test_token_answer_round_trips(token: str, key: str, other: object) -> None:
    assert token_from_answer(json.dumps({key: token, "expires_in": other}).encode()) == token


def _b64url(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@given(any_text)
def test_jwt_decoder_never_raises(text: str) -> None:
    claims = decode_claims(text)
    assert claims is None or isinstance(claims, dict)
    assert isinstance(token_access(claims), tuple)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_jwt_claims_round_trip_and_any_access_shape_is_read(claims: dict[str, object]) -> None:
    token = f"{_b64url({'alg': 'ES256', 'typ': 'JWT'})}.{_b64url(claims)}.c2lnbmF0dXJl"
    assert decode_claims(token) == claims
    scopes = token_access(claims)  # an `access` of any type never raises
    assert all(isinstance(scope, str) for scope in scopes)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "type": st.just("repository"),
                "name": component,
                "actions": st.lists(st.sampled_from(["pull", "push"])),
            }
        ),
        max_size=3,
    )
)
def test_token_access_reads_well_formed_records(access: list[dict[str, object]]) -> None:
    scopes = token_access({"access": access})
    assert scopes == tuple(f"repository:{a['name']}:{','.join(a['actions'])}" for a in access)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- auth files


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_auth_file_reader_returns_a_login_or_raises_auth_file_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "auth.json"
    path.write_bytes(content)
    try:
        found = find_cimage("registry.example", "app", {"HOME": str(tmp_path)}, path)
    except AuthFileError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert found.login is None or bool(found.login.origin)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"), min_size=1, max_size=20
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30),
)
def test_auth_file_login_round_trips(tmp_path: Path, user: str, password: str) -> None:
    path = tmp_path / "config.json"
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {"registry.example": {"auth": encoded}}}))
    found = find_cimage("registry.example", "app", {"HOME": str(tmp_path)}, path)
    assert found.login is not None
    assert (found.login.username, found.login.password) == (user, password)


# --------------------------------------------------------------------------- the scrubber


secret_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=max(MIN_SECRET_LENGTH, 8), max_size=40
)


@given(any_text, secret_text, any_text)
def test_scrubber_removes_a_planted_secret_wherever_it_sits(before: str, secret: str, after: str) -> None:
    # A "secret" that is part of the placeholder itself ("<redacte") reappears by construction.
    assume(secret not in REDACTED and secret not in REDACTED_JWT)
    scrubbed = scrub_text(before + secret + after, [secret])
    assert secret not in scrubbed
    assert REDACTED.rstrip(">") in scrubbed
