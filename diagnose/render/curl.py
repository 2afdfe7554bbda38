"""Reproduce a step by hand: the ``curl`` command that sends what a recorded exchange sent.

A support engineer pastes these into a shell on the user's machine: the token request, the
manifest request with its ``Accept`` list, the blob ``HEAD``. Secrets are never inline: Basic
credentials are ``-u "$REGISTRY_USER:$REGISTRY_PASSWORD"`` and a bearer token is
``-H "Authorization: Bearer $TOKEN"``, which the token command sets. Pure functions of recorded
(already redacted) exchanges; this module must not send anything or read the environment.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from diagnose.model import Exchange, FailureKind, header_value, header_values

USER_VAR = "REGISTRY_USER"
PASSWORD_VAR = "REGISTRY_PASSWORD"
TOKEN_VAR = "TOKEN"

_KEPT_HEADERS = ("Accept", "X-Docker-Token", "Content-Type")
"""Request headers a registry's answer depends on; User-Agent and Accept-Encoding are noise."""


def _is_token_request(exchange: Exchange) -> bool:
    return exchange.step.strip().lower().startswith("token")


def curl_command(exchange: Exchange, *, insecure: bool = False) -> str:
    """One shell command (``\\``-continued lines) that repeats ``exchange``'s request."""
    request = exchange.request
    method = request.method.upper()
    args: list[str] = ["curl", "-sS"]
    if method == "HEAD":
        args.append("-I")
    else:
        args.append("-i")
        if method != "GET":
            args += ["-X", method]
    if insecure and request.url.startswith("https:"):
        args.append("-k")
    lines = [" ".join(args)]
    authorization = header_value(request.headers, "Authorization") or ""
    scheme = authorization.split(" ", 1)[0].lower()
    if scheme == "basic":
        lines.append(f'-u "${USER_VAR}:${PASSWORD_VAR}"')
    elif scheme == "bearer":
        lines.append(f'-H "Authorization: Bearer ${TOKEN_VAR}"')
    elif authorization:
        lines.append(
            f"-H {shlex.quote('Authorization: ' + scheme.capitalize() + ' …')}  # V1 token, not kept"
        )
    for name in _KEPT_HEADERS:
        for value in header_values(request.headers, name):
            lines.append(f"-H {shlex.quote(f'{name}: {value}')}")
    if request.body:
        body = request.body
        if "password=" in body:
            # A token POST (OAuth2 password grant): the password comes from the environment.
            fields = [
                f"password=${PASSWORD_VAR}" if f.startswith("password=") else f for f in body.split("&")
            ]
            lines.append(f'--data "{"&".join(fields)}"')
        else:
            lines.append(f"--data {shlex.quote(body)}")
    lines.append(shlex.quote(request.url))
    command = " \\\n  ".join(lines)
    if _is_token_request(exchange) and method in ("GET", "POST"):
        # Keep the token for the next commands; jq reads Docker's "token" or OAuth's "access_token".
        quiet = command.replace("curl -sS -i", "curl -sS", 1)
        command = f"export {TOKEN_VAR}=\"$({quiet} \\\n  | jq -r '.token // .access_token')\""
    return command


def curl_note(exchange: Exchange) -> str | None:
    """Why the command may not reproduce the recorded answer, if there is a reason."""
    if exchange.failure is not None and exchange.failure.kind is FailureKind.CLIENT_SIDE:
        return "the client did not send this request; the command shows what it would have sent"
    if "<redacted" in exchange.request.url:
        return "the URL's signature was redacted: ask the registry for a fresh redirect"
    return None


def curl_script(exchanges: Sequence[Exchange], *, insecure: bool = False) -> str:
    """The commands for a pull's exchanges, in order, each under a comment naming its step."""
    blocks: list[str] = []
    needs_user = needs_token = False
    for exchange in exchanges:
        command = curl_command(exchange, insecure=insecure)
        needs_user = needs_user or f"${USER_VAR}" in command
        needs_token = needs_token or f"Bearer ${TOKEN_VAR}" in command
        note = curl_note(exchange)
        head = f"# #{exchange.id} {exchange.step}" + (f" ({note})" if note else "")
        blocks.append(f"{head}\n{command}")
    header: list[str] = []
    if needs_user:
        header.append(f"# set {USER_VAR} and {PASSWORD_VAR} first (read -s {PASSWORD_VAR}; export it)")
    if needs_token:
        header.append(f"# {TOKEN_VAR} is set by the token command below")
    return "\n\n".join(["\n".join(header), *blocks] if header else blocks)
