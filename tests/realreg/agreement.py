"""Compare what diagnose predicts a client prints with what the real client printed.

For one scenario: run the pulls the chosen client models read (with the same identity, CA
and platform the real client got), predict each model's message, and reduce both sides to
the comparable core: the client's progress lines ("Trying to pull …", "Using default tag")
and the wrapper its command adds (``Error: ``, ``Error response from daemon: ``, ``ctr: ``)
are removed, so the registry-facing text is what is compared.

Used by tests/test_real_clients.py and ``python -m tests.realreg.agreement_table``. This
module must not start registries or daemons (the callers do) nor assert anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diagnose.clients.catalogue import BY_ID, predict_all
from diagnose.http import TransportOptions
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pulls
from tests.realreg.real_clients import ClientRun
from tests.realreg.scenarios import Scenario
from tests.realreg.stack import RealRegistries

# real command -> the model that predicts it, and the wrapper that command puts before errors
PAIRS: dict[str, tuple[str, str]] = {
    "podman": ("containers-image-5.23", "Error: "),
    "buildah": ("containers-image-5.23", "Error: "),
    "docker": ("docker-20.10", "Error response from daemon: "),
    "ctr": ("containerd", "ctr: "),
}

# (real client, scenario) -> why the model does not (yet) print what that client prints. The
# test marks these xfail(strict): fixing the model makes the test fail until the row goes.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("docker", "basic-anon"): (
        "a race, not a model: docker falls back to plain http on the TLS port; Go's TLS server "
        "answers 400 'Client sent an HTTP request to an HTTPS server' and closes with the rest of "
        "the request unread, so the kernel resets the connection. Go's client usually sees the "
        "reset first, diagnose's recording client read the 400"
    ),
    ("buildah", "no-matching-platform"): (
        'as for podman: buildah pull goes through copy.Image ("choosing an image from manifest list …")'
    ),
    ("podman", "no-matching-platform"): (
        'the containers-image models word `skopeo inspect` ("initializing source …: choosing image '
        'instance: …"); podman pull and skopeo copy go through copy.Image, which prints '
        '"choosing an image from manifest list docker://…: …"'
    ),
}

_PULLING_FROM = re.compile(r"^\S+: Pulling from \S+$")  # docker's progress line (stdout)
_PROGRESS = ("Trying to pull ", "Using default tag", "time=", "level=", "WARN[")


def core(text: str, wrapper: str) -> str:
    """The registry-facing part of a client's output: no progress lines, no command wrapper."""
    lines = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith(_PROGRESS) and not _PULLING_FROM.match(line)
    ]
    joined = "\n".join(lines).strip()
    return joined.removeprefix(wrapper).strip()


@dataclass(frozen=True, slots=True)
class Agreement:
    scenario: str
    real_client: str
    model: str
    real_ok: bool
    predicted_ok: bool
    real: str  # core of what the real client printed ("" when it succeeded)
    predicted: str  # core of the model's message

    @property
    def agrees(self) -> bool:
        if self.real_ok or self.predicted_ok:
            return self.real_ok == self.predicted_ok
        return self.real == self.predicted


def predictions(
    regs: RealRegistries, scenario: Scenario, model_ids: tuple[str, ...]
) -> dict[str, tuple[int, str]]:
    """model id -> (exit code, message) for ``scenario``, from diagnose's own pulls."""
    models = [BY_ID[m] for m in model_ids]
    strategies = tuple(dict.fromkeys(m.strategy for m in models))
    ref = parse_reference(scenario.ref(regs))
    # The real ctr gets a hosts.toml with ``server = "https://HOST"`` (real_clients.Containerd).
    options = PullOptions(
        credentials=scenario.creds(regs),
        platform=scenario.platform,
        containerd_server=f"https://{regs.host(scenario.registry)}",
    )
    verify: bool | str = str(regs.ca_cert) if scenario.with_ca else True
    pulls = run_pulls(ref, options, TransportOptions(verify=verify, timeout=20), strategies)
    return {p.client: (p.exit_code, p.message) for p in predict_all(pulls, ref, scenario.platform, model_ids)}


def agreement(scenario: Scenario, run: ClientRun, predicted: tuple[int, str]) -> Agreement:
    model, wrapper = PAIRS[run.client]
    exit_code, message = predicted
    return Agreement(
        scenario=scenario.id,
        real_client=run.client,
        model=model,
        real_ok=run.ok,
        predicted_ok=exit_code == 0,
        real="" if run.ok else core(run.stderr, wrapper),
        predicted="" if exit_code == 0 else core(message, wrapper),
    )
