"""Run the real ``skopeo`` binary in an isolated environment and normalise its errors.

skopeo ends with ``logrus.Fatal(err)`` (containers/skopeo ``cmd/skopeo/main.go``): on a pipe
that is ``time="…" level=fatal msg="<err>"`` (msg Go-quoted when needed), on a TTY
``FATA[0000] <err>``. Around the c/image error, the wrappers depend on the skopeo and
c/image versions (skopeo cmd/skopeo, containers/image docker/errors.go):

- skopeo ``inspect``: ``Error parsing image name "<name>": `` (1.9 also uses it for
  errors raised while opening the source, which loads the manifest),
  ``Error retrieving manifest for image: `` and ``Error parsing manifest for image: ``
  (1.9.3, observed around ``choosing image instance: …``);
- c/image: ``reading manifest <tag> in <repo>: `` (>= 5.14), ``Error reading manifest …: ``
  (older).

``normalise`` strips the logrus wrapper; ``strip_wrappers`` also drops those prefixes, so
the rest is the registry/transport error that a prediction can be compared against.

Nothing here reads the user's container configuration: HOME, the auth file and
registries.conf all point into a private directory. This module must not decide what
skopeo *should* print; it only reports what it did print.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SKOPEO = "skopeo"

_LOGRUS_TEXT = re.compile(r'level=fatal msg=(?P<msg>"(?:[^"\\]|\\.)*"|\S+)')
_LOGRUS_TTY = re.compile(r"^FATA\[\d+\]\s*(?P<msg>.*)$")
_WRAPPERS = (
    re.compile(r'^Error parsing image name "[^"]*": '),
    re.compile(r"^Error retrieving manifest for image: "),
    re.compile(r"^Error parsing manifest for image: "),  # skopeo 1.9 inspect, platform choice
    re.compile(r"^(?:Error )?[Rr]eading manifest \S+ in \S+: "),
    re.compile(r"^Error initializing source \S+: "),
    re.compile(r"^initializing source \S+: "),
)


def _go_unquote(text: str) -> str:
    """Undo Go's ``%q`` (strconv.Quote) as logrus applies it to ``msg``."""
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        return text
    try:
        value = json.loads(text)  # Go and JSON escapes agree for what skopeo prints
    except json.JSONDecodeError:
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value if isinstance(value, str) else text


def normalise(stderr: str) -> str:
    """The fatal error message, without the logrus wrapper (``""`` when there is none)."""
    for line in reversed(stderr.splitlines()):
        match = _LOGRUS_TEXT.search(line)
        if match:
            return _go_unquote(match.group("msg")).strip()
        match = _LOGRUS_TTY.match(line.strip())
        if match:
            return match.group("msg").strip()
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def strip_wrappers(message: str) -> str:
    """Drop the version-dependent prefixes listed in the module docstring, repeatedly."""
    previous = None
    while previous != message:
        previous = message
        for pattern in _WRAPPERS:
            message = pattern.sub("", message, count=1)
    return message.strip()


@dataclass(frozen=True, slots=True)
class SkopeoRun:
    """One skopeo invocation and what came of it."""

    argv: tuple[str, ...]
    exit_code: int  # -1: killed on timeout
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def message(self) -> str:
        """The fatal error without the logrus wrapper; ``""`` on success."""
        return "" if self.ok else normalise(self.stderr)

    @property
    def core_message(self) -> str:
        """``message`` without the version-dependent prefixes."""
        return strip_wrappers(self.message)


def skopeo_available() -> str | None:
    return shutil.which(SKOPEO)


def skopeo_version(binary: str = SKOPEO) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    return out.stdout.strip()


class Skopeo:
    """The real skopeo, run with a private HOME, auth file and registries.conf."""

    def __init__(self, home: Path, binary: str | None = None) -> None:
        self.binary = binary or skopeo_available() or SKOPEO
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        (home / "run").mkdir(exist_ok=True)
        (home / "tmp").mkdir(exist_ok=True)
        self.auth_file = home / "auth.json"
        self.auth_file.write_text('{"auths": {}}\n')
        self.registries_conf = home / "registries.conf"
        self.registries_conf.write_text("# realreg: no mirrors, no search registries\n")

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.home / "run"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "TMPDIR": str(self.home / "tmp"),
            "REGISTRY_AUTH_FILE": str(self.auth_file),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
            "LANG": "C.UTF-8",
        }

    def run(self, args: Sequence[str], *, timeout: float = 30.0) -> SkopeoRun:
        argv = (self.binary, *args)
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:  # subprocess.run kills the child
            stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            return SkopeoRun(argv, -1, "", stderr + f"\n[realreg] killed after {timeout}s")
        return SkopeoRun(argv, done.returncode, done.stdout, done.stderr)

    def inspect(
        self,
        ref: str,
        *,
        cert_dir: Path | None = None,
        creds: tuple[str, str] | None = None,
        tls_verify: bool = True,
        platform: str | None = "linux/amd64",
        raw: bool = False,
        timeout: float = 20.0,
    ) -> SkopeoRun:
        """``skopeo inspect docker://<ref>`` the way our v2-only pull reads an image.

        Without ``raw``, skopeo picks the platform from an index (``--override-os/-arch``)
        and reads the config blob: the same work as our pull, minus the layer checks.
        ``--no-tags`` keeps the extra ``tags/list`` call out of it.
        """
        args: list[str] = [f"--command-timeout={int(timeout)}s"]
        if platform:
            os_name, arch, *variant = platform.split("/")
            args += ["--override-os", os_name, "--override-arch", arch]
            if variant:
                args += ["--override-variant", variant[0]]
        args += ["inspect", "--retry-times", "0", "--no-tags", f"--tls-verify={str(tls_verify).lower()}"]
        if raw:
            args.append("--raw")
        if cert_dir is not None:
            args += ["--cert-dir", str(cert_dir)]
        if creds is not None:
            args += ["--creds", f"{creds[0]}:{creds[1]}"]
        else:
            args.append("--no-creds")
        args.append(f"docker://{ref}")
        return self.run(args, timeout=timeout + 5)

    def copy(
        self,
        source: str,
        dest: str,
        *,
        dest_cert_dir: Path | None = None,
        dest_creds: tuple[str, str] | None = None,
        all_images: bool = True,
        manifest_format: str | None = None,
        dest_tls_verify: bool = True,
        timeout: float = 60.0,
    ) -> SkopeoRun:
        """``skopeo copy`` for seeding (``--insecure-policy``: our own test images)."""
        args = ["--insecure-policy", "copy", "--retry-times", "0"]
        if not dest_tls_verify:
            args.append("--dest-tls-verify=false")
        if all_images:
            args.append("--all")
        if manifest_format is not None:
            args += ["--format", manifest_format]
        if dest_cert_dir is not None:
            args += ["--dest-cert-dir", str(dest_cert_dir)]
        if dest_creds is not None:
            args += ["--dest-creds", f"{dest_creds[0]}:{dest_creds[1]}"]
        else:
            args.append("--dest-no-creds")
        args += [source, dest]
        return self.run(args, timeout=timeout)
