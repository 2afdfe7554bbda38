"""Which proxy a Go registry client would use for a URL: ``http.ProxyFromEnvironment``.

docker, containerd, skopeo/podman and crane are Go programs; they all pick a proxy with
golang.org/x/net/http/httpproxy (``Config.ProxyFunc``), whose rules differ from Python's
``urllib.request.getproxies`` in ways that change a diagnosis:

- ``HTTPS_PROXY`` for https URLs, ``HTTP_PROXY`` for http URLs, never the other (Go ≥ 1.16);
  upper case wins over lower case, the first non-empty value counts;
- ``localhost`` and loopback IP addresses are never proxied, whatever ``NO_PROXY`` says;
- ``NO_PROXY``: comma-separated; ``*`` matches everything; a CIDR matches IP hosts; an IP
  (optionally ``:port``) matches that IP; ``foo.com`` matches foo.com and its subdomains,
  ``.foo.com`` and ``*.foo.com`` only subdomains; an entry with ``:port`` matches that port only;
- a proxy value without a scheme is read as ``http://``; a ``REQUEST_METHOD`` in the
  environment (CGI) makes Go refuse ``HTTP_PROXY``.

Pure: the environment is passed in. This module must not read ``os.environ`` or send anything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
)

DEFAULT_PORTS = {"http": "80", "https": "443", "socks5": "1080"}


@dataclass(frozen=True, slots=True)
class ProxyChoice:
    """The proxy for one URL, and why: evidence for the report."""

    proxy: str | None  # "http://proxy.example:3128" (userinfo kept: redact before recording)
    reason: str  # "HTTPS_PROXY", "no proxy: loopback", "no proxy: NO_PROXY entry .corp", ...
    error: str | None = None  # what the Go client would fail with (an invalid proxy URL, CGI)


def proxy_environment(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The variables of ``env`` that decide proxies, for ``TransportOptions.proxy_env``."""
    return tuple((name, env[name]) for name in PROXY_VARIABLES if env.get(name))


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str]:
    for name in names:
        value = env.get(name, "")
        if value:
            return name, value
    return "", ""


def _parse_proxy(value: str) -> tuple[str | None, str | None]:
    """httpproxy.parseProxy: a bogus value is retried with ``http://`` prepended."""
    try:
        parts = urlsplit(value)
        if parts.scheme and parts.netloc:
            return value, None
    except ValueError:
        pass
    try:
        parts = urlsplit("http://" + value)
        if parts.netloc:
            return "http://" + value, None
    except ValueError:
        pass
    return None, f"invalid proxy address {value!r}"


def _split_host_port(addr: str) -> tuple[str, str] | None:
    """net.SplitHostPort for the shapes NO_PROXY entries take."""
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0 or not addr[end + 1 :].startswith(":"):
            return None
        return addr[1:end], addr[end + 2 :]
    if addr.count(":") != 1:
        return None
    host, _, port = addr.partition(":")
    return host, port


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _idna(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _no_proxy_match(no_proxy: str, host: str, port: str) -> str | None:
    """The NO_PROXY entry that exempts ``host:port``, or None (httpproxy Config.useProxy)."""
    ip = _ip(host)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return entry
        if "/" in entry:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                network = None
            if network is not None:
                if ip is not None and ip in network:
                    return entry
                continue
        split = _split_host_port(entry)
        if split is not None:
            entry_host, entry_port = split
            if not entry_host:
                continue  # malformed (":80"): Go ignores it
        else:
            entry_host, entry_port = entry.strip("[]"), ""
        entry_ip = _ip(entry_host)
        if entry_ip is not None:
            if ip is not None and ip == entry_ip and (not entry_port or entry_port == port):
                return raw.strip()
            continue
        if entry_host.startswith("*."):
            entry_host = entry_host[1:]
        match_host = not entry_host.startswith(".")
        suffix = _idna(entry_host if not match_host else "." + entry_host)
        if (host.endswith(suffix) or (match_host and host == suffix[1:])) and (
            not entry_port or entry_port == port
        ):
            return raw.strip()
    return None


def choose_proxy(url: str, env: Mapping[str, str]) -> ProxyChoice:
    """The proxy Go's ``ProxyFromEnvironment`` picks for ``url`` in environment ``env``."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = str(parts.port) if parts.port else DEFAULT_PORTS.get(scheme, "")
    except ValueError:
        return ProxyChoice(None, "no proxy: unparseable URL")
    if scheme == "https":
        name, value = _first(env, "HTTPS_PROXY", "https_proxy")
    elif scheme == "http":
        name, value = _first(env, "HTTP_PROXY", "http_proxy")
        if value and env.get("REQUEST_METHOD"):
            return ProxyChoice(
                None,
                "no proxy: CGI environment",
                "refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy",
            )
    else:
        return ProxyChoice(None, f"no proxy: scheme {scheme or '(none)'}")
    if not value:
        return ProxyChoice(None, f"no proxy: {scheme.upper()}_PROXY not set")
    if host == "localhost":
        return ProxyChoice(None, "no proxy: localhost is never proxied")
    ip = _ip(host)
    if ip is not None and ip.is_loopback:
        return ProxyChoice(None, "no proxy: loopback addresses are never proxied")
    _, no_proxy = _first(env, "NO_PROXY", "no_proxy")
    exempt = _no_proxy_match(no_proxy, _idna(host), port)
    if exempt is not None:
        return ProxyChoice(None, f"no proxy: NO_PROXY entry {exempt!r}")
    proxy, error = _parse_proxy(value)
    if error is not None:
        return ProxyChoice(None, f"invalid {name}", error)
    return ProxyChoice(proxy, name)
