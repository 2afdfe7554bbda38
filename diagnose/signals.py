"""Evidence for the catalogue's situations, read from the recorded exchanges of any pull.

Pure: ``signals_from`` looks at what the registry, its token service and its storage really
answered (statuses, headers, error bodies, transport failures) and names the situations the
rules of the catalogue need: an invalid or expired token, a token realm that cannot be reached
or answers without a token, a host that does not resolve, a proxy's error page, storage that
refuses a presigned URL, a blob the registry does not have, a renamed repository, the platforms
an index offers, a schema1 manifest, and the registry vendor. This module must not do I/O,
import requests, rich or typer, or word a diagnosis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from diagnose.challenge import parse_challenges
from diagnose.model import Exchange, FailureKind, PullResult, header_value, header_values
from diagnose.urls import split_url
from diagnose.vendors import Vendor, detect

_INDEX_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
_SCHEMA1_TYPES = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
_BLOB_PATH = re.compile(r"^/v2/.+/blobs/(?P<digest>[a-z0-9]+:[0-9a-fA-F]+)$")
_MANIFEST_PATH = re.compile(r"^/v2/.+/manifests/[^/]+$")
_MOVED = re.compile(r"\b(?:renamed|moved) to (?P<name>[a-z0-9][a-z0-9._/-]*[a-z0-9])", re.IGNORECASE)
_XML_CODE = re.compile(r"<Code>([^<]{1,80})</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]{1,300})</Message>")


@dataclass(frozen=True, slots=True)
class StorageRefusal:
    """Object storage (a redirect target) refused a blob URL the registry handed out."""

    host: str
    status: int
    code: str  # S3-style <Code>, "" when the body has none
    message: str  # S3-style <Message>, "" when the body has none


@dataclass(frozen=True, slots=True)
class Signals:
    """What the exchanges show beyond outcomes and codes (see the module docstring)."""

    vendor: Vendor | None = None
    token_realm_host: str = ""  # host:port of the Bearer realm a challenge named
    invalid_token: bool = False  # a token was sent and the registry said error="invalid_token"
    token_failure: FailureKind | None = None  # the token request got no answer
    token_failure_detail: str = ""
    token_without_token: bool = False  # the token service answered 200 without token/access_token
    dns_hosts: tuple[str, ...] = ()  # hosts whose name did not resolve
    proxy_status: int | None = None  # a 5xx HTML page without the registry's version header
    proxy_server: str = ""  # its Server header ("nginx"), "" when absent
    # The forward proxy (HTTP(S)_PROXY) the requests went through, redacted, and what it did
    # when it refused to connect us (a CONNECT answered 407/502, or the proxy unreachable).
    forward_proxy: str = ""
    proxy_refusal: str = ""
    storage: StorageRefusal | None = None
    missing_blobs: tuple[str, ...] = ()  # digests a blob request answered 404 for
    moved_to: str | None = None  # the new name a NAME_UNKNOWN answer gave
    index_platforms: tuple[str, ...] = ()  # os/arch[/variant] entries of an index that was read
    schema1: bool = False  # a manifest answer was Docker schema1

    @property
    def windows_only(self) -> bool:
        return bool(self.index_platforms) and all(p.startswith("windows/") for p in self.index_platforms)


NO_SIGNALS = Signals()


def _host(url: str) -> str:
    return split_url(url).netloc.rpartition("@")[2]


def _path(url: str) -> str:
    return split_url(url).path


def _realms(exchanges: Iterable[Exchange]) -> list[str]:
    """Bearer realms (``scheme://host/path``) named by any 401 challenge."""
    realms: list[str] = []
    for exchange in exchanges:
        response = exchange.response
        if response is None or response.status != 401:
            continue
        for challenge in parse_challenges(header_values(response.headers, "WWW-Authenticate")):
            realm = challenge.realm if challenge.scheme == "bearer" else None
            if realm and realm not in realms:
                realms.append(realm)
    return realms


def _is_token_request(exchange: Exchange, realms: Sequence[str]) -> bool:
    url = exchange.request.url.split("?", 1)[0]
    return any(url == realm.split("?", 1)[0] for realm in realms)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _moved_to(body: str) -> str | None:
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return None
    for entry in data["errors"]:
        if not isinstance(entry, dict) or entry.get("code") != "NAME_UNKNOWN":
            continue
        detail = entry.get("detail")
        if isinstance(detail, dict):
            for key in ("moved_to", "renamed_to", "new_name"):
                if isinstance(detail.get(key), str) and detail[key]:
                    return str(detail[key])
        match = _MOVED.search(str(entry.get("message") or ""))
        if match:
            return match.group("name")
    return None


def index_platforms(body: str) -> tuple[str, ...]:
    """``os/arch[/variant]`` of every entry of an index or manifest list body, in order."""
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("manifests"), list):
        return ()
    out: list[str] = []
    for entry in data["manifests"]:
        platform = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(platform, dict):
            continue
        parts = [str(platform.get("os", "")), str(platform.get("architecture", ""))]
        if platform.get("variant"):
            parts.append(str(platform["variant"]))
        text = "/".join(parts)
        if text not in out:
            out.append(text)
    return tuple(out)


def _content_type(exchange: Exchange) -> str:
    response = exchange.response
    value = header_value(response.headers, "Content-Type") if response is not None else None
    return (value or "").split(";", 1)[0].strip().lower()


def signals_from(pulls: Sequence[PullResult], host: str = "") -> Signals:
    """Derive the signals from every exchange of every pull (pure)."""
    exchanges = [e for p in pulls for e in p.exchanges]
    realms = _realms(exchanges)
    invalid_token = False
    token_failure: FailureKind | None = None
    token_failure_detail = ""
    token_without_token = False
    dns: list[str] = []
    proxy_status: int | None = None
    proxy_server = ""
    forward_proxy = next((e.proxy for e in exchanges if e.proxy), "") or ""
    proxy_refusal = next(
        (
            e.failure.detail
            for e in exchanges
            if e.failure is not None and e.failure.kind is FailureKind.PROXY
        ),
        "",
    )
    storage: StorageRefusal | None = None
    missing: list[str] = []
    moved_to: str | None = None
    platforms: tuple[str, ...] = ()
    schema1 = False
    texts: list[str] = list(realms)

    for exchange in exchanges:
        url = exchange.request.url
        path = _path(url)
        failure = exchange.failure
        if failure is not None:
            if failure.kind is FailureKind.DNS and _host(url) not in dns:
                dns.append(_host(url))
            if _is_token_request(exchange, realms) and token_failure is None:
                token_failure, token_failure_detail = failure.kind, failure.detail
            continue
        response = exchange.response
        if response is None:
            continue
        texts.extend(f"{name}: {value}" for name, value in response.headers)
        if response.status >= 400:
            texts.append(response.body[:2000])
        is_token = _is_token_request(exchange, realms)
        if is_token and response.status == 200:
            data = _json(response.body)
            if isinstance(data, dict) and not data.get("token") and not data.get("access_token"):
                token_without_token = True
        if response.status == 401 and not is_token:
            sent_token = (
                (header_value(exchange.request.headers, "Authorization") or "").lower().startswith("bearer")
            )
            for challenge in parse_challenges(header_values(response.headers, "WWW-Authenticate")):
                if challenge.error == "invalid_token" and sent_token:
                    invalid_token = True
        registry_header = header_value(response.headers, "Docker-Distribution-Api-Version") is not None
        if (
            response.status in (502, 503, 504)
            and not registry_header
            and "html" in _content_type(exchange)
            and proxy_status is None
        ):
            proxy_status = response.status
            proxy_server = header_value(response.headers, "Server") or ""
        if exchange.redirect_of is not None and 400 <= response.status < 500 and storage is None:
            code = _XML_CODE.search(response.body)
            message = _XML_MESSAGE.search(response.body)
            storage = StorageRefusal(
                _host(url),
                response.status,
                code.group(1) if code else "",
                message.group(1) if message else "",
            )
        blob = _BLOB_PATH.match(path)
        if blob and response.status == 404 and blob.group("digest") not in missing:
            missing.append(blob.group("digest"))
        if response.status == 404 and moved_to is None:
            moved_to = _moved_to(response.body)
        if response.status == 200 and _MANIFEST_PATH.match(path):
            kind = _content_type(exchange)
            if kind in _INDEX_TYPES and not platforms:
                platforms = index_platforms(response.body)
            if kind in _SCHEMA1_TYPES:
                schema1 = True

    realm_host = _host(realms[0]) if realms else ""
    return Signals(
        vendor=detect(host, texts),
        token_realm_host=realm_host,
        invalid_token=invalid_token,
        token_failure=token_failure,
        token_failure_detail=token_failure_detail,
        token_without_token=token_without_token,
        dns_hosts=tuple(dns),
        proxy_status=proxy_status,
        proxy_server=proxy_server,
        forward_proxy=forward_proxy,
        proxy_refusal=proxy_refusal,
        storage=storage,
        missing_blobs=tuple(missing),
        moved_to=moved_to,
        index_platforms=platforms,
        schema1=schema1,
    )
