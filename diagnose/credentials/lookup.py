"""Which stored-login key each client looks up, and which stored keys only nearly match.

Pure functions over the keys of an auth file's ``auths`` (and ``credHelpers``) object; no I/O.
Sources:
- docker CLI (docker/cli cli/config/credentials/file_store.go ``Get`` and ``ConvertToHostname``;
  the engine's key for Docker Hub is ``registry.IndexServer`` = ``https://index.docker.io/v1/``,
  moby registry/config.go): the exact key first, then any key whose host name (scheme and path
  removed) equals the key. So a Hub login stored as ``docker.io`` is never found by docker.
- containers-image (pkg/docker/config/config.go ``authKeysForKey`` / ``normalizeAuthFileKey`` /
  ``normalizeRegistry``): ``host/ns/repo``, ``host/ns``, ``host`` exactly, then any key that,
  with scheme and path removed, names the same registry, ``docker.io``, ``registry-1.docker.io``
  and ``index.docker.io`` being one registry.
This module must not read files, run helpers or decide which identity a pull uses.
"""

from __future__ import annotations

from collections.abc import Iterable

HUB_KEY = "https://index.docker.io/v1/"
HUB_DOMAINS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


def docker_key(registry: str) -> str:
    """The key docker stores and looks up a login under."""
    return HUB_KEY if registry in HUB_DOMAINS else registry


def key_hostname(key: str) -> str:
    """docker's ConvertToHostname: drop ``http(s)://`` and everything from the first ``/``."""
    stripped = key.removeprefix("http://").removeprefix("https://")
    return stripped.split("/", 1)[0]


def _cimage_registry(host: str) -> str:
    return "docker.io" if host in HUB_DOMAINS else host


def cimage_normalised(key: str) -> str:
    """containers-image's normalised registry of a stored key (a path stays unless a scheme was given)."""
    stripped = key.removeprefix("http://").removeprefix("https://")
    if stripped != key:
        stripped = stripped.split("/", 1)[0]
    return _cimage_registry(stripped)


def docker_lookup(registry: str, keys: Iterable[str]) -> str | None:
    """The stored key docker uses for ``registry``, or None."""
    wanted = docker_key(registry)
    stored = list(keys)
    if wanted in stored:
        return wanted
    return next((k for k in stored if key_hostname(k) == wanted), None)


def cimage_lookup(registry: str, path: str, keys: Iterable[str]) -> str | None:
    """The stored key containers-image uses for ``registry/path``, or None."""
    stored = list(keys)
    host = _cimage_registry(registry)
    name = f"{host}/{path}"
    candidates = []
    while True:
        candidates.append(name)
        if "/" not in name:
            break
        name = name.rsplit("/", 1)[0]
    for candidate in candidates:
        if candidate in stored:
            return candidate
    return next((k for k in stored if cimage_normalised(k) == host), None)


def _split_port(host: str) -> tuple[str, str]:
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return name + "]", rest.removeprefix(":")
    name, _, port = host.partition(":")
    return name, port


def near_misses(registry: str, keys: Iterable[str]) -> tuple[str, ...]:
    """Stored keys a user would take for this registry but that are not the same registry.

    The same host with another port (``host:443`` for ``host``, ``host`` for ``host:5000``),
    another spelling of Docker Hub (``docker.io`` where docker wants
    ``https://index.docker.io/v1/``), or a parent or sibling domain (``gcr.io`` for
    ``eu.gcr.io``). Call it when the client found no login: then these explain why.
    """
    ours, _ = _split_port(registry.lower())
    found = []
    for key in keys:
        theirs, _ = _split_port(key_hostname(key).lower())
        if theirs == ours or (theirs in HUB_DOMAINS and ours in HUB_DOMAINS):
            found.append(key)
            continue
        a, b = ours.split("."), theirs.split(".")
        numeric = any(part.isdigit() for part in a + b)
        if not numeric and len(a) >= 2 and len(b) >= 2 and a[-2:] == b[-2:]:
            found.append(key)
    return tuple(found)
