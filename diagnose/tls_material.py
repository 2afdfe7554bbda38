"""Which CA certificates and client certificate a client uses for a registry, found as it finds them.

A diagnosis is only right if the tool trusts what the user's client trusts. Each family reads a
per-registry directory named ``HOST[:PORT]`` holding ``*.crt`` (CA certificates, added to the
system roots) and ``NAME.cert`` + ``NAME.key`` pairs (client certificates, for registries that
ask for one):

- containers/image (skopeo, podman, buildah): ``--cert-dir DIR`` if given (the directory
  itself), else the first that exists of ``~/.config/containers/certs.d/HOST``,
  ``/etc/containers/certs.d/HOST``, ``/etc/docker/certs.d/HOST``
  (docker/docker_client.go ``dockerCertDir``, pkg/tlsclientconfig ``SetupCertificates``);
- docker (every era): ``/etc/docker/certs.d/HOST`` (registry/config_unix.go ``CertsDir``,
  registry/registry.go ``ReadCertsDirectory``); rootless docker reads ``~/.config/docker/certs.d``.

Both refuse a ``.cert`` without its ``.key`` and a ``.key`` without its ``.cert`` with the
messages kept here. ``root`` prefixes the absolute system paths (c/image's
``RootForImplicitAbsolutePaths``) so tests never touch ``/etc``.

This module reads directory listings only; it must not open connections or load keys.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class CertFamily(StrEnum):
    """Whose directory rules apply."""

    CONTAINERS = "containers"  # containers/image: skopeo, podman, buildah, and our v2-only pull
    DOCKER = "docker"  # docker's daemon, every era


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """The TLS files one client would use for one registry."""

    directory: str | None = None  # the certs directory that applies, or None
    ca_files: tuple[str, ...] = ()  # *.crt, in name order (added to the system roots)
    client_cert: tuple[str, str] | None = None  # (NAME.cert, NAME.key): the first pair by name
    error: str | None = None  # the client's own refusal (a .cert without its .key, ...)

    @property
    def found(self) -> bool:
        return bool(self.ca_files or self.client_cert or self.error)


NO_TLS_MATERIAL = TlsMaterial()


def _system(root: Path | None, path: str) -> Path:
    return Path(path) if root is None else root / path.lstrip("/")


def cert_dirs(family: CertFamily, host: str, *, home: Path, root: Path | None = None) -> tuple[Path, ...]:
    """The directories a client looks in for ``host`` (``HOST[:PORT]``), in order."""
    if family is CertFamily.CONTAINERS:
        return (
            home / ".config/containers/certs.d" / host,
            _system(root, "/etc/containers/certs.d") / host,
            _system(root, "/etc/docker/certs.d") / host,
        )
    return (_system(root, "/etc/docker/certs.d") / host,)


def read_cert_dir(directory: Path) -> TlsMaterial:
    """``*.crt``, ``*.cert`` and ``*.key`` of one directory, with the clients' pairing rules."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory) if entry.is_file())
    except OSError:
        return TlsMaterial()
    ca_files = tuple(str(directory / name) for name in names if name.endswith(".crt"))
    pair: tuple[str, str] | None = None
    for name in names:
        if name.endswith(".cert"):
            key = name[: -len(".cert")] + ".key"
            if key not in names:
                return TlsMaterial(
                    str(directory),
                    ca_files,
                    error=f"missing key {key} for client certificate {name}. "
                    "Note that CA certificates should use the extension .crt",
                )
            pair = pair or (str(directory / name), str(directory / key))
        elif name.endswith(".key"):
            cert = name[: -len(".key")] + ".cert"
            if cert not in names:
                return TlsMaterial(
                    str(directory), ca_files, error=f"missing client certificate {cert} for key {name}"
                )
    return TlsMaterial(str(directory), ca_files, pair)


def find_material(
    family: CertFamily,
    host: str,
    *,
    home: Path,
    root: Path | None = None,
    cert_dir: Path | None = None,
) -> TlsMaterial:
    """The material ``family`` uses for ``host``: ``cert_dir`` (skopeo ``--cert-dir``) wins for
    containers/image; otherwise the first per-host directory that exists."""
    if cert_dir is not None and family is CertFamily.CONTAINERS:
        return read_cert_dir(cert_dir)
    for directory in cert_dirs(family, host, home=home, root=root):
        if directory.is_dir():
            return read_cert_dir(directory)
    return TlsMaterial()
