"""Print the differential scenario table (real skopeo vs our prediction), for the README.

    python -m tests.realreg.scenario_table [--markdown] [--skopeo-only]

Starts the real-registry stack in a temporary directory (no pytest), runs every scenario
of scenarios.py with the installed skopeo and with our v2-only pull, prints one row per
scenario and stops everything again. Exit status 0 when every row matches, 1 otherwise,
2 when docker-registry or skopeo is missing. ``--skopeo-only`` skips our pull (useful
while the pullers are not importable). Registry ports differ per run and are replaced
by ``<token>``, ``<basic>``, ``<open>`` and ``<closed>`` in the output.

This module must not assert anything beyond what ``differential.Comparison`` reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.realreg.differential import VERSION_DIFFERENCES, comparable, compare, run_skopeo
from tests.realreg.registry import registry_available
from tests.realreg.scenarios import SCENARIOS
from tests.realreg.skopeo import skopeo_available, skopeo_version
from tests.realreg.stack import RealRegistries, start_stack


def _anonymise(text: str, regs: RealRegistries) -> str:
    for name in ("token", "basic", "open", "closed", "plain"):
        text = text.replace(regs.host(name), f"<{name}>")
    return text


def _cell(text: str, markdown: bool) -> str:
    text = text.replace("\n", "\\n") if not markdown else text.replace("\n", "<br>")
    return text.replace("|", "\\|") if markdown else text


def rows(regs: RealRegistries, skopeo_only: bool) -> list[tuple[str, ...]]:
    skopeo = regs.skopeo()
    out: list[tuple[str, ...]] = []
    for scenario in SCENARIOS:
        target = f"{scenario.registry} {scenario.repository}:{scenario.tag} as {scenario.identity}"
        if not scenario.with_ca:
            target += " (no CA)"
        if scenario.platform != "linux/amd64":
            target += f" [{scenario.platform}]"
        if skopeo_only:
            run = run_skopeo(skopeo, regs, scenario)
            real = "ok" if run.ok else comparable(run.message)
            ok = run.ok is scenario.expect_ok
            out.append((scenario.id, target, _anonymise(real, regs), "-", "-", "yes" if ok else "NO"))
            continue
        try:
            c = compare(skopeo, regs, scenario)
        except Exception as exc:  # a broken puller is a row, not a crash of the table
            out.append((scenario.id, target, "?", f"error: {exc!r}", "-", "NO"))
            continue
        real = "ok" if c.skopeo.ok else c.real_core
        ours = "ok" if c.result.ok else c.predicted_core
        outcome = c.result.outcome.value
        if c.evidence != outcome:
            outcome += f" (wire says {c.evidence})"
        out.append(
            (
                scenario.id,
                target,
                _anonymise(real, regs),
                _anonymise(ours, regs),
                outcome,
                "yes" if c.match else "NO",
            )
        )
    return out


def render(table: Sequence[tuple[str, ...]], markdown: bool, skopeo_only: bool) -> str:
    real = f"real {skopeo_version().replace(' version', '')}"
    header = ("scenario", "target", real, "our prediction (5.23 wording)", "outcome")
    header += ("skopeo as expected",) if skopeo_only else ("match",)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_cell(c, True) for c in row) + " |" for row in table]
        lines += ["", "Where skopeo 1.9.3 (c/image 5.23.1) and current c/image word things differently:", ""]
        lines += ["| case | skopeo 1.9.3 | current |", "|---|---|---|"]
        lines += [f"| {a} | `{b}` | `{c}` |" for a, b, c in VERSION_DIFFERENCES]
        return "\n".join(lines)
    blocks = []
    for row in table:
        blocks.append("\n".join(f"{h:>30}: {_cell(c, False)}" for h, c in zip(header, row, strict=True)))
    return "\n\n".join(blocks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.realreg.scenario_table")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--skopeo-only", action="store_true", help="run only the real skopeo")
    args = parser.parse_args(argv)
    if registry_available() is None or skopeo_available() is None:
        print("needs docker-registry and skopeo: apt-get install docker-registry skopeo", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="realreg-") as tmp, start_stack(Path(tmp)) as regs:
        table = rows(regs, args.skopeo_only)
    print(render(table, args.markdown, args.skopeo_only))
    return 0 if all(row[-1] == "yes" for row in table) else 1


if __name__ == "__main__":
    sys.exit(main())
