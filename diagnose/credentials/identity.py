"""Which identity each pull presents: an explicit one for every pull, or each client's own
stored login, or none (``--anonymous``).

An explicit identity (``--creds``, ``--username``) overrides every stored login, for every
pull. Without one, the strict pull looks up logins as containers-image does and docker's
pulls as docker does (``resolve.py``), so the two may differ, exactly as skopeo and docker
would on this machine. This module reads auth files and runs helpers through ``resolve.py``;
it never prints, and the ``PullIdentity`` it makes for the report never holds a secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from diagnose.credentials.resolve import Found, find_cimage, find_docker
from diagnose.model import AuthMode, ImageReference, PullIdentity, Strategy

CIMAGE_STRATEGIES = frozenset({Strategy.V2_ONLY})
"""Pulls whose client reads logins as containers-image does; every other pull reads docker's."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What one pull sends (the secret included) and what the report says about it."""

    credentials: tuple[str, str] | None
    identity_token: str | None
    record: PullIdentity

    @property
    def used(self) -> bool:
        return self.credentials is not None or self.identity_token is not None


def anonymous(strategy: Strategy, source: str = "none") -> Identity:
    return Identity(None, None, PullIdentity(strategy, AuthMode.ANONYMOUS, source))


def explicit(strategy: Strategy, user: str, password: str, source: str) -> Identity:
    record = PullIdentity(strategy, AuthMode.CREDENTIALS, source, username=user)
    return Identity((user, password), None, record)


def _stored(strategy: Strategy, found: Found) -> Identity:
    login = found.login
    if login is None:
        return Identity(
            None,
            None,
            PullIdentity(
                strategy,
                AuthMode.ANONYMOUS,
                "none",
                looked_up=found.looked_up,
                problem=found.problem,
                near_miss=found.near_miss,
            ),
        )
    record = PullIdentity(
        strategy,
        AuthMode.CREDENTIALS,
        login.origin,
        username=login.username or None,
        identity_token=login.identity_token is not None,
        stored=True,
        looked_up=found.looked_up,
    )
    credentials = (login.username, login.password) if login.password else None
    return Identity(credentials, login.identity_token, record)


def lookup(ref: ImageReference, strategy: Strategy, env: Mapping[str, str], auth_file: Path | None) -> Found:
    """The stored login this pull's client would use."""
    if strategy in CIMAGE_STRATEGIES:
        return find_cimage(ref.domain, ref.path, env, auth_file)
    return find_docker(ref.domain, env)


def resolve_identities(
    ref: ImageReference,
    strategies: Sequence[Strategy],
    *,
    env: Mapping[str, str],
    auth_file: Path | None = None,
    given: tuple[str, str] | None = None,
    given_source: str = "--creds",
    no_stored: bool = False,
) -> dict[Strategy, Identity]:
    """One identity per pull. ``AuthFileError`` (a ValueError) for an unusable auth file."""
    identities: dict[Strategy, Identity] = {}
    for strategy in strategies:
        if given is not None:
            identities[strategy] = explicit(strategy, *given, source=given_source)
            continue
        if no_stored:
            try:
                found = lookup(ref, strategy, env, auth_file)
            except ValueError:  # an unreadable auth file does not matter with --anonymous
                identities[strategy] = anonymous(strategy, "--anonymous")
                continue
            unused = found.login.origin if found.login is not None else None
            record = PullIdentity(
                strategy, AuthMode.ANONYMOUS, "--anonymous", looked_up=found.looked_up, unused_login=unused
            )
            identities[strategy] = Identity(None, None, record)
            continue
        identities[strategy] = _stored(strategy, lookup(ref, strategy, env, auth_file))
    return identities
