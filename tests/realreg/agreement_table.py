"""Print, for each real client, whether diagnose's prediction matches what it printed.

    python -m tests.realreg.agreement_table [--markdown]

Starts the real-registry stack, a private dockerd and a private containerd, runs every
scenario of scenarios.py with podman, buildah, docker 20.10 and ctr, predicts each with the
matching client model, and prints one table per real client (the README's agreement tables).
Registry ports are replaced by ``<token>``, ``<basic>``, ``<open>``, ``<closed>``, ``<plain>``.
Exit status 0 when every row agrees or is a documented known difference, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from tests.realreg.agreement import KNOWN_DIFFERENCES, PAIRS, Agreement, agreement, predictions
from tests.realreg.real_clients import ClientRun, ContainersTool, start_containerd, start_dockerd
from tests.realreg.scenarios import SCENARIOS, Scenario
from tests.realreg.stack import RealRegistries, start_stack


def _anonymise(text: str, regs: RealRegistries) -> str:
    for name in ("token", "basic", "open", "closed", "plain"):
        text = text.replace(regs.host(name), f"<{name}>")
    return text


def _cell(text: str, markdown: bool) -> str:
    if not markdown:
        return text.replace("\n", "\\n")
    return text.replace("|", "\\|").replace("\n", "<br>") or "(pulled)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, list[tuple[Scenario, Agreement]]] = {client: [] for client in PAIRS}
    with tempfile.TemporaryDirectory(prefix="agreement-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        regs = stack.enter_context(start_stack(root / "stack"))
        tools = {name: ContainersTool(name, root / name, regs.cert_dir) for name in ("podman", "buildah")}
        dockerd = stack.enter_context(start_dockerd(root / "dockerd"))
        ctrd = stack.enter_context(start_containerd(root / "containerd", regs.ca_cert))
        for scenario in SCENARIOS:
            ref, creds = scenario.ref(regs), scenario.creds(regs)
            platform = scenario.platform if scenario.platform != "linux/amd64" else None
            models = tuple(dict.fromkeys(model for model, _ in PAIRS.values()))
            predicted = predictions(regs, scenario, models)
            for client, (model, _) in PAIRS.items():
                run: ClientRun
                if client in tools:
                    run = tools[client].pull(ref, creds, with_ca=scenario.with_ca, platform=platform)
                elif client == "docker":
                    run = dockerd.pull(ref, creds, platform=platform)
                else:
                    run = ctrd.pull(ref, creds, with_ca=scenario.with_ca, platform=platform)
                results[client].append((scenario, agreement(scenario, run, predicted[model])))
    failures = 0
    for client, rows in results.items():
        model = PAIRS[client][0]
        agreeing = sum(1 for _, a in rows if a.agrees)
        print(f"\n#### {client} vs `{model}`: {agreeing} of {len(rows)} agree\n")
        if args.markdown:
            print("| scenario | what the real client printed (wrapper removed) | prediction |")
            print("|---|---|---|")
        for scenario, result in rows:
            known = KNOWN_DIFFERENCES.get((client, scenario.id))
            verdict = "same" if result.agrees else ("known difference" if known else "DIFFERENT")
            if not result.agrees and not known:
                failures += 1
            real = _cell(_anonymise(result.real, regs), args.markdown)
            if args.markdown:
                print(f"| {scenario.id} | {real} | {verdict} |")
            else:
                print(f"  {scenario.id:24} {verdict:16} {real}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
