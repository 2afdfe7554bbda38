"""Run the real container clients Debian ships — podman, buildah, docker 20.10, containerd's ctr —
against the real-registry stack, each isolated from the machine's own configuration.

Every runner pulls one reference with an optional identity and returns a ``ClientRun`` whose
``message`` is the client's last error line with the wrapper that command adds removed, so
it can be compared with what ``diagnose``'s client models predict.

Daemons (``dockerd``, ``containerd``) are started with their own root, state, pidfile and
socket in a temporary directory and stopped by PID. This module must not import ``diagnose``
or define scenarios or assertions.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PULL_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class ClientRun:
    """One finished pull of a real client."""

    client: str
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    wrapper: str = ""  # the prefix this command puts before the error, e.g. "Error: "

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def raw_message(self) -> str:
        """The last error the client printed (logrus lines and progress left out)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        errors = [i for i, line in enumerate(lines) if not _is_noise(line)]
        if not errors:
            return ""
        # A message may run over several lines (c/image's "errors:\n…" list): keep from the
        # first line that starts with the wrapper to the end.
        start = errors[-1]
        if self.wrapper:
            starts = [i for i in errors if lines[i].startswith(self.wrapper)]
            if starts:
                start = starts[-1]
        return "\n".join(lines[start:]).strip()

    @property
    def message(self) -> str:
        text = self.raw_message
        if self.wrapper and text.startswith(self.wrapper):
            text = text[len(self.wrapper) :]
        return text


def _is_noise(line: str) -> bool:
    return (
        line.startswith(("time=", "Trying to pull ", "Using default tag", "WARN[", "level="))
        or " Pulling fs layer" in line
    )


def _run(client: str, argv: Sequence[str], env: dict[str, str], wrapper: str) -> ClientRun:
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=PULL_TIMEOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return ClientRun(
            client, tuple(argv), -1, "", err + f"\n[realreg] killed after {PULL_TIMEOUT}s", wrapper
        )
    return ClientRun(client, tuple(argv), done.returncode, done.stdout, done.stderr, wrapper)


def _base_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(home / "tmp"),
    }


def _docker_config(path: Path, host: str, creds: tuple[str, str] | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    auths = {}
    if creds is not None:
        auths[host] = {"auth": base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()}
    (path / "config.json").write_text(json.dumps({"auths": auths}))


# --------------------------------------------------------------------------- podman / buildah
class ContainersTool:
    """podman or buildah (containers/image 5.23 in Debian bookworm), isolated: own storage root,
    run root, auth file and registries.conf; ``--cert-dir`` carries the throwaway CA."""

    def __init__(self, name: str, home: Path, cert_dir: Path | None) -> None:
        self.name = name
        self.binary = shutil.which(name) or name
        self.home = home
        self.cert_dir = cert_dir
        for sub in ("tmp", "run", "root", "runroot", "config"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        self.registries_conf = home / "registries.conf"
        self.registries_conf.write_text("unqualified-search-registries = []\n")
        self.storage_conf = home / "storage.conf"
        self.storage_conf.write_text(
            f'[storage]\ndriver = "vfs"\nrunroot = "{home / "runroot"}"\ngraphroot = "{home / "root"}"\n'
        )

    def pull(
        self,
        ref: str,
        creds: tuple[str, str] | None,
        *,
        tls_verify: bool = True,
        with_ca: bool = True,
        platform: str | None = None,
    ) -> ClientRun:
        auth_file = self.home / "auth.json"
        auth_file.write_text('{"auths": {}}\n')
        env = _base_env(self.home) | {
            "XDG_RUNTIME_DIR": str(self.home / "run"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "REGISTRY_AUTH_FILE": str(auth_file),
            "CONTAINERS_REGISTRIES_CONF": str(self.registries_conf),
            "CONTAINERS_STORAGE_CONF": str(self.storage_conf),
        }
        argv: list[str] = [self.binary]
        if self.name == "podman":
            argv += ["--root", str(self.home / "root"), "--runroot", str(self.home / "runroot")]
            argv += ["--storage-driver", "vfs", "pull", "--quiet"]
        else:
            # buildah pull skips the registry when the image is already stored (--policy
            # missing); every run must ask the registry, like a first pull.
            argv += ["--root", str(self.home / "root"), "--runroot", str(self.home / "runroot")]
            argv += ["--storage-driver", "vfs", "pull", "--quiet", "--policy", "always"]
        if not tls_verify:
            argv.append("--tls-verify=false")
        elif self.cert_dir is not None and with_ca:
            argv += ["--cert-dir", str(self.cert_dir)]
        else:  # an empty cert dir: only the system roots, as for a user without the CA
            (self.home / "no-certs").mkdir(exist_ok=True)
            argv += ["--cert-dir", str(self.home / "no-certs")]
        if creds is not None:
            argv += ["--creds", f"{creds[0]}:{creds[1]}"]
        if platform is not None:
            argv += ["--platform", platform]
        argv.append(ref)
        return _run(self.name, argv, env, "Error: ")


# --------------------------------------------------------------------------- dockerd 20.10
class DockerDaemon:
    """A private ``dockerd`` (Debian's docker.io 20.10) and the ``docker`` CLI talking to it.

    127.0.0.0/8 is always an insecure registry range for dockerd, so the throwaway CA is not
    needed: docker skips verification for these hosts, exactly as it does for a user.
    """

    def __init__(self, root: Path, process: subprocess.Popen[bytes], socket_path: Path, cli: str) -> None:
        self.root = root
        self.process = process
        self.socket = socket_path
        self.cli = cli

    def pull(self, ref: str, creds: tuple[str, str] | None, *, platform: str | None = None) -> ClientRun:
        home = self.root / "home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        config = home / "docker-config"
        host = ref.split("/", 1)[0]
        _docker_config(config, host, creds)
        env = _base_env(home) | {"DOCKER_CONFIG": str(config), "DOCKER_HOST": f"unix://{self.socket}"}
        argv = [self.cli, "pull", "--quiet"] + (["--platform", platform] if platform else []) + [ref]
        return _run("docker", argv, env, "Error response from daemon: ")


def docker_cli() -> str | None:
    """Debian's 20.10 ``docker`` CLI; any other docker CLI on PATH talks a newer API."""
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def start_dockerd(root: Path) -> Iterator[DockerDaemon]:
    """Start a private dockerd; stop it by PID on exit, whatever happened."""
    cli = docker_cli()
    if shutil.which("dockerd") is None or cli is None:
        raise FileNotFoundError("dockerd / docker not found: apt-get install docker.io")
    root.mkdir(parents=True, exist_ok=True)
    sock = root / "docker.sock"
    log = (root / "dockerd.log").open("wb")
    argv = [
        "dockerd",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--storage-driver=vfs",
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'dockerd.pid'}",
        f"--host=unix://{sock}",
    ]
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not _wait_for(sock, process, 30):
            raise RuntimeError(f"dockerd did not start; see {root / 'dockerd.log'}")
        yield DockerDaemon(root, process, sock, cli)
    finally:
        _stop(process)
        log.close()


# --------------------------------------------------------------------------- containerd 1.6
class Containerd:
    """A private ``containerd`` and ``ctr images pull --hosts-dir`` with a ``hosts.toml`` per registry."""

    def __init__(self, root: Path, process: subprocess.Popen[bytes], address: Path, ca_cert: Path | None):
        self.root = root
        self.process = process
        self.address = address
        self.ca_cert = ca_cert
        self.hosts_dir = root / "hosts"

    def hosts_toml(self, host: str, *, scheme: str = "https", with_ca: bool = True) -> Path:
        directory = self.hosts_dir / host
        directory.mkdir(parents=True, exist_ok=True)
        lines = [f'server = "{scheme}://{host}"']
        with_ca = with_ca and self.ca_cert is not None and scheme == "https"
        if with_ca:
            lines.append(f'ca = "{self.ca_cert}"')
        lines += [f'[host."{scheme}://{host}"]', '  capabilities = ["pull", "resolve"]']
        if with_ca:
            lines.append(f'  ca = "{self.ca_cert}"')
        path = directory / "hosts.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def pull(
        self,
        ref: str,
        creds: tuple[str, str] | None,
        *,
        scheme: str = "https",
        with_ca: bool = True,
        platform: str | None = None,
    ) -> ClientRun:
        host = ref.split("/", 1)[0]
        self.hosts_toml(host, scheme=scheme, with_ca=with_ca)
        home = self.root / "home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        argv = ["ctr", "--address", str(self.address), "images", "pull", "--snapshotter", "native"]
        argv += ["--hosts-dir", str(self.hosts_dir)]
        if creds is not None:
            argv += ["--user", f"{creds[0]}:{creds[1]}"]
        if platform is not None:
            argv += ["--platform", platform]
        argv.append(ref)
        return _run("ctr", argv, _base_env(home), "ctr: ")


@contextlib.contextmanager
def start_containerd(root: Path, ca_cert: Path | None) -> Iterator[Containerd]:
    """Start a private containerd (no CRI plugin); stop it by PID on exit."""
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        raise FileNotFoundError("containerd / ctr not found: apt-get install containerd")
    root.mkdir(parents=True, exist_ok=True)
    address = root / "containerd.sock"
    config = root / "config.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{root / "root"}"\n'
        f'state = "{root / "state"}"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{address}"\n'
        f'[ttrpc]\n  address = "{root / "containerd.ttrpc.sock"}"\n'
    )
    log = (root / "containerd.log").open("wb")
    process = subprocess.Popen(
        ["containerd", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        if not _wait_for(address, process, 30):
            raise RuntimeError(f"containerd did not start; see {root / 'containerd.log'}")
        yield Containerd(root, process, address, ca_cert)
    finally:
        _stop(process)
        log.close()


def available() -> dict[str, bool]:
    """Which real clients this machine has."""
    return {
        "podman": shutil.which("podman") is not None,
        "buildah": shutil.which("buildah") is not None,
        "docker": shutil.which("dockerd") is not None and docker_cli() is not None,
        "containerd": shutil.which("containerd") is not None and shutil.which("ctr") is not None,
    }
