"""diagnose beside skopeo on the same real registry, in one run: speed, round trips, memory.

    python -m bench.bench_vs_skopeo [--runs 5] [--rtts 0,25,100] [--layer-mib 1024]
                                    [--batch 200 --jobs 8] [--markdown BENCHMARKS.md]

Starts the test suite's real distribution registry and token server (``tests/realreg``), each
behind a user-space latency proxy (``bench/latency_proxy.py``: every chunk RTT/2 late per
direction, one more RTT per new connection), and measures, alternating the two tools so
that machine noise hits both alike:

1. ``diagnose --version`` vs ``python -c pass`` (the same interpreter);
2. per RTT: ``diagnose compare`` (one pull per client family, every exchange recorded) vs ``skopeo inspect``
   on the same image: median wall time, peak RSS (``wait4``), their ratio;
3. ``diagnose compare --layers`` on an image with one large layer, the strict pull alone writing
   it to ``--output`` vs ``skopeo copy`` to a ``dir:`` (the same work): throughput and peak RSS;
   then every pull reading it: the bytes verified per second;
4. ``diagnose compare --file`` with N references and ``--jobs`` vs a sequential loop of
   ``skopeo inspect`` over the same list.

Figures, not assertions: nothing here fails on a slow machine. Only 127.0.0.1 traffic.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.stack import BATCH_IMAGES, BIG, SMALL, BenchRegistry, bench_registry

ROOT = Path(__file__).resolve().parent.parent
TIME = "/usr/bin/time"  # GNU time (Debian package "time")


@dataclass(frozen=True, slots=True)
class Child:
    seconds: float
    peak_kib: int
    code: int
    cpu: float = 0.0  # user + system seconds: what the run cost the machine, load or not


def run_child(argv: Sequence[str], env: dict[str, str]) -> Child:
    """Wall seconds, peak RSS (KiB) and exit code of one child process.

    The peak comes from GNU ``time`` (``%M``): Linux keeps the forking process's RSS high-water
    mark across ``exec``, so ``wait4`` on a child of this (large) process would report at least
    this process's own peak. ``time`` is small, and it is the one that forks the child.
    """
    with tempfile.NamedTemporaryFile("r", prefix="bench-rss-", suffix=".txt") as rss:
        started = time.perf_counter()
        done = subprocess.run(
            [TIME, "-f", "%M %U %S", "-o", rss.name, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - started
        text = rss.read().strip().splitlines()
    fields = text[-1].split() if text else []
    try:
        peak, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    except (IndexError, ValueError):
        peak, cpu = 0, 0.0
    return Child(seconds, peak, done.returncode, cpu)


@dataclass(frozen=True, slots=True)
class Pair:
    label: str
    ours: list[Child]
    theirs: list[Child]

    @staticmethod
    def median(children: list[Child]) -> float:
        return statistics.median(c.seconds for c in children)

    @property
    def ratio(self) -> float:
        return self.median(self.ours) / self.median(self.theirs)


def alternate(
    label: str,
    ours: Sequence[str],
    theirs: Sequence[str],
    runs: int,
    env_ours: dict[str, str],
    env_theirs: dict[str, str],
) -> Pair:
    """``runs`` pairs, alternating which tool goes first; every exit code must be 0."""
    mine: list[Child] = []
    other: list[Child] = []
    for number in range(runs):
        order = [(ours, env_ours, mine), (theirs, env_theirs, other)]
        if number % 2:
            order.reverse()
        for argv, env, into in order:
            child = run_child(argv, env)
            if child.code != 0:
                raise SystemExit(f"{label}: exit code {child.code}: {' '.join(argv)}")
            into.append(child)
    return Pair(label, mine, other)


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def peak_of(children: Sequence[Child]) -> str:
    cpu = statistics.median(c.cpu for c in children)
    return f"peak {mib(max(c.peak_kib for c in children))}, CPU {cpu:.2f} s"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    skopeo = subprocess.run(
        ["skopeo", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, {skopeo}, load average {load} at the start"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="pairs per figure (median)")
    parser.add_argument("--rtts", default="0,25,100", help="round trips to emulate, ms")
    parser.add_argument("--layer-mib", type=int, default=1024, help="size of the large layer (0: skip)")
    parser.add_argument("--batch", type=int, default=200, help="references in the batch (0: skip)")
    parser.add_argument("--batch-rtt", type=float, default=25.0, help="RTT for the batch figure, ms")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--markdown", type=Path, help="also write the results as Markdown to this file")
    args = parser.parse_args()
    if not all(shutil.which(tool) for tool in ("skopeo", "docker-registry", TIME)):
        print("needs skopeo, docker-registry and GNU time (apt-get install skopeo docker-registry time)")
        return 2
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"machine: {machine()}")
    work = Path(tempfile.mkdtemp(prefix="diagnose-bench-"))
    env_py = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work / "home"),
        "PYTHONPATH": str(ROOT),
        "LANG": "C.UTF-8",
    }
    python = sys.executable
    diagnose = [python, "-m", "diagnose"]
    # Bytecode as `pip install` leaves it: otherwise the first runs compile ~100 modules
    # (0.25 s) and a PYTHONDONTWRITEBYTECODE environment would make every run pay it.
    subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "diagnose")], check=True)
    try:
        # 1. start-up
        pair = alternate(
            "start-up",
            [*diagnose, "--version"],
            [python, "-c", "pass"],
            max(args.runs, 5) * 2,
            env_py,
            env_py,
        )
        say()
        say("| figure | diagnose | baseline | ratio |")
        say("|---|---|---|---|")
        say(
            f"| `diagnose --version` vs `python -c pass` | {pair.median(pair.ours) * 1000:.0f} ms "
            f"| {pair.median(pair.theirs) * 1000:.0f} ms | {pair.ratio:.2f}× |"
        )
        with bench_registry(work / "stack", big_layer_bytes=args.layer_mib * 1024 * 1024) as registry:
            run_figures(registry, args, env_py, diagnose, say, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.markdown is not None:
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


def run_figures(
    registry: BenchRegistry,
    args: argparse.Namespace,
    env_py: dict[str, str],
    diagnose: list[str],
    say: object,
    work: Path,
) -> None:
    assert callable(say)
    skopeo_env = registry.skopeo.env()
    small = f"{registry.host}/{SMALL}"
    ca = ["--ca-cert", str(registry.ca_cert)]
    skopeo_inspect = [
        registry.skopeo.binary,
        "inspect",
        "--retry-times",
        "0",
        "--no-tags",
        "--no-creds",
        "--cert-dir",
        str(registry.cert_dir),
    ]
    # 2. one reference, several round-trip times: every client family's pull (the default),
    # then the strict pull alone (`--clients containers-image-current`: skopeo's own work)
    strict = "containers-image-current"
    shapes: tuple[tuple[str, list[str]], ...] = (
        ("every client family's pull", []),
        (f"the strict pull alone, `--clients {strict}`", ["--clients", strict]),
    )
    for rtt in (float(x) for x in args.rtts.split(",")):
        registry.set_rtt(rtt)
        for label, extra in shapes:
            pair = alternate(
                f"compare rtt={rtt:g} {' '.join(extra)}",
                [*diagnose, "compare", small, *ca, *extra, "--json"],
                [*skopeo_inspect, f"docker://{small}"],
                args.runs,
                env_py,
                skopeo_env,
            )
            say(
                f"| `compare` ({label}) vs `skopeo inspect`, RTT {rtt:g} ms "
                f"| {pair.median(pair.ours):.3f} s, {peak_of(pair.ours)} "
                f"| {pair.median(pair.theirs):.3f} s, {peak_of(pair.theirs)} "
                f"| {pair.ratio:.2f}× |"
            )
    registry.set_rtt(0)
    # 3. one large layer, streamed and verified
    if registry.big_layer_bytes:
        big = f"{registry.direct_host}/{BIG}"  # no proxy: the proxy itself would be the bottleneck
        copies = work / "copies"
        copies.mkdir(parents=True, exist_ok=True)
        ours: list[Child] = []
        theirs: list[Child] = []
        for number in range(max(1, args.runs // 2)):
            target = copies / f"dir-{number}"
            shutil.rmtree(target, ignore_errors=True)
            copy = [
                registry.skopeo.binary,
                "--insecure-policy",
                "copy",
                "--retry-times",
                "0",
                "--src-no-creds",
                "--src-cert-dir",
                str(registry.cert_dir),
                f"docker://{big}",
                f"dir:{target}",
            ]
            # The same work as `skopeo copy … dir:`: one pull (the strict one, skopeo's own
            # library) reads, verifies and writes the layer (--output).
            mine = copies / f"ours-{number}"
            shutil.rmtree(mine, ignore_errors=True)
            alone = ["--clients", "containers-image-current", "--output", str(mine), "--timeout", "600"]
            order = [
                ([*diagnose, "compare", big, *ca, "--layers", *alone, "--json"], env_py, ours),
                (copy, skopeo_env, theirs),
            ]
            if number % 2:
                order.reverse()
            for argv, env, into in order:
                child = run_child(argv, env)
                if child.code != 0:
                    raise SystemExit(f"layers: exit code {child.code}: {' '.join(argv)}")
                into.append(child)
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(mine, ignore_errors=True)
        size = registry.big_layer_bytes / (1024 * 1024)
        ours_rate = size / Pair.median(ours)
        theirs_rate = size / Pair.median(theirs)
        ours_text = f"{Pair.median(ours):.2f} s = {ours_rate:.0f} MiB/s, {peak_of(ours)}"
        theirs_text = f"{Pair.median(theirs):.2f} s = {theirs_rate:.0f} MiB/s, {peak_of(theirs)}"
        say(
            f"| `compare --layers --clients containers-image-current --output DIR` ({size:.0f} MiB "
            f"layer read, verified and written once) vs `skopeo copy` to `dir:`, no proxy "
            f"| {ours_text} | {theirs_text} | throughput {ours_rate / theirs_rate:.2f}× |"
        )
        # Every pull reads the layer (four client families): the bytes verified per second.
        every = run_child([*diagnose, "compare", big, *ca, "--layers", "--timeout", "600", "--json"], env_py)
        if every.code != 0:
            raise SystemExit(f"layers, every pull: exit code {every.code}")
        readers = 3  # v2-only, v2-then-v1, docker-endpoints (containerd's plain-HTTP try fails here)
        verified = size * readers / every.seconds
        say(
            f"| `compare --layers`, every pull reading the layer ({size:.0f} MiB each) "
            f"| {every.seconds:.2f} s, peak {mib(every.peak_kib)}, CPU {every.cpu:.1f} s | — "
            f"| {verified:.0f} MiB/s verified in all |"
        )
    # 4. a batch of references
    if args.batch:
        registry.set_rtt(args.batch_rtt)
        refs = work / "refs.txt"
        names = [f"{registry.host}/{BATCH_IMAGES[i % len(BATCH_IMAGES)]}" for i in range(args.batch)]
        refs.write_text("\n".join(names) + "\n", encoding="utf-8")
        # The two original pulls, as the figure says: containerd's pull tries plain HTTP on a
        # 127.0.0.1 registry and fails on this TLS one, which would make the batch exit 1.
        both = ["--clients", "containers-image-current,docker-1.12"]
        batch = run_child(
            [*diagnose, "compare", "--file", str(refs), "--jobs", str(args.jobs), *both, *ca, "--json"],
            env_py,
        )
        if batch.code != 0:
            raise SystemExit(f"batch: exit code {batch.code}")
        started = time.perf_counter()
        peak = 0
        loop_cpu = 0.0
        for name in names:
            child = run_child([*skopeo_inspect, f"docker://{name}"], skopeo_env)
            if child.code != 0:
                raise SystemExit(f"skopeo loop: exit code {child.code} for {name}")
            peak = max(peak, child.peak_kib)
            loop_cpu += child.cpu
        loop = time.perf_counter() - started
        say(
            f"| `compare --file` ({args.batch} references, `--jobs {args.jobs}`, both pulls each) vs a "
            f"sequential `skopeo inspect` loop, RTT {args.batch_rtt:g} ms | {batch.seconds:.1f} s, "
            f"peak {mib(batch.peak_kib)}, CPU {batch.cpu:.1f} s | {loop:.1f} s, peak {mib(peak)} each, "
            f"CPU {loop_cpu:.1f} s "
            f"| {loop / batch.seconds:.1f}× faster |"
        )
        registry.set_rtt(0)


if __name__ == "__main__":
    raise SystemExit(main())
