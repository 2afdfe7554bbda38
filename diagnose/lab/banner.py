"""What ``diagnose lab`` prints: where the lab listens, who may log in, what to try, and a line
for every request it answers.

The banner follows the lab's mode: the token server and anonymous "public" images exist only
with ``--auth token``; with ``--auth basic`` every image needs a lab user; with ``--auth none``
there is nobody to log in as. Modes are named by the flags that choose them (``--v1 present``),
and every example command works in the mode shown. Rendering only: this module reads a running
Lab and prints; it must not start or stop anything.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from diagnose.lab import Lab, LabAuth, LabV1
from diagnose.lab.scenarios import LabScenario
from diagnose.lab.server import ServedRequest
from diagnose.render.safe_text import printable

_AUTH_WORDS = {
    LabAuth.TOKEN: "Bearer tokens from the token server, like Docker Hub",
    LabAuth.BASIC: "Basic auth (user and password) on every request, like an htpasswd registry",
    LabAuth.NONE: "no authentication: anyone can pull anything",
}
_V1_WORDS = {
    LabV1.ABSENT: "every /v1/ path answers 404",
    LabV1.PRESENT: "a working legacy V1 API",
}


def _visibility(lab: Lab, visibility: str) -> str:
    if lab.config.auth is LabAuth.BASIC:
        return "any lab user (Basic)"
    if lab.config.auth is LabAuth.NONE:
        return "anyone"
    return visibility


def example_commands(lab: Lab) -> list[str]:
    """Commands that work against this lab in its mode (plain http on 127.0.0.1)."""
    host = lab.registry_host
    auth = lab.config.auth
    password = lab.users.get("alice", "")
    alice = f"alice:{password}"
    lines: list[str] = []
    if auth is LabAuth.TOKEN:
        lines += [
            f"diagnose compare {host}/library/thisimagedoesntexist --no-tls-verify",
            f"diagnose compare {host}/alice/private-app --no-tls-verify --creds {alice}",
            f"skopeo inspect --tls-verify=false docker://{host}/library/busybox:latest",
            f"skopeo inspect --tls-verify=false --creds {alice} docker://{host}/alice/private-app:latest",
            f"docker pull {host}/library/busybox:1.36",
        ]
    elif auth is LabAuth.BASIC:
        lines += [
            f"diagnose compare {host}/library/busybox --no-tls-verify   # anonymous: 401",
            f"diagnose compare {host}/library/busybox --no-tls-verify --creds {alice}",
            f"skopeo inspect --tls-verify=false --creds {alice} docker://{host}/library/busybox:latest",
            f"docker login -u alice {host}   # password: {password}",
            f"docker pull {host}/library/busybox:1.36",
        ]
    else:
        lines += [
            f"diagnose compare {host}/library/busybox --no-tls-verify",
            f"skopeo inspect --tls-verify=false docker://{host}/library/busybox:latest",
            f"docker pull {host}/library/busybox:1.36",
        ]
    if lab.config.v1 is LabV1.PRESENT:
        lines.append(f"diagnose compare {host}/library/oldtimer --no-tls-verify   # only on the V1 API")
    return lines


def render_lab_info(lab: Lab, console: Console) -> None:
    """Print the lab's address, mode, users, images and example commands."""
    host = lab.registry_host
    auth, v1 = lab.config.auth, lab.config.v1
    console.print(f"diagnose lab: registry {lab.registry_url}", markup=False)
    if auth is LabAuth.TOKEN:
        console.print(f"token server: {lab.token_url}", markup=False)
    console.print(f"--auth {auth.value}: {_AUTH_WORDS[auth]}", markup=False)
    console.print(f"--v1 {v1.value}: {_V1_WORDS[v1]}", markup=False)
    console.print("127.0.0.1 only; Ctrl-C stops; every request is logged below", markup=False)
    if auth is not LabAuth.NONE:
        users = Table(title="users", show_header=True)
        users.add_column("user")
        users.add_column("password")
        for name, password in lab.users.items():
            users.add_row(name, password)
        console.print(users)
    images = Table(title=f"images on {host}", show_header=True)
    # References are meant to be copied: fold them, never cut them with an ellipsis.
    images.add_column("reference", no_wrap=True)
    for column in ("who may pull", "protocols", "what it shows"):
        images.add_column(column, overflow="fold")
    for image in lab.images():
        if v1 is LabV1.ABSENT and "v2" not in image.protocols:
            continue  # a V1-only image cannot be pulled without --v1 present
        images.add_row(
            f"{image.repo}:{image.tag}",
            _visibility(lab, image.visibility),
            ", ".join(image.protocols),
            image.description,
        )
    console.print(images)
    console.print("try:", markup=False)
    for line in example_commands(lab):
        console.print(f"  {line}", markup=False, soft_wrap=True)
    console.print(
        "  (docker treats 127.0.0.0/8 as an insecure registry: plain http needs no daemon setting)",
        markup=False,
        soft_wrap=True,
    )


def request_line(served: ServedRequest, now: float | None = None) -> str:
    """``12:00:01 registry GET /v2/ → 401``: one line per request the lab answered."""
    stamp = time.strftime("%H:%M:%S", time.localtime(now if now is not None else time.time()))
    # The request line came from whoever connected: control characters are shown, not obeyed.
    path = printable(served.path)
    return f"{stamp} {served.server:<8} {printable(served.method)} {path} → {served.status}"


def render_scenario(lab: Lab, scenario: LabScenario, console: Console) -> None:
    """What to pull from a lab serving one scenario, and the rule that explains it."""
    host = lab.registry_host
    if scenario.refused:
        from diagnose.lab.server import closed_port

        host = f"{lab.config.host}:{closed_port(lab.config.host)}"
    creds = scenario.credentials(lab.users)
    flags = "" if scenario.tls_verify else " --no-tls-verify"
    if creds is not None:
        flags += f" --creds {creds[0]}:{creds[1]}"
    console.print(f"scenario {scenario.name}: {scenario.summary}", markup=False, soft_wrap=True)
    console.print(f"  diagnose compare {host}/{scenario.path}{flags}", markup=False, soft_wrap=True)
    console.print(f"  expected diagnosis: {scenario.rule}", markup=False)
