"""containerd's resolver errors and ``ctr``'s wrapping, read from the containerd pull.

containerd never pings ``/v2/``: it sends ``HEAD …/manifests/<tag>``, fetches a token only after
a 401, retries the HEAD, and reports the first non-404 failure (or ``<ref>: not found``). The
wording changed between 1.6 and 1.7/2.x, so ``resolve_error`` takes the version. Pure: no I/O,
never raises on a registry answer.

Sources (containerd/containerd tags, read with git show):
- v1.6.20 remotes/docker/resolver.go (Resolve: ``pulling from host %s failed with status code %v:
  %v``, ``%s: not found``; request.do: ``failed to authorize: %w``, ``failed to do request: %w``;
  retryRequest: 401 -> AddResponses, 405 -> GET, 408/429 -> again, at most 6 answers),
  remotes/docker/authorizer.go (``server message: %s: authorization failed`` on a second 401 for
  the same request; Basic without credentials is "not implemented", so the 401 stands;
  ``failed to fetch anonymous token: %w`` / ``failed to fetch oauth token: %w``),
  remotes/errors/errors.go (``unexpected status: %s``), remotes/docker/auth/fetch.go
  (ErrNoToken), client.go fetch (``failed to resolve reference %q: %w``), cmd/ctr/app/main.go
  (``ctr: %s``, exit 1);
- v2.1.5 core/remotes/docker/resolver.go, errcode.go (unexpectedResponseErr joins the registry's
  errors), authorizer.go (``authorization failed: no basic auth credentials`` since v1.7.8),
  core/remotes/errors/errors.go (``unexpected status from %s request to %s: %s``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from diagnose.challenge import parse_challenges
from diagnose.clients import NO_BASIC_AUTH_CREDENTIALS, decode_errcode
from diagnose.clients.base import ClientModel, Prediction, PullFacts, body_bytes, host_of_url, last_path_part
from diagnose.clients.go import GoEra, status_line, transport_text, url_error
from diagnose.model import Exchange, Strategy, header_value, header_values

INVALID_AUTHORIZATION = "authorization failed"  # remotes/docker ErrInvalidAuthorization
PULL_ACCESS_DENIED = "pull access denied, repository does not exist or may require authorization"
NO_TOKEN = "authorization server did not include a token in the response"  # auth.ErrNoToken


class ContainerdVersion(StrEnum):
    V16 = "1.6"  # Debian bookworm's containerd 1.6.20
    V2 = "2.x"  # 1.7.8 and later (2.1 vendored by docker 29)


@dataclass(frozen=True, slots=True)
class ResolveError:
    """What containerd's client returns for a failed pull, before any command wraps it."""

    text: str  # the error after "failed to resolve reference …: " (or the whole error)
    resolve: bool = True  # the failure happened in Resolve (so client.Pull wraps it)
    invalid_authorization: bool = False  # errors.Is(err, ErrInvalidAuthorization)
    not_found: bool = False  # errdefs.ErrNotFound
    no_platform: bool = False
    status_error: Exchange | None = None  # ErrUnexpectedStatus: the answer behind it

    def wrapped(self, ref: str) -> str:
        """client.Pull / client.Fetch: ``failed to resolve reference "<ref>": <err>``."""
        return f'failed to resolve reference "{ref}": {self.text}' if self.resolve else self.text


def _era(version: ContainerdVersion) -> GoEra:
    return GoEra.GO119 if version is ContainerdVersion.V16 else GoEra.GO120


def unexpected_status(exchange: Exchange, version: ContainerdVersion, *, join: bool = True) -> str:
    """remotes/errors ErrUnexpectedStatus; 2.x resolver answers (errcode.go unexpectedResponseErr)
    join the registry's JSON errors after it, token answers (auth/fetch.go) do not."""
    response = exchange.response
    assert response is not None
    status = status_line(response.status, response.reason)
    if version is ContainerdVersion.V16:
        return f"unexpected status: {status}"
    text = f"unexpected status from {exchange.request.method} request to {exchange.request.url}: {status}"
    body = body_bytes(response)
    if body and join:
        errors, _problem = decode_errcode(body)
        if errors:
            # containerd's docker.Errors: one error prints "code: message", several "errors:\n…"
            joined = (
                errors[0].text if len(errors) == 1 else "errors:\n" + "".join(e.text + "\n" for e in errors)
            )
            text += "\n" + joined  # errors.Join(unexpected status, registry errors)
    return text


def _token_error(facts: PullFacts, exchange: Exchange, version: ContainerdVersion) -> ResolveError:
    oauth = any(e.step == "token" and e.request.method == "POST" for e in facts.pull.exchanges)
    kind = "oauth" if oauth else "anonymous"
    if exchange.failure is not None:
        inner = transport_text(
            exchange.failure.kind, host_of_url(exchange.request.url), exchange.failure.detail, _era(version)
        )
        inner = url_error(exchange.request.method, exchange.request.url, inner, _era(version))
    elif exchange.response is not None and exchange.response.status == 200:
        inner = NO_TOKEN
    else:
        inner = unexpected_status(exchange, version, join=False)
        return ResolveError(
            f"failed to authorize: failed to fetch {kind} token: {inner}", status_error=exchange
        )
    return ResolveError(f"failed to authorize: failed to fetch {kind} token: {inner}")


def _previous_same_request(facts: PullFacts, exchange: Exchange) -> bool:
    """authorizer.go sameRequest: the answer before this one was for the same method and URL."""
    earlier = [e for e in facts.pull.exchanges if e.id < exchange.id and e.step == exchange.step]
    return bool(earlier) and (earlier[-1].request.method, earlier[-1].request.url) == (
        exchange.request.method,
        exchange.request.url,
    )


def index_digest(facts: PullFacts) -> str | None:
    """The digest of the manifest list the pull fetched (its ``Docker-Content-Digest``, else the
    sha256 of the recorded body), as containerd names it in its no-platform error."""
    fetched = [
        e
        for e in facts.pull.exchanges
        if e.step == "manifest" and e.request.method == "GET" and e.response and e.response.status == 200
    ]
    if not fetched or fetched[-1].response is None:
        return None
    response = fetched[-1].response
    digest = header_value(response.headers, "Docker-Content-Digest")
    if digest:
        return digest
    if response.body_truncated:
        return None
    return "sha256:" + hashlib.sha256(body_bytes(response)).hexdigest()


def resolve_error(facts: PullFacts, version: ContainerdVersion) -> ResolveError:
    """The error containerd's client returns for this pull (containerd pull's evidence)."""
    exchange = facts.failing
    step = facts.step
    ref = facts.ref.canonical
    if step == "platform":
        # images/image.go Manifest: "no match for platform in manifest %v: %w" with the index's
        # digest (desc.Digest) and errdefs.ErrNotFound. Checked against the real ctr 1.6.
        digest = index_digest(facts)
        where = f" {digest}" if digest else ""
        text = f"no match for platform in manifest{where}: not found"
        return ResolveError(text, resolve=False, no_platform=True)
    if exchange is None:
        return (
            ResolveError(f"{ref}: not found", not_found=True)
            if step == "manifest"
            else ResolveError(facts.pull.error.detail if facts.pull.error else "", resolve=False)
        )
    if step == "token":
        return _token_error(facts, exchange, version)
    if exchange.failure is not None:
        inner = transport_text(
            exchange.failure.kind, host_of_url(exchange.request.url), exchange.failure.detail, _era(version)
        )
        text = "failed to do request: " + url_error(
            exchange.request.method, exchange.request.url, inner, _era(version)
        )
        return ResolveError(text, resolve=step == "manifest")
    response = exchange.response
    assert response is not None
    if step != "manifest":
        return _fetch_error(exchange, version)
    if response.status == 401:
        challenges = parse_challenges(header_values(response.headers, "WWW-Authenticate"))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        if bearer is not None and bearer.error and _previous_same_request(facts, exchange):
            text = f"{PULL_ACCESS_DENIED}: server message: {bearer.error}: {INVALID_AUTHORIZATION}"
            return ResolveError(text, invalid_authorization=True)
        sent_auth = header_value(exchange.request.headers, "Authorization") is not None
        basic = any(c.scheme == "basic" for c in challenges)
        if version is ContainerdVersion.V2 and basic and bearer is None and not sent_auth:
            text = f"{PULL_ACCESS_DENIED}: {INVALID_AUTHORIZATION}: {NO_BASIC_AUTH_CREDENTIALS}"
            return ResolveError(text, invalid_authorization=True)
    if response.status == 404:
        return ResolveError(f"{ref}: not found", not_found=True)
    if version is ContainerdVersion.V16:
        where = f"[manifests {last_path_part(exchange.request.url)}]"
        status = status_line(response.status, response.reason)
        text = (
            f"pulling from host {host_of_url(exchange.request.url)} failed with status code {where}: {status}"
        )
        return ResolveError(text)
    return ResolveError(unexpected_status(exchange, version), status_error=exchange)


def _fetch_error(exchange: Exchange, version: ContainerdVersion) -> ResolveError:
    """A content fetch after the reference resolved (derived: remotes/docker/fetcher.go open)."""
    response = exchange.response
    assert response is not None
    url = exchange.request.url
    if response.status == 404:
        inner = f"content at {url} not found: not found"
    elif version is ContainerdVersion.V16:
        inner = f"unexpected status code {url}: {status_line(response.status, response.reason)}"
    else:
        inner = unexpected_status(exchange, version)
    return ResolveError(f"failed to copy: httpReadSeeker: failed open: {inner}", resolve=False)


def _predict_ctr(facts: PullFacts) -> Prediction:
    if facts.pull.ok:
        return "", 0
    error = resolve_error(facts, ContainerdVersion.V16)
    return f"ctr: {error.wrapped(facts.ref.canonical)}", 1


MODELS: tuple[ClientModel, ...] = (
    ClientModel(
        "containerd",
        "ctr images pull on containerd 1.6 (Debian bookworm; nerdctl shares the resolver)",
        Strategy.CONTAINERD,
        "containerd/containerd v1.6.20 remotes/docker/resolver.go, authorizer.go, auth/fetch.go, "
        "remotes/errors/errors.go, client.go, cmd/ctr/app/main.go",
        _predict_ctr,
    ),
)
