"""Run a docker credential helper: ``docker-credential-NAME get``, the server URL on stdin.

The protocol (docker/docker-credential-helpers client/client.go ``Get``): the program reads
the server URL from stdin and prints ``{"ServerURL": …, "Username": …, "Secret": …}``; a
``Username`` of ``<token>`` means ``Secret`` is an identity token (an OAuth2 refresh token);
"credentials not found in native keychain" (exit 1) means there is no login. Both docker and
containers-image speak it. This module runs the program and parses its answer; it never logs
or returns the secret in any message, and never raises anything but ``HelperError``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

HELPER_TIMEOUT = 10.0  # seconds; a helper that waits for a GUI prompt must not hang the run
NOT_FOUND = "credentials not found in native keychain"  # credentials/error.go errCredentialsNotFoundMessage
TOKEN_USER = "<token>"  # docker cli/config/credentials/native_store.go tokenUsername


class HelperError(Exception):
    """The helper is missing, failed or answered garbage; the message holds no secret."""


@dataclass(frozen=True, slots=True)
class HelperAnswer:
    username: str
    secret: str
    is_identity_token: bool


def helper_program(name: str) -> str:
    return f"docker-credential-{name}"


def parse_helper_output(stdout: bytes) -> HelperAnswer:
    """The JSON a helper prints for ``get``."""
    try:
        data = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HelperError("its answer is not JSON") from None
    if not isinstance(data, dict):
        raise HelperError("its answer is not a JSON object")
    username, secret = data.get("Username"), data.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str):
        raise HelperError("its answer has no Username and Secret strings")
    if username == TOKEN_USER:
        return HelperAnswer("", secret, True)
    return HelperAnswer(username, secret, False)


def run_helper(
    name: str, server_url: str, env: Mapping[str, str] | None = None, timeout: float = HELPER_TIMEOUT
) -> HelperAnswer | None:
    """Ask helper ``name`` for ``server_url``; None when it holds no login for it."""
    program = helper_program(name)
    environment = dict(os.environ if env is None else env)
    path = shutil.which(program, path=environment.get("PATH"))
    if path is None:
        raise HelperError(f'executable file "{program}" not found in $PATH')
    try:
        done = subprocess.run(
            [path, "get"],
            input=server_url.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HelperError(f"{program} get did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise HelperError(f"{program} could not be run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        said = done.stdout.decode("utf-8", "replace").strip()
        if NOT_FOUND in said:
            return None
        # The helper's own words say why; they hold no secret (it failed to find one).
        words = said.splitlines()[0][:200] if said else f"exit status {done.returncode}"
        raise HelperError(f"{program} get failed: {words}")
    return parse_helper_output(done.stdout)
