"""Image references, read exactly the way docker reads them.

``parse_reference`` follows distribution/reference (the package docker, containerd and most Go
clients vendor): ``ParseNormalizedNamed`` followed by ``TagNameOnly``. The grammar, the
normalisation rules (``ubuntu`` -> ``docker.io/library/ubuntu:latest``) and the error texts are
the ones of distribution/reference and opencontainers/go-digest v1.0.0, so a user sees the same
words docker would print. ``client_hosts`` says which host each client then contacts.

Sources (read with the search tool; facts restated, no code copied):

- distribution/reference ``regexp.go`` @ 00a09fa3799203fc887e667b0d82142ee831939a (the grammar),
  ``reference.go`` @ 0965666a6ade2e06035fe352e38344be1e68951a (``Parse``, error values, the
  255 limit on the *path*), ``normalize.go`` @ 4ca14034c40611bc3536fc703ffa6a22fb8e6659
  (``splitDockerDomain``, ``ParseNormalizedNamed``, ``familiarizeName``, ``TagNameOnly``).
- opencontainers/go-digest v1.0.0 ``digest.go`` / ``algorithm.go`` (``Digest.Validate``: format,
  unsupported algorithm, length, then lower-case hex).

This module is pure: no I/O, no network, no terminal, no global mutable state. It must not
guess what a registry will answer; it only reads the name.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from diagnose.model import ImageReference

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "DOCKER_HUB_V1_HOST",
    "DOCKER_HUB_V2_HOST",
    "LEGACY_DEFAULT_DOMAIN",
    "NAME_TOTAL_LENGTH_MAX",
    "InvalidReference",
    "client_hosts",
    "describe",
    "parse_reference",
    "reference_warnings",
]

# --- constants (distribution/reference normalize.go, reference.go) ---------------------------

DEFAULT_DOMAIN: Final = "docker.io"
LEGACY_DEFAULT_DOMAIN: Final = "index.docker.io"  # the old "Docker Index"; normalised to docker.io
OFFICIAL_REPO_PREFIX: Final = "library/"
DEFAULT_TAG: Final = "latest"
LOCALHOST: Final = "localhost"  # the only dot-less, port-less first component read as a domain
NAME_TOTAL_LENGTH_MAX: Final = 255  # RepositoryNameTotalLengthMax; current code checks the path only

# Docker Hub's real hosts. moby v1.12.6 registry/config.go: DefaultV2Registry is
# https://registry-1.docker.io, DefaultV1Registry (and IndexServer) https://index.docker.io.
DOCKER_HUB_V2_HOST: Final = "registry-1.docker.io"
DOCKER_HUB_V1_HOST: Final = "index.docker.io"

# --- error texts, verbatim --------------------------------------------------------------------

# distribution/reference reference.go (ErrReferenceInvalidFormat, ErrNameContainsUppercase,
# ErrNameEmpty, ErrNameTooLong).
ERR_INVALID_FORMAT: Final = "invalid reference format"
ERR_NAME_UPPERCASE: Final = "repository name must be lowercase"
ERR_NAME_EMPTY: Final = "repository name must have at least one component"
ERR_NAME_TOO_LONG: Final = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
# opencontainers/go-digest v1.0.0 digest.go (ErrDigestInvalidFormat, ErrDigestInvalidLength,
# ErrDigestUnsupported).
ERR_DIGEST_FORMAT: Final = "invalid checksum digest format"
ERR_DIGEST_LENGTH: Final = "invalid checksum digest length"
ERR_DIGEST_UNSUPPORTED: Final = "unsupported digest algorithm"

# --- the grammar (distribution/reference regexp.go; see its package comment) -----------------
# Built from the published grammar. Go's RE2 and Python's ``re`` both prefer the leftmost
# alternative and greedy repeats when extracting groups, so captures agree. Two traps:
# Go's ``\w`` is ASCII-only (hence re.ASCII) and Go's ``$`` never matches before a final
# newline (hence fullmatch everywhere, never ``$``).

_ALNUM = "[a-z0-9]+"
_SEPARATOR = "(?:[._]|__|[-]+)"  # one period, one or two underscores, any number of dashes
_PATH_COMPONENT = f"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE_NAME = f"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"  # bracketed; no zone ids, no IPv4-mapped dotted forms
_HOST = f"(?:{_DOMAIN_COMPONENT}(?:\\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN_AND_PORT = f"{_HOST}(?::[0-9]+)?"
_NAME = f"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"
_TAG = r"\w[\w.-]{0,127}"
_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"

_REFERENCE_RE: Final = re.compile(f"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_ANCHORED_NAME_RE: Final = re.compile(f"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})", re.ASCII)
_IDENTIFIER_RE: Final = re.compile("[a-f0-9]{64}", re.ASCII)

# go-digest v1.0.0: DigestRegexp (used only for algorithms it does not know) and the
# registered algorithms with their hex lengths (docker registers sha256, sha384 and sha512).
_GO_DIGEST_RE: Final = re.compile("[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+", re.ASCII)
_DIGEST_HEX_LENGTH: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX_RE: Final = re.compile("[a-f0-9]+", re.ASCII)

# Labels of the clients whose hosts we report, in display order.
CLIENT_DOCKER_V2: Final = "docker (V2)"
CLIENT_DOCKER_V1: Final = "docker 1.12 (V1 fallback)"
CLIENT_SKOPEO: Final = "skopeo / containers-image"
CLIENT_CONTAINERD: Final = "containerd"
CLIENT_CRANE: Final = "crane / go-containerregistry"

_MESSAGE_NAME_MAX = 200  # longer names are shortened inside messages so they stay readable


class InvalidReference(ValueError):
    """A reference docker would refuse; ``str(exc)`` is docker's one-line message.

    ``input`` is the text that was refused.
    """

    def __init__(self, message: str, input: str) -> None:
        super().__init__(message)
        self.message = message
        self.input = input

    def __str__(self) -> str:
        return self.message


def _go_lower(text: str) -> str:
    """Lower-case like Go's ``strings.ToLower`` (simple case mapping, rune by rune).

    Python's ``str.lower`` uses full case mapping, which differs for U+0130 (Go gives plain
    ``i``, Python ``i`` + combining dot). Only that difference can change whether the lowered
    text is a valid (ASCII) reference.
    """
    return text.replace("\u0130", "i").lower()


def _quote_in_message(name: str) -> str:
    """Keep a message on one printable line: escape control/unprintable characters, shorten.

    Docker embeds the raw name; we differ only for names with such characters or over
    ``_MESSAGE_NAME_MAX`` characters, which no terminal shows usefully anyway.
    """
    if len(name) > _MESSAGE_NAME_MAX:
        name = f"{name[:_MESSAGE_NAME_MAX]}…({len(name)} characters)"
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in name)


def _split_docker_domain(name: str) -> tuple[str, str]:
    """Split a familiar name into (domain, remainder) as normalize.go's splitDockerDomain does."""
    maybe_domain, slash, maybe_remote = name.partition("/")
    if not slash:
        # A single element ("ubuntu", "ubuntu:22.04", even "localhost:5000") is always a
        # Docker Hub official image; upstream notes this as a known FIXME for bare hosts.
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if maybe_domain == LOCALHOST:
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif "." in maybe_domain or ":" in maybe_domain:
        domain, remote = maybe_domain, maybe_remote  # a host name, IP address or host:port
    elif _go_lower(maybe_domain) != maybe_domain:
        # Namespaces cannot be upper-case, so "Foo/bar" is read as host "Foo".
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote  # docker.io/ubuntu -> docker.io/library/ubuntu
    return domain, remote


def _digest_error(digest: str) -> str | None:
    """go-digest v1.0.0 ``Digest.Validate``: None when valid, else its error text."""
    algorithm, colon, encoded = digest.partition(":")
    if not algorithm or not colon or not encoded:
        return ERR_DIGEST_FORMAT
    expected_length = _DIGEST_HEX_LENGTH.get(algorithm)
    if expected_length is None:
        return ERR_DIGEST_UNSUPPORTED if _GO_DIGEST_RE.fullmatch(digest) else ERR_DIGEST_FORMAT
    if len(encoded) != expected_length:
        return ERR_DIGEST_LENGTH
    if not _LOWER_HEX_RE.fullmatch(encoded):
        return ERR_DIGEST_FORMAT  # upper-case hex passes the reference grammar but not this
    return None


def _parse(text: str, original: str) -> tuple[str, str, str | None, str | None]:
    """distribution/reference ``Parse``: (domain, path, tag, digest) of a full reference."""
    if text == "":
        raise InvalidReference(ERR_NAME_EMPTY, original)
    match = _REFERENCE_RE.fullmatch(text)
    if match is None:
        lowered = _go_lower(text)
        if lowered != text and _REFERENCE_RE.fullmatch(lowered):
            raise InvalidReference(ERR_NAME_UPPERCASE, original)
        raise InvalidReference(ERR_INVALID_FORMAT, original)
    name, tag, digest = match.group(1, 2, 3)
    name_match = _ANCHORED_NAME_RE.fullmatch(name)
    if name_match is None:  # cannot happen: the reference grammar embeds the name grammar
        raise InvalidReference(ERR_INVALID_FORMAT, original)
    domain, path = name_match.group(1) or "", name_match.group(2)
    # Current distribution/reference limits the path (domain excluded) to 255 characters;
    # releases before 2023 (and docker 1.12's vendored copy) limited domain + path.
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(ERR_NAME_TOO_LONG, original)
    if digest is not None:
        error = _digest_error(digest)
        if error is not None:
            raise InvalidReference(error, original)
    return domain, path, tag, digest


def parse_reference(text: str) -> ImageReference:
    """Parse ``text`` like docker's ``ParseNormalizedNamed`` + ``TagNameOnly``.

    ``ubuntu`` -> docker.io / library/ubuntu / tag ``latest``. The tag defaults to ``latest``
    only when neither a tag nor a digest is given; ``name:tag@digest`` keeps both.
    Raises InvalidReference with docker's message.
    """
    if _IDENTIFIER_RE.fullmatch(text):
        # An image ID is never a repository name (normalize.go ParseNormalizedNamed).
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings", text
        )
    domain, remainder = _split_docker_domain(text)
    remote = remainder.partition(":")[0]
    if _go_lower(remote) != remote:
        raise InvalidReference(
            f"invalid reference format: repository name ({_quote_in_message(remote)}) must be lowercase",
            text,
        )
    domain, path, tag, digest = _parse(f"{domain}/{remainder}", text)
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageReference(input=text, domain=domain, path=path, tag=tag, digest=digest)


def client_hosts(ref: ImageReference) -> tuple[tuple[str, str], ...]:
    """The host each client really contacts for ``ref``, as (client label, host) pairs.

    Only ``docker.io`` is rewritten; every other domain (``registry-1.docker.io`` included)
    is contacted as written. Sources:
    - docker V2: moby v1.12.6 ``registry/service_v2.go`` + ``registry/config.go``
      (DefaultV2Registry ``https://registry-1.docker.io``); unchanged in current moby.
    - docker 1.12 V1 fallback: moby v1.12.6 ``registry/service_v1.go`` + ``registry/config.go``
      (DefaultV1Registry ``https://index.docker.io``); other hosts get ``https://<domain>``.
    - skopeo / containers-image: ``docker/docker_client.go`` maps docker.io to
      ``registry-1.docker.io`` (containers/image @ e2e450ea and current).
    - containerd: ``remotes/docker/resolver.go`` maps docker.io to ``registry-1.docker.io``.
    - crane / go-containerregistry: ``pkg/name`` DefaultRegistry ``index.docker.io`` replaces
      the alias ``docker.io`` (GGCR @ 3f4ff3ca).
    """
    if ref.domain == DEFAULT_DOMAIN:
        return (
            (CLIENT_DOCKER_V2, DOCKER_HUB_V2_HOST),
            (CLIENT_DOCKER_V1, DOCKER_HUB_V1_HOST),
            (CLIENT_SKOPEO, DOCKER_HUB_V2_HOST),
            (CLIENT_CONTAINERD, DOCKER_HUB_V2_HOST),
            (CLIENT_CRANE, DOCKER_HUB_V1_HOST),
        )
    clients = (CLIENT_DOCKER_V2, CLIENT_DOCKER_V1, CLIENT_SKOPEO, CLIENT_CONTAINERD, CLIENT_CRANE)
    return tuple((client, ref.domain) for client in clients)


CLIENT_IDS: Final = {
    CLIENT_DOCKER_V2: "docker-v2",
    CLIENT_DOCKER_V1: "docker-1.12-v1",
    CLIENT_SKOPEO: "skopeo",
    CLIENT_CONTAINERD: "containerd",
    CLIENT_CRANE: "crane",
}
"""Stable JSON keys for ``describe``'s ``hosts`` (the labels above are for people)."""

_HUB_SPELLINGS: Final = frozenset({DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, DOCKER_HUB_V2_HOST})


@dataclass(frozen=True, slots=True)
class ReferenceWarning:
    """A trap in how a name is read: a stable ``id`` for JSON and a sentence for people."""

    id: str
    message: str


def reference_warnings(text: str, ref: ImageReference) -> tuple[ReferenceWarning, ...]:
    """The traps people fall into with ``text`` (already parsed as ``ref``). Pure.

    Sources: distribution/reference normalize.go ``splitDockerDomain`` (which first component
    is a host); containers/image docker/docker_transport.go ``newReference`` ("Docker references
    with both a tag and digest are currently not supported").
    """
    warnings: list[ReferenceWarning] = []
    if "/" not in text and ref.tag is not None and ref.tag.isdigit():
        warnings.append(
            ReferenceWarning(
                "tag-not-port",
                f"{ref.tag!r} is read as a tag of {ref.domain}/{ref.path}, not a port: a registry "
                f"on a port needs a repository after it ({text}/IMAGE-NAME).",
            )
        )
    domain_host = ref.domain.rsplit(":", 1)[0] if not ref.domain.startswith("[") else ref.domain
    lowered = domain_host.lower()
    if lowered in _HUB_SPELLINGS and ref.domain != DEFAULT_DOMAIN and domain_host != lowered:
        warnings.append(
            ReferenceWarning(
                "hub-spelling-not-hub",
                f"{ref.domain} is not Docker Hub: only the lower-case docker.io (or index.docker.io) "
                "means Docker Hub; this spelling is a host of its own, contacted as written.",
            )
        )
    elif lowered == LOCALHOST and domain_host != lowered:
        warnings.append(
            ReferenceWarning(
                "localhost-case",
                f"{ref.domain} is not localhost as clients compare names: logins, certificates "
                "and insecure-registry settings made for localhost do not apply to it.",
            )
        )
    elif domain_host != lowered:
        warnings.append(
            ReferenceWarning(
                "uppercase-host",
                f"{ref.domain} has upper-case letters: clients look up logins and settings by the "
                "name as written, so they may not match the lower-case spelling.",
            )
        )
    if ref.domain == DEFAULT_DOMAIN and ref.path.count("/") >= 2:
        warnings.append(
            ReferenceWarning(
                "hub-three-components",
                f"{ref.path} has {ref.path.count('/') + 1} components: Docker Hub repositories "
                "are exactly NAMESPACE/NAME, so this one cannot exist there. Was a registry host "
                "meant as the first component?",
            )
        )
    if ref.tag is not None and ref.digest is not None:
        warnings.append(
            ReferenceWarning(
                "tag-and-digest",
                "A tag and a digest together: clients disagree. containers-image (skopeo, podman) "
                'refuses it ("Docker references with both a tag and digest are currently not '
                'supported"); others use one and do not check the other. Give the digest alone.',
            )
        )
    return tuple(warnings)


def implied_parts(text: str, ref: ImageReference) -> tuple[tuple[str, str], ...]:
    """What the name did not say and clients fill in: (part, value), e.g. ("tag", "latest")."""
    implied: list[tuple[str, str]] = []
    first, slash, _ = text.partition("/")
    names_host = bool(slash) and (
        first == LOCALHOST or "." in first or ":" in first or first.lower() != first
    )
    if not names_host:
        implied.append(("registry", DEFAULT_DOMAIN))
    if ref.domain == DEFAULT_DOMAIN and ref.path.startswith(OFFICIAL_REPO_PREFIX):
        given = text.partition("@")[0]
        if f"{OFFICIAL_REPO_PREFIX}" not in given:
            implied.append(("namespace", OFFICIAL_REPO_PREFIX.rstrip("/")))
    if ref.digest is None and ":" not in text.rpartition("/")[2]:
        implied.append(("tag", DEFAULT_TAG))
    return tuple(implied)


def docker_insecure(ref: ImageReference) -> str | None:
    """Why docker treats the registry as insecure with no daemon setting, or None.

    moby registry/config.go: 127.0.0.0/8 is always in InsecureRegistryCIDRs; isSecureIndex
    resolves a host name and checks its addresses (localhost resolves into 127.0.0.0/8).
    """
    host = ref.domain.rsplit(":", 1)[0].strip("[]") if ref.domain.count(":") <= 1 else ref.domain.strip("[]")
    if host.lower() == LOCALHOST:
        return "localhost resolves to 127.0.0.1, and docker treats 127.0.0.0/8 as insecure by default"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 4 and address in ipaddress.ip_network("127.0.0.0/8"):
        return "docker treats 127.0.0.0/8 as insecure by default (plain http, no certificate check)"
    return None


def describe(text: str) -> dict[str, object]:
    """The ``diagnose ref --json`` object for ``text``. Never raises.

    Keys: input, valid, domain, path, tag, digest, familiar, canonical, error, hosts
    (client label -> host). For invalid input, ``valid`` is False, ``error`` is docker's
    one-line message and every other field except ``input`` is None.
    """
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        return {
            "input": text,
            "valid": False,
            "domain": None,
            "path": None,
            "tag": None,
            "digest": None,
            "familiar": None,
            "canonical": None,
            "error": str(exc),
            "hosts": None,
            "implied": None,
            "warnings": None,
            "docker_insecure": None,
            "docker_insecure_reason": None,
        }
    return {
        "input": text,
        "valid": True,
        "domain": ref.domain,
        "path": ref.path,
        "tag": ref.tag,
        "digest": ref.digest,
        "familiar": ref.familiar,
        "canonical": ref.canonical,
        "error": None,
        "hosts": {CLIENT_IDS[label]: host for label, host in client_hosts(ref)},
        "implied": [{"part": part, "value": value} for part, value in implied_parts(text, ref)],
        "warnings": [{"id": w.id, "message": w.message} for w in reference_warnings(text, ref)],
        "docker_insecure": docker_insecure(ref) is not None,
        "docker_insecure_reason": docker_insecure(ref),
    }
