"""Run Debian's ``docker-registry`` (distribution 2.8) as a child process on 127.0.0.1.

Each instance gets its own config file, filesystem storage directory and log file, and
is started with a clean environment: distribution reads every ``REGISTRY_*`` variable as
a config override (``REGISTRY_HTTP_ADDR`` …, distribution docs/configuration.md
"Override specific configuration options"), so inheriting the caller's environment
could silently change what we test.

This module must not generate certificates, issue tokens or seed images.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REGISTRY = "docker-registry"
READY_TIMEOUT = 20.0


def registry_available() -> str | None:
    return shutil.which(REGISTRY)


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(
    *, port: int, storage: Path, cert: Path | None, key: Path | None, auth: dict[str, Any] | None
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": secrets.token_hex(16),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "health": {"storagedriver": {"enabled": False}},
    }
    if cert is not None and key is not None:
        config["http"]["tls"] = {"certificate": str(cert), "key": str(key)}
    if auth:
        config["auth"] = auth
    return config


def token_auth(*, realm: str, service: str, issuer: str, rootcertbundle: Path) -> dict[str, Any]:
    return {
        "token": {
            "realm": realm,
            "service": service,
            "issuer": issuer,
            "rootcertbundle": str(rootcertbundle),
        }
    }


def htpasswd_auth(*, realm: str, path: Path) -> dict[str, Any]:
    return {"htpasswd": {"realm": realm, "path": str(path)}}


@dataclass(slots=True)
class RegistryProcess:
    """A running ``docker-registry serve`` and where its files are."""

    name: str
    port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)


def _die_with_parent() -> list[str]:
    """A command prefix that makes the child get SIGTERM if we die without cleaning up.

    A pytest killed by ``timeout`` (SIGTERM) runs no fixture teardown; without this the
    registries would outlive it. util-linux ``setpriv --pdeathsig`` sets PR_SET_PDEATHSIG
    and execs the command (the setting survives exec). It fires when the spawning *thread*
    exits, so start the stack from a thread that lives as long as the stack (pytest's and
    scenario_table's main thread do). Without setpriv, teardown is all we have.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def _ready(port: int, context: ssl.SSLContext | None, timeout: float) -> bool:
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=timeout)
    try:
        conn.request("GET", "/v2/")
        status = conn.getresponse().status
    except OSError:
        return False
    finally:
        conn.close()
    return status in (200, 401)


def start_registry(
    name: str,
    workdir: Path,
    *,
    ca_cert: Path,
    cert: Path | None,
    key: Path | None,
    auth: dict[str, Any] | None,
    binary: str | None = None,
    attempts: int = 3,
) -> RegistryProcess:
    """Start one registry on a free port and wait until ``/v2/`` answers (over TLS unless
    ``cert`` is None: a plain-HTTP registry)."""
    binary = binary or registry_available() or REGISTRY
    base = workdir / name
    storage = base / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    context = ssl.create_default_context(cafile=str(ca_cert)) if cert is not None else None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base)}
    last_error = ""
    for attempt in range(attempts):
        port = free_port()
        config_path = base / "config.yml"
        config_path.write_text(
            yaml.safe_dump(_config(port=port, storage=storage, cert=cert, key=key, auth=auth))
        )
        log_path = base / f"registry-{attempt}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*_die_with_parent(), binary, "serve", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=base,
            )
        running = RegistryProcess(name, port, config_path, log_path, process)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _ready(port, context, timeout=2.0):
                return running
            time.sleep(0.05)
        last_error = running.log_tail()
        with contextlib.suppress(Exception):
            running.stop()
    raise RuntimeError(f"docker-registry {name!r} did not become ready:\n{last_error}")
