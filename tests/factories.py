"""Builders of model values (exchanges, pull results, reports) for pure tests.

No I/O, no HTTP: these are hand-made values shaped like what the pullers record, so the
rules and renderers can be tested without a registry. Each ``scenario_*`` function returns
the two pulls of one situation of the docker-1.12-versus-skopeo decision table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

from diagnose.model import (
    AuthInfo,
    AuthMode,
    Diagnosis,
    Exchange,
    FailureKind,
    Headers,
    ImageReference,
    Outcome,
    Protocol,
    PullError,
    PullResult,
    PullStep,
    RecordedRequest,
    RecordedResponse,
    RegistryError,
    Report,
    StepKind,
    Strategy,
    TokenAccess,
    TokenClaims,
    TokenGrant,
    TransportFailure,
    step_kind_of_label,
)

HUB = "registry-1.docker.io"
V2_CLIENT = "skopeo (c/image ≥ 5.24)"
FB_CLIENT = "docker 1.12"
VERSION = ("Docker-Distribution-Api-Version", "registry/2.0")

ANONYMOUS = AuthInfo(mode=AuthMode.ANONYMOUS, source="none")
ALICE = AuthInfo(mode=AuthMode.CREDENTIALS, source="--creds", username="alice")


def bearer(repo: str, error: str | None = None) -> tuple[str, str]:
    value = f'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:{repo}:pull"'
    if error:
        value += f',error="{error}"'
    return ("WWW-Authenticate", value)


def basic(realm: str = "Registry Realm") -> tuple[str, str]:
    return ("WWW-Authenticate", f'Basic realm="{realm}"')


def errors_body(*errors: tuple[str, str]) -> str:
    return json.dumps({"errors": [{"code": c, "message": m, "detail": None} for c, m in errors]})


def token_body() -> str:
    """A token answer as the transport records it: the token redacted, the claims beside it."""
    return json.dumps({"token": "<redacted>"})


def token_claims(repo: str, actions: Sequence[str], sub: str = "") -> TokenClaims:
    access = (TokenAccess("repository", repo, tuple(actions)),) if actions else ()
    return TokenClaims(sub=sub, access=access)


@dataclass
class PullBuilder:
    """Accumulates exchanges and steps of one pull; ``build`` gives the PullResult."""

    strategy: Strategy
    host: str = HUB
    first_id: int = 1
    exchanges: list[Exchange] = field(default_factory=list)
    steps: list[PullStep] = field(default_factory=list)

    def _url(self, path: str) -> str:
        return path if "://" in path else f"https://{self.host}{path}"

    def http(
        self,
        step: str,
        path: str,
        status: int,
        *,
        method: str = "GET",
        headers: Iterable[tuple[str, str]] = (),
        body: str = "",
        result: str = "",
        request_headers: Headers = (),
        claims: TokenClaims | None = None,
    ) -> Exchange:
        reason = {
            200: "OK",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
        }
        exchange = Exchange(
            id=self.first_id + len(self.exchanges),
            strategy=self.strategy,
            step=step,
            request=RecordedRequest(method=method, url=self._url(path), headers=request_headers),
            response=RecordedResponse(
                status=status,
                reason=reason.get(status, "Internal Server Error" if status >= 500 else ""),
                headers=tuple(headers),
                body=body,
                body_size=len(body),
            ),
            elapsed_ms=12.5,
            kind=step_kind_of_label(step),
            token_claims=claims,
        )
        self.exchanges.append(exchange)
        self.steps.append(
            PullStep(step, method, exchange.request.url, status, result or str(status), exchange.id)
        )
        return exchange

    def fail(self, step: str, path: str, kind: FailureKind, detail: str, *, method: str = "GET") -> Exchange:
        exchange = Exchange(
            id=self.first_id + len(self.exchanges),
            strategy=self.strategy,
            step=step,
            request=RecordedRequest(method=method, url=self._url(path)),
            failure=TransportFailure(kind, detail),
            kind=step_kind_of_label(step),
        )
        self.exchanges.append(exchange)
        self.steps.append(PullStep(step, method, exchange.request.url, None, kind.value, exchange.id))
        return exchange

    def build(
        self,
        outcome: Outcome,
        message: str,
        *,
        protocol: Protocol | None = Protocol.V2,
        error: PullError | None = None,
        notes: tuple[str, ...] = (),
        client: str | None = None,
    ) -> PullResult:
        if client is None:
            client = V2_CLIENT if self.strategy is Strategy.V2_ONLY else FB_CLIENT
        return PullResult(
            strategy=self.strategy,
            outcome=outcome,
            protocol=protocol,
            message=message,
            client=client,
            steps=tuple(self.steps),
            exchanges=tuple(self.exchanges),
            error=error,
            notes=notes,
            tokens=tuple(_grant(e) for e in self.exchanges if e.kind is StepKind.TOKEN),
        )


def _grant(exchange: Exchange) -> TokenGrant:
    claims = exchange.token_claims
    scope = next((v for k, v in parse_qsl(urlsplit(exchange.request.url).query) if k == "scope"), "")
    issued = exchange.response is not None and exchange.response.status == 200
    return TokenGrant(
        exchange.id,
        scope,
        issued=issued,
        access=claims.access if claims is not None and issued else None,
        subject=claims.sub if claims is not None and issued else None,
    )


def v2_builder(host: str = HUB) -> PullBuilder:
    return PullBuilder(Strategy.V2_ONLY, host=host, first_id=1)


def fb_builder(host: str = HUB) -> PullBuilder:
    return PullBuilder(Strategy.V2_THEN_V1, host=host, first_id=101)


def error_at(exchange: Exchange, *codes: tuple[str, str], challenge: str | None = None) -> PullError:
    status = exchange.response.status if exchange.response else None
    return PullError(
        step=exchange.step,
        exchange_id=exchange.id,
        status=status,
        registry_errors=tuple(RegistryError(c, m) for c, m in codes),
        challenge_error=challenge,
        failure=exchange.failure,
        detail=f"{exchange.step} {exchange.request.method} answered {status}",
    )


def _v2_auth_prefix(b: PullBuilder, repo: str, actions: Sequence[str]) -> None:
    b.http("ping", "/v2/", 401, headers=[VERSION, bearer(repo)], body=errors_body(("UNAUTHORIZED", "x")))
    b.http(
        "token",
        f"https://auth.docker.io/token?scope=repository:{repo}:pull&service=registry.docker.io",
        200,
        body=token_body(),
        claims=token_claims(repo, actions),
        result=f"token (access: {','.join(actions) or 'none'})",
    )


Pulls = tuple[PullResult, ...]


# --- scenarios: one per rule --------------------------------------------------------------------


def scenario_both_ok() -> Pulls:
    repo = "library/busybox"
    v2 = v2_builder()
    _v2_auth_prefix(v2, repo, ["pull"])
    v2.http("manifest", f"/v2/{repo}/manifests/latest", 200, headers=[VERSION])
    fb = fb_builder()
    _v2_auth_prefix(fb, repo, ["pull"])
    fb.http("manifest", f"/v2/{repo}/manifests/latest", 200, headers=[VERSION])
    return (
        v2.build(Outcome.OK, "Writing manifest to image destination"),
        fb.build(Outcome.OK, "Status: Downloaded newer image for busybox:latest"),
    )


def _hub_401(b: PullBuilder, repo: str) -> Exchange:
    return b.http(
        "manifest",
        f"/v2/{repo}/manifests/latest",
        401,
        headers=[VERSION, bearer(repo, "insufficient_scope")],
        body=errors_body(("UNAUTHORIZED", "authentication required")),
    )


def _v1_404s(b: PullBuilder, repo: str, host: str = "index.docker.io") -> None:
    b.http("v1 images", f"https://{host}/v1/repositories/{repo}/images", 404, body="404 page not found")


def scenario_hub_anonymous_missing(repo: str = "library/thisimagedoesntexist") -> Pulls:
    v2 = v2_builder()
    _v2_auth_prefix(v2, repo, [])
    m = _hub_401(v2, repo)
    fb = fb_builder()
    _v2_auth_prefix(fb, repo, [])
    _hub_401(fb, repo)
    _v1_404s(fb, repo)
    short = repo.removeprefix("library/")
    return (
        v2.build(
            Outcome.UNAUTHORIZED,
            f"reading manifest latest in docker.io/{repo}: requested access to the resource is denied",
            error=error_at(m, ("UNAUTHORIZED", "authentication required"), challenge="insufficient_scope"),
        ),
        fb.build(
            Outcome.NOT_FOUND,
            f"Error: image {repo}:latest not found",
            protocol=Protocol.V1,
            notes=(f"V2 manifest 401 for {short}: fell back to V1",),
        ),
    )


def scenario_hub_anonymous_no_fallback() -> Pulls:
    """Anonymous 401 where the docker-style pull did not reach V1 (e.g. V1 disabled)."""
    repo = "library/private"
    v2 = v2_builder()
    _v2_auth_prefix(v2, repo, [])
    m = _hub_401(v2, repo)
    fb = fb_builder()
    _v2_auth_prefix(fb, repo, [])
    m2 = _hub_401(fb, repo)
    return (
        v2.build(
            Outcome.UNAUTHORIZED,
            f"reading manifest latest in docker.io/{repo}: requested access to the resource is denied",
            error=error_at(m, ("UNAUTHORIZED", "authentication required"), challenge="insufficient_scope"),
        ),
        fb.build(
            Outcome.UNAUTHORIZED,
            "unauthorized: authentication required",
            error=error_at(m2, ("UNAUTHORIZED", "authentication required")),
        ),
    )


def scenario_hub_logged_in_no_access() -> Pulls:
    repo = "alice/secret"
    v2 = v2_builder()
    _v2_auth_prefix(v2, repo, [])
    m = _hub_401(v2, repo)
    fb = fb_builder()
    _v2_auth_prefix(fb, repo, [])
    _hub_401(fb, repo)
    _v1_404s(fb, repo)
    return (
        v2.build(
            Outcome.UNAUTHORIZED,
            f"reading manifest latest in docker.io/{repo}: requested access to the resource is denied",
            error=error_at(m, ("UNAUTHORIZED", "authentication required"), challenge="insufficient_scope"),
        ),
        fb.build(Outcome.NOT_FOUND, f"Error: image {repo}:latest not found", protocol=Protocol.V1),
    )


def scenario_basic_no_credentials(host: str = "registry:5000") -> Pulls:
    repo = "bmerry/abacuscm"
    unauthorized = errors_body(("UNAUTHORIZED", "authentication required"))
    v2 = v2_builder(host)
    v2.http("ping", "/v2/", 401, headers=[VERSION, basic()], body=unauthorized)
    m = v2.http(
        "manifest", f"/v2/{repo}/manifests/latest", 401, headers=[VERSION, basic()], body=unauthorized
    )
    fb = fb_builder(host)
    fb.http("ping", "/v2/", 401, headers=[VERSION, basic()], body=unauthorized)
    fb.fail("manifest", f"/v2/{repo}/manifests/latest", FailureKind.CLIENT_SIDE, "no basic auth credentials")
    fb.http("v1 ping", "/v1/_ping", 404, body="404 page not found")
    fb.http("v1 images", f"/v1/repositories/{repo}/images", 404, body="404 page not found")
    return (
        v2.build(
            Outcome.UNAUTHORIZED,
            f"reading manifest latest in {host}/{repo}: authentication required",
            error=error_at(m, ("UNAUTHORIZED", "authentication required")),
        ),
        fb.build(Outcome.NOT_FOUND, f"Error: image {repo}:latest not found", protocol=Protocol.V1),
    )


def scenario_tag_missing(host: str = "registry:5000") -> Pulls:
    repo = "busybox"
    body = errors_body(("MANIFEST_UNKNOWN", "manifest unknown"))
    v2 = v2_builder(host)
    v2.http("ping", "/v2/", 200, headers=[VERSION])
    m = v2.http("manifest", f"/v2/{repo}/manifests/x", 404, headers=[VERSION], body=body)
    fb = fb_builder(host)
    fb.http("ping", "/v2/", 200, headers=[VERSION])
    fb.http("manifest", f"/v2/{repo}/manifests/x", 404, headers=[VERSION], body=body)
    fb.http("v1 ping", "/v1/_ping", 404, body="404 page not found")
    fb.http("v1 images", f"/v1/repositories/{repo}/images", 404, body="404 page not found")
    return (
        v2.build(
            Outcome.NOT_FOUND,
            f"reading manifest x in {host}/{repo}: manifest unknown",
            error=error_at(m, ("MANIFEST_UNKNOWN", "manifest unknown")),
        ),
        fb.build(Outcome.NOT_FOUND, f"Error: image {repo}:x not found", protocol=Protocol.V1),
    )


def scenario_oci_not_accepted(host: str = "registry:5000") -> Pulls:
    """An OCI image: the strict client accepts OCI types, docker 1.12 does not (distribution 2.8)."""
    repo = "team/app"
    v2 = v2_builder(host)
    v2.http("ping", "/v2/", 200, headers=[VERSION])
    v2.http("manifest", f"/v2/{repo}/manifests/1.0", 200, headers=[VERSION], result="200 OCI manifest")
    fb = fb_builder(host)
    fb.http("ping", "/v2/", 200, headers=[VERSION])
    body = errors_body(
        ("MANIFEST_UNKNOWN", "OCI manifest found, but accept header does not support OCI manifests")
    )
    fb.http("manifest", f"/v2/{repo}/manifests/1.0", 404, headers=[VERSION], body=body)
    fb.http("v1 ping", "/v1/_ping", 404, body="404 page not found")
    fb.http("v1 images", f"/v1/repositories/{repo}/images", 404, body="404 page not found")
    return (
        v2.build(Outcome.OK, "Writing manifest to image destination"),
        fb.build(
            Outcome.NOT_FOUND,
            f"Pulling repository {host}/{repo}\nError: image {repo}:1.0 not found",
            protocol=Protocol.V1,
        ),
    )


def scenario_repository_missing(host: str = "ecr.example:443") -> Pulls:
    repo = "team/nothere"
    body = errors_body(("NAME_UNKNOWN", "The repository with name 'team/nothere' does not exist"))
    v2 = v2_builder(host)
    v2.http("ping", "/v2/", 200, headers=[VERSION])
    m = v2.http("manifest", f"/v2/{repo}/manifests/latest", 404, headers=[VERSION], body=body)
    fb = fb_builder(host)
    fb.http("ping", "/v2/", 200, headers=[VERSION])
    fb.http("manifest", f"/v2/{repo}/manifests/latest", 404, headers=[VERSION], body=body)
    return (
        v2.build(
            Outcome.NOT_FOUND,
            f"reading manifest latest in {host}/{repo}: name unknown: The repository ... does not exist",
            error=error_at(m, ("NAME_UNKNOWN", "The repository with name 'team/nothere' does not exist")),
        ),
        fb.build(Outcome.NOT_FOUND, f"Error: image {repo}:latest not found", protocol=Protocol.V1),
    )


def scenario_only_on_v1(host: str = "old.example") -> Pulls:
    repo = "legacy/app"
    v2 = v2_builder(host)
    m = v2.http("ping", "/v2/", 404, body="404 page not found")
    fb = fb_builder(host)
    fb.http("ping", "/v2/", 404, body="404 page not found")
    fb.http("manifest", f"/v2/{repo}/manifests/latest", 404, body="404 page not found")
    fb.http("v1 ping", "/v1/_ping", 200, body="true")
    fb.http("v1 images", f"/v1/repositories/{repo}/images", 200, body="[]")
    return (
        v2.build(
            Outcome.PROTOCOL_ERROR,
            f'pinging container registry {host}: StatusCode: 404, "404 page not found"',
            error=error_at(m),
        ),
        fb.build(
            Outcome.OK, f"{host}/{repo}: this image was pulled from a legacy registry.", protocol=Protocol.V1
        ),
    )


def scenario_not_a_registry(host: str = "www.example.com") -> Pulls:
    repo = "team/app"
    html = "<html><body>Not Found</body></html>"
    v2 = v2_builder(host)
    m = v2.http("ping", "/v2/", 404, body=html)
    fb = fb_builder(host)
    fb.http("ping", "/v2/", 404, body=html)
    fb.http("manifest", f"/v2/{repo}/manifests/latest", 404, body=html)
    fb.http("v1 ping", "/v1/_ping", 404, body=html)
    fb.http("v1 images", f"/v1/repositories/{repo}/images", 404, body=html)
    return (
        v2.build(
            Outcome.PROTOCOL_ERROR,
            f'pinging container registry {host}: StatusCode: 404, "<html><body>Not Found</body></html>"',
            error=error_at(m),
        ),
        fb.build(Outcome.NOT_FOUND, f"Error: image {repo}:latest not found", protocol=Protocol.V1),
    )


def scenario_credentials_rejected() -> Pulls:
    repo = "library/busybox"
    details = json.dumps({"details": "incorrect username or password"})
    pulls = []
    for b in (v2_builder(), fb_builder()):
        b.http("ping", "/v2/", 401, headers=[VERSION, bearer(repo)])
        t = b.http(
            "token", "https://auth.docker.io/token?scope=repository:library/busybox:pull", 401, body=details
        )
        if b.strategy is Strategy.V2_ONLY:
            msg = (
                "unable to retrieve auth token: invalid username/password: "
                "unauthorized: incorrect username or password"
            )
        else:
            msg = (
                "Get https://registry-1.docker.io/v2/library/busybox/manifests/latest: "
                "unauthorized: incorrect username or password"
            )
        pulls.append(
            b.build(
                Outcome.AUTH_FAILED,
                msg,
                error=error_at(t, ("UNAUTHORIZED", "incorrect username or password")),
            )
        )
    return tuple(pulls)


def scenario_denied(host: str = "123.dkr.ecr.example") -> Pulls:
    repo = "team/app"
    body = errors_body(
        ("DENIED", "User: arn:aws:iam::1:user/bob is not authorized to perform: ecr:BatchGetImage")
    )
    pulls = []
    for b in (v2_builder(host), fb_builder(host)):
        b.http("ping", "/v2/", 200, headers=[VERSION])
        m = b.http("manifest", f"/v2/{repo}/manifests/latest", 403, headers=[VERSION], body=body)
        msg = "denied: User: arn:aws:iam::1:user/bob is not authorized to perform: ecr:BatchGetImage"
        pulls.append(b.build(Outcome.DENIED, msg, error=error_at(m, ("DENIED", "User ... not authorized"))))
    return tuple(pulls)


def scenario_rate_limited(headers: Sequence[tuple[str, str]] = ()) -> Pulls:
    repo = "library/busybox"
    hdrs = list(headers) or [
        VERSION,
        ("ratelimit-limit", "100;w=21600"),
        ("ratelimit-remaining", "0;w=21600"),
        ("Retry-After", "3600"),
    ]
    text = "You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit"
    pulls = []
    for b in (v2_builder(), fb_builder()):
        _v2_auth_prefix(b, repo, ["pull"])
        m = b.http(
            "manifest",
            f"/v2/{repo}/manifests/latest",
            429,
            headers=hdrs,
            body=errors_body(("TOOMANYREQUESTS", text)),
        )
        pulls.append(
            b.build(
                Outcome.RATE_LIMITED, f"toomanyrequests: {text}", error=error_at(m, ("TOOMANYREQUESTS", text))
            )
        )
    return tuple(pulls)


def _transport_scenario(outcome: Outcome, kind: FailureKind, detail: str, host: str) -> Pulls:
    v2 = v2_builder(host)
    e = v2.fail("ping", "/v2/", kind, detail)
    fb = fb_builder(host)
    fb.fail("ping", "/v2/", kind, detail)
    fb.fail("v1 ping", "/v1/_ping", kind, detail)
    return (
        v2.build(
            outcome,
            f'pinging container registry {host}: Get "https://{host}/v2/": {detail}',
            error=error_at(e),
        ),
        fb.build(
            outcome,
            f"Error response from daemon: Get https://{host}/v1/_ping: {detail}",
            protocol=Protocol.V1,
            error=error_at(e),
        ),
    )


def scenario_tls(host: str = "registry.corp.example") -> Pulls:
    return _transport_scenario(
        Outcome.TLS_ERROR, FailureKind.TLS, "x509: certificate signed by unknown authority", host
    )


def scenario_tls_client_certificate(host: str = "registry.corp.example") -> Pulls:
    """A mutual-TLS registry: the handshake ends with its 'certificate required' alert."""
    return _transport_scenario(
        Outcome.TLS_ERROR, FailureKind.TLS, f"TLS with {host}: tlsv13 alert certificate required", host
    )


def scenario_tls_cut(host: str = "registry.corp.example") -> Pulls:
    """The server closed the connection during the handshake: no verdict in the evidence."""
    return _transport_scenario(
        Outcome.TLS_ERROR, FailureKind.TLS, f"TLS with {host}: EOF occurred in violation of protocol", host
    )


def scenario_proxy_refused(host: str = "registry.corp.example") -> Pulls:
    """HTTPS_PROXY is set and the proxy answers the CONNECT with 407."""
    detail = f"proxy 10.0.0.1:3128 refused the tunnel to {host}:443: 407 Proxy Authentication Required"
    return _transport_scenario(Outcome.CONNECTION_ERROR, FailureKind.PROXY, detail, host)


def scenario_connection(host: str = "nosuchhost.example") -> Pulls:
    return _transport_scenario(
        Outcome.CONNECTION_ERROR, FailureKind.DNS, f"dial tcp: lookup {host}: no such host", host
    )


def scenario_timeout(host: str = "slow.example") -> Pulls:
    return _transport_scenario(Outcome.TIMEOUT, FailureKind.TIMEOUT, "read timed out after 15 s", host)


def scenario_plain_http(host: str = "127.0.0.1:5000") -> Pulls:
    """The port speaks plain HTTP: skopeo fails the handshake; docker (127.0.0.0/8 is insecure)
    retries over http and finds a missing tag there. The https V1 ping fails the same way."""
    repo = "library/busybox"
    detail = f"TLS with {host}: wrong version number (plain HTTP?)"
    body = errors_body(("MANIFEST_UNKNOWN", "manifest unknown"))
    v2 = v2_builder(host)
    e = v2.fail("ping", "/v2/", FailureKind.TLS, detail)
    fb = fb_builder(host)
    fb.fail("ping", "/v2/", FailureKind.TLS, detail)
    fb.http("ping", f"http://{host}/v2/", 200, headers=[VERSION])
    fb.http("manifest", f"http://{host}/v2/{repo}/manifests/x", 404, headers=[VERSION], body=body)
    fb.fail("v1 ping", "/v1/_ping", FailureKind.TLS, detail)
    fb.http("v1 images", f"http://{host}/v1/repositories/{repo}/images", 404, body="404 page not found")
    return (
        v2.build(
            Outcome.TLS_ERROR,
            f'pinging container registry {host}: Get "https://{host}/v2/": '
            "http: server gave HTTP response to HTTPS client",
            error=error_at(e),
        ),
        fb.build(
            Outcome.NOT_FOUND,
            f"Pulling repository {host}/{repo}\nError: image {repo}:x not found",
            protocol=Protocol.V1,
        ),
    )


def scenario_only_on_v1_behind_401(host: str = "127.0.0.1:5000") -> Pulls:
    """The lab's V1-only image: the V2 side refuses with 401 (token grants nothing), V1 serves it."""
    repo = "library/oldtimer"
    v2 = v2_builder(host)
    _v2_auth_prefix(v2, repo, [])
    m = _hub_401(v2, repo)
    fb = fb_builder(host)
    _v2_auth_prefix(fb, repo, [])
    _hub_401(fb, repo)
    fb.http("v1 ping", "/v1/_ping", 200, body="true")
    fb.http("v1 images", f"/v1/repositories/{repo}/images", 200, body="[]")
    fb.http("v1 tag", f"/v1/repositories/{repo}/tags/latest", 200, body='"abc"')
    return (
        v2.build(
            Outcome.UNAUTHORIZED,
            f"reading manifest latest in {host}/{repo}: requested access to the resource is denied",
            error=error_at(m, ("UNAUTHORIZED", "authentication required"), challenge="insufficient_scope"),
        ),
        fb.build(
            Outcome.OK,
            f"Pulling repository {host}/{repo}\n{host}/{repo}: this image was pulled from a legacy registry.",
            protocol=Protocol.V1,
        ),
    )


def _manifest_ok_then(
    outcome: Outcome, step: str, status: int, message: str, host: str = "registry:5000"
) -> Pulls:
    repo = "team/app"
    pulls = []
    for b in (v2_builder(host), fb_builder(host)):
        b.http("ping", "/v2/", 200, headers=[VERSION])
        last = b.http("manifest", f"/v2/{repo}/manifests/latest", 200, headers=[VERSION])
        if step != "manifest":
            last = b.http(step, f"/v2/{repo}/blobs/sha256:{'a' * 64}", status, headers=[VERSION])
        pulls.append(b.build(outcome, message, error=error_at(last)))
    return tuple(pulls)


def scenario_no_platform() -> Pulls:
    return _manifest_ok_then(
        Outcome.UNSUPPORTED,
        "manifest",
        200,
        "choosing image instance: no image found in image index for architecture s390x",
    )


def scenario_integrity() -> Pulls:
    return _manifest_ok_then(
        Outcome.INTEGRITY_ERROR,
        "config",
        200,
        f"Digest did not match, expected sha256:{'a' * 64}, got sha256:{'b' * 64}",
    )


def scenario_server_error() -> Pulls:
    repo = "team/app"
    pulls = []
    for b in (v2_builder("registry:5000"), fb_builder("registry:5000")):
        b.http("ping", "/v2/", 200, headers=[VERSION])
        m = b.http("manifest", f"/v2/{repo}/manifests/latest", 503, body="upstream connect error")
        pulls.append(
            b.build(
                Outcome.SERVER_ERROR,
                "reading manifest latest in registry:5000/team/app: "
                "received unexpected HTTP status: 503 Service Unavailable",
                error=error_at(m),
            )
        )
    return tuple(pulls)


def scenario_unexplained() -> Pulls:
    """A protocol error with the version header present: no specific rule explains it."""
    repo = "team/app"
    pulls = []
    for b in (v2_builder("registry:5000"), fb_builder("registry:5000")):
        b.http("ping", "/v2/", 200, headers=[VERSION])
        m = b.http("manifest", f"/v2/{repo}/manifests/latest", 200, headers=[VERSION], body="{not json")
        pulls.append(b.build(Outcome.PROTOCOL_ERROR, "unexpected end of JSON input", error=error_at(m)))
    return tuple(pulls)


def scenario_internal_error() -> Pulls:
    """The strict pull stopped on a bug of diagnose after its ping (what run.guarded returns)."""
    v2 = v2_builder("registry:5000")
    v2.http("ping", "/v2/", 200, headers=[VERSION])
    text = "KeyError: 'mediaType' (at diagnose/pullers/v2_only.py:1)"
    crashed = replace(
        v2.build(Outcome.INTERNAL_ERROR, f"diagnose failed while running this pull: {text}", protocol=None),
        tool_error=text,
    )
    _, fb = scenario_tag_missing()
    return (crashed, fb)


# --- reports --------------------------------------------------------------------------------------


def reference(text: str = "docker.io/library/thisimagedoesntexist") -> ImageReference:
    parts = urlsplit("//" + text)
    domain = parts.netloc
    path, _, tag = parts.path.lstrip("/").partition(":")
    return ImageReference(input=text, domain=domain, path=path, tag=tag or "latest", digest=None)


def report(
    pulls: Pulls | None = None,
    *,
    auth: AuthInfo = ANONYMOUS,
    diagnosis: Diagnosis | None = None,
    ref: ImageReference | None = None,
) -> Report:
    """A whole report; the diagnosis defaults to what the rules say about the pulls."""
    from diagnose.rules import diagnose

    pulls = pulls if pulls is not None else scenario_hub_anonymous_missing()
    return Report(
        reference=ref or reference(),
        auth=auth,
        pulls=pulls,
        diagnosis=diagnosis or diagnose(pulls, auth),
        tool_version="0.1.0",
        created="2024-01-02T03:04:05Z",
        options=(("platform", "linux/amd64"), ("tls-verify", "true")),
    )
