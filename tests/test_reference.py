"""Tables for diagnose.reference: docker's reference grammar, normalisation and messages.

Most rows are transcribed (data only) from distribution/reference's own tests:
- ``reference_test.go`` TestReferenceParse @ ff14fafe2236e51c2894ac07d4bdfc778e96d682
- ``regexp_test.go`` TestDomainRegexp, TestFullNameRegexp, TestReferenceRegexp,
  TestIdentifierRegexp @ 875f162f85f8d538cbe9780dbb8d7fb50794f4e6
- ``normalize_test.go`` TestValidateReferenceName, TestValidateRemoteName, TestParseRepositoryInfo,
  TestNormalizedSplitHostname, TestParseAnyReference, TestParseReferenceWithTagAndDigest
  @ 4894124079e525c3c3c5c8aacaa653b5499004e9
Upstream asserts only *that* an input is invalid in several tables; the exact messages here
are worked out from ``normalize.go`` / ``reference.go`` / go-digest v1.0.0 (see reference.py).
"""

from __future__ import annotations

import json
import re
import time
from types import EllipsisType

import pytest

from diagnose import reference as reference_module
from diagnose.model import ImageReference
from diagnose.reference import (
    InvalidReference,
    _parse,  # the raw ``Parse`` step, tested on upstream's own TestReferenceParse table
    client_hosts,
    describe,
    parse_reference,
)

INVALID = "invalid reference format"
UPPER = "repository name must be lowercase"
EMPTY = "repository name must have at least one component"
TOO_LONG = "repository name must not be more than 255 characters"
DIGEST_LENGTH = "invalid checksum digest length"
DIGEST_FORMAT = "invalid checksum digest format"
DIGEST_UNSUPPORTED = "unsupported digest algorithm"
F64 = "f" * 64
SHA256_F = "sha256:" + F64
SHA512_F = "sha512:" + "f" * 128
HEX64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"


def lower_msg(remote: str) -> str:
    return f"invalid reference format: repository name ({remote}) must be lowercase"


def hex_msg(text: str) -> str:
    return f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"


# --- the grammar itself: regexp_test.go ------------------------------------------------------
# These reach into the private patterns on purpose: they are upstream's own regexp tables.

DOMAIN_REGEXP = [
    ("test.com", True),
    ("test.com:10304", True),
    ("test.com:http", False),
    ("localhost", True),
    ("localhost:8080", True),
    ("a", True),
    ("a.b", True),
    ("ab.cd.com", True),
    ("a-b.com", True),
    ("-ab.com", False),
    ("ab-.com", False),
    ("ab.c-om", True),
    ("ab.-com", False),
    ("ab.com-", False),
    ("0101.com", True),
    ("001a.com", True),
    ("b.gbc.io:443", True),
    ("b.gbc.io", True),
    ("xn--n3h.com", True),
    ("Asdf.com", True),
    ("192.168.1.1:75050", True),
    ("192.168.1.1:750050", True),
    ("[fd00:1:2::3]:75050", True),
    ("[fd00:1:2::3]75050", False),
    ("[fd00:1:2::3]::75050", False),
    ("[fd00:1:2::3%eth0]:75050", False),
    ("[fd00123123123]:75050", True),
    ("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050", True),
    ("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505", True),
    ("fd00:1:2::3:75050", False),
]


@pytest.mark.parametrize(("text", "match"), DOMAIN_REGEXP)
def test_upstream_domain_regexp(text: str, match: bool) -> None:
    pattern = re.compile(reference_module._DOMAIN_AND_PORT, re.ASCII)
    assert (pattern.fullmatch(text) is not None) is match


# (input, (domain, path) or None when it must not match, or ... when only a match is asserted)
FULL_NAME_REGEXP: list[tuple[str, tuple[str, str] | EllipsisType | None]] = [
    ("", None),
    ("short", ("", "short")),
    ("simple/name", ("simple", "name")),
    ("library/ubuntu", ("library", "ubuntu")),
    ("docker/stevvooe/app", ("docker", "stevvooe/app")),
    ("aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb", ("aa", "aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb")),
    ("aa/aa/bb/bb/bb", ("aa", "aa/bb/bb/bb")),
    ("a/a/a/a", ("a", "a/a/a")),
    ("a/a/a/a/", None),
    ("a//a/a", None),
    ("a", ("", "a")),
    ("a/aa", ("a", "aa")),
    ("a/aa/a", ("a", "aa/a")),
    ("foo.com", ("", "foo.com")),
    ("foo.com/", None),
    ("foo.com:8080/bar", ("foo.com:8080", "bar")),
    ("foo.com:http/bar", None),
    ("foo.com/bar", ("foo.com", "bar")),
    ("foo.com/bar/baz", ("foo.com", "bar/baz")),
    ("localhost:8080/bar", ("localhost:8080", "bar")),
    ("sub-dom1.foo.com/bar/baz/quux", ("sub-dom1.foo.com", "bar/baz/quux")),
    ("blog.foo.com/bar/baz", ("blog.foo.com", "bar/baz")),
    ("a^a", None),
    ("aa/asdf$$^/aa", None),
    ("asdf$$^/aa", None),
    ("aa-a/a", ("aa-a", "a")),
    ("a/" * 128 + "a", ("a", "a/" * 127 + "a")),
    ("a-/a/a/a", None),
    ("foo.com/a-/a/a", None),
    ("-foo/bar", None),
    ("foo/bar-", None),
    ("foo-/bar", None),
    ("foo/-bar", None),
    ("_foo/bar", None),
    ("foo_bar", ("", "foo_bar")),
    ("foo_bar.com", ("", "foo_bar.com")),
    ("foo_bar.com:8080", None),
    ("foo_bar.com:8080/app", None),
    ("foo.com/foo_bar", ("foo.com", "foo_bar")),
    ("____/____", None),
    ("_docker/_docker", None),
    ("docker_/docker_", None),
    ("b.gcr.io/test.example.com/my-app", ("b.gcr.io", "test.example.com/my-app")),
    ("xn--n3h.com/myimage", ("xn--n3h.com", "myimage")),
    ("xn--7o8h.com/myimage", ("xn--7o8h.com", "myimage")),
    ("example.com/xn--7o8h.com/myimage", ("example.com", "xn--7o8h.com/myimage")),
    ("example.com/some_separator__underscore/myimage", ("example.com", "some_separator__underscore/myimage")),
    ("example.com/__underscore/myimage", None),
    ("example.com/..dots/myimage", None),
    ("example.com/.dots/myimage", None),
    ("example.com/nodouble..dots/myimage", None),
    ("docker./docker", None),
    (".docker/docker", None),
    ("docker-/docker", None),
    ("-docker/docker", None),
    ("do..cker/docker", None),
    ("do__cker:8080/docker", None),
    ("do__cker/docker", ("", "do__cker/docker")),
    (
        "registry.io/foo/project--id.module--name.ver---sion--name",
        ("registry.io", "foo/project--id.module--name.ver---sion--name"),
    ),
    ("Asdf.com/foo/bar", ...),
    ("Foo/FarB", None),
]


@pytest.mark.parametrize(("text", "expected"), FULL_NAME_REGEXP)
def test_upstream_full_name_regexp(text: str, expected: tuple[str, str] | EllipsisType | None) -> None:
    match = reference_module._ANCHORED_NAME_RE.fullmatch(text)
    if expected is None:
        assert match is None
    else:
        assert match is not None
        if expected is not ...:
            assert (match.group(1) or "", match.group(2)) == expected


BE17 = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912"
REFERENCE_REGEXP: list[tuple[str, tuple[str, str, str] | None]] = [
    ("registry.com:8080/myapp:tag", ("registry.com:8080/myapp", "tag", "")),
    (f"registry.com:8080/myapp@{BE17}", ("registry.com:8080/myapp", "", BE17)),
    (f"registry.com:8080/myapp:tag2@{BE17}", ("registry.com:8080/myapp", "tag2", BE17)),
    ("registry.com:8080/myapp@sha256:badbadbadbad", None),
    ("registry.com:8080/myapp:invalid~tag", None),
    ("bad_hostname.com:8080/myapp:tag", None),
    (f"localhost:8080@{BE17}", ("localhost", "8080", BE17)),  # localhost as a name, 8080 a tag
    (f"localhost:8080/name@{BE17}", ("localhost:8080/name", "", BE17)),
    (f"localhost:http/name@{BE17}", None),
    (f"localhost@{BE17}", ("localhost", "", BE17)),
    ("registry.com:8080/myapp@bad", None),
    ("registry.com:8080/myapp@2bad", None),
]


@pytest.mark.parametrize(("text", "expected"), REFERENCE_REGEXP)
def test_upstream_reference_regexp(text: str, expected: tuple[str, str, str] | None) -> None:
    match = reference_module._REFERENCE_RE.fullmatch(text)
    if expected is None:
        assert match is None
    else:
        assert match is not None
        assert tuple(group or "" for group in match.group(1, 2, 3)) == expected


IDENTIFIER_REGEXP = [
    ("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821", True),
    ("7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C", False),
    ("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf", False),
    ("sha256:da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821", False),
    ("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482", False),
]


@pytest.mark.parametrize(("text", "is_identifier"), IDENTIFIER_REGEXP)
def test_upstream_identifier_is_refused(text: str, is_identifier: bool) -> None:
    # Through the public API: an identifier is refused with docker's 64-hex message.
    message = describe(text)["error"]
    assert (message == hex_msg(text)) is is_identifier


# --- raw Parse: reference_test.go TestReferenceParse -------------------------------------------
# (input, expected (domain, name, tag, digest) or an error message)

RAW_PARSE_OK = [
    ("test_com", ("", "test_com", None, None)),
    ("test.com:tag", ("", "test.com", "tag", None)),
    ("test.com:5000", ("", "test.com", "5000", None)),
    ("test.com/repo:tag", ("test.com", "test.com/repo", "tag", None)),
    ("test:5000/repo", ("test:5000", "test:5000/repo", None, None)),
    ("test:5000/repo:tag", ("test:5000", "test:5000/repo", "tag", None)),
    (f"test:5000/repo@{SHA256_F}", ("test:5000", "test:5000/repo", None, SHA256_F)),
    (f"test:5000/repo:tag@{SHA256_F}", ("test:5000", "test:5000/repo", "tag", SHA256_F)),
    ("lowercase:Uppercase", ("", "lowercase", "Uppercase", None)),
    (
        "a/" * 127 + "a:tag-puts-this-over-max",
        ("a", "a/" * 127 + "a", "tag-puts-this-over-max", None),
    ),
    ("sub-dom1.foo.com/bar/baz/quux", ("sub-dom1.foo.com", "sub-dom1.foo.com/bar/baz/quux", None, None)),
    (
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        ("sub-dom1.foo.com", "sub-dom1.foo.com/bar/baz/quux", "some-long-tag", None),
    ),
    (
        "b.gcr.io/test.example.com/my-app:test.example.com",
        ("b.gcr.io", "b.gcr.io/test.example.com/my-app", "test.example.com", None),
    ),
    ("xn--n3h.com/myimage:xn--n3h.com", ("xn--n3h.com", "xn--n3h.com/myimage", "xn--n3h.com", None)),
    (
        f"xn--7o8h.com/myimage:xn--7o8h.com@{SHA512_F}",
        ("xn--7o8h.com", "xn--7o8h.com/myimage", "xn--7o8h.com", SHA512_F),
    ),
    ("foo_bar.com:8080", ("", "foo_bar.com", "8080", None)),
    ("foo/foo_bar.com:8080", ("foo", "foo/foo_bar.com", "8080", None)),
    ("192.168.1.1", ("", "192.168.1.1", None, None)),
    ("192.168.1.1:tag", ("", "192.168.1.1", "tag", None)),
    ("192.168.1.1:5000", ("", "192.168.1.1", "5000", None)),
    ("192.168.1.1/repo", ("192.168.1.1", "192.168.1.1/repo", None, None)),
    ("192.168.1.1:5000/repo", ("192.168.1.1:5000", "192.168.1.1:5000/repo", None, None)),
    ("192.168.1.1:5000/repo:5050", ("192.168.1.1:5000", "192.168.1.1:5000/repo", "5050", None)),
    ("[2001:db8::1]/repo", ("[2001:db8::1]", "[2001:db8::1]/repo", None, None)),
    (
        "[2001:db8:1:2:3:4:5:6]/repo:tag",
        ("[2001:db8:1:2:3:4:5:6]", "[2001:db8:1:2:3:4:5:6]/repo", "tag", None),
    ),
    ("[2001:db8::1]:5000/repo", ("[2001:db8::1]:5000", "[2001:db8::1]:5000/repo", None, None)),
    ("[2001:db8::1]:5000/repo:tag", ("[2001:db8::1]:5000", "[2001:db8::1]:5000/repo", "tag", None)),
    (
        f"[2001:db8::1]:5000/repo@{SHA256_F}",
        ("[2001:db8::1]:5000", "[2001:db8::1]:5000/repo", None, SHA256_F),
    ),
    (
        f"[2001:db8::1]:5000/repo:tag@{SHA256_F}",
        ("[2001:db8::1]:5000", "[2001:db8::1]:5000/repo", "tag", SHA256_F),
    ),
    ("[2001:db8::]:5000/repo", ("[2001:db8::]:5000", "[2001:db8::]:5000/repo", None, None)),
    ("[::1]:5000/repo", ("[::1]:5000", "[::1]:5000/repo", None, None)),
    ("example.com/" + "a" * 255 + ":tag", ("example.com", "example.com/" + "a" * 255, "tag", None)),
]

RAW_PARSE_ERRORS = [
    ("", EMPTY),
    (":justtag", INVALID),
    (f"@{SHA256_F}", INVALID),
    ("repo@sha256:" + "f" * 34, DIGEST_LENGTH),
    (f"validname@invaliddigest:{F64}", DIGEST_UNSUPPORTED),
    ("Uppercase:tag", UPPER),
    ("test:5000/Uppercase/lowercase:tag", UPPER),
    ("domain/" + "a" * 256 + ":tag", TOO_LONG),
    ("aa/asdf$$^/aa", INVALID),
    ("[2001:db8::1]", INVALID),
    ("[2001:db8::1]:5000", INVALID),
    ("[2001:db8::1]:tag", INVALID),
    ("[fe80::1%eth0]:5000/repo", INVALID),
    ("[fe80::1%@invalidzone]:5000/repo", INVALID),
]


@pytest.mark.parametrize(("text", "expected"), RAW_PARSE_OK)
def test_raw_parse_upstream_valid(text: str, expected: tuple[str, str, str | None, str | None]) -> None:
    domain, path, tag, digest = _parse(text, text)
    name = f"{domain}/{path}" if domain else path
    assert (domain, name, tag, digest) == expected


@pytest.mark.parametrize(("text", "message"), RAW_PARSE_ERRORS)
def test_raw_parse_upstream_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        _parse(text, text)
    assert str(info.value) == message


# --- normalised: normalize_test.go TestValidateReferenceName / TestValidateRemoteName ------------

VALID_NAMES = [
    "docker/docker",
    "library/debian",
    "debian",
    "docker.io/docker/docker",
    "docker.io/library/debian",
    "docker.io/debian",
    "index.docker.io/docker/docker",
    "index.docker.io/library/debian",
    "index.docker.io/debian",
    "127.0.0.1:5000/docker/docker",
    "127.0.0.1:5000/library/debian",
    "127.0.0.1:5000/debian",
    "192.168.0.1",
    "192.168.0.1:80",
    "192.168.0.1:8/debian",
    "192.168.0.2:25000/debian",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "[fc00::1]:5000/docker",
    "[fc00::1]:5000/docker/docker",
    "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    f"docker.io/{HEX64}",
    "Docker/docker",
    "DOCKER/docker",
    # TestValidateRemoteName
    "docker-rules/docker",
    "docker---rules/docker",
    "doc/docker",
    "d/docker",
    "jess/t",
    "dock__er/docker",
]

INVALID_NAMES = [
    ("https://github.com/docker/docker", INVALID),
    ("docker/Docker", lower_msg("docker/Docker")),
    ("-docker", INVALID),
    ("-docker/docker", INVALID),
    ("-docker.io/docker/docker", INVALID),
    ("docker///docker", INVALID),
    ("docker.io/docker/Docker", lower_msg("docker/Docker")),
    ("docker.io/docker///docker", INVALID),
    ("[fc00::1]", INVALID),
    ("[fc00::1]:5000", INVALID),
    ("fc00::1:5000/debian", INVALID),
    ("[fe80::1%eth0]:5000/debian", INVALID),
    ("[2001:db8:3:4::192.0.2.33]:5000/debian", INVALID),
    (HEX64, hex_msg(HEX64)),
    # TestValidateRemoteName
    ("docker-/docker", INVALID),
    ("-docker-/docker", INVALID),
    ("____/____", INVALID),
    ("_docker/_docker", INVALID),
    ("dock..er/docker", INVALID),
    ("dock_.er/docker", INVALID),
    ("dock-.er/docker", INVALID),
    ("docker/", INVALID),
    (
        "_".join(["this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255"] * 4) + "/docker",
        TOO_LONG,
    ),
]


@pytest.mark.parametrize("text", VALID_NAMES)
def test_upstream_valid_names(text: str) -> None:
    ref = parse_reference(text)
    assert ref.input == text
    assert ref.tag is not None
    # The canonical form is itself a valid reference that reads back to the same thing.
    again = parse_reference(ref.canonical)
    assert (again.domain, again.path, again.tag, again.digest) == (ref.domain, ref.path, ref.tag, ref.digest)


@pytest.mark.parametrize(("text", "message"), INVALID_NAMES)
def test_upstream_invalid_names(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert str(info.value) == message
    assert info.value.input == text


# --- normalize_test.go TestParseRepositoryInfo -------------------------------------------------
# (remote name, familiar name, full name, ambiguous name or None, domain)

REPOSITORY_INFO = [
    ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"),
    ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"),
    ("nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", None, "docker.io"),
    ("other/library", "other/library", "docker.io/other/library", None, "docker.io"),
    (
        "private/moonbase",
        "127.0.0.1:8000/private/moonbase",
        "127.0.0.1:8000/private/moonbase",
        None,
        "127.0.0.1:8000",
    ),
    ("privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", None, "127.0.0.1:8000"),
    ("private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", None, "example.com"),
    ("privatebase", "example.com/privatebase", "example.com/privatebase", None, "example.com"),
    (
        "private/moonbase",
        "example.com:8000/private/moonbase",
        "example.com:8000/private/moonbase",
        None,
        "example.com:8000",
    ),
    (
        "privatebasee",
        "example.com:8000/privatebasee",
        "example.com:8000/privatebasee",
        None,
        "example.com:8000",
    ),
    (
        "library/ubuntu-12.04-base",
        "ubuntu-12.04-base",
        "docker.io/library/ubuntu-12.04-base",
        "index.docker.io/library/ubuntu-12.04-base",
        "docker.io",
    ),
    ("library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"),
    ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", None, "docker.io"),
    ("store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", None, "docker.io"),
    ("bar", "Foo/bar", "Foo/bar", None, "Foo"),
    ("bar", "FOO/bar", "FOO/bar", None, "FOO"),
]


def _repository_info_rows() -> list[tuple[str, str, str, str, str]]:
    rows = []
    for remote, familiar, full, ambiguous, domain in REPOSITORY_INFO:
        for text in (familiar, full, ambiguous):
            if text is not None:
                rows.append((text, remote, familiar, full, domain))
    return rows


@pytest.mark.parametrize(("text", "remote", "familiar", "full", "domain"), _repository_info_rows())
def test_upstream_repository_info(text: str, remote: str, familiar: str, full: str, domain: str) -> None:
    ref = parse_reference(text)
    assert ref.path == remote
    assert ref.domain == domain
    assert ref.name == full
    # TagNameOnly added "latest"; FamiliarString is the familiar name plus that tag.
    assert ref.familiar == f"{familiar}:latest"


# --- normalize_test.go TestNormalizedSplitHostname ----------------------------------------------

SPLIT_HOSTNAME = [
    ("test.com/foo", "test.com", "foo"),
    ("test_com/foo", "docker.io", "test_com/foo"),
    ("docker/migrator", "docker.io", "docker/migrator"),
    ("test.com:8080/foo", "test.com:8080", "foo"),
    ("test-com:8080/foo", "test-com:8080", "foo"),
    ("foo", "docker.io", "library/foo"),
    ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
    ("docker.io/foo", "docker.io", "library/foo"),
    ("docker.io/library/foo", "docker.io", "library/foo"),
    ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
]


@pytest.mark.parametrize(("text", "domain", "path"), SPLIT_HOSTNAME)
def test_upstream_split_hostname(text: str, domain: str, path: str) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path) == (domain, path)


# --- normalize_test.go TestParseAnyReference (the named rows) + TestParseReferenceWithTagAndDigest

DBCC = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
BUSYBOX_DIGEST = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"

CANONICAL = [
    ("redis", "docker.io/library/redis:latest"),
    ("redis:latest", "docker.io/library/redis:latest"),
    ("docker.io/library/redis:latest", "docker.io/library/redis:latest"),
    (f"redis@{DBCC}", f"docker.io/library/redis@{DBCC}"),
    (f"docker.io/library/redis@{DBCC}", f"docker.io/library/redis@{DBCC}"),
    ("dmcgowan/myapp", "docker.io/dmcgowan/myapp:latest"),
    ("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"),
    ("docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest"),
    (f"dmcgowan/myapp@{DBCC}", f"docker.io/dmcgowan/myapp@{DBCC}"),
    (f"docker.io/dmcgowan/myapp@{DBCC}", f"docker.io/dmcgowan/myapp@{DBCC}"),
    # 63 hex characters are a name, not an identifier.
    (
        "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
        "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest",
    ),
    ("dbcc1", "docker.io/library/dbcc1:latest"),
    # ParseAnyReference reads this as a digest; ParseNormalizedNamed (docker pull) reads a
    # Docker Hub image "sha256" with the hex as its tag.
    (DBCC, f"docker.io/library/{DBCC}"),
    (
        f"busybox:latest@{BUSYBOX_DIGEST}",
        f"docker.io/library/busybox:latest@{BUSYBOX_DIGEST}",
    ),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_upstream_canonical(text: str, canonical: str) -> None:
    assert parse_reference(text).canonical == canonical


def test_upstream_tag_and_digest_familiar() -> None:
    short = f"busybox:latest@{BUSYBOX_DIGEST}"
    ref = parse_reference(short)
    assert (ref.tag, ref.digest) == ("latest", BUSYBOX_DIGEST)
    assert ref.familiar == short


# --- our own rows: the cases the diagnosis depends on -------------------------------------------
# (input, domain, path, tag, digest, familiar)

OURS_OK = [
    ("ubuntu", "docker.io", "library/ubuntu", "latest", None, "ubuntu:latest"),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None, "ubuntu:22.04"),
    ("docker.io/library/x", "docker.io", "library/x", "latest", None, "x:latest"),
    ("index.docker.io/x", "docker.io", "library/x", "latest", None, "x:latest"),
    ("index.docker.io/alice/app:1", "docker.io", "alice/app", "1", None, "alice/app:1"),
    # registry-1.docker.io is not normalised by the reference package.
    (
        "registry-1.docker.io/library/x",
        "registry-1.docker.io",
        "library/x",
        "latest",
        None,
        "registry-1.docker.io/library/x:latest",
    ),
    # Digest only: no default tag.
    (f"alpine@{SHA256_F}", "docker.io", "library/alpine", None, SHA256_F, f"alpine@{SHA256_F}"),
    # Tag and digest: both kept.
    (f"alpine:3@{SHA256_F}", "docker.io", "library/alpine", "3", SHA256_F, f"alpine:3@{SHA256_F}"),
    (
        "sha384/x@sha384:" + "a" * 96,
        "docker.io",
        "sha384/x",
        None,
        "sha384:" + "a" * 96,
        "sha384/x@sha384:" + "a" * 96,
    ),
    # localhost is a domain only when followed by "/".
    ("localhost/app", "localhost", "app", "latest", None, "localhost/app:latest"),
    ("localhost:5000/app:1", "localhost:5000", "app", "1", None, "localhost:5000/app:1"),
    ("localhost", "docker.io", "library/localhost", "latest", None, "localhost:latest"),
    ("localhost:5000", "docker.io", "library/localhost", "5000", None, "localhost:5000"),
    ("127.0.0.1:8080/team/app:v1", "127.0.0.1:8080", "team/app", "v1", None, "127.0.0.1:8080/team/app:v1"),
    (
        "registry.example.com/team/app:1.4",
        "registry.example.com",
        "team/app",
        "1.4",
        None,
        "registry.example.com/team/app:1.4",
    ),
    # A dot-less, port-less first component is a Docker Hub namespace, not a host.
    ("myregistry/app", "docker.io", "myregistry/app", "latest", None, "myregistry/app:latest"),
    # Upper case is fine in a tag and in a host, never in the path.
    ("app:V1_X", "docker.io", "library/app", "V1_X", None, "app:V1_X"),
    (
        "Registry.Example.com/app",
        "Registry.Example.com",
        "app",
        "latest",
        None,
        "Registry.Example.com/app:latest",
    ),
    # Separators inside a component.
    ("a__b/c-----d/e.f_g", "docker.io", "a__b/c-----d/e.f_g", "latest", None, "a__b/c-----d/e.f_g:latest"),
    # 128-character tag is the maximum.
    ("app:" + "t" * 128, "docker.io", "library/app", "t" * 128, None, "app:" + "t" * 128),
    # Path limit is exactly 255 (library/ counts): 8 + 247.
    ("a" * 247, "docker.io", "library/" + "a" * 247, "latest", None, "a" * 247 + ":latest"),
    (
        "docker.io/" + "ab/" * 84 + "abc",
        "docker.io",
        "ab/" * 84 + "abc",
        "latest",
        None,
        "ab/" * 84 + "abc:latest",
    ),
]


@pytest.mark.parametrize(("text", "domain", "path", "tag", "digest", "familiar"), OURS_OK)
def test_parse_reference(
    text: str, domain: str, path: str, tag: str | None, digest: str | None, familiar: str
) -> None:
    ref = parse_reference(text)
    assert ref == ImageReference(input=text, domain=domain, path=path, tag=tag, digest=digest)
    assert ref.familiar == familiar


OURS_ERRORS = [
    ("", INVALID),  # normalisation turns "" into "docker.io/library/", which is not a name
    ("Ubuntu", lower_msg("library/Ubuntu")),
    ("ubuntu:latest:x", INVALID),
    ("alice/App:1", lower_msg("alice/App")),
    ("localhost:5000/App", lower_msg("App")),
    ("docker.io/Library/x", lower_msg("Library/x")),
    # Upper case after a ':' escapes the normalised check and is caught by Parse itself.
    ("example.com:5000/a:B/c", INVALID),
    # The "remote" part is cut at the first ':', so an upper-case digest algorithm is
    # reported as an upper-case repository name (the same wording as docker).
    (f"x@Sha256:{F64}", lower_msg("library/x@Sha256")),
    (f"x@sha256:{F64.upper()}", DIGEST_FORMAT),
    ("x@sha256:" + "f" * 63, DIGEST_LENGTH),
    ("x@sha256:" + "f" * 65, DIGEST_LENGTH),
    ("x@sha256:" + "f" * 31, INVALID),  # under 32 hex characters the grammar refuses it
    (f"x@md5:{F64}", DIGEST_UNSUPPORTED),
    (f"x@sha256+b64:{F64}", DIGEST_UNSUPPORTED),
    ("x@sha256:", INVALID),
    ("x@", INVALID),
    ("x:", INVALID),
    ("app:" + "t" * 129, INVALID),
    ("app:-tag", INVALID),
    ("app:.tag", INVALID),
    # Leading and trailing separators.
    ("/app", INVALID),
    ("app/", INVALID),
    ("-app", INVALID),
    ("app-", INVALID),
    ("_app", INVALID),
    ("app_", INVALID),
    (".app", INVALID),
    ("app.", INVALID),
    ("a___b", INVALID),
    ("a..b", INVALID),
    ("a//b", INVALID),
    ("example.com//app", INVALID),
    ("-example.com/app", INVALID),
    ("example-.com/app", INVALID),
    ("example.com:/app", INVALID),
    ("example.com:port/app", INVALID),
    ("example.com:5000:5000/app", INVALID),
    # Invalid characters, whitespace, control characters.
    ("app name", INVALID),
    (" app", INVALID),
    ("app ", INVALID),
    ("app\n", INVALID),
    ("app\t", INVALID),
    ("app!", INVALID),
    ("user@host/app", INVALID),
    ("https://example.com/app", INVALID),
    ("docker://app", INVALID),
    ("café", INVALID),
    # Go's \w is ASCII-only: a non-ASCII letter or digit is not a tag character.
    ("app:tägg", INVALID),
    ("app:v\u0663", INVALID),
    # Go lower-cases rune by rune (U+0130 -> "i", KELVIN SIGN -> "k"); the lowered text is then a
    # valid reference, so Parse reports upper case rather than a bad format.
    ("\u0130.com/app", UPPER),
    ("\u212a.com/app", UPPER),
    # The 255 limit on the path.
    ("a" * 248, TOO_LONG),
    ("docker.io/" + "ab/" * 84 + "abcd", TOO_LONG),
    ("example.com/" + "a" * 256, TOO_LONG),
    # 64 lower-case hex characters alone are an image ID; upper case or a tag is something else.
    ("f" * 64, hex_msg("f" * 64)),
    (HEX64, hex_msg(HEX64)),
    ("F" * 64, lower_msg("library/" + "F" * 64)),
]


@pytest.mark.parametrize(("text", "message"), OURS_ERRORS)
def test_parse_reference_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_hex_with_tag_is_a_name() -> None:
    assert parse_reference(HEX64 + ":1").canonical == f"docker.io/library/{HEX64}:1"


def test_lowercase_message_stays_on_one_line() -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference("Foo\nbar")
    assert str(info.value) == lower_msg("library/Foo\\nbar")
    assert "\n" not in str(info.value)


def test_lowercase_message_shortens_huge_names() -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference("A" * 5000)
    message = str(info.value)
    assert message.startswith("invalid reference format: repository name (library/AAA")
    assert "(5008 characters)" in message
    assert len(message) < 400


# --- very long and adversarial inputs: right answer, quickly -------------------------------------

LONG_INPUTS = [
    ("a" * 100_000, TOO_LONG),
    ("a/" * 50_000 + "a", TOO_LONG),
    ("a-" * 50_000 + "!", INVALID),
    ("a." * 50_000 + "!", INVALID),
    ("a_" * 50_000 + "a!", INVALID),
    ("a" * 50_000 + ".com/" + "b" * 50_000 + "!", INVALID),
    ("[" + ":" * 100_000, INVALID),
    ("x:" + "t" * 100_000, INVALID),
    ("x@sha256:" + "f" * 100_000, DIGEST_LENGTH),
    ("a" * 100_000 + ":tag", TOO_LONG),
]


@pytest.mark.parametrize(("text", "message"), LONG_INPUTS, ids=lambda v: str(v)[:24])
def test_long_inputs(text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert time.perf_counter() - started < 2.0
    assert str(info.value) == message


# --- client_hosts -------------------------------------------------------------------------------


def test_client_hosts_docker_hub() -> None:
    expected = (
        ("docker (V2)", "registry-1.docker.io"),
        ("docker 1.12 (V1 fallback)", "index.docker.io"),
        ("skopeo / containers-image", "registry-1.docker.io"),
        ("containerd", "registry-1.docker.io"),
        ("crane / go-containerregistry", "index.docker.io"),
    )
    for text in ("ubuntu", "docker.io/library/ubuntu", "index.docker.io/alice/app:1", f"x@{SHA256_F}"):
        assert client_hosts(parse_reference(text)) == expected


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("registry-1.docker.io/library/x", "registry-1.docker.io"),
        ("localhost:5000/app", "localhost:5000"),
        ("localhost/app", "localhost"),
        ("quay.io/coreos/etcd", "quay.io"),
        ("[::1]:5000/repo", "[::1]:5000"),
        ("Foo/bar", "Foo"),
    ],
)
def test_client_hosts_other_registries(text: str, host: str) -> None:
    hosts = client_hosts(parse_reference(text))
    assert [client for client, _ in hosts] == [
        "docker (V2)",
        "docker 1.12 (V1 fallback)",
        "skopeo / containers-image",
        "containerd",
        "crane / go-containerregistry",
    ]
    assert {h for _, h in hosts} == {host}


# --- describe -----------------------------------------------------------------------------------

KEYS = {
    "input",
    "valid",
    "domain",
    "path",
    "tag",
    "digest",
    "familiar",
    "canonical",
    "error",
    "hosts",
    "implied",
    "warnings",
    "docker_insecure",
    "docker_insecure_reason",
}


def test_describe_valid() -> None:
    assert describe("ubuntu") == {
        "input": "ubuntu",
        "valid": True,
        "domain": "docker.io",
        "path": "library/ubuntu",
        "tag": "latest",
        "digest": None,
        "familiar": "ubuntu:latest",
        "canonical": "docker.io/library/ubuntu:latest",
        "error": None,
        "hosts": {
            "docker-v2": "registry-1.docker.io",
            "docker-1.12-v1": "index.docker.io",
            "skopeo": "registry-1.docker.io",
            "containerd": "registry-1.docker.io",
            "crane": "index.docker.io",
        },
        "implied": [
            {"part": "registry", "value": "docker.io"},
            {"part": "namespace", "value": "library"},
            {"part": "tag", "value": "latest"},
        ],
        "warnings": [],
        "docker_insecure": False,
        "docker_insecure_reason": None,
    }


def test_describe_digest_only() -> None:
    out = describe(f"localhost:5000/app@{SHA256_F}")
    assert (out["tag"], out["digest"]) == (None, SHA256_F)
    assert out["canonical"] == f"localhost:5000/app@{SHA256_F}"
    assert out["hosts"] == dict.fromkeys(
        [
            "docker-v2",
            "docker-1.12-v1",
            "skopeo",
            "containerd",
            "crane",
        ],
        "localhost:5000",
    )


@pytest.mark.parametrize(
    "text",
    ["", "Ubuntu", HEX64, "a" * 300, "app\n", "\x00", "\ud800", "Foo\r\nbar", "A" * 100_000, "x@sha256:abc"],
    ids=lambda v: repr(v)[:20],
)
def test_describe_invalid_never_raises(text: str) -> None:
    out = describe(text)
    assert set(out) == KEYS
    assert out["input"] == text
    assert out["valid"] is False
    error = out["error"]
    assert isinstance(error, str) and error
    assert "\n" not in error and "\r" not in error
    assert all(out[key] is None for key in KEYS - {"input", "valid", "error"})


def test_describe_is_json_serialisable() -> None:
    for text in ("ubuntu", "Ubuntu", f"a:b@{SHA256_F}"):
        assert json.loads(json.dumps(describe(text))) == describe(text)


# --- traps (issue 10 item 7) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("foo:5000", ["tag-not-port"]),
        ("foo:5000/app", []),
        ("Docker.io/x", ["hub-spelling-not-hub"]),
        ("docker.io/x", []),
        ("LOCALHOST/app", ["localhost-case"]),
        ("LOCALHOST:5000/app", ["localhost-case"]),
        ("localhost:5000/app", []),
        ("Registry.Example.com/app", ["uppercase-host"]),
        ("docker.io/a/b/c", ["hub-three-components"]),
        ("a/b/c", ["hub-three-components"]),
        ("registry.example.com/a/b/c", []),
        (f"alice/app:1@{SHA256_F}", ["tag-and-digest"]),
        (f"alice/app@{SHA256_F}", []),
        ("ubuntu", []),
    ],
)
def test_reference_warnings(text: str, ids: list[str]) -> None:
    from diagnose.reference import reference_warnings

    assert [w.id for w in reference_warnings(text, parse_reference(text))] == ids
    assert [w["id"] for w in describe(text)["warnings"]] == ids  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "implied"),
    [
        ("ubuntu", [("registry", "docker.io"), ("namespace", "library"), ("tag", "latest")]),
        ("docker.io/ubuntu", [("namespace", "library"), ("tag", "latest")]),
        ("library/ubuntu:22.04", [("registry", "docker.io")]),
        ("alice/app", [("registry", "docker.io"), ("tag", "latest")]),
        ("host:5000/app:1", []),
        (f"host:5000/app@{SHA256_F}", []),
        ("localhost/app", [("tag", "latest")]),
    ],
)
def test_implied_parts(text: str, implied: list[tuple[str, str]]) -> None:
    from diagnose.reference import implied_parts

    assert list(implied_parts(text, parse_reference(text))) == implied


@pytest.mark.parametrize(
    ("text", "insecure"),
    [
        ("127.0.0.1:5000/x", True),
        ("127.1.2.3/x", True),
        ("localhost:5000/x", True),
        ("registry.example.com/x", False),
        ("10.0.0.1:5000/x", False),
        ("[::1]:5000/x", False),  # docker's default insecure CIDR is 127.0.0.0/8 only
        ("ubuntu", False),
    ],
)
def test_docker_insecure_by_default(text: str, insecure: bool) -> None:
    assert describe(text)["docker_insecure"] is insecure


def test_json_keys_are_identifiers_not_labels() -> None:
    out = describe("ubuntu")
    for key in [*out, *out["hosts"]]:  # type: ignore[misc]
        assert re.fullmatch(r"[a-z0-9_.-]+", key), key
