"""Credentials from docker / podman login state (auth files), for ``compare --use-login``.

Reads the auth files that ``docker login`` and ``podman login`` write: ``auths`` entries keyed
by registry host, each with ``auth`` = base64(``user:password``) (docker/cli
cli/config/configfile/file.go; containers/image pkg/docker/config/config.go). Credential helpers
(``credsStore`` / ``credHelpers``) run external programs, which diagnose does not do; such an
entry is reported as a one-line error instead.

This module reads files and nothing else; it never prints and never logs a password.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class CredentialsError(ValueError):
    """A login state that cannot be used; the message is one line and holds no secret."""


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    username: str
    password: str
    source: str  # the file it came from


def default_auth_files(env: Mapping[str, str]) -> tuple[Path, ...]:
    """Where podman/skopeo and docker keep logins, in the order containers-image reads them."""
    files: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("XDG_RUNTIME_DIR"):
        files.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    home = Path(env.get("HOME", "~")).expanduser()
    files.append(home / ".config" / "containers" / "auth.json")
    docker_config = env.get("DOCKER_CONFIG")
    files.append((Path(docker_config) if docker_config else home / ".docker") / "config.json")
    return tuple(files)


def auth_keys(registry: str) -> tuple[str, ...]:
    """The keys a login for ``registry`` may be stored under (docker.io has legacy forms)."""
    if registry in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        return ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
    return (registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/")


def _decode(entry: Mapping[str, object], path: Path) -> StoredCredentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsError(f"{path}: a stored login is not valid base64 user:password") from None
        user, sep, password = decoded.partition(":")
        if not sep or not user:
            raise CredentialsError(f"{path}: a stored login has no user name")
        return StoredCredentials(user, password, str(path))
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and name and isinstance(secret, str):
        return StoredCredentials(name, secret, str(path))
    return None


def find_login(registry: str, files: Sequence[Path]) -> StoredCredentials | None:
    """The first stored login for ``registry`` in ``files``; None when there is none."""
    keys = auth_keys(registry)
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CredentialsError(f"{path} is not UTF-8 text, so not an auth file") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise CredentialsError(f"{path} is not JSON") from None
        if not isinstance(data, dict):
            raise CredentialsError(f"{path} is not an auth file (no JSON object)")
        helpers = data.get("credHelpers")
        if isinstance(helpers, dict) and any(key in helpers for key in keys):
            raise CredentialsError(
                f"{path}: the login for {registry} is kept by a credential helper; pass --creds instead"
            )
        auths = data.get("auths")
        if isinstance(auths, dict):
            for key in keys:
                entry = auths.get(key)
                if isinstance(entry, dict):
                    found = _decode(entry, path)
                    if found is not None:
                        return found
        if isinstance(data.get("credsStore"), str):
            store = data["credsStore"]
            raise CredentialsError(
                f"{path}: logins are kept by the credential store {store!r}; pass --creds instead"
            )
    return None


def login_for(
    registry: str, auth_file: Path | None, env: Mapping[str, str] | None = None
) -> StoredCredentials | None:
    """Look up ``registry`` in ``auth_file`` or, without one, in the default places."""
    files = (
        (auth_file,)
        if auth_file is not None
        else default_auth_files(dict(os.environ) if env is None else env)
    )
    if auth_file is not None and not auth_file.is_file():
        raise CredentialsError(f"--auth-file {auth_file}: no such file")
    return find_login(registry, files)
