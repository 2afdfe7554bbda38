"""Checks of what a user types on the command line, before any request is sent.

Each function takes the text of one option and returns the value the run needs, or raises
``InputError`` with one line that says what is wrong and what a good value looks like.
This module must not print, exit, send requests or read anything but the file it is given
(``--ca-cert``); ``cli.py`` turns an ``InputError`` into exit code 2.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from pathlib import Path


class InputError(ValueError):
    """Bad input: one line, no secret in it."""


# OCI image-index platform values: lower-case words such as linux, amd64, arm64, v8 (GOOS,
# GOARCH and the ARM variants); a few real ones carry digits, dots, dashes or underscores.
_PLATFORM_PART = re.compile(r"[a-z0-9][a-z0-9._-]*")

# RFC 1123 host names (docker's --insecure-registry accepts host[:port]).
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def parse_platform(text: str) -> str:
    """``os/arch[/variant]``, e.g. ``linux/amd64`` or ``linux/arm64/v8``."""
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(_PLATFORM_PART.fullmatch(p) for p in parts):
        raise InputError(
            f"--platform {text!r}: expected os/arch[/variant] in lower case, "
            "e.g. linux/amd64 or linux/arm64/v8"
        )
    return text


def _valid_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            return ipaddress.ip_address(host[1:-1]).version == 6
        except ValueError:
            return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def parse_insecure_registry(text: str) -> str:
    """A ``host[:port]`` or a CIDR (``10.0.0.0/8``), as docker's ``--insecure-registry`` takes."""
    problem = (
        f"--insecure-registry {text!r}: expected host[:port] (registry.local:5000) "
        "or a CIDR (10.0.0.0/8), without a scheme or path"
    )
    if "/" in text:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InputError(problem) from None
        return text
    host, port = text, ""
    if text.count(":") == 1 or (text.startswith("[") and "]:" in text):
        host, _, port = text.rpartition(":")
    if not host or not _valid_host(host):
        raise InputError(problem)
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise InputError(problem)
    return text


def check_ca_file(path: Path) -> Path:
    """A readable PEM file holding at least one certificate (what Go's AppendCertsFromPEM needs)."""
    if not path.is_file():
        raise InputError(f"--ca-cert {path}: no such file")
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputError(f"--ca-cert {path}: cannot read it: {exc.strerror or exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in text:
        raise InputError(f"--ca-cert {path}: not a PEM certificate file (no BEGIN CERTIFICATE block)")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        raise InputError(f"--ca-cert {path}: the certificate cannot be loaded: {exc}") from None
    return path
