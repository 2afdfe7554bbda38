"""The rule table: from the facts of the pulls to a diagnosis: why they differ and what to do next.

Pure: ``facts.facts_from`` derives a ``Facts`` value once from the pulls, then the
first rule of ``RULES`` whose predicate holds explains it. This module must not do I/O, import
requests, rich or typer, or decide what a client prints (the pullers do that); it only reads
the evidence they recorded.

The client behaviours explained here (which V2 errors make docker 1.12 fall back to V1, what
each client prints) are cited at their source in ``diagnose/clients/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from diagnose.clients import classify_tls
from diagnose.facts import FALLBACK, Facts, RunFlags, facts_from
from diagnose.model import (
    AuthInfo,
    AuthMode,
    Diagnosis,
    Finding,
    ImageReference,
    Outcome,
    Protocol,
    PullIdentity,
    PullResult,
    Strategy,
)
from diagnose.vendors import Situation, advice


def _q(text: str) -> str:
    """Quote what a client printed; for multi-line output (docker's progress, then the error)
    the last line is the one the user reads as the error."""
    lines = [line for line in text.splitlines() if line.strip()]
    return f"“{lines[-1].strip()}”" if lines else "(no message)"


def _who(f: Facts) -> str:
    if f.anonymous:
        return "no credentials (anonymous)"
    return f"the credentials of {f.username!r}" if f.username else "credentials"


def _login_step(f: Facts) -> str:
    return (
        f"Log in (`{f.login_command}`) and run `{f.compare_command()}`: a 404 "
        f"MANIFEST_UNKNOWN then means the {f.ref_word} is missing; a 401 again means this account "
        "has no pull access."
    )


def _v1_hiding(f: Facts) -> str:
    """Why docker 1.12 printed a V1 error for a V2 problem (moby v1.12.6 distribution/errors.go)."""
    if not f.fell_back:
        return ""
    v1 = "the V1 API answered 404 to every path it asked" if f.no_v1_api else "the V1 API was asked next"
    return (
        f" Docker 1.12 treats a V2 {f.v2_status or 'UNAUTHORIZED'} on the manifest as a reason to fall back"
        f" to the legacy V1 API and reports only the last endpoint's error; {v1}, so it printed"
        f" {_q(f.fb_message)}. The V2 answer went only to the daemon log."
    )


def _token_known(f: Facts) -> tuple[str, ...]:
    if f.token_actions is None:
        return ()
    if f.token_actions:
        return (f"The token server granted {', '.join(f.token_actions)} on the repository.",)
    return ("The token server issued a token that grants no access to this repository (empty access).",)


def _token_login(f: Facts) -> str:
    """What the token server did with the identity: only what its answer proves."""
    if f.token_issued and f.token_subject:
        return f"The token server accepted {_who(f)} (it issued a token to {f.token_subject!r})"
    if f.token_issued and f.token_subject == "":
        return f"The token server issued an anonymous token (its `sub` is empty): it did not log in {_who(f)}"
    if f.token_issued:
        return f"The token server issued a token for {_who(f)}"
    return f"No token was issued; {_who(f)} went to the registry"


def _login_known(f: Facts) -> tuple[str, ...]:
    if f.token_issued and f.token_subject:
        return (f"The credentials are valid (a token was issued to {f.token_subject}).",)
    if f.token_issued and f.token_subject == "":
        return ("The token was anonymous (empty `sub`): the credentials did not log in.",)
    return ()


def _none(_: Facts) -> tuple[str, ...]:
    return ()


# ---------------------------------------------------------------------------------------------
# The rules


@dataclass(frozen=True, slots=True)
class Rule:
    """One diagnosis: when it applies and how to explain it. ``id`` is part of the JSON contract."""

    id: str
    applies: Callable[[Facts], bool]
    title: str
    explain: Callable[[Facts], str]
    known: Callable[[Facts], tuple[str, ...]]
    unknowable: Callable[[Facts], tuple[str, ...]]
    next_steps: Callable[[Facts], tuple[str, ...]]


def _tool_errors(f: Facts) -> str:
    return "; ".join(f"{p.strategy}: {p.message}" for p in f.pulls if p.tool_error)


TOOL_ERROR = Rule(
    id="internal-error",
    applies=lambda f: f.tool_error,
    title="diagnose itself failed (a bug in diagnose, not an answer of the registry)",
    explain=lambda f: (
        "A pull stopped on a bug in diagnose, so its outcome says nothing about the registry. "
        f"{_tool_errors(f)}. The exchanges recorded before the bug are kept in the report."
    ),
    known=lambda f: ("The exchanges listed were really sent and answered as shown.",),
    unknowable=lambda f: ("What the pull that failed would have concluded.",),
    next_steps=lambda f: (
        "Save the report (`--save report.json`) and attach it to a bug report for diagnose; "
        "it contains every exchange, redacted.",
    ),
)


def tool_failure_diagnosis(text: str) -> Diagnosis:
    """The diagnosis when the rules themselves raised: the bug, never a guess about the registry."""
    return Diagnosis(
        id=TOOL_ERROR.id,
        differ=False,
        title=TOOL_ERROR.title,
        explanation=(
            f"The rules that explain the pulls failed: {text}. The pulls and their exchanges are "
            "kept in the report; read them below."
        ),
        next_steps=(
            "Save the report (`--save report.json`) and attach it to a bug report for diagnose; "
            "it contains every exchange, redacted.",
        ),
        tool_error=text,
    )


def _both_ok(f: Facts) -> bool:
    return f.v2_outcome is not None and f.v2_outcome is Outcome.OK and f.fb_outcome in (Outcome.OK, None)


BOTH_OK = Rule(
    id="both-ok",
    applies=_both_ok,
    title="Both pulls succeeded",
    explain=lambda f: (
        f"The strict V2 pull and the docker-1.12-style pull both fetched {f.image}"
        + (" (the docker-style pull through the legacy V1 API)." if f.fb_protocol is Protocol.V1 else ".")
    ),
    known=lambda f: (f"The registry serves {f.image} to {_who(f)}.", *_token_known(f)),
    unknowable=_none,
    next_steps=lambda f: (
        "Nothing to fix here. If a real pull still fails, compare its exact message and host "
        "(mirror, proxy, credentials store) with this run.",
    ),
)


def _fb_after_http(f: Facts) -> str:
    """What docker 1.12's pull did after the strict one failed on TLS, as its steps show it."""
    fb = f.pull(FALLBACK)
    if fb is None:
        return ""
    if not fb.answered_schemes:
        return f" The docker-1.12-style pull got no answer either: {_q(f.fb_message)}."
    if "https" in fb.answered_schemes and not f.plain_http:
        how = (
            "skips certificate verification for insecure registries (`--insecure-registry`, and "
            "always 127.0.0.0/8), so its pull went over https without checking the certificate"
        )
    elif "http" in fb.answered_schemes:
        how = (
            "falls back to plain http for insecure registries (`--insecure-registry`, and always "
            "127.0.0.0/8), so its pull went over http"
        )
    else:
        how = "treats this registry as insecure, so its pull went on"
    return (
        f" Docker 1.12 {how}, reached the registry and ended {f.fb_outcome}: {_q(f.fb_message)}. "
        "Its steps show what the registry really answers."
    )


def _tls_known(f: Facts) -> tuple[str, ...]:
    if f.fb_reached_registry:
        return (
            "The strict client got no HTTP answer: its TLS handshake failed.",
            "The docker-1.12-style pull, which does not verify the certificate here, got answers from "
            "the registry (see its steps and the further findings).",
        )
    return ("No HTTP exchange completed over TLS; nothing about the image is known.",)


def _tls_unknowable(f: Facts) -> tuple[str, ...]:
    if f.fb_reached_registry:
        return ("What the strict client would get once it trusts the certificate.",)
    return ("Whether the image exists or is accessible: the registry was never reached.",)


PLAIN_HTTP = Rule(
    id="plain-http-registry",
    applies=lambda f: f.plain_http and f.any_outcome(Outcome.TLS_ERROR),
    title="The registry speaks plain HTTP, and the strict client insists on TLS",
    explain=lambda f: (
        f"The TLS handshake with {f.host or 'the registry'} failed because that port answers plain "
        "HTTP, not TLS. A strict client (skopeo) uses https only, unless told `--tls-verify=false` or "
        "the registry is marked insecure in registries.conf." + _fb_after_http(f)
    ),
    known=lambda f: (f"{f.host or 'The registry'} answers plain HTTP on that port.",),
    unknowable=lambda f: (
        "What the strict client would get over plain http: it never sent a request there.",
    ),
    next_steps=lambda f: (
        f"Compare both pulls over http: `{f.compare_command(f'--insecure-registry {f.registry}')}` "
        "(skopeo: `--tls-verify=false`).",
        f"For docker, add {f.registry} to `insecure-registries` in /etc/docker/daemon.json; "
        "better, serve the registry over TLS.",
    ),
)


def _wants_client_certificate(f: Facts) -> bool:
    return f.any_outcome(Outcome.TLS_ERROR) and classify_tls(f.v2_failure_detail) == "client_certificate"


CLIENT_CERTIFICATE = Rule(
    id="client-certificate-required",
    applies=_wants_client_certificate,
    title="The registry asked for a client certificate and none was accepted",
    explain=lambda f: (
        f"The TLS handshake with {f.host or 'the registry'} ended with the registry's alert "
        f"({f.v2_failure_detail}): it requires mutual TLS, and the client sent no client certificate "
        "it accepts. The registry's own certificate is not the problem. Clients send one only when "
        "its pair is in their certs.d directory for exactly this host and port."
    ),
    known=lambda f: ("The registry requires a client certificate (mutual TLS).",),
    unknowable=lambda f: ("Whether the image exists or is accessible: no HTTP request got through.",),
    next_steps=lambda f: (
        f"Put the client pair as `client.cert` and `client.key` in "
        f"`/etc/containers/certs.d/{f.registry}/` (skopeo, podman) and in "
        f"`/etc/docker/certs.d/{f.registry}/` (docker), then run `{f.compare_command()}` again.",
        "Docker sends no client certificate to a registry it treats as insecure (127.0.0.0/8, "
        "`--insecure-registry`): serve the registry under a name docker verifies.",
    ),
)


def _certificate_rejected(f: Facts) -> bool:
    """A verification failure the evidence names (unknown CA, expired, wrong name), or a TLS
    failure recorded without a detail (older reports)."""
    variant = classify_tls(f.v2_failure_detail)
    return f.any_outcome(Outcome.TLS_ERROR) and (
        variant in ("unknown_authority", "expired", "hostname") or not f.v2_failure_detail
    )


TLS_ERROR = Rule(
    id="tls-error",
    applies=_certificate_rejected,
    title="TLS handshake failed: the registry's certificate is not trusted",
    explain=lambda f: (
        f"The TLS connection to {f.host or 'the registry'} failed before any HTTP answer"
        + (f" ({f.v2_failure_detail})" if f.v2_failure_detail else "")
        + ". Usually the certificate is signed by a CA this machine does not trust: a private CA or a "
        "TLS-intercepting proxy." + _fb_after_http(f)
    ),
    known=_tls_known,
    unknowable=_tls_unknowable,
    next_steps=lambda f: (
        f"Get the registry's CA certificate (from its operator; `openssl s_client -showcerts -connect "
        f"{f.registry}` shows the chain it sends), save it as ca.crt and run "
        f"`{f.compare_command('--ca-cert ca.crt')}`.",
        f"For docker, install it as `/etc/docker/certs.d/{f.registry}/ca.crt` (no daemon restart needed).",
        "If a corporate proxy intercepts TLS, use its CA certificate; do not disable verification "
        "except to confirm the diagnosis.",
    ),
)


TLS_HANDSHAKE_CUT = Rule(
    id="tls-handshake-failed",
    applies=lambda f: f.any_outcome(Outcome.TLS_ERROR),
    title="The TLS handshake was cut off, and the evidence does not say why",
    explain=lambda f: (
        f"The TLS connection to {f.host or 'the registry'} failed"
        + (f" ({f.v2_failure_detail})" if f.v2_failure_detail else "")
        + " without a certificate verdict: the server closed or reset the connection during or "
        "just after the handshake. The usual causes are a registry that requires a client "
        "certificate (mutual TLS: its alert is often lost when it closes the connection), a TLS "
        "version or cipher the server refuses, or a firewall or proxy cutting TLS." + _fb_after_http(f)
    ),
    known=lambda f: ("No HTTP exchange completed over TLS.",),
    unknowable=lambda f: (
        "Which of those causes it is: the server's reason was not recorded. "
        f"`openssl s_client -connect {f.registry} </dev/null` decides it: a line "
        "'Acceptable client certificate CA names' means the registry wants a client certificate.",
    ),
    next_steps=lambda f: (
        f"Run `openssl s_client -connect {f.registry} </dev/null` and read its last lines.",
        f"If it asks for a client certificate, put the pair as `client.cert` and `client.key` in "
        f"`/etc/containers/certs.d/{f.registry}/` and in "
        f"`/etc/docker/certs.d/{f.registry}/`, then run `{f.compare_command()}` again.",
    ),
)


def _connection_detail(f: Facts) -> str:
    return f" ({f.v2_failure_detail})" if f.v2_failure_detail else ""


CONNECTION_ERROR = Rule(
    id="connection-error",
    applies=lambda f: f.any_outcome(Outcome.CONNECTION_ERROR),
    title="The registry could not be reached",
    explain=lambda f: (
        f"Connecting to {f.host or 'the registry'} failed"
        + (f" ({f.v2_failure.value})" if f.v2_failure else "")
        + _connection_detail(f)
        + ": the name does not resolve, the port refuses connections or the connection was reset. "
        f"Docker 1.12 tries its next endpoint and reports that one's error: {_q(f.fb_message)}."
    ),
    known=lambda f: ("No HTTP answer was received from the registry.",),
    unknowable=lambda f: ("Whether the image exists: the registry was never reached.",),
    next_steps=lambda f: (
        f"Check the host name and port (`getent hosts {f.registry.rsplit(':', 1)[0]}`), any proxy "
        "settings (HTTPS_PROXY/NO_PROXY) and firewalls, then run again.",
        "If the registry listens on plain HTTP, it must be declared insecure "
        "(docker: `--insecure-registry`; skopeo: `--tls-verify=false`).",
    ),
)

TIMEOUT = Rule(
    id="timeout",
    applies=lambda f: f.any_outcome(Outcome.TIMEOUT),
    title="The registry did not answer in time",
    explain=lambda f: (
        f"A request to {f.host or 'the registry'} timed out{_connection_detail(f)}. "
        "A slow network, a proxy that swallows the connection, or an overloaded registry."
    ),
    known=lambda f: ("The connection did not complete or the answer did not arrive in time.",),
    unknowable=lambda f: ("Whether the image exists: no answer was received.",),
    next_steps=lambda f: (
        f"Run again; if it persists, check proxy settings (HTTPS_PROXY/NO_PROXY) and that the registry "
        f"is up (`curl -v{'' if f.flags.tls_verify else 'k'} https://{f.registry}/v2/`).",
    ),
)

AUTH_FAILED = Rule(
    id="credentials-rejected",
    applies=lambda f: f.any_outcome(Outcome.AUTH_FAILED),
    title="The credentials were rejected by the token endpoint",
    explain=lambda f: (
        f"The token endpoint answered {f.token_status or 401} to {_who(f)}: the user name or password "
        "(or access token) is wrong or expired. Neither client can go further. Docker 1.12 does not fall "
        "back to V1 here because the registry identified itself as V2; it prints "
        f"{_q(f.fb_message)}. The strict client says {_q(f.v2_message)}. Stored bad credentials are "
        "sent even for public images, so this fails on every image of this registry."
    ),
    known=lambda f: (f"The token endpoint refused {_who(f)}.",),
    unknowable=lambda f: ("Whether the image exists or is public: no token was issued.",),
    next_steps=lambda f: (
        f"Check the password or token, then `{f.login_command}` again and run `{f.compare_command()}`.",
        "If it is a public image, try without credentials: remove the stale login with "
        f"`docker logout{' ' + f.host if f.host and not f.is_docker_hub else ''}`.",
    ),
)


def _rate_limit_known(f: Facts) -> tuple[str, ...]:
    if not f.rate_limit_headers:
        return ("The registry answered 429 without Retry-After or ratelimit-* headers.",)
    return tuple(f"{name}: {value}" for name, value in f.rate_limit_headers)


RATE_LIMITED = Rule(
    id="rate-limited",
    applies=lambda f: f.any_outcome(Outcome.RATE_LIMITED),
    title="Rate limited by the registry (429)",
    explain=lambda f: (
        f"The registry answered 429 Too Many Requests to {_who(f)}. This is not a problem with the image."
        + (
            " It said: " + "; ".join(f"{n}: {v}" for n, v in f.rate_limit_headers) + "."
            if f.rate_limit_headers
            else ""
        )
        + " Docker 1.12 does not fall back on TOOMANYREQUESTS, so both clients report the limit."
    ),
    known=_rate_limit_known,
    unknowable=lambda f: ("Whether the pull would succeed once the limit resets.",),
    next_steps=lambda f: (
        (
            f"Wait for the limit to reset (Retry-After: {dict(f.rate_limit_headers)['retry-after']}) "
            "and run again."
            if "retry-after" in dict(f.rate_limit_headers)
            else "Wait for the limit window to pass (see the ratelimit-* headers) and run again."
        ),
        (
            f"Log in (`{f.login_command}`) and run `{f.compare_command()}`: "
            "authenticated pulls have a higher limit."
            if f.anonymous
            else "Use an account with a higher limit, or a pull-through cache/mirror."
        ),
    ),
)

OCI_NOT_ACCEPTED = Rule(
    id="oci-not-accepted",
    applies=lambda f: f.oci_not_accepted and f.v2_outcome is Outcome.OK,
    title="The image is an OCI image, which docker 1.12 cannot accept",
    explain=lambda f: (
        f"The strict client asked for OCI media types and pulled {f.image}. Docker 1.12 accepts only Docker "
        "schema1, schema2 and manifest lists, so the registry answered its manifest request with 404 "
        "MANIFEST_UNKNOWN (“OCI manifest found, but accept header does not support OCI manifests”). "
        "Docker 1.12 treats MANIFEST_UNKNOWN as a reason to fall back to V1"
        + (
            f", where the registry has no API (404), so it printed {_q(f.fb_message)}."
            if f.no_v1_api
            else f", and printed {_q(f.fb_message)}."
        )
        + " The 404 looks like a missing tag but is a content-negotiation problem."
    ),
    known=lambda f: (
        "The image exists and is readable with these credentials.",
        "It is stored as an OCI manifest or index, which docker 1.12 does not request.",
    ),
    unknowable=_none,
    next_steps=lambda f: (
        "Use a client that understands OCI images (docker 17.x or newer with an OCI-capable registry, "
        "podman, skopeo, containerd).",
        "Or push a Docker schema2 copy for old clients, e.g. "
        f"`skopeo copy{f.skopeo_flags} --format v2s2 docker://{f.reference} docker://{f.repository_name}:"
        f"{'v2s2' if f.is_digest else (f.ref or 'latest') + '-v2s2'}`.",
    ),
)

BASIC_NO_CREDENTIALS = Rule(
    id="basic-auth-no-credentials",
    applies=lambda f: f.anonymous and f.basic_only and f.v2_refused_401,
    title="The registry requires Basic auth and no credentials were given",
    explain=lambda f: (
        "The registry answers /v2/ with a Basic challenge, so it needs a user name and password. "
        f"The strict client sent empty credentials and reports the registry's 401: {_q(f.v2_message)}. "
        + (
            f"Docker refused on the client side ({_q(f.client_side_refusal)}) without sending the request, "
            "and since 1.11 that refusal is a reason to fall back to V1."
            if f.client_side_refusal
            else "Docker refuses such a request on the client side (“no basic auth credentials”)."
        )
        + (
            f" V1 answered 404 to every path, so docker printed {_q(f.fb_message)}: the image was not "
            "looked up at all."
            if f.no_v1_api
            else f" It printed {_q(f.fb_message)}."
        )
    ),
    known=lambda f: (
        "The registry speaks V2 and requires HTTP Basic authentication.",
        *(("The registry has no V1 API (404 on every /v1/ path).",) if f.no_v1_api else ()),
    ),
    unknowable=lambda f: ("Whether the repository or tag exists: nothing is revealed without credentials.",),
    next_steps=lambda f: (_login_step(f),),
)

UNAUTHORIZED_HIDDEN_BY_V1 = Rule(
    id="unauthorized-hidden-by-v1",
    applies=lambda f: f.anonymous and f.v2_refused_401 and f.fell_back and f.fb_outcome is Outcome.NOT_FOUND,
    title="Not logged in: the registry refused with 401, docker 1.12 turned it into “not found”",
    explain=lambda f: (
        f"The registry answered the manifest request for {f.image} with 401"
        + (f" ({f.challenge_error})" if f.challenge_error else "")
        + f" to an anonymous client. The strict client reports that refusal: {_q(f.v2_message)}."
        + _v1_hiding(f)
        + " The 401 means the repository does not exist or it is private and needs a login; the "
        "registry deliberately does not say which."
    ),
    known=lambda f: (
        "The registry refused anonymous pull access to this repository (401).",
        *_token_known(f),
        *(("The registry has no V1 API: its 404s say nothing about the image.",) if f.no_v1_api else ()),
    ),
    unknowable=lambda f: (
        "A 401 to an anonymous client does not tell whether the repository exists.",
        "Whether the tag exists.",
    ),
    next_steps=lambda f: (
        f"Check the spelling of the name (official images live under `library/`): {f.image}.",
        _login_step(f),
    ),
)

UNAUTHORIZED_ANONYMOUS = Rule(
    id="unauthorized-anonymous",
    applies=lambda f: f.anonymous and f.v2_refused_401,
    title="Not logged in: the registry refused anonymous access (401)",
    explain=lambda f: (
        f"The registry answered the request for {f.image} with 401"
        + (f" ({f.challenge_error})" if f.challenge_error else "")
        + f" to an anonymous client. The strict client says {_q(f.v2_message)}; the docker-1.12-style "
        f"pull says {_q(f.fb_message)}. The repository does not exist, or it is private."
    ),
    known=lambda f: ("The registry refused anonymous pull access (401).", *_token_known(f)),
    unknowable=lambda f: ("A 401 to an anonymous client does not tell whether the repository exists.",),
    next_steps=lambda f: (_login_step(f),),
)

BASIC_CREDENTIALS_REJECTED = Rule(
    id="basic-credentials-rejected",
    applies=lambda f: (
        not f.anonymous and f.basic_only and f.basic_sent and f.v2_refused_401 and not f.token_issued
    ),
    title="The registry rejected the user name or password (HTTP Basic)",
    explain=lambda f: (
        "The registry asks for HTTP Basic authentication (no token server is involved) and answered "
        f"401 to the request that carried {_who(f)}: it does not accept that user name and password. "
        f"The strict client says {_q(f.v2_message)}."
        + _v1_hiding(f)
        + " No token was issued and nobody was logged in."
    ),
    known=lambda f: (
        "The registry requires HTTP Basic authentication.",
        f"It refused {_who(f)} (401 with the credentials sent).",
    ),
    unknowable=lambda f: ("Whether the repository exists: nothing is revealed to rejected credentials.",),
    next_steps=lambda f: (
        f"Check the user name and password, log in again (`{f.login_command}`) and run "
        f"`{f.compare_command()}`.",
        "If the password is right, ask the registry's operator whether the account exists "
        "(an htpasswd registry answers the same 401 for an unknown user).",
    ),
)

NO_PULL_ACCESS = Rule(
    id="no-pull-access",
    applies=lambda f: not f.anonymous and f.v2_refused_401,
    title="Logged in, but this account cannot pull the repository (or it does not exist)",
    explain=lambda f: (
        _token_login(f)
        + (" but granted no pull access" if f.token_issued and f.token_grants_pull is False else "")
        + f"; the registry then refused {f.image} with 401"
        + (f" {f.challenge_error}" if f.challenge_error else "")
        + f". The strict client says {_q(f.v2_message)}."
        + _v1_hiding(f)
        + " For the registry, “this account may not pull it” and “it does not exist” are the same answer."
    ),
    known=lambda f: (
        *_login_known(f),
        *_token_known(f),
        "The registry refused pull access for this repository (401"
        + (f", error={f.challenge_error}" if f.challenge_error else "")
        + ").",
    ),
    unknowable=lambda f: (
        "Whether the repository exists: the registry answers the same for a missing and a forbidden one.",
    ),
    next_steps=lambda f: (
        f"Check the repository name (official images live under `library/`): {f.image}.",
        "Ask the repository's owner to grant this account pull (read) access, "
        "or log in as an account that has it.",
    ),
)

DENIED = Rule(
    id="denied",
    applies=lambda f: f.any_outcome(Outcome.DENIED),
    title="Access denied (403)",
    explain=lambda f: (
        f"The registry answered {f.v2_status or 403} DENIED to {_who(f)} for {f.image}: the request was "
        f"understood and refused. The strict client says {_q(f.v2_message)}; docker 1.12 does not fall "
        f"back on DENIED and says {_q(f.fb_message)}."
    ),
    known=lambda f: (f"The registry refused {_who(f)} ({f.v2_status or 403}).",),
    unknowable=lambda f: (
        "Whether the repository exists: some registries (ECR) answer 403 for a missing repository too.",
    ),
    next_steps=lambda f: (
        "Check that this account has pull permission on the repository "
        "(registry policy, IAM, project membership).",
        (
            _login_step(f)
            if f.anonymous
            else "If the credentials are short-lived (ECR, cloud tokens), log in again to refresh them."
        ),
    ),
)

ONLY_ON_V1 = Rule(
    id="only-on-v1",
    applies=lambda f: (
        f.fb_outcome is Outcome.OK and f.fb_protocol is Protocol.V1 and f.v2_outcome is not Outcome.OK
    ),
    title="The image is only available through the legacy V1 API",
    explain=lambda f: (
        f"The V2 API did not serve {f.image}"
        + (f" (it answered {f.v2_status})" if f.v2_status else "")
        + f", so the strict client fails: {_q(f.v2_message)}."
        + (
            " A 401 there means the V2 side does not have it or will not show it to this identity."
            if f.v2_refused_401
            else ""
        )
        + " Docker 1.12 fell back to the legacy V1 API, which has it, and succeeded. Current docker "
        "(17.12+) and every other modern client have no V1 support and will fail like the strict client."
    ),
    known=lambda f: ("The image exists on the registry's V1 API.", "The V2 API does not serve it."),
    unknowable=_none,
    next_steps=lambda f: (
        "Push the image to a V2 registry (for example with an old docker: pull, tag, push to a V2 registry).",
        "Until then, only docker 17.09 or older with V1 enabled can pull it.",
    ),
)

NOT_A_REGISTRY = Rule(
    id="not-a-registry",
    applies=lambda f: (
        f.v2_outcome is Outcome.PROTOCOL_ERROR and f.ping_status == 404 and not f.version_header
    ),
    title="The host does not serve the registry V2 API",
    explain=lambda f: (
        f"GET /v2/ on {f.host or 'the host'} answered 404 without a Docker-Distribution-Api-Version header: "
        "this is not a V2 registry at that address (a web server, a wrong port, or a registry mounted "
        f"under a path prefix). The strict client says {_q(f.v2_message)}; "
        f"docker 1.12 says {_q(f.fb_message)}."
    ),
    known=lambda f: ("/v2/ answered 404 and the registry version header is absent.",),
    unknowable=lambda f: ("Whether a registry is reachable under another host name or port.",),
    next_steps=lambda f: (
        "Check the host and port of the reference; registries cannot be mounted under a URL path.",
        f"Check what answers there: `curl -si{'' if f.flags.tls_verify else 'k'} https://{f.registry}/v2/`.",
    ),
)


def _tag_missing(f: Facts) -> bool:
    return f.v2_outcome is Outcome.NOT_FOUND and (
        "MANIFEST_UNKNOWN" in f.v2_codes or (not f.v2_codes and f.v2_step.startswith("manifest"))
    )


TAG_MISSING = Rule(
    id="tag-missing",
    applies=_tag_missing,
    title="Manifest unknown: the tag or digest does not exist (or the repository does not)",
    explain=lambda f: (
        f"The registry answered 404 MANIFEST_UNKNOWN for {f.image}"
        + (" with a token that grants pull" if f.token_grants_pull else "")
        + f": the {f.ref_word} is not there. The strict client says {_q(f.v2_message)}."
        + (
            " Docker 1.12 falls back to V1 on MANIFEST_UNKNOWN; "
            + ("V1 answered 404 to every path, " if f.no_v1_api else "")
            + f"so it printed {_q(f.fb_message)}, as if the whole image were missing."
            if f.fell_back
            else f" The docker-1.12-style pull says {_q(f.fb_message)}."
        )
    ),
    known=lambda f: (
        f"The registry let this client look the {f.ref_word} up"
        + (" (the token grants pull)." if f.token_grants_pull else ".")
        + f" It answered MANIFEST_UNKNOWN: the {f.ref_word} does not exist.",
        *(
            ("The V1 404 comes from a registry without V1: it says nothing about the image.",)
            if f.no_v1_api
            else ()
        ),
    ),
    unknowable=lambda f: (
        "Whether the repository itself exists: registries answer MANIFEST_UNKNOWN for a missing "
        "repository too (distribution, registry:2).",
    ),
    next_steps=lambda f: (
        f"List the tags that exist: `skopeo list-tags{f.skopeo_flags} docker://{f.repository_name}`.",
        (
            f"Check the digest: it must be the digest of a manifest or index pushed to {f.repository_name} "
            "(`skopeo inspect` of one of its tags shows that tag's digest)."
            if f.is_digest
            else "Check the tag's spelling and that it was pushed (CI logs)."
        ),
    ),
)

REPOSITORY_MISSING = Rule(
    id="repository-missing",
    applies=lambda f: f.v2_outcome is Outcome.NOT_FOUND and "NAME_UNKNOWN" in f.v2_codes,
    title="The repository does not exist",
    explain=lambda f: (
        f"The registry answered 404 NAME_UNKNOWN for {f.repository or 'the repository'}: it does not know "
        f"that name. The strict client says {_q(f.v2_message)}; docker 1.12 says {_q(f.fb_message)}."
    ),
    known=lambda f: ("The registry does not have a repository of that name (visible to this identity).",),
    unknowable=_none,
    next_steps=lambda f: (
        "Check the repository name and the registry host; official Docker Hub images live under `library/`.",
    ),
)

NO_MATCHING_PLATFORM = Rule(
    id="no-matching-platform",
    applies=lambda f: f.any_outcome(Outcome.UNSUPPORTED),
    title="No matching platform or unsupported manifest type",
    explain=lambda f: (
        f"The manifest was fetched, but it has no entry for {f.flags.platform} (or a media type the "
        f"client cannot read). The strict client says {_q(f.v2_message)}; the docker-1.12-style pull "
        f"says {_q(f.fb_message)}."
    ),
    known=lambda f: (
        "The image exists and this identity can read it.",
        *((f"The index offers: {', '.join(f.platforms_offered)}.",) if f.platforms_offered else ()),
    ),
    unknowable=_none,
    next_steps=lambda f: (
        f"Inspect the index: `skopeo inspect --raw{f.skopeo_flags} docker://{f.reference}`.",
        (
            f"Pull a platform the index offers (`{f.compare_command(platform=f.platforms_offered[0])}`"
            "), or use an image built for this one."
            if f.platforms_offered
            else "Use an image built for this platform."
        ),
    ),
)

INTEGRITY_ERROR = Rule(
    id="integrity-error",
    applies=lambda f: f.any_outcome(Outcome.INTEGRITY_ERROR),
    title="Content does not match its digest",
    explain=lambda f: (
        f"A blob or manifest fetched at step {f.v2_step or 'unknown'} did not hash to the digest it was "
        "requested by. The registry's storage is corrupt, or a proxy/CDN altered or truncated the content. "
        f"The strict client says {_q(f.v2_message)}."
    ),
    known=lambda f: ("The registry served content whose digest differs from the one requested.",),
    unknowable=lambda f: ("Whether the registry's storage or something in between altered the content.",),
    next_steps=lambda f: (
        "Run again, bypassing proxies if possible; if the mismatch repeats, report it to the "
        "registry operator with this report attached.",
    ),
)

SERVER_ERROR = Rule(
    id="server-error",
    applies=lambda f: f.any_outcome(Outcome.SERVER_ERROR),
    title="The registry failed with a server error (5xx)",
    explain=lambda f: (
        f"The registry answered {f.v2_status or f.fb_status or '5xx'} at step {f.v2_step or 'unknown'}: a "
        f"problem on the registry's side (or its proxy). The strict client says {_q(f.v2_message)}; "
        f"docker 1.12 says {_q(f.fb_message)}"
        + (", after falling back to V1, which hides the 5xx." if f.fell_back else ".")
    ),
    known=lambda f: ("The registry failed to answer the request (5xx).",),
    unknowable=lambda f: ("Whether the image exists.",),
    next_steps=lambda f: (
        "Run again later; if it persists, report it to the registry operator with this report attached.",
    ),
)


def _catch_all_explain(f: Facts) -> str:
    parts = [f"The strict V2 pull ended {f.v2_outcome or 'unknown'}: {_q(f.v2_message)}."]
    if f.fb_outcome is not None:
        parts.append(
            f"The docker-1.12-style pull ended {f.fb_outcome}"
            + (" after falling back to V1" if f.fell_back else "")
            + f": {_q(f.fb_message)}."
        )
    parts.append("No specific rule matched; read the exchanges below for the registry's answers.")
    return " ".join(parts)


UNEXPLAINED = Rule(
    id="unexplained",
    applies=lambda f: True,
    title="The pulls failed in a way no rule explains",
    explain=_catch_all_explain,
    known=lambda f: tuple(
        s
        for s in (
            f"The strict pull failed at step {f.v2_step!r} with HTTP {f.v2_status}." if f.v2_status else "",
            *_token_known(f),
        )
        if s
    ),
    unknowable=_none,
    next_steps=lambda f: (
        f"Save the report (`{f.compare_command('--save report.json')}`) and attach it to a ticket; "
        "it contains every exchange, redacted.",
    ),
)

# ---------------------------------------------------------------------------------------------
# The catalogue's situations (lab/scenarios.py): each rule reads ``Facts.signals`` and is
# self-contained; where it sits in RULES is its precedence.


def _realm(f: Facts) -> str:
    return f.signals.token_realm_host or "the token service"


SCHEMA1_IMAGE = Rule(
    id="schema1-image",
    applies=lambda f: f.signals.schema1 and f.v2_outcome is Outcome.OK,
    title="The image is a Docker schema1 manifest: current docker and containerd refuse it",
    explain=lambda f: (
        f"Both pulls read {f.image}, but its manifest is Docker schema1 "
        "(application/vnd.docker.distribution.manifest.v1+json), the format before 2016. docker >= 26 "
        "refuses it unless DOCKER_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE is set, and containerd 2.x refuses "
        "it (“Pulling Schema 1 images have been deprecated…”), so the same pull fails on current hosts."
    ),
    known=lambda f: ("The image exists and is readable.", "Its manifest is Docker schema1."),
    unknowable=_none,
    next_steps=lambda f: (
        f"Re-push it as schema2 or OCI: `skopeo copy{f.skopeo_flags} --format oci docker://{f.reference} "
        f"docker://{f.repository_name}:{'oci' if f.is_digest else (f.ref or 'latest') + '-oci'}` "
        "(then move the tag).",
        "Until then, old clients (docker < 26, containerd 1.x) can still pull it.",
    ),
)

DNS_FAILURE = Rule(
    id="dns-failure",
    applies=lambda f: bool(f.signals.dns_hosts),
    title="A host name did not resolve (DNS)",
    explain=lambda f: (
        f"The name {', '.join(f.signals.dns_hosts)} does not resolve from this machine, so no request "
        "reached "
        + (
            "the registry."
            if f.host.split(":")[0] in (h.split(":")[0] for h in f.signals.dns_hosts)
            else f"it. The registry {f.host} answered, but its challenge sends clients there for tokens."
        )
        + f" The strict client says {_q(f.v2_message)}; docker 1.12 says {_q(f.fb_message)}."
    ),
    known=lambda f: (f"DNS has no address for {', '.join(f.signals.dns_hosts)}.",),
    unknowable=lambda f: ("Whether the image exists: nothing was asked about it.",),
    next_steps=lambda f: (
        f"Check the name: `getent hosts {f.signals.dns_hosts[0].rsplit(':', 1)[0]}` (typo, VPN or "
        "split-horizon DNS, a resolver in /etc/resolv.conf that does not know internal names).",
        "If only a proxy can resolve it, set HTTPS_PROXY (and NO_PROXY for internal hosts) for the client "
        "and for the docker daemon.",
    ),
)

TOKEN_ENDPOINT_UNREACHABLE = Rule(
    id="token-endpoint-unreachable",
    applies=lambda f: f.signals.token_failure is not None,
    title="The registry's token service could not be reached",
    explain=lambda f: (
        f"The registry {f.host} answered and sent clients to its token service at {_realm(f)}, but the "
        f"token request failed ({f.signals.token_failure}: {f.signals.token_failure_detail}). Without a "
        f"token nothing can be pulled. The strict client says {_q(f.v2_message)}; docker 1.12 says "
        f"{_q(f.fb_message)}."
    ),
    known=lambda f: (
        f"The registry {f.host} is reachable.",
        f"Its token service {_realm(f)} is not ({f.signals.token_failure}).",
    ),
    unknowable=lambda f: ("Whether the image exists or is accessible: no token was issued.",),
    next_steps=lambda f: (
        f"Check that {_realm(f)} is reachable from here (`curl -sv 'http://{_realm(f)}/'`), "
        "including firewall and proxy rules: registry and token service often sit on different hosts.",
        "If the registry runs behind a load balancer, its token realm must name an address clients can "
        "reach (the registry's auth.token.realm setting).",
    ),
)

TOKEN_ANSWER_EMPTY = Rule(
    id="token-answer-empty",
    applies=lambda f: f.signals.token_without_token,
    title="The token service answered without a token",
    explain=lambda f: (
        f"The token service {_realm(f)} answered 200 but its JSON carries neither `token` nor `access_token` "
        "(the token specification requires one). docker says “authorization server did not include a token "
        f"in the response”: {_q(f.fb_message)}; the strict client says {_q(f.v2_message)}."
    ),
    known=lambda f: (f"{_realm(f)} answered 200 without a token.",),
    unknowable=lambda f: ("Whether the image exists: no token was issued.",),
    next_steps=lambda f: (
        f"Look at the token answer: `curl -s 'http://{_realm(f)}/token?scope=repository:"
        f"{f.repository}:pull'`; a proxy or auth plugin in front of the token service may be replacing it.",
        "Report it to the registry operator with this report attached "
        f"(`{f.compare_command('--save report.json')}`).",
    ),
)

TOKEN_REJECTED = Rule(
    id="token-rejected",
    applies=lambda f: f.signals.invalid_token,
    title="The registry rejected the token as invalid or expired",
    explain=lambda f: (
        f"A token was issued by {_realm(f)} and sent, and the registry answered 401 with "
        'error="invalid_token": the token is expired, not yet valid, or signed for another service. With a '
        "fresh token this points at a clock: the token service's or this machine's. The strict client says "
        f"{_q(f.v2_message)}; docker 1.12 fell back and says {_q(f.fb_message)}."
    ),
    known=lambda f: ("The token service issued a token.", "The registry refused that token (invalid_token)."),
    unknowable=lambda f: ("Whether the image exists: no valid token reached the registry.",),
    next_steps=lambda f: (
        "Compare the clocks of this machine, the token service and the registry (`date -u`, "
        "`timedatectl`); a token's exp/nbf claims are checked against the registry's clock.",
        "If the token comes from a stored login (ECR, cloud registries), log in again to refresh it.",
    ),
)

PULL_QUOTA_EXHAUSTED = Rule(
    id="pull-quota-exhausted",
    applies=lambda f: (
        f.any_outcome(Outcome.RATE_LIMITED)
        and any(name == "ratelimit-remaining" for name, _ in f.rate_limit_headers)
    ),
    title="Pull quota used up (Docker Hub-style ratelimit-* headers)",
    explain=lambda f: (
        f"The registry answered 429 TOOMANYREQUESTS to {_who(f)} and said how much quota is left: "
        + "; ".join(f"{n}: {v}" for n, v in f.rate_limit_headers)
        + ". The number after `w=` is the window in seconds. Docker 1.12 does not fall back on "
        "TOOMANYREQUESTS, so both clients report the limit."
    ),
    known=_rate_limit_known,
    unknowable=lambda f: ("Whether the pull would succeed once the window passes.",),
    next_steps=lambda f: (
        (
            f"Log in (`{f.login_command}`) and run `{f.compare_command()}`: anonymous pulls "
            "are counted per IP address with a lower limit."
            if f.anonymous
            else "Use an account with a higher limit, or a pull-through cache (registry mirror)."
        ),
        "Wait for the window in ratelimit-remaining (w=seconds) to pass, or pull from a mirror.",
    ),
)


def _via(f: Facts) -> str:
    proxy = f.signals.forward_proxy
    return f" (the forward proxy {proxy}, chosen from HTTPS_PROXY/HTTP_PROXY)" if proxy else ""


def _proxy_with_credentials(f: Facts) -> str:
    """The proxy URL the user has, with where the credentials go: never a made-up host."""
    proxy = f.signals.forward_proxy
    if not proxy or "://" not in proxy:
        return "`HTTPS_PROXY=http://<user>:<password>@<the proxy>`"
    scheme, rest = proxy.split("://", 1)
    return f"`HTTPS_PROXY={scheme}://<user>:<password>@{rest.rsplit('@', 1)[-1]}`"


PROXY_REFUSED = Rule(
    id="proxy-refused",
    applies=lambda f: bool(f.signals.proxy_refusal),
    title="The proxy refused to connect to the registry",
    explain=lambda f: (
        f"Every request to {f.host or 'the registry'} goes through a proxy{_via(f)}, and the proxy "
        f"refused: {f.signals.proxy_refusal}. The registry was never reached, so nothing about the "
        f"image is known. The strict client says {_q(f.v2_message)}."
    ),
    known=lambda f: (f"The proxy answered: {f.signals.proxy_refusal}.",),
    unknowable=lambda f: ("Whether the registry is up or has the image: no request reached it.",),
    next_steps=lambda f: (
        "A 407 means the proxy wants credentials: put your proxy user and password in the proxy URL "
        f"({_proxy_with_credentials(f)}), for the docker daemon too (its own environment, systemd "
        "drop-in).",
        f"If {f.host} is internal, add it to NO_PROXY (for this shell and for the docker daemon) "
        "and run `diagnose compare` again.",
    ),
)

PROXY_IN_THE_WAY = Rule(
    id="proxy-in-the-way",
    applies=lambda f: f.signals.proxy_status is not None,
    title="A proxy answered instead of the registry",
    explain=lambda f: (
        f"A {f.signals.proxy_status} HTML page"
        + (f" from {f.signals.proxy_server}" if f.signals.proxy_server else "")
        + _via(f)
        + " came back without the registry's Docker-Distribution-Api-Version header: a reverse proxy, load "
        "balancer or corporate proxy answered because it could not reach the registry behind it. "
        f"The strict client says {_q(f.v2_message)}; docker 1.12 says {_q(f.fb_message)}."
    ),
    known=lambda f: (
        f"Something in front of the registry answered {f.signals.proxy_status} with an HTML page.",
    ),
    unknowable=lambda f: ("Whether the registry behind the proxy is up or has the image.",),
    next_steps=lambda f: (
        f"Check HTTPS_PROXY/NO_PROXY for this client and the docker daemon; {f.host} may belong in NO_PROXY.",
        "If it is the registry's own reverse proxy, its operator must check the upstream (registry down, "
        "upstream timeout, body size limit).",
    ),
)

NAME_WITHOUT_LIBRARY = Rule(
    id="name-without-library",
    applies=lambda f: (
        not f.is_docker_hub and "/" not in f.repository and bool(f.repository) and f.v2_refused_401
    ),
    title="An official image named without library/ on a registry that does not add it",
    explain=lambda f: (
        f"The repository {f.repository!r} has no namespace. Only Docker Hub's clients add `library/`; on "
        f"{f.host} the token was asked for scope repository:{f.repository}:pull"
        + (" and granted nothing" if f.token_grants_pull is False else "")
        + f", so the registry refused with 401. The strict client says {_q(f.v2_message)}; docker 1.12 "
        f"says {_q(f.fb_message)}. Mirrors and proxies of Docker Hub (Harbor, Artifactory, Nexus) keep "
        "official images under library/."
    ),
    known=lambda f: (f"The registry refused the name {f.repository!r} (401).", *_token_known(f)),
    unknowable=lambda f: (f"Whether library/{f.repository} exists there: it was not asked.",),
    next_steps=lambda f: (
        f"Try the full name: `diagnose compare {f.host}/library/{f.repository}:{f.ref or 'latest'}`.",
        _login_step(f),
    ),
)

TOKEN_WITHOUT_PULL = Rule(
    id="token-without-pull",
    applies=lambda f: (
        not f.anonymous and f.v2_refused_401 and bool(f.token_actions) and f.token_grants_pull is False
    ),
    title="The token grants other actions but not pull (insufficient_scope)",
    explain=lambda f: (
        f"The token service issued {_who(f)} a token for {f.repository} that grants "
        f"{', '.join(f.token_actions or ())} but not pull, and the registry answered 401 "
        f"{f.challenge_error or 'insufficient_scope'}. This account may write there but not read: a CI "
        f"upload account or a push-only robot. The strict client says {_q(f.v2_message)}." + _v1_hiding(f)
    ),
    known=lambda f: (
        f"The credentials of {f.username!r} are valid.",
        f"The token grants {', '.join(f.token_actions or ())} on {f.repository}, not pull.",
    ),
    unknowable=_none,
    next_steps=lambda f: (
        f"Give {f.username!r} pull (read) permission on {f.repository}, or pull with a read-only account.",
    ),
)


def _storage_words(f: Facts) -> str:
    refusal = f.signals.storage
    if refusal is None:
        return "the storage it pointed at refused"
    said = f" {refusal.code}: {refusal.message}" if refusal.code else ""
    return f"the storage at {refusal.host} answered {refusal.status}{said}"


STORAGE_URL_EXPIRED = Rule(
    id="storage-url-expired",
    applies=lambda f: f.signals.storage is not None,
    title="Blob storage refused the presigned URL the registry redirected to",
    explain=lambda f: (
        f"The registry answered the blob request with a redirect, and {_storage_words(f)}"
        + ". The registry itself was fine: presigned URLs carry an expiry and a signature, and this one "
        "was expired (a skewed clock on the registry, or a cached redirect) or signed for another method. "
        f"The strict client says {_q(f.v2_message)}; docker 1.12 says {_q(f.fb_message)}."
    ),
    known=lambda f: (
        "The manifest was served: the image exists and is readable.",
        "The storage behind the registry refused the blob URL.",
    ),
    unknowable=lambda f: ("Whether a fresh redirect would work: each blob request gets a new URL.",),
    next_steps=lambda f: (
        f"Run again (`{f.compare_command()}`): a new request gets a newly signed URL.",
        "If it repeats, the registry operator must check the registry host's clock and the storage "
        "driver's redirect settings (a CDN caching redirects serves expired ones).",
    ),
)

REPOSITORY_RENAMED = Rule(
    id="repository-renamed",
    applies=lambda f: f.signals.moved_to is not None,
    title="The repository was renamed",
    explain=lambda f: (
        f"The registry answered 404 NAME_UNKNOWN for {f.repository} and named its new name, "
        f"{f.signals.moved_to}. The strict client says {_q(f.v2_message)}; docker 1.12 fell back to V1 and "
        f"says {_q(f.fb_message)}, which drops the hint."
    ),
    known=lambda f: (f"{f.repository} no longer exists under that name; it is now {f.signals.moved_to}.",),
    unknowable=_none,
    next_steps=lambda f: (
        f"Pull the new name: `diagnose compare {f.host}/{f.signals.moved_to}:{f.ref or 'latest'}`.",
        "Update image references (compose files, Kubernetes manifests, CI) to the new name.",
    ),
)

BLOB_MISSING = Rule(
    id="blob-missing",
    applies=lambda f: bool(f.signals.missing_blobs) and not f.any_outcome(Outcome.OK),
    title="The manifest names a blob the registry does not have",
    explain=lambda f: (
        f"The manifest of {f.image} was served, but the registry answered 404 for "
        f"{', '.join(f.signals.missing_blobs)}: the image is incomplete there (an interrupted push, garbage "
        "collection that ran while the tag pointed at it, or a mirror missing content). The strict client "
        f"says {_q(f.v2_message)}; docker 1.12 says {_q(f.fb_message)}."
    ),
    known=lambda f: (
        "The manifest exists and is readable.",
        f"The registry does not have {len(f.signals.missing_blobs)} of the blobs it names.",
    ),
    unknowable=lambda f: ("Whether the blob exists in another repository of the same registry.",),
    next_steps=lambda f: (
        f"Push the image again (`docker push {f.host}/{f.image}`) so every blob is uploaded.",
        "If garbage collection ran, check that it was run with the registry read-only.",
    ),
)

WINDOWS_ONLY_IMAGE = Rule(
    id="windows-only-image",
    applies=lambda f: f.signals.windows_only and f.any_outcome(Outcome.UNSUPPORTED),
    title="The image exists only for Windows",
    explain=lambda f: (
        f"The index of {f.image} lists only {', '.join(f.signals.index_platforms)}: it is a Windows image, "
        "and a Linux host cannot run it. The strict client says "
        f"{_q(f.v2_message)}; docker 1.12 says {_q(f.fb_message)}."
    ),
    known=lambda f: (f"The index offers: {', '.join(f.signals.index_platforms)}.",),
    unknowable=_none,
    next_steps=lambda f: (
        "Pull it on a Windows host (docker in Windows-containers mode), or use a Linux variant of the image "
        "(often another tag).",
        f"See the platforms yourself: `skopeo inspect --raw{f.skopeo_flags} docker://{f.reference}`.",
    ),
)


RULES: tuple[Rule, ...] = (
    TOOL_ERROR,
    SCHEMA1_IMAGE,
    BOTH_OK,
    PLAIN_HTTP,
    CLIENT_CERTIFICATE,
    TLS_ERROR,
    DNS_FAILURE,
    TOKEN_ENDPOINT_UNREACHABLE,
    TLS_HANDSHAKE_CUT,
    PROXY_REFUSED,
    CONNECTION_ERROR,
    TIMEOUT,
    PROXY_IN_THE_WAY,
    TOKEN_ANSWER_EMPTY,
    AUTH_FAILED,
    TOKEN_REJECTED,
    PULL_QUOTA_EXHAUSTED,
    RATE_LIMITED,
    OCI_NOT_ACCEPTED,
    ONLY_ON_V1,
    BASIC_NO_CREDENTIALS,
    NAME_WITHOUT_LIBRARY,
    TOKEN_WITHOUT_PULL,
    UNAUTHORIZED_HIDDEN_BY_V1,
    UNAUTHORIZED_ANONYMOUS,
    BASIC_CREDENTIALS_REJECTED,
    NO_PULL_ACCESS,
    STORAGE_URL_EXPIRED,
    DENIED,
    NOT_A_REGISTRY,
    REPOSITORY_RENAMED,
    BLOB_MISSING,
    TAG_MISSING,
    REPOSITORY_MISSING,
    WINDOWS_ONLY_IMAGE,
    NO_MATCHING_PLATFORM,
    INTEGRITY_ERROR,
    SERVER_ERROR,
    UNEXPLAINED,
)
"""First match wins; the last rule is a catch-all."""


def select_rule(facts: Facts) -> Rule:
    """The first rule that applies (the catch-all always does)."""
    return next(rule for rule in RULES if rule.applies(facts))


_NO_ANSWER_RULES = frozenset({PLAIN_HTTP.id, TLS_ERROR.id, CONNECTION_ERROR.id, TIMEOUT.id})
"""Rules about a strict pull that got no HTTP answer: another pull may still have got one."""


def findings(f: Facts, primary: Rule) -> tuple[Finding, ...]:
    """What the pulls revealed beyond the primary rule: docker's answer when the strict pull
    got none, and what every further pull (docker >= 17, containerd, ...) concluded."""
    found: list[Finding] = []
    if primary.id in _NO_ANSWER_RULES and f.fb_reached_registry:
        if f.oci_not_accepted:
            found.append(
                Finding(
                    id=OCI_NOT_ACCEPTED.id,
                    title="Docker's pull reached the registry: the image is an OCI image docker 1.12 "
                    "cannot accept",
                    explanation=(
                        f"The registry answered docker's manifest request for {f.image} with 404 "
                        "MANIFEST_UNKNOWN (“OCI manifest found, but accept header does not support OCI "
                        "manifests”): the image exists, stored as OCI. Docker 1.12 then fell back to V1 "
                        f"and printed {_q(f.fb_message)}."
                    ),
                )
            )
        elif f.fb_outcome is Outcome.OK:
            found.append(
                Finding(
                    id="docker-pull-succeeded",
                    title="Docker's pull reached the registry and pulled the image",
                    explanation=f"The image exists and is readable: docker 1.12 says {_q(f.fb_message)}.",
                )
            )
        else:
            found.append(
                Finding(
                    id="docker-pull-answered",
                    title=f"Docker's pull reached the registry and ended {f.fb_outcome}",
                    explanation=(
                        f"Docker 1.12 says {_q(f.fb_message)}; its steps show the registry's answers."
                    ),
                )
            )
    others = f.others
    if others:
        found.append(
            Finding(
                id="other-pulls",
                title="What the other pulls concluded",
                explanation="; ".join(
                    f"{p.strategy} ({p.client}) ended {p.outcome}: {_q(p.message)}" for p in others
                )
                + ".",
            )
        )
    return tuple(found)


def diagnose(pulls: Sequence[PullResult], auth: AuthInfo, flags: RunFlags | None = None) -> Diagnosis:
    """Explain any number of pulls: the first matching rule answers why the strict pull and docker
    1.12's disagree; ``findings`` add what the other pulls revealed. ``flags`` (the reference as
    typed, TLS choices, platform) make the suggested commands the ones this run needs."""
    facts = facts_from(pulls, auth, flags)
    rule = select_rule(facts)
    return Diagnosis(
        id=rule.id,
        differ=facts.differ,
        title=rule.title,
        explanation=rule.explain(facts),
        known=rule.known(facts),
        unknowable=rule.unknowable(facts),
        next_steps=_with_vendor(rule, facts),
        findings=findings(facts, rule),
    )


# Which advice a registry vendor adds to a rule's own steps (vendors.py words it per vendor).
_VENDOR_SITUATION: dict[str, Situation] = {
    "unauthorized-hidden-by-v1": Situation.LOGIN,
    "unauthorized-anonymous": Situation.LOGIN,
    "basic-auth-no-credentials": Situation.LOGIN,
    "credentials-rejected": Situation.CREDENTIALS,
    "no-pull-access": Situation.PERMISSION,
    "token-without-pull": Situation.PERMISSION,
    "denied": Situation.PERMISSION,
    "token-rejected": Situation.TOKEN_EXPIRED,
    "rate-limited": Situation.RATE_LIMIT,
    "pull-quota-exhausted": Situation.RATE_LIMIT,
    "tag-missing": Situation.NOT_FOUND,
    "repository-missing": Situation.NOT_FOUND,
}


def _with_vendor(rule: Rule, facts: Facts) -> tuple[str, ...]:
    """The rule's steps, then what this registry's vendor needs (ECR's 12-hour tokens, …)."""
    steps = rule.next_steps(facts)
    situation = _VENDOR_SITUATION.get(rule.id)
    if situation is None or facts.signals.vendor is None:
        return steps
    extra = advice(facts.signals.vendor, situation, facts.host)
    return steps + tuple(step for step in extra if step not in steps)


# ---------------------------------------------------------------------------------------------
# Identity rules: what the identity each pull used, and the anonymous contrast pull, reveal.
# Checked before the table above: they explain a run by the difference between "with this
# identity" and "without one", which the two-pull rules cannot see.


def _answer(pull: PullResult) -> str:
    """What the registry answered, in short: ``401``, ``404 MANIFEST_UNKNOWN``, ``ok``."""
    if pull.ok:
        return "ok"
    error = pull.error
    if error is None or error.status is None:
        return pull.outcome.value
    if error.status in (401, 403):  # the code only repeats the status (UNAUTHORIZED, DENIED)
        return str(error.status)
    codes = " ".join(dict.fromkeys(e.code for e in error.registry_errors))
    return f"{error.status} {codes}".strip()


def _host_of(ref: ImageReference) -> str:
    return (
        "docker.io" if ref.domain in ("docker.io", "index.docker.io", "registry-1.docker.io") else ref.domain
    )


def identity_diagnosis(
    pulls: Sequence[PullResult], identities: Sequence[PullIdentity], ref: ImageReference
) -> Diagnosis | None:
    """A diagnosis drawn from the identities and the contrast pull, or None to use the table."""
    by_strategy = {p.strategy: p for p in pulls}
    ids = {i.strategy: i for i in identities}
    strict, anonymous = by_strategy.get(Strategy.V2_ONLY), by_strategy.get(Strategy.V2_ONLY_ANONYMOUS)
    who = ids.get(Strategy.V2_ONLY)
    if strict is None or who is None:
        return None
    host, image = _host_of(ref), ref.canonical
    refused = (Outcome.UNAUTHORIZED, Outcome.DENIED, Outcome.AUTH_FAILED)
    # A pull that presented an identity and was refused, while a pull without one got the image.
    without = [p for p in pulls if p.ok and ids.get(p.strategy, who).mode is AuthMode.ANONYMOUS]
    for pull in pulls:
        mine_id = ids.get(pull.strategy)
        if (
            without
            and mine_id is not None
            and mine_id.mode is AuthMode.CREDENTIALS
            and pull.outcome in refused
        ):
            strict, anonymous, who = pull, without[0], mine_id
            break
    name = who.username or "this identity"
    if anonymous is not None and who.mode is AuthMode.CREDENTIALS:
        mine, theirs = _answer(strict), _answer(anonymous)
        contrast = f"anonymous {theirs}, {name} {mine}"
        if strict.strategy is not Strategy.V2_ONLY:
            contrast = f"{contrast} (the {strict.strategy.value} pull)"
        if anonymous.ok and strict.outcome in refused:
            if who.stored:
                return Diagnosis(
                    id="stored-login-rejected",
                    differ=True,
                    title=f"Your stored login for {host} is rejected; without it the pull works",
                    explanation=(
                        f"{contrast}. The login stored in {who.source} is refused, while the same "
                        f"pull without credentials succeeds: a stale login (changed password, expired or "
                        f"revoked token) breaks pulls of {image}, which is public."
                    ),
                    known=(
                        f"{image} can be pulled anonymously.",
                        f"The stored login ({who.source}) is refused.",
                    ),
                    next_steps=(
                        f"Remove the stale login: `docker logout {host}` (and `podman logout {host}`), "
                        f"or renew it: `docker login {host}`.",
                        f"Check: `diagnose compare {image} --anonymous` succeeds, as the contrast run did.",
                    ),
                )
            return Diagnosis(
                id="credentials-rejected-public",
                differ=True,
                title=f"The credentials given are refused; without them {image} can be pulled",
                explanation=(
                    f"{contrast}. The registry refuses these credentials but serves the image anonymously."
                ),
                known=(f"{image} can be pulled anonymously.",),
                next_steps=(f"Check the user name and password for {host}, or pull without credentials.",),
            )
        if strict.outcome is Outcome.NOT_FOUND and anonymous.outcome in (
            Outcome.UNAUTHORIZED,
            Outcome.DENIED,
        ):
            codes = {e.code for e in strict.error.registry_errors} if strict.error else set()
            missing = "the repository" if "NAME_UNKNOWN" in codes else f"the tag {ref.reference_in_repo}"
            return Diagnosis(
                id="exists-for-identity-but-not-this-tag",
                differ=True,
                title=f"{ref.path} is visible to {name}, but {missing} is not there",
                explanation=(
                    f"{contrast}: anonymously the registry hides whether {ref.path} exists; with "
                    f"{name}'s identity it answers that {missing} does not exist. The access is "
                    f"fine; the name is wrong."
                ),
                known=(f"{name} may look into {ref.path} on {host}.",),
                unknowable=(
                    "Some registries answer MANIFEST_UNKNOWN for a missing repository too: check the "
                    "repository name as well.",
                ),
                next_steps=(f"List the tags {name} can see: `skopeo list-tags docker://{ref.name}`.",),
            )
        if strict.outcome in (Outcome.UNAUTHORIZED, Outcome.DENIED) and anonymous.outcome in (
            Outcome.UNAUTHORIZED,
            Outcome.DENIED,
        ):
            return Diagnosis(
                id="identity-has-no-pull-access",
                differ=False,
                title=f"{name} has no pull access to {ref.path}, or it does not exist",
                explanation=(
                    f"{contrast}: the registry refuses {name} exactly as it refuses an anonymous "
                    f"client, so this account has no pull access to {ref.path}, or the repository does "
                    f"not exist (the registry will not say which)."
                ),
                unknowable=(f"Whether {ref.path} exists: the registry answers the same either way.",),
                next_steps=(
                    f"Ask the owner of {ref.path} to grant {name} pull access, or check the repository name.",
                ),
            )
    near = next((i for i in identities if i.near_miss and i.mode is AuthMode.ANONYMOUS), None)
    failed = (
        near is not None and by_strategy.get(near.strategy) is not None and not by_strategy[near.strategy].ok
    )
    if near is not None and failed:
        who, strict = near, by_strategy[near.strategy]
        return Diagnosis(
            id="login-under-another-key",
            differ=False,
            title=f"A login for {host} is stored, but under a key the client does not look up",
            explanation=(
                f"The pull ran without credentials and got {_answer(strict)}. {who.near_miss}, but "
                f'the client looks up "{who.looked_up}", so that login was not used.'
            ),
            known=(f'Stored: {who.near_miss}; looked up: "{who.looked_up}".',),
            next_steps=(
                f"Log in again under the right name: `docker login {host}` (or `podman login {host}`).",
            ),
        )
    return None


def with_identity_notes(
    diagnosis: Diagnosis, identities: Sequence[PullIdentity], ref: ImageReference
) -> Diagnosis:
    """Say what the table rules cannot know: a stored login left unused, a failing helper."""
    notes = []
    for identity in identities:
        if identity.unused_login:
            notes.append(
                f"A login for {_host_of(ref)} is stored in {identity.unused_login}; "
                f"the {identity.strategy.value} pull did not use it because of --anonymous."
            )
        if identity.problem:
            notes.append(
                f"The {identity.strategy.value} pull's credential helper failed ({identity.problem}); "
                "it ran without credentials."
            )
    if not notes:
        return diagnosis
    return replace(diagnosis, known=(*diagnosis.known, *dict.fromkeys(notes)))
