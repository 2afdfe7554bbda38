"""Start the whole real-registry test stack and tear it down again.

``start_stack(workdir)`` is a context manager that

1. makes a throwaway CA (``pki.py``),
2. starts the token server (``tokenserver.py``),
3. starts three ``docker-registry`` processes (``registry.py``): token auth, htpasswd
   Basic auth, no auth — all TLS on free 127.0.0.1 ports,
4. seeds small images (``oci.py`` layout pushed with the real ``skopeo copy``),

and yields a frozen ``RealRegistries``. On exit every process and thread it started is
stopped, whatever happened. It is used by the pytest plugin and by
``python -m tests.realreg.scenario_table``; it must not depend on pytest.
"""

from __future__ import annotations

import contextlib
import secrets
import types
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.realreg.oci import LINUX_AMD64, LINUX_ARM64, OciLayout
from tests.realreg.pki import make_pki
from tests.realreg.registry import (
    RegistryProcess,
    free_port,
    htpasswd_auth,
    start_registry,
    token_auth,
)
from tests.realreg.skopeo import Skopeo
from tests.realreg.tokenserver import TokenPolicy, TokenServer

SERVICE = "diagnose-realreg"
ISSUER = "diagnose-realreg-token-issuer"
BASIC_REALM = "diagnose-realreg basic"
SEEDER = "seeder"

# (repository, tag, layout name). Every registry gets every image.
SEED_IMAGES: tuple[tuple[str, str, str], ...] = (
    ("library/busybox", "latest", "busybox"),  # linux/amd64 + linux/arm64 index
    ("library/alpine", "3.19", "alpine"),  # single linux/amd64 manifest
    ("library/armonly", "1.0", "armonly"),  # index with only linux/arm64
    ("alice/private", "1.0", "alice-private"),  # private to alice on the token registry
    ("bob/tools", "1.0", "bob-tools"),  # private to bob on the token registry
)
# Docker schema2 copies (skopeo copy --format v2s2): the only kind docker 1.12 can pull, since
# distribution hides OCI manifests from clients that do not accept OCI media types.
DOCKER_FORMAT_IMAGES: tuple[tuple[str, str, str], ...] = (("library/alpine", "3.19-docker", "alpine"),)
PUBLIC_REPOSITORIES = frozenset(repo for repo, _, _ in SEED_IMAGES if repo.startswith("library/"))


class RegistryKind:
    """Names of the three registries in ``RealRegistries``."""

    TOKEN = "token"
    BASIC = "basic"
    OPEN = "open"
    CLOSED = "closed"  # a port where nothing listens
    PLAIN = "plain"  # no auth and no TLS: plain HTTP only


@dataclass(frozen=True, slots=True)
class RealRegistries:
    """Where the running stack is and how to talk to it."""

    token: str  # "127.0.0.1:PORT", token auth (Docker-Hub-like policy)
    basic: str  # htpasswd Basic auth
    open: str  # no auth at all
    closed: str  # nothing listens here (connection refused)
    plain: str  # no auth, plain HTTP (no TLS)
    token_server: str  # "https://127.0.0.1:PORT"; the realm is f"{token_server}/token"
    ca_cert: Path  # PEM of the throwaway CA: TransportOptions(verify=str(ca_cert))
    cert_dir: Path  # holds ca.crt: skopeo --cert-dir
    users: Mapping[str, str]  # {"alice": pw, "bob": pw}, valid on token and basic registries
    identity_tokens: Mapping[str, str]  # {"alice": refresh token}: the token server's refresh grant
    service: str
    issuer: str
    workdir: Path
    logs: Mapping[str, Path]  # registry name -> log file (debugging)
    skopeo_home: Path  # isolated HOME for skopeo runs

    def host(self, kind: str) -> str:
        return {
            RegistryKind.TOKEN: self.token,
            RegistryKind.BASIC: self.basic,
            RegistryKind.OPEN: self.open,
            RegistryKind.CLOSED: self.closed,
            RegistryKind.PLAIN: self.plain,
        }[kind]

    def ref(self, kind: str, repository: str, tag: str = "latest") -> str:
        """``127.0.0.1:PORT/<repository>:<tag>`` on registry ``kind``."""
        return f"{self.host(kind)}/{repository}:{tag}"

    def creds(self, user: str) -> tuple[str, str]:
        return (user, self.users[user])

    def skopeo(self) -> Skopeo:
        return Skopeo(self.skopeo_home)


def bcrypt_htpasswd_line(user: str, password: str) -> str:
    """An htpasswd line distribution accepts (bcrypt only, registry/auth/htpasswd).

    Uses the ``bcrypt`` package when installed, else the stdlib ``crypt`` module (libxcrypt
    does ``$2b$``; the module exists up to Python 3.12). Cost 4 keeps logins fast.
    """
    try:
        import bcrypt  # type: ignore[import-not-found, unused-ignore]

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # type: ignore[import-not-found, unused-ignore]

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        if not hashed or not hashed.startswith("$2"):
            raise RuntimeError("no bcrypt available: pip install bcrypt") from None
    return f"{user}:{hashed}"


def build_layout(root: Path) -> OciLayout:
    layout = OciLayout(root)
    layout.name("busybox", layout.index("busybox", [LINUX_AMD64, LINUX_ARM64]))
    layout.name("alpine", layout.image("alpine", LINUX_AMD64))
    layout.name("armonly", layout.index("armonly", [LINUX_ARM64]))
    layout.name("alice-private", layout.image("alice-private", LINUX_AMD64))
    layout.name("bob-tools", layout.image("bob-tools", LINUX_AMD64))
    return layout


def _seed(
    skopeo: Skopeo,
    layout: OciLayout,
    cert_dir: Path,
    jobs: list[tuple[str, str, str, tuple[str, str] | None]],
    plain_hosts: frozenset[str] = frozenset(),
) -> None:
    """Push ``(host, repository:tag, layout name, creds)`` jobs, in parallel."""

    docker_format = {f"{repository}:{tag}" for repository, tag, _ in DOCKER_FORMAT_IMAGES}

    def push(job: tuple[str, str, str, tuple[str, str] | None]) -> str | None:
        host, target, name, creds = job
        run = skopeo.copy(
            f"oci:{layout.root}:{name}",
            f"docker://{host}/{target}",
            dest_cert_dir=cert_dir,
            dest_creds=creds,
            manifest_format="v2s2" if target in docker_format else None,
            dest_tls_verify=host not in plain_hosts,
        )
        return None if run.ok else f"{target} on {host}: {run.message or run.stderr}"

    with ThreadPoolExecutor(max_workers=6) as pool:
        errors = [e for e in pool.map(push, jobs) if e]
    if errors:
        raise RuntimeError("seeding failed:\n" + "\n".join(errors))


@contextlib.contextmanager
def start_stack(workdir: Path) -> Iterator[RealRegistries]:
    """Start the stack under ``workdir``; stop everything on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    pki = make_pki(workdir / "pki")
    users = {"alice": secrets.token_urlsafe(12), "bob": secrets.token_urlsafe(12)}
    seeder_password = secrets.token_urlsafe(12)
    policy = TokenPolicy(
        users={**users, SEEDER: seeder_password},
        superusers=frozenset({SEEDER}),
        public=set(),  # filled once the public repositories exist
        refresh_tokens={secrets.token_urlsafe(24): "alice"},
    )
    token_server = TokenServer(
        policy=policy,
        issuer=ISSUER,
        service=SERVICE,
        signing_key=pki.signing_key,
        signing_cert_der=pki.signing_cert_der,
        server_cert=pki.server_cert,
        server_key=pki.server_key,
    )
    htpasswd = workdir / "htpasswd"
    htpasswd.write_text("".join(bcrypt_htpasswd_line(u, p) + "\n" for u, p in users.items()))

    with contextlib.ExitStack() as stack:
        token_server.start()
        stack.callback(token_server.stop)
        processes: dict[str, RegistryProcess] = {}

        def start(name: str, auth: dict[str, object] | None, tls: bool = True) -> RegistryProcess:
            process = start_registry(
                name,
                workdir,
                ca_cert=pki.ca_cert,
                cert=pki.server_cert if tls else None,
                key=pki.server_key if tls else None,
                auth=auth,
            )
            stack.callback(process.stop)
            processes[name] = process
            return process

        token_reg = start(
            RegistryKind.TOKEN,
            token_auth(
                realm=token_server.realm,
                service=SERVICE,
                issuer=ISSUER,
                rootcertbundle=pki.ca_cert,
            ),
        )
        basic_reg = start(RegistryKind.BASIC, htpasswd_auth(realm=BASIC_REALM, path=htpasswd))
        open_reg = start(RegistryKind.OPEN, None)
        plain_reg = start(RegistryKind.PLAIN, None, tls=False)

        skopeo_home = workdir / "skopeo-home"
        skopeo = Skopeo(skopeo_home)
        layout = build_layout(workdir / "oci-layout")
        jobs: list[tuple[str, str, str, tuple[str, str] | None]] = []
        for repository, tag, name in SEED_IMAGES + DOCKER_FORMAT_IMAGES:
            owner = repository.split("/", 1)[0]
            token_creds = (owner, users[owner]) if owner in users else (SEEDER, seeder_password)
            jobs.append((token_reg.host, f"{repository}:{tag}", name, token_creds))
            jobs.append((basic_reg.host, f"{repository}:{tag}", name, ("alice", users["alice"])))
            jobs.append((open_reg.host, f"{repository}:{tag}", name, None))
        jobs.append((plain_reg.host, "library/alpine:3.19", "alpine", None))
        _seed(skopeo, layout, pki.cert_dir, jobs, frozenset({plain_reg.host}))
        policy.public.update(PUBLIC_REPOSITORIES)

        yield RealRegistries(
            token=token_reg.host,
            basic=basic_reg.host,
            open=open_reg.host,
            closed=f"127.0.0.1:{free_port()}",
            plain=plain_reg.host,
            token_server=token_server.url,
            ca_cert=pki.ca_cert,
            cert_dir=pki.cert_dir,
            users=types.MappingProxyType(dict(users)),
            identity_tokens=types.MappingProxyType({u: k for k, u in policy.refresh_tokens.items()}),
            service=SERVICE,
            issuer=ISSUER,
            workdir=workdir,
            logs=types.MappingProxyType({name: p.log for name, p in processes.items()}),
            skopeo_home=skopeo_home,
        )
