"""Options shared by both pullers. Values only; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from diagnose.tls_material import NO_TLS_MATERIAL, TlsMaterial


@dataclass(frozen=True, slots=True)
class PullOptions:
    """What the user asked for, as both pullers need it."""

    credentials: tuple[str, str] | None = None  # (username, password)
    identity_token: str | None = None  # a stored ``identitytoken``: the OAuth2 refresh-token grant
    platform: str = "linux/amd64"  # os/arch[/variant], used to pick from an index
    tls_verify: bool = True  # False: like skopeo --tls-verify=false (https, then http)
    insecure_registries: tuple[str, ...] = ()  # docker --insecure-registry (host:port or CIDR)
    verify_layers: bool = False  # stream and digest-check every layer instead of HEAD
    layer_dir: str | None = None  # with verify_layers: the v2-only pull keeps verified layers here
    # the ``server`` a containerd hosts.toml names for the registry (scheme://host[:port]);
    # None: containerd's default (https; plain http for localhost and 127.0.0.0/8)
    containerd_server: str | None = None
    # The certs.d material each family would use for this registry (found at the edge, cli.py):
    # containers/image's for the strict pull, docker's for docker's pulls.
    containers_tls: TlsMaterial = NO_TLS_MATERIAL
    docker_tls: TlsMaterial = NO_TLS_MATERIAL
