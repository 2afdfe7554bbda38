"""Print what the real clients (podman, buildah, docker 20.10, ctr) print for every scenario.

    python -m tests.realreg.real_client_table [--json FILE]

Starts the real-registry stack, a private dockerd and a private containerd in a temporary
directory, pulls every scenario of scenarios.py with each real client and prints one block
per scenario: each client's exit code and its message with the command's wrapper removed.
Registry ports are replaced by ``<token>``, ``<basic>``, ``<open>`` and ``<closed>``. Used to
collect ground truth for the client models; it asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

from tests.realreg.real_clients import (
    ClientRun,
    ContainersTool,
    available,
    start_containerd,
    start_dockerd,
)
from tests.realreg.scenarios import SCENARIOS
from tests.realreg.stack import RealRegistries, start_stack


def anonymise(text: str, regs: RealRegistries) -> str:
    for name in ("token", "basic", "open", "closed", "plain"):
        text = text.replace(regs.host(name), f"<{name}>")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    have = available()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="realclients-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        regs = stack.enter_context(start_stack(root / "stack"))
        podman = ContainersTool("podman", root / "podman", regs.cert_dir) if have["podman"] else None
        dockerd = stack.enter_context(start_dockerd(root / "dockerd")) if have["docker"] else None
        ctrd = (
            stack.enter_context(start_containerd(root / "containerd", regs.ca_cert))
            if have["containerd"]
            else None
        )
        for scenario in SCENARIOS:
            if scenario.platform != "linux/amd64":
                continue
            ref = scenario.ref(regs)
            creds = scenario.creds(regs)
            runs: list[ClientRun] = []
            if podman is not None:
                runs.append(podman.pull(ref, creds, with_ca=scenario.with_ca))
            if dockerd is not None:
                runs.append(dockerd.pull(ref, creds))
            if ctrd is not None:
                runs.append(ctrd.pull(ref, creds, with_ca=scenario.with_ca))
            print(f"== {scenario.id}: {anonymise(ref, regs)} as {scenario.identity}")
            for run in runs:
                print(f"   {run.client:7} rc={run.returncode}: {anonymise(run.message, regs)}")
                results.append(
                    {
                        "scenario": scenario.id,
                        "client": run.client,
                        "rc": run.returncode,
                        "message": anonymise(run.message, regs),
                        "stderr": anonymise(run.stderr, regs),
                    }
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
