"""The banner ``diagnose lab`` prints: where the lab listens, who may log in, what to try.

Rendering only: it reads a running Lab and prints; it must not start or stop anything.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from diagnose.lab import Lab
from diagnose.lab.scenarios import LabScenario


def render_lab_info(lab: Lab, console: Console) -> None:
    """Print ports, users, images and example commands for a running lab."""
    host = lab.registry_host
    console.print(f"diagnose lab: registry {lab.registry_url}", markup=False)
    console.print(f"token server: {lab.token_url}", markup=False)
    console.print(
        f"auth: {lab.config.auth.value}   V1 API: {lab.config.v1.value}   (127.0.0.1 only; Ctrl-C stops)",
        markup=False,
    )
    users = Table(title="users", show_header=True)
    users.add_column("user")
    users.add_column("password")
    for name, password in lab.users.items():
        users.add_row(name, password)
    console.print(users)
    images = Table(title=f"images on {host}", show_header=True)
    # References are meant to be copied: fold them, never cut them with an ellipsis.
    images.add_column("reference", no_wrap=True)
    for column in ("visibility", "protocols", "what it shows"):
        images.add_column(column, overflow="fold")
    for image in lab.images():
        images.add_row(
            f"{image.repo}:{image.tag}",
            image.visibility,
            ", ".join(image.protocols),
            image.description,
        )
    console.print(images)
    console.print("try:", markup=False)
    alice = f"alice:{lab.users.get('alice', '')}"
    for line in (
        f"diagnose compare {host}/library/thisimagedoesntexist --no-tls-verify   # plain http",
        f"diagnose compare {host}/alice/private-app --no-tls-verify --creds {alice}",
        f"skopeo inspect --tls-verify=false docker://{host}/library/busybox:latest",
        f"docker pull {host}/library/busybox:1.36   # 127.0.0.0/8 is an insecure registry for docker",
    ):
        console.print(f"  {line}", markup=False, soft_wrap=True)


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
