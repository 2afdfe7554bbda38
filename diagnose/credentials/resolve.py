"""Find the stored login each client would use for a registry, the way that client looks.

The strict pull reads logins as containers-image (skopeo, podman) does: ``--authfile`` or
``REGISTRY_AUTH_FILE`` alone when given, else ``$XDG_RUNTIME_DIR/containers/auth.json``,
``$XDG_CONFIG_HOME/containers/auth.json`` (``~/.config``) and then docker's ``config.json``
(containers/image pkg/docker/config/config.go ``getAuthFilePaths``). Docker's pulls read
``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json`` (docker/cli cli/config/config.go),
with ``credHelpers`` for the registry, else ``credsStore``, else ``auths``
(cli/config/configfile/file.go ``GetCredentialsStore``, ``GetAuthConfig``).

This module reads auth files and runs credential helpers; it never prints, and no message it
makes holds a secret: a ``Login`` carries the secret, ``describe`` only where it came from.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.credentials.helpers import HelperError, helper_program, run_helper
from diagnose.credentials.lookup import cimage_lookup, docker_key, docker_lookup, near_misses


class AuthFileError(ValueError):
    """An auth file that cannot be read or is not an auth file; one line, no secret."""


@dataclass(frozen=True, slots=True)
class Login:
    """A stored identity: a user and password, or an identity token (OAuth2 refresh token)."""

    username: str
    password: str
    identity_token: str | None
    origin: str  # where it came from: 'file … key "…"' or 'credential helper docker-credential-…'


@dataclass(frozen=True, slots=True)
class Found:
    """What one client's lookup found for a registry."""

    login: Login | None
    looked_up: str  # the key the client looks up
    problem: str | None = None  # a helper failed; the client would report this
    near_miss: str | None = None  # 'file … has key "…"' when only a near-miss key exists


def docker_config_files(env: Mapping[str, str]) -> tuple[Path, ...]:
    home = Path(env.get("HOME", "~")).expanduser()
    config = env.get("DOCKER_CONFIG")
    return ((Path(config) if config else home / ".docker") / "config.json",)


def cimage_auth_files(env: Mapping[str, str], auth_file: Path | None) -> tuple[Path, ...]:
    if auth_file is not None:
        return (auth_file,)
    if env.get("REGISTRY_AUTH_FILE"):
        return (Path(env["REGISTRY_AUTH_FILE"]),)
    home = Path(env.get("HOME", "~")).expanduser()
    files = []
    if env.get("XDG_RUNTIME_DIR"):
        files.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    config_home = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    files.append(config_home / "containers" / "auth.json")
    return (*files, *docker_config_files(env))


def load_auth_file(path: Path) -> dict[str, Any] | None:
    """The JSON object of an auth file; None when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise AuthFileError(f"{path} is not UTF-8 text, so not an auth file") from None
    except OSError as exc:
        raise AuthFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise AuthFileError(f"{path} is not JSON") from None
    if not isinstance(data, dict):
        raise AuthFileError(f"{path} is not an auth file (no JSON object)")
    return data


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def decode_entry(entry: object, origin: str) -> Login | None:
    """An ``auths`` entry: ``auth`` = base64(user:password), or ``username``/``password``, and
    an optional ``identitytoken``; None when it holds nothing usable (docker skips it too)."""
    if not isinstance(entry, dict):
        return None
    user, password = "", ""
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise AuthFileError(f"{origin}: the stored login is not valid base64 user:password") from None
        user, _, password = decoded.partition(":")
        password = password.strip("\x00")
    elif isinstance(entry.get("username"), str):
        user = str(entry["username"])
        stored = entry.get("password")
        password = stored if isinstance(stored, str) else ""
    token = entry.get("identitytoken")
    token = token if isinstance(token, str) and token else None
    if not user and token is None:
        return None
    if not password and token is None:
        return None
    return Login(user, password, token, origin)


def _from_helper(name: str, server: str, env: Mapping[str, str]) -> tuple[Login | None, str | None]:
    origin = f"credential helper {helper_program(name)}"
    try:
        answer = run_helper(name, server, env)
    except HelperError as exc:
        return None, str(exc)
    if answer is None:
        return None, None
    if answer.is_identity_token:
        return Login("", "", answer.secret, origin), None
    return Login(answer.username, answer.secret, None, origin), None


def find_docker(registry: str, env: Mapping[str, str]) -> Found:
    """The login docker uses for ``registry`` (its config.json, helpers included)."""
    wanted = docker_key(registry)
    keys: list[tuple[Path, str]] = []
    for path in docker_config_files(env):
        data = load_auth_file(path)
        if data is None:
            continue
        helpers, auths = _mapping(data, "credHelpers"), _mapping(data, "auths")
        store = data.get("credsStore")
        if isinstance(helpers.get(wanted), str) and helpers[wanted]:
            login, problem = _from_helper(helpers[wanted], wanted, env)
            return Found(login, wanted, problem)
        if isinstance(store, str) and store:
            login, problem = _from_helper(store, wanted, env)
            return Found(login, wanted, problem)
        key = docker_lookup(registry, auths)
        if key is not None:
            login = decode_entry(auths[key], f'{path}, key "{key}"')
            if login is not None:
                return Found(login, wanted)
        keys.extend((path, k) for k in (*auths, *helpers))
    return Found(None, wanted, near_miss=_near(registry, keys))


def find_cimage(registry: str, path_in_repo: str, env: Mapping[str, str], auth_file: Path | None) -> Found:
    """The login containers-image (skopeo, podman) uses for ``registry/path_in_repo``."""
    wanted = "docker.io" if docker_key(registry) != registry else registry
    keys: list[tuple[Path, str]] = []
    for path in cimage_auth_files(env, auth_file):
        data = load_auth_file(path)
        if data is None:
            continue
        helpers, auths = _mapping(data, "credHelpers"), _mapping(data, "auths")
        if isinstance(helpers.get(wanted), str) and helpers[wanted]:
            login, problem = _from_helper(helpers[wanted], wanted, env)
            if login is not None or problem is not None:
                return Found(login, wanted, problem)
        key = cimage_lookup(registry, path_in_repo, auths)
        if key is not None:
            login = decode_entry(auths[key], f'{path}, key "{key}"')
            if login is not None:
                return Found(login, wanted)
        keys.extend((path, k) for k in (*auths, *helpers))
    return Found(None, wanted, near_miss=_near(registry, keys))


def _near(registry: str, keys: list[tuple[Path, str]]) -> str | None:
    by_key = {key: path for path, key in keys}
    close = near_misses(registry, by_key)
    if not close:
        return None
    key = close[0]
    return f'{by_key[key]} has a login under "{key}"'
