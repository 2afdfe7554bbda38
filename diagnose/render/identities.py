"""Which identity each pull presented, in words, for the terminal and the Markdown report.

A user who ran ``docker login`` must see which login each client would use and where it came
from (file and key, or credential helper) — never the secret. Pure: report in, lines out.
"""

from __future__ import annotations

from diagnose.model import AuthMode, PullIdentity, Report


def _who(identity: PullIdentity) -> str:
    if identity.mode is AuthMode.ANONYMOUS or not identity.username:
        return "anonymous"
    return identity.username + (" (identity token)" if identity.identity_token else "")


def identity_line(identity: PullIdentity) -> str:
    """``v2-only: alice, from file …, key "…"`` and what else the lookup found."""
    text = f"{identity.strategy.value}: {_who(identity)}"
    if identity.source and identity.source != "none":
        text += f", from {identity.source}"
    if identity.problem:
        text += f"; stored login not usable: {identity.problem}"
    if identity.near_miss:
        text += f"; a login is stored under {identity.near_miss!r}"
        text += f", but this client looks up {identity.looked_up!r}"
    if identity.unused_login:
        text += f"; a stored login was not used: {identity.unused_login}"
    return text


def identity_lines(report: Report) -> list[str]:
    """One line per pull, or nothing for reports written before identities were recorded."""
    return [identity_line(identity) for identity in report.identities]
