"""Re-record cassettes/ from the real registry stack: both pulls of the key scenarios.

    python -m tests.record_cassettes [--out cassettes] [--only NAME ...]

Starts the real-registry stack (``tests/realreg/stack.py``: Debian's ``docker-registry``
with a token server, an htpasswd and an open instance, TLS from a throwaway CA, seeded with
``skopeo``) in a temporary directory, runs ``diagnose.run.compare`` (the v2-only and the
v2-then-v1 pull) for each scenario of ``CASSETTES`` and writes, per scenario,

- ``<out>/<name>.yaml``: every exchange of both pulls as a vcrpy cassette
  (``render_cassette``; the ``diagnose`` key of each interaction keeps strategy and step),
- ``<out>/<name>.json``: the JSON report (``render_json``), for ``diagnose replay``.

What differs between runs is normalised on the Report values *before* rendering (never by
editing the rendered text), so that re-recording gives the same files:

- the free ports: ``127.0.0.1:<port>`` of each registry and of the token server becomes a
  fixed placeholder port on 127.0.0.1 (``PLACEHOLDER_PORTS``) everywhere (URLs, headers
  such as the ``WWW-Authenticate`` realm, bodies, messages, steps, notes, diagnosis).
  The host stays 127.0.0.1 on purpose: docker 1.12 treats 127.0.0.0/8 as an insecure
  registry (extra ``http://`` endpoints, no certificate verification), so a made-up host
  name such as ``registry.test`` would make a replay take another path than the recording;
- the temporary directory becomes ``<workdir>``;
- exchange ids are renumbered v2-only first, then v2-then-v1 (the pulls run concurrently,
  so the recorded interleaving is arbitrary);
- ``elapsed_ms`` is 0, ``Date`` headers and token ``iat``/``nbf``/``exp``/``issued_at`` are
  fixed (``FIXED_EPOCH``; offsets between them are kept), the report's ``created`` is empty.

Before writing, the script checks that replaying the normalised report gives the recorded
outcome, protocol, message and diagnosis, and that no password of the run, no token the
token server issued (or its signature) and no JWT-shaped string is in any file it writes.

Importing this module starts nothing (tests/test_cassettes.py uses ``normalise`` and
``assert_redacted``); ``main`` must not write anything outside ``--out``, and everything it
starts is stopped when it returns.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from diagnose.model import Exchange, PullError, PullResult, Report, Strategy
from diagnose.pullers.options import PullOptions
from diagnose.reference import parse_reference
from diagnose.render.cassette import render_cassette
from diagnose.render.json_report import render_json
from diagnose.run import compare, replay_report
from diagnose.transport import TransportOptions
from tests.realreg.registry import registry_available
from tests.realreg.scenarios import SCENARIOS, WRONG_PASSWORD, Scenario
from tests.realreg.skopeo import skopeo_available
from tests.realreg.stack import RealRegistries, RegistryKind, start_stack
from tests.realreg.tokenserver import TokenServer

TIMEOUT = 10.0

PLACEHOLDER_PORTS: Mapping[str, int] = {
    RegistryKind.TOKEN: 55000,
    "token-server": 55001,
    RegistryKind.BASIC: 55002,
    RegistryKind.OPEN: 55003,
    RegistryKind.CLOSED: 55004,
}
"""Fixed ports on 127.0.0.1 that replace the free ports of a run (5 digits, like the kernel's
ephemeral ports, so lengths rarely change; Content-Length is fixed when they do)."""

FIXED_EPOCH = 1704067200  # 2024-01-01T00:00:00Z, the date the seeded images claim
FIXED_DATE_HEADER = "Mon, 01 Jan 2024 00:00:00 GMT"
WORKDIR_PLACEHOLDER = "<workdir>"


@dataclasses.dataclass(frozen=True, slots=True)
class Cassette:
    """One cassette: a scenario of tests/realreg/scenarios.py and what the registry does."""

    name: str  # file stem under cassettes/, and the id in scenarios.py
    registry_did: str  # for cassettes/README.md

    @property
    def scenario(self) -> Scenario:
        return next(s for s in SCENARIOS if s.id == self.name)


CASSETTES: tuple[Cassette, ...] = (
    Cassette(
        "anon-missing-repo",
        "token registry, anonymous, repository does not exist: token with access [], "
        "manifest 401 insufficient_scope (same as private)",
    ),
    Cassette(
        "anon-private-repo",
        "token registry, anonymous, alice's private repository: the same 401 insufficient_scope",
    ),
    Cassette(
        "owner-missing-repo",
        "token registry, alice asks for alice/nope: token grants pull, manifest 404 MANIFEST_UNKNOWN",
    ),
    Cassette("owner-private", "token registry, alice pulls her private repository: success"),
    Cassette(
        "anon-missing-tag",
        "token registry, anonymous, public repository, missing tag: 404 MANIFEST_UNKNOWN",
    ),
    Cassette(
        "wrong-password",
        "token registry, alice with a wrong password: token endpoint 401 incorrect username or password",
    ),
    Cassette("basic-anon", "htpasswd registry without credentials: 401 Basic challenge"),
    Cassette("basic-creds", "htpasswd registry, bob with his password: success"),
    Cassette(
        "unknown-ca",
        "open registry whose certificate comes from a CA the client was not given: TLS "
        "verification fails (docker skips verification on 127.0.0.0/8)",
    ),
    Cassette(
        "open-arm64",
        "open registry, multi-platform index (amd64 + arm64), linux/arm64/v8 picked: success",
    ),
    Cassette(
        "anon-public",
        "token registry, anonymous, public multi-platform image: success (the baseline)",
    ),
    Cassette(
        "no-matching-platform",
        "token registry, anonymous, index with only linux/arm64 asked for linux/amd64",
    ),
    Cassette("refused", "nothing listens on the port: connection refused on every endpoint"),
)


# ----------------------------------------------------------------------------- recording


@contextmanager
def capture_issued_tokens() -> Iterator[list[str]]:
    """Every token the fixture's token server signs while active (to prove none is recorded).

    Wraps ``TokenServer.issue`` of our own test fixture (not ``requests``); restored on exit.
    """
    issued: list[str] = []
    lock = threading.Lock()
    original = TokenServer.issue

    def issue(self: TokenServer, *args: Any, **kwargs: Any) -> dict[str, Any]:
        body = original(self, *args, **kwargs)
        with lock:
            issued.extend(str(body[key]) for key in ("token", "access_token") if body.get(key))
        return body

    TokenServer.issue = issue  # type: ignore[method-assign]
    try:
        yield issued
    finally:
        TokenServer.issue = original  # type: ignore[method-assign]


def record(regs: RealRegistries, cassette: Cassette) -> Report:
    scenario = cassette.scenario
    options = PullOptions(credentials=scenario.creds(regs), platform=scenario.platform, tls_verify=True)
    transport = TransportOptions(verify=str(regs.ca_cert) if scenario.with_ca else True, timeout=TIMEOUT)
    return compare(parse_reference(scenario.ref(regs)), options, transport)


# ----------------------------------------------------------------------------- normalising

_T = TypeVar("_T")


def _walk(value: _T, fix: Callable[[str], str]) -> _T:
    """``value`` with ``fix`` applied to every string inside (enums and numbers untouched)."""
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return fix(value)  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(_walk(item, fix) for item in value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _walk(getattr(value, f.name), fix) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


def host_map(regs: RealRegistries) -> dict[str, str]:
    """Real ``127.0.0.1:<port>`` -> placeholder ``127.0.0.1:<port>``."""
    real = {kind: regs.host(kind) for kind in (RegistryKind.TOKEN, RegistryKind.BASIC, RegistryKind.OPEN)}
    real[RegistryKind.CLOSED] = regs.closed
    real["token-server"] = regs.token_server.removeprefix("https://")
    return {host: f"127.0.0.1:{PLACEHOLDER_PORTS[kind]}" for kind, host in real.items()}


def text_fixer(hosts: Mapping[str, str], workdir: Path) -> Callable[[str], str]:
    """One simultaneous substitution (a real port may equal another's placeholder)."""
    replacements = dict(hosts)
    for path in {str(workdir), str(workdir.resolve())}:
        replacements[path] = WORKDIR_PLACEHOLDER
    pattern = re.compile(
        "|".join(
            re.escape(k) + (r"(?!\d)" if k in hosts else "")
            for k in sorted(replacements, key=len, reverse=True)
        )
    )
    return lambda text: pattern.sub(lambda m: replacements[m.group(0)], text)


def _fixed_claims(body: str) -> str:
    """A token answer with its times pinned to ``FIXED_EPOCH`` (offsets kept)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    changed = False
    for key, claims in data.items():
        if key.startswith("diagnose_") and key.endswith("_claims") and isinstance(claims, dict):
            base = claims.get("iat")
            if isinstance(base, int):
                for name in ("iat", "nbf", "exp"):
                    if isinstance(claims.get(name), int):
                        claims[name] = FIXED_EPOCH + claims[name] - base
                        changed = True
    if "issued_at" in data:
        data["issued_at"] = datetime.fromtimestamp(FIXED_EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        changed = True
    return json.dumps(data, ensure_ascii=False) if changed else body


def _fixed_exchange(exchange: Exchange, new_id: Mapping[int, int], originals: Mapping[int, str]) -> Exchange:
    response = exchange.response
    if response is not None:
        headers = tuple(
            (name, FIXED_DATE_HEADER if name.lower() == "date" else value) for name, value in response.headers
        )
        body = response.body
        size = response.body_size
        if response.body_encoding == "utf-8":
            if not response.body_truncated:
                body = _fixed_claims(body)
            before = len(originals.get(exchange.id, body).encode("utf-8"))
            after = len(body.encode("utf-8"))
            if after != before:  # a placeholder or a pinned time changed the length
                size = None if size is None else size + after - before
                headers = tuple(
                    (name, str(after) if name.lower() == "content-length" and value == str(before) else value)
                    for name, value in headers
                )
        response = dataclasses.replace(response, headers=headers, body=body, body_size=size)
    return dataclasses.replace(
        exchange,
        id=new_id[exchange.id],
        redirect_of=None if exchange.redirect_of is None else new_id[exchange.redirect_of],
        response=response,
        elapsed_ms=0.0,
    )


def _renumbered(pull: PullResult, new_id: Mapping[int, int], originals: Mapping[int, str]) -> PullResult:
    def ref(old: int | None) -> int | None:
        return None if old is None else new_id.get(old, old)

    steps = tuple(dataclasses.replace(s, exchange_id=ref(s.exchange_id)) for s in pull.steps)
    error: PullError | None = pull.error
    if error is not None:
        error = dataclasses.replace(error, exchange_id=ref(error.exchange_id))
    return dataclasses.replace(
        pull,
        steps=steps,
        error=error,
        exchanges=tuple(_fixed_exchange(e, new_id, originals) for e in pull.exchanges),
    )


def normalise(report: Report, hosts: Mapping[str, str], workdir: Path) -> Report:
    """The report with run-specific values replaced (see the module docstring)."""
    originals = {e.id: e.response.body for e in report.exchanges if e.response is not None}
    walked = _walk(report, text_fixer(hosts, workdir))
    order = {Strategy.V2_ONLY: 0, Strategy.V2_THEN_V1: 1}
    ordered = sorted(walked.exchanges, key=lambda e: (order[e.strategy], e.id))
    new_id = {e.id: index for index, e in enumerate(ordered, start=1)}
    pulls = tuple(_renumbered(p, new_id, originals) for p in walked.pulls)
    return dataclasses.replace(walked, pulls=pulls, created="")


# ----------------------------------------------------------------------------- checks


def secret_forms(secrets: Sequence[str]) -> set[str]:
    """Each secret as it could leak: plain, and the stable core of its base64 forms."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.add(secret)
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + secret.encode()).decode().rstrip("=")
            core = encoded[4 if shift else 0 : (len(encoded) // 4) * 4]
            if len(core) >= 8:
                forms.update({core, core.replace("+", "-").replace("/", "_")})
    for token in [s for s in secrets if s.count(".") == 2]:
        forms.update(part for part in token.split(".")[1:] if len(part) >= 16)  # payload, signature
    return forms


JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")


def assert_redacted(name: str, text: str, secrets: Sequence[str]) -> None:
    for form in secret_forms(secrets):
        if form in text:
            raise AssertionError(f"{name}: a secret of this run is in the output ({form[:4]}…)")
    if JWT_SHAPE.search(text):
        raise AssertionError(f"{name}: a JWT-shaped string is in the output")


def assert_replays(name: str, report: Report) -> None:
    """The normalised report, replayed offline, tells the recorded story."""
    again = replay_report(report)
    for recorded, replayed in zip(report.pulls, again.pulls, strict=True):
        got = (replayed.outcome, replayed.protocol, replayed.message)
        want = (recorded.outcome, recorded.protocol, recorded.message)
        if got != want:
            raise AssertionError(f"{name} {recorded.strategy}: replay gives {got}, recorded {want}")
    if again.diagnosis.id != report.diagnosis.id:
        raise AssertionError(f"{name}: replay diagnoses {again.diagnosis.id}, recorded {report.diagnosis.id}")


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.record_cassettes")
    parser.add_argument("--out", type=Path, default=Path("cassettes"), help="directory to write")
    parser.add_argument("--only", nargs="*", default=None, help="cassette names to re-record")
    args = parser.parse_args(argv)
    if registry_available() is None or skopeo_available() is None:
        print("needs docker-registry and skopeo: apt-get install docker-registry skopeo", file=sys.stderr)
        return 2
    chosen = [c for c in CASSETTES if args.only is None or c.name in args.only]
    if args.only and len(chosen) != len(set(args.only)):
        print(f"unknown cassette in {args.only}; known: {[c.name for c in CASSETTES]}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}
    with (
        capture_issued_tokens() as issued,
        tempfile.TemporaryDirectory(prefix="cassettes-") as tmp,
        start_stack(Path(tmp)) as regs,
    ):
        hosts = host_map(regs)
        for cassette in chosen:
            report = normalise(record(regs, cassette), hosts, regs.workdir)
            assert_replays(cassette.name, report)
            written[args.out / f"{cassette.name}.yaml"] = render_cassette(report.exchanges)
            written[args.out / f"{cassette.name}.json"] = render_json(report) + "\n"
            pulls = ", ".join(f"{p.strategy}={p.outcome}" for p in report.pulls)
            print(f"{cassette.name}: {pulls}; diagnosis {report.diagnosis.id}", file=sys.stderr)
        secrets = [*regs.users.values(), WRONG_PASSWORD, *issued]
        secrets += [f"{user}:{password}" for user, password in regs.users.items()]
    if not issued:
        raise AssertionError("the token server issued no token: the redaction check would be vacuous")
    for path, text in written.items():
        assert_redacted(str(path), text, secrets)
    for path, text in written.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
