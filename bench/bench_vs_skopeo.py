"""Speed and memory of a diagnose pull against real skopeo, measured in the same run.

    python bench/bench_vs_skopeo.py [--runs 15]

Starts the built-in lab on 127.0.0.1 (plain HTTP, so skopeo runs with --tls-verify=false),
then times, for the same image:

- ``skopeo inspect --raw`` (subprocess: manifest only) and ``skopeo inspect`` (manifest + config);
- ``python -m diagnose compare --json`` (subprocess: BOTH pulls, every exchange recorded);
- the v2-only pull alone, in-process (what diagnose adds on top of Python start-up).

It prints medians, peak RSS of each subprocess (ru_maxrss from wait4) and ratios against
skopeo. Figures, not assertions: nothing here fails on a slow machine. Only 127.0.0.1 traffic.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from diagnose.lab import LabConfig, start_lab
from diagnose.model import Strategy
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.run import run_pull
from diagnose.transport import TransportOptions


def run_child(argv: Sequence[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in KiB, exit code of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, int(usage.ru_maxrss), child.returncode


def measure(name: str, argv: Sequence[str], runs: int, env: dict[str, str]) -> tuple[str, float, int]:
    times, peaks = [], []
    for _ in range(runs):
        elapsed, peak, code = run_child(argv, env)
        if code not in (0, 1):
            raise SystemExit(f"{name}: exit code {code}: {' '.join(argv)}")
        times.append(elapsed)
        peaks.append(peak)
    return name, statistics.median(times), max(peaks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        print("skopeo is not installed (apt-get install skopeo): nothing to compare against", file=sys.stderr)
        return 2
    home = tempfile.mkdtemp(prefix="bench-home-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
    env_py = {**env, "PYTHONPATH": os.pathsep.join(sys.path)}
    rows: list[tuple[str, float, int]] = []
    with start_lab(LabConfig()) as lab:
        image = f"{lab.registry_host}/library/busybox:1.36"
        skopeo_base = [skopeo, "inspect", "--tls-verify=false", "--retry-times", "0"]
        raw = [*skopeo_base, "--raw", f"docker://{image}"]
        rows.append(measure("skopeo inspect --raw", raw, args.runs, env))
        rows.append(measure("skopeo inspect", [*skopeo_base, f"docker://{image}"], args.runs, env))
        diagnose_argv = [sys.executable, "-m", "diagnose", "compare", image, "--no-tls-verify", "--json"]
        rows.append(measure("diagnose compare (both pulls)", diagnose_argv, args.runs, env_py))
        ref = parse_reference(image)
        in_process = []
        for _ in range(args.runs):
            started = time.perf_counter()
            options = PullOptions(tls_verify=False)
            result = run_pull(ref, Strategy.V2_ONLY, options, TransportOptions(timeout=10))
            in_process.append(time.perf_counter() - started)
            assert result.ok, result.message
    shutil.rmtree(home, ignore_errors=True)
    reference_time = rows[1][1]
    reference_rss = rows[1][2]
    print(f"{'what':<34} {'median ms':>10} {'x skopeo':>9} {'peak RSS MiB':>13} {'x skopeo':>9}")
    for name, seconds, peak in rows:
        print(
            f"{name:<34} {seconds * 1000:>10.1f} {seconds / reference_time:>9.2f}"
            f" {peak / 1024:>13.1f} {peak / reference_rss:>9.2f}"
        )
    median_in = statistics.median(in_process)
    print(f"{'v2-only pull, in-process':<34} {median_in * 1000:>10.1f} {median_in / reference_time:>9.2f}")
    print(f"({args.runs} runs each; lab on {lab.registry_host}; 'x skopeo' is relative to `skopeo inspect`)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
