"""Stored logins and identities, found the way each client finds them.

- ``files``: the old single-file lookup (``login_for``), kept for its callers;
- ``lookup``: which key docker and containers-image look up, and near-miss keys (pure);
- ``helpers``: ``docker-credential-NAME get`` (runs a program, 10 s limit);
- ``resolve``: the login one client would use (reads auth files, runs helpers);
- ``identity``: one identity per pull, for ``run.compare``.

Nothing here prints or returns a secret in a message.
"""

from __future__ import annotations

from diagnose.credentials.files import (
    CredentialsError,
    StoredCredentials,
    auth_keys,
    default_auth_files,
    find_login,
    login_for,
)

__all__ = [
    "CredentialsError",
    "StoredCredentials",
    "auth_keys",
    "default_auth_files",
    "find_login",
    "login_for",
]
