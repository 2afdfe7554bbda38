"""Table tests for the registry error body parser (diagnose.errors_body)."""

from __future__ import annotations

import pytest

from diagnose.errors_body import KNOWN_CODES, BodyKind, ErrorBody, default_message, parse_error_body
from diagnose.model import RegistryError

HUB_401 = (
    b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required",'
    b'"detail":[{"Type":"repository","Class":"","Name":"library/foo","Action":"pull"}]}]}\n'
)


@pytest.mark.parametrize(
    ("body", "kind", "errors"),
    [
        pytest.param(
            HUB_401,
            BodyKind.ERRORS,
            (
                RegistryError(
                    "UNAUTHORIZED",
                    "authentication required",
                    '[{"Type":"repository","Class":"","Name":"library/foo","Action":"pull"}]',
                ),
            ),
            id="hub-401-access-detail",
        ),
        pytest.param(
            b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}',
            BodyKind.ERRORS,
            (RegistryError("MANIFEST_UNKNOWN", "manifest unknown", '{"Tag":"x"}'),),
            id="registry2-manifest-unknown",
        ),
        pytest.param(
            b'{"errors":[{"code":"UNAUTHORIZED",'
            b'"message":"access to the requested resource is not authorized","detail":{}}]}',
            BodyKind.ERRORS,
            (RegistryError("UNAUTHORIZED", "access to the requested resource is not authorized", "{}"),),
            id="quay-detail-empty-object",
        ),
        pytest.param(
            b'{"errors":[{"code":"DENIED","message":"m","detail":null}]}',
            BodyKind.ERRORS,
            (RegistryError("DENIED", "m", None),),
            id="detail-null-is-none",
        ),
        pytest.param(
            b'{"errors":[{"code":"UNKNOWN","message":"m","detail":"unknown tag=x"}]}',
            BodyKind.ERRORS,
            (RegistryError("UNKNOWN", "m", '"unknown tag=x"'),),
            id="detail-string-kept-as-json-text",
        ),
        pytest.param(
            b'{"errors":[{"code":"DENIED","message":"m","detail":5},{"code":"DENIED","detail":true}]}',
            BodyKind.ERRORS,
            (RegistryError("DENIED", "m", "5"), RegistryError("DENIED", "", "true")),
            id="detail-scalars-and-missing-message",
        ),
        pytest.param(
            b'{"errors":[{"code":"TAG_EXPIRED","message":"expired"},'
            b'{"message":"no code"},{"code":"manifest_unknown"}]}',
            BodyKind.ERRORS,
            (
                RegistryError("UNKNOWN", "expired"),
                RegistryError("UNKNOWN", "no code"),
                RegistryError("UNKNOWN", ""),
            ),
            id="unknown-missing-and-miscased-codes",
        ),
        pytest.param(
            b'{"errors":["text", 3, null, {"code":"DENIED"}]}',
            BodyKind.ERRORS,
            (RegistryError("DENIED", ""),),
            id="non-object-entries-skipped",
        ),
        pytest.param(b'{"errors":[]}', BodyKind.ERRORS, (), id="empty-errors-list"),
        pytest.param(
            b'{"Errors":[{"Code":"NAME_UNKNOWN","Message":"repository name not known to registry"}]}',
            BodyKind.ERRORS,
            (RegistryError("NAME_UNKNOWN", "repository name not known to registry"),),
            id="keys-case-insensitive-like-go",
        ),
        pytest.param(b'{"errors":"nope"}', BodyKind.OTHER_JSON, (), id="errors-not-a-list"),
        pytest.param(b"true", BodyKind.OTHER_JSON, (), id="quay-ping-true"),
        pytest.param(b'[{"code":"DENIED"}]', BodyKind.OTHER_JSON, (), id="json-array"),
        pytest.param(b"{}", BodyKind.OTHER_JSON, (), id="empty-object"),
        pytest.param(b'{"details":""}', BodyKind.OTHER_JSON, (), id="empty-details-is-not-legacy"),
        pytest.param(b"", BodyKind.EMPTY, (), id="empty"),
        pytest.param(b" \r\n\t", BodyKind.EMPTY, (), id="whitespace"),
        pytest.param(b"<html><body>502 Bad Gateway</body></html>", BodyKind.NOT_JSON, (), id="html"),
        pytest.param(b"404 page not found\n", BodyKind.NOT_JSON, (), id="plain-text"),
        pytest.param(b'{"errors":[{"code":"DENI', BodyKind.NOT_JSON, (), id="truncated-json"),
        pytest.param(b"NaN", BodyKind.NOT_JSON, (), id="nan-is-not-json"),
        pytest.param(b"\xef\xbb\xbf{}", BodyKind.NOT_JSON, (), id="bom-is-not-json"),
        pytest.param(b"[" * 100000, BodyKind.NOT_JSON, (), id="deep-nesting"),
    ],
)
def test_parse_error_body(body: bytes, kind: BodyKind, errors: tuple[RegistryError, ...]) -> None:
    parsed = parse_error_body(body)
    assert parsed.kind is kind
    assert parsed.errors == errors


def test_legacy_details_wins_over_errors() -> None:
    parsed = parse_error_body(b'{"details":"incorrect username or password","errors":[{"code":"DENIED"}]}')
    assert parsed == ErrorBody(
        kind=BodyKind.LEGACY_DETAILS,
        text='{"details":"incorrect username or password","errors":[{"code":"DENIED"}]}',
        details="incorrect username or password",
    )


def test_v1_error() -> None:
    parsed = parse_error_body(b'{"error": "Image not found"}')
    assert parsed.kind is BodyKind.V1_ERROR
    assert parsed.v1_error == "Image not found"
    assert parsed.errors == ()


def test_raw_codes_keep_what_was_sent() -> None:
    parsed = parse_error_body(b'{"errors":[{"code":"TAG_EXPIRED"},{"code":7},{"code":"DENIED"}]}')
    assert parsed.codes == ("UNKNOWN", "UNKNOWN", "DENIED")
    assert parsed.raw_codes == ("TAG_EXPIRED", None, "DENIED")
    assert parsed.first == RegistryError("UNKNOWN", "")


def test_invalid_utf8_is_decoded_leniently() -> None:
    parsed = parse_error_body(b"\xff\xfe<html>")
    assert parsed.kind is BodyKind.NOT_JSON
    assert parsed.text == "\ufffd\ufffd<html>"


def test_invalid_utf8_inside_json_string() -> None:
    parsed = parse_error_body(b'{"errors":[{"code":"DENIED","message":"caf\xe9"}]}')
    assert parsed.errors == (RegistryError("DENIED", "caf\ufffd"),)


def test_huge_body_only_given_bytes() -> None:
    body = HUB_401[:-1] + b" " * 5_000_000
    assert parse_error_body(body).codes == ("UNAUTHORIZED",)
    assert parse_error_body(body[:40]).kind is BodyKind.NOT_JSON


def test_known_codes_register() -> None:
    assert KNOWN_CODES["UNAUTHORIZED"] == (401, "authentication required")
    assert KNOWN_CODES["DENIED"] == (403, "requested access to the resource is denied")
    assert KNOWN_CODES["TOOMANYREQUESTS"] == (429, "too many requests")
    assert KNOWN_CODES["MANIFEST_UNKNOWN"] == (404, "manifest unknown")
    assert KNOWN_CODES["NAME_UNKNOWN"] == (404, "repository name not known to registry")
    assert default_message("NOPE") == "unknown error"
    assert all(code == code.upper() for code in KNOWN_CODES)
