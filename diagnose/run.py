"""Run the pulls and assemble a Report: the wiring between transport, pullers and rules.

This module builds transports and runs pullers; it must not print, parse command lines or
choose exit codes (that is ``cli.py``), nor word any client message (``clients/``).
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from diagnose import __version__
from diagnose.bounds import QUOTE_LIMIT, SCRUB_MARGIN, clip
from diagnose.concurrency import Cancel, run_all
from diagnose.credentials.identity import Identity
from diagnose.model import (
    AuthInfo,
    AuthMode,
    Diagnosis,
    Exchange,
    ImageReference,
    Outcome,
    PullError,
    PullIdentity,
    PullResult,
    Report,
    RunSettings,
    Strategy,
)
from diagnose.pullers.containerd import pull_containerd
from diagnose.pullers.docker_endpoints import pull_docker_endpoints
from diagnose.pullers.options import PullOptions
from diagnose.pullers.v2_only import pull_v2_only
from diagnose.pullers.v2_then_v1 import is_insecure, pull_v2_then_v1
from diagnose.redact import REDACTED, learned_secrets, memoized, redact_headers, scrub_text, scrub_value
from diagnose.tls_material import NO_TLS_MATERIAL, TlsMaterial
from diagnose.transport import HttpClient, Recorder, RecordingClient, TransportOptions

if TYPE_CHECKING:
    from diagnose.connection_pools import ConnectionPools
    from diagnose.facts import RunFlags

T = TypeVar("T")


def warm_analysis() -> None:
    """Import what reads the pulls (rules, facts, every client model) while they are on the
    network: run first, the imports cost the start-up of every command that pulls."""
    import diagnose.clients.catalogue
    import diagnose.rules  # noqa: F401


Puller = Callable[[ImageReference, HttpClient, PullOptions], PullResult]


def pull_v2_only_anonymous(ref: ImageReference, client: HttpClient, options: PullOptions) -> PullResult:
    """The contrast pull: the strict pull again, without any identity."""
    anonymous = dataclasses.replace(options, credentials=None, identity_token=None)
    return dataclasses.replace(pull_v2_only(ref, client, anonymous), strategy=Strategy.V2_ONLY_ANONYMOUS)


PULLERS: dict[Strategy, Puller] = {
    Strategy.V2_ONLY: pull_v2_only,
    Strategy.V2_ONLY_ANONYMOUS: pull_v2_only_anonymous,
    Strategy.V2_THEN_V1: pull_v2_then_v1,
    Strategy.DOCKER_ENDPOINTS: pull_docker_endpoints,
    Strategy.CONTAINERD: pull_containerd,
}

# What each pull says it is. Registries may vary answers by User-Agent, so each names the
# client it imitates and then ours (docker appends the API client as UpstreamClient(...)).
USER_AGENTS: dict[Strategy, str] = {
    Strategy.V2_ONLY: f"skopeo/1.16.1 diagnose/{__version__}",
    Strategy.V2_THEN_V1: (
        "docker/1.12.6 go/go1.6.4 git-commit/78d1802 os/linux arch/amd64 "
        f"UpstreamClient(diagnose/{__version__})"
    ),
    Strategy.DOCKER_ENDPOINTS: (
        "docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 os/linux arch/amd64 "
        f"UpstreamClient(diagnose/{__version__})"
    ),
    Strategy.CONTAINERD: f"containerd/1.6.20~ds1 diagnose/{__version__}",
}
USER_AGENTS[Strategy.V2_ONLY_ANONYMOUS] = USER_AGENTS[Strategy.V2_ONLY]


def auth_info(options: PullOptions, source: str) -> AuthInfo:
    """Which identity the pulls present; never the password."""
    if options.credentials is None:
        return AuthInfo(AuthMode.ANONYMOUS, "none")
    return AuthInfo(AuthMode.CREDENTIALS, source, options.credentials[0])


def secrets_of(options: PullOptions) -> tuple[str, ...]:
    """Strings that must never reach a recording: the password (and user:password)."""
    token = (options.identity_token,) if options.identity_token else ()
    if options.credentials is None or not options.credentials[1]:
        return token
    user, password = options.credentials
    # A user name equal to the password (API-token registries) is as secret as the password.
    return (f"{user}:{password}", password, *token)


def run_pull(
    ref: ImageReference,
    strategy: Strategy,
    options: PullOptions,
    transport: TransportOptions,
    *,
    recorder: Recorder | None = None,
    learned: list[str] | None = None,
    cancel: Cancel | None = None,
    connections: ConnectionPools | None = None,
) -> PullResult:
    """One pull with its own recording client; ``learned`` receives the secrets it saw
    (tokens, Basic credentials) so the whole report can be scrubbed with every pull's.
    ``cancel`` (Ctrl-C) can cut the client while it waits on the network. ``connections``
    (a batch's) lends the client the connections earlier references of this pull kind kept
    alive; nothing else crosses references (``connection_pools.py``)."""
    transport = dataclasses.replace(transport, user_agent=transport.user_agent or USER_AGENTS[strategy])
    docker_family = strategy in (Strategy.V2_THEN_V1, Strategy.DOCKER_ENDPOINTS)
    if docker_family and is_insecure(ref.domain, options):
        # docker 1.12 skips certificate verification for insecure registries (127.0.0.0/8
        # always): registry/registry.go newTLSConfig sets InsecureSkipVerify.
        transport = dataclasses.replace(transport, verify=False)
    elif docker_family and ref.domain == "docker.io" and transport.verify is False:
        # The Hub's endpoints always use tlsconfig.ServerDefault (moby v1.12.6
        # registry/service_v2.go:11-13, service_v1.go:10-12): docker verifies them whatever
        # diagnose's --no-tls-verify says.
        transport = dataclasses.replace(transport, verify=True)
    # certs.d material only where the client verifies: docker reads certs.d only for secure
    # registries (registry/registry.go newTLSConfig: "if isSecure && CertsDir() != \"\""), so
    # an insecure (127.0.0.0/8) registry never gets docker's client certificate either.
    if docker_family:
        # docker never reuses a registry connection: every transport it builds for a pull sets
        # DisableKeepAlives (moby v1.12.6 distribution/registry.go:38-45, a new http.Transport per
        # V2 endpoint; registry/registry.go:176-183 NewTransport, which the V1 ping and session
        # use: registry/endpoint_v1.go:79-80, distribution/pull_v1.go:49-54; still so in
        # v20.10.24 distribution/registry.go:91-97 and v28.0.0 :87-93). Each request pays a
        # new connection and, over https, a TLS handshake.
        transport = dataclasses.replace(transport, keep_alive=False)
    material = tls_material_for(strategy, options)
    if material.found and transport.verify is not False:
        transport = dataclasses.replace(
            transport, ca_files=material.ca_files, client_cert=material.client_cert
        )
    wire = connections.wire_for(strategy, transport) if connections is not None else None
    client = RecordingClient(
        recorder or Recorder(), strategy, transport, secrets=secrets_of(options), wire=wire
    )
    if cancel is not None:
        cancel.register(client)
    try:
        # The exchanges were redacted as they were recorded, by this client with these secrets,
        # and scrub_report goes over them again with every pull's: here only the rest (the
        # message, errors, quotes of answers), which is a small part of a pull's strings.
        return bounded(guarded(PULLERS[strategy], ref, client, options), client.scrub, keep=(Exchange,))
    finally:
        if learned is not None:
            learned.extend(client.secrets())
        client.close()


def tls_material_for(strategy: Strategy, options: PullOptions) -> TlsMaterial:
    """The certs.d files the client behind ``strategy`` reads: docker's pulls read docker's
    directory, the strict pull containers/image's; containerd reads its hosts.toml instead."""
    if strategy in (Strategy.V2_THEN_V1, Strategy.DOCKER_ENDPOINTS):
        return options.docker_tls
    if strategy is Strategy.V2_ONLY:
        return options.containers_tls
    return NO_TLS_MATERIAL


TOOL_ERROR_EVENT = "diagnose.tool_error"
"""``sys.audit`` event raised whenever a bug of diagnose is turned into a report: the test
suite listens for it and fails the test that produced it (tests/conftest.py)."""


def tool_error_text(exc: BaseException) -> str:
    """One line naming a bug of diagnose: the exception and where in diagnose it was raised."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "diagnose" in f.filename]
    where = ""
    if frames:
        path = frames[-1].filename.replace("\\", "/")
        where = f" (at {path[path.rfind('/diagnose/') + 1 :]}:{frames[-1].lineno})"
    return f"{type(exc).__name__}: {exc}{where}"


def guarded(puller: Puller, ref: ImageReference, client: HttpClient, options: PullOptions) -> PullResult:
    """Run a puller; a bug in it becomes an ``internal_error`` result that keeps the evidence.

    A bug is the tool's own failure, never a registry outcome: the exchanges recorded so far
    stay in the report, ``tool_error`` says what broke, the rules lead with it and the CLI
    exits 3. Registry misbehaviour must never get here: pullers turn it into outcomes.
    """
    try:
        return puller(ref, client, options)
    except Exception as exc:
        text = tool_error_text(exc)
        sys.audit(TOOL_ERROR_EVENT, text)
        detail = f"diagnose failed while running this pull (a bug in diagnose, not a registry answer): {text}"
        return PullResult(
            strategy=client.strategy,
            outcome=Outcome.INTERNAL_ERROR,
            protocol=None,
            message=detail,
            client="diagnose",
            exchanges=client.exchanges(),
            error=PullError(step="(internal)", detail=detail),
            tool_error=text,
        )


def guarded_diagnose(
    pulls: Sequence[PullResult],
    auth: AuthInfo,
    flags: RunFlags | None = None,
    *,
    every: Sequence[PullResult] = (),
    identities: Sequence[PullIdentity] = (),
    ref: ImageReference | None = None,
) -> Diagnosis:
    """The rules' diagnosis; a bug in a rule becomes an ``internal-error`` diagnosis (exit 3).

    With ``identities`` (and ``every`` pull, the contrast pull included) the identity rules
    may explain the run instead, unless diagnose itself failed.
    """
    from diagnose.rules import diagnose, identity_diagnosis, tool_failure_diagnosis, with_identity_notes

    try:
        diagnosis = diagnose(pulls, auth, flags)
        if ref is not None and identities and diagnosis.id != "internal-error":
            diagnosis = identity_diagnosis(every or pulls, identities, ref) or with_identity_notes(
                diagnosis, identities, ref
            )
        return diagnosis
    except Exception as exc:
        text = tool_error_text(exc)
        sys.audit(TOOL_ERROR_EVENT, text)
        return tool_failure_diagnosis(text)


def scrub_result(result: PullResult, scrub: Callable[[str], str]) -> PullResult:
    """Every string of a result (messages quote bodies and URLs; registry errors and the
    challenge's ``error=`` quote whatever the server said) without known secrets."""
    return scrub_value(result, scrub)


def run_pulls(
    ref: ImageReference,
    options: PullOptions,
    transport: TransportOptions,
    strategies: Sequence[Strategy] = (Strategy.V2_ONLY, Strategy.V2_THEN_V1),
    *,
    learned: list[str] | None = None,
    cancel: Cancel | None = None,
    per_strategy: Mapping[Strategy, PullOptions] | None = None,
    connections: ConnectionPools | None = None,
    meanwhile: Callable[[], object] | None = warm_analysis,
) -> tuple[PullResult, ...]:
    """Every pull at the same time (any number of strategies), sharing one recorder so
    exchange ids are global; Ctrl-C cuts them all (``concurrency.run_all``; a batch passes
    its own ``cancel`` so that one Ctrl-C reaches every reference's pulls). A pull named in
    ``per_strategy`` runs with its own options (its client's identity). ``meanwhile`` runs
    while the pulls wait on the network (by default: importing the rules and client models)."""
    recorder = Recorder()
    cancel = cancel or Cancel()
    chosen = per_strategy or {}
    tasks = [
        partial(
            run_pull,
            ref,
            s,
            chosen.get(s, options),
            transport,
            recorder=recorder,
            learned=learned,
            cancel=cancel,
            connections=connections,
        )
        for s in strategies
    ]
    return tuple(run_all(tasks, cancel=cancel, meanwhile=meanwhile))


CONTRAST_OUTCOMES = frozenset({Outcome.UNAUTHORIZED, Outcome.DENIED, Outcome.NOT_FOUND, Outcome.AUTH_FAILED})
"""A pull that ends like this with an identity gets the anonymous contrast pull (401, 403, 404)."""


def wants_contrast(pulls: Sequence[PullResult]) -> bool:
    return any(p.outcome in CONTRAST_OUTCOMES for p in pulls if p.strategy is not Strategy.V2_ONLY_ANONYMOUS)


ORIGINAL_PULLS = (Strategy.V2_ONLY, Strategy.V2_THEN_V1)
FAMILY_PULLS = (*ORIGINAL_PULLS, Strategy.DOCKER_ENDPOINTS, Strategy.CONTAINERD)
"""One pull per client family: what ``compare`` runs unless ``--clients`` narrows it."""
"""The two pulls of the original report: the table shows them unless ``--clients`` says otherwise."""


def build_report(
    ref: ImageReference,
    pulls: Sequence[PullResult],
    auth: AuthInfo,
    options: Sequence[tuple[str, str]] = (),
    *,
    clients: Sequence[str] | None = None,
    table: Sequence[Strategy] | None = None,
    settings: RunSettings | None = None,
    identities: Sequence[PullIdentity] = (),
) -> Report:
    """Diagnose the pulls, predict every chosen client's message, wrap everything into the report.

    The rules read every pull: the primary finding answers why the strict pull and docker
    1.12's disagree, the other pulls add further findings; they also feed the client predictions.
    """
    from diagnose.clients.catalogue import predict_all
    from diagnose.facts import RunFlags

    platform = dict(options).get("platform", "linux/amd64")
    ran = tuple(p.strategy for p in pulls)
    shown = tuple(s for s in (ORIGINAL_PULLS if table is None else table) if s in ran)
    return Report(
        reference=ref,
        auth=auth,
        pulls=tuple(pulls),
        diagnosis=guarded_diagnose(
            pulls,
            auth,
            RunFlags.from_options(ref.input, options),
            every=pulls,
            identities=identities,
            ref=ref,
        ),
        tool_version=__version__,
        created=_now(),
        options=tuple(options),
        clients=predict_all(pulls, ref, platform, clients),
        table=shown if shown != ran else (),
        settings=settings,
        identities=tuple(identities),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_settings(options: PullOptions, transport: TransportOptions) -> RunSettings:
    """The typed settings a report keeps so that ``replay`` can rebuild the run."""
    return RunSettings(
        platform=options.platform,
        tls_verify=options.tls_verify,
        ca_cert=transport.verify if isinstance(transport.verify, str) else None,
        insecure_registries=options.insecure_registries,
        verify_layers=options.verify_layers,
        timeout=transport.timeout,
    )


def describe_settings(settings: RunSettings) -> tuple[tuple[str, str], ...]:
    """The settings as the text ``options`` of the report (kept for readers of older reports)."""
    described = [
        ("platform", settings.platform),
        ("tls_verify", str(settings.tls_verify).lower()),
        ("timeout", f"{settings.timeout:g}"),
        ("verify_layers", str(settings.verify_layers).lower()),
    ]
    if settings.ca_cert is not None:
        described.append(("ca_cert", settings.ca_cert))
    if settings.insecure_registries:
        described.append(("insecure_registries", ",".join(settings.insecure_registries)))
    return tuple(described)


def compare(
    ref: ImageReference,
    options: PullOptions,
    transport: TransportOptions,
    *,
    auth_source: str = "--creds",
    identities: Mapping[Strategy, Identity] | None = None,
    contrast: bool = True,
    cancel: Cancel | None = None,
    clients: Sequence[str] | None = None,
    connections: ConnectionPools | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> Report:
    """Run the pulls against the registry, diagnose them and predict what each client prints.

    ``clients`` (model ids, ``--clients``) chooses which pulls run and which the table shows;
    by default every client family's pull runs, the table shows the two original ones and every
    model predicts.

    With ``identities`` each pull presents its own (its client's stored login, or the one the
    user gave). When the strict pull presents one, it also runs anonymously, concurrently (the
    contrast pull); its result is kept when some pull failed with 401, 403 or 404.

    A batch passes its ``connections``: the pulls then reuse the connections earlier
    references kept alive; the report is otherwise the one a single run gives.
    """
    from diagnose.clients.catalogue import strategies_for

    strategies = list(FAMILY_PULLS if clients is None else strategies_for(clients))
    per_strategy: dict[Strategy, PullOptions] = {}
    records: list[PullIdentity] = []
    if identities:
        for strategy, identity in identities.items():
            per_strategy[strategy] = dataclasses.replace(
                options, credentials=identity.credentials, identity_token=identity.identity_token
            )
            records.append(identity.record)
        # docker >= 17 reads docker's login like docker 1.12; ctr is given the user's --user
        for family, like in (
            (Strategy.DOCKER_ENDPOINTS, Strategy.V2_THEN_V1),
            (Strategy.CONTAINERD, Strategy.V2_ONLY),
        ):
            if like in per_strategy:
                per_strategy.setdefault(family, per_strategy[like])
        strict = identities.get(Strategy.V2_ONLY)
        if contrast and strict is not None and strict.used and Strategy.V2_ONLY in strategies:
            strategies.append(Strategy.V2_ONLY_ANONYMOUS)
    learned: list[str] = [s for o in (options, *per_strategy.values()) for s in secrets_of(o)]

    def prepare() -> None:  # while the pulls wait on the network
        warm_analysis()
        if meanwhile is not None:
            meanwhile()

    pulls = run_pulls(
        ref,
        options,
        transport,
        strategies,
        learned=learned,
        cancel=cancel,
        per_strategy=per_strategy,
        connections=connections,
        meanwhile=prepare,
    )
    if Strategy.V2_ONLY_ANONYMOUS in strategies:
        if wants_contrast(pulls):
            records.append(
                PullIdentity(Strategy.V2_ONLY_ANONYMOUS, AuthMode.ANONYMOUS, "contrast run: no credentials")
            )
        else:
            pulls = tuple(p for p in pulls if p.strategy is not Strategy.V2_ONLY_ANONYMOUS)
    settings = run_settings(options, transport)
    strict_options = per_strategy.get(Strategy.V2_ONLY, options)
    auth = auth_info(strict_options, auth_source)
    if identities and Strategy.V2_ONLY in identities:
        record = identities[Strategy.V2_ONLY].record
        auth = AuthInfo(record.mode, record.source, record.username)
    table = None if clients is None else [*strategies, Strategy.V2_ONLY_ANONYMOUS]
    report = build_report(
        ref,
        pulls,
        auth,
        describe_settings(settings),
        settings=settings,
        identities=records,
        clients=clients,
        table=table,
    )
    return scrub_report(report, learned)


def scrub_report(report: Report, secrets: Sequence[str]) -> Report:
    """The last pass before any output: every string of the report, the diagnosis and the
    identity included, without any secret any pull knew (a user name equal to the password
    disappears with it), and no string outside the exchanges longer than ``QUOTE_LIMIT``."""
    secrets = tuple(dict.fromkeys(secrets))
    return bounded(report, memoized(lambda text: scrub_text(text, secrets)))


def bounded(value: T, scrub: Callable[[str], str], *, keep: tuple[type, ...] = ()) -> T:
    """``value`` scrubbed and cut (``bounds.py``): cut with a margin first, so megabytes of a
    quoted body are never scrubbed, then scrubbed, then cut at the limit. Instances of
    ``keep`` are left as they are."""

    def quoted(text: str) -> str:
        return clip(scrub(clip(text, QUOTE_LIMIT + SCRUB_MARGIN)), QUOTE_LIMIT)

    # One walk: the exchanges (the evidence, capped when recorded) are only scrubbed.
    return scrub_value(value, quoted, keep=keep, within=(Exchange, scrub))


def recognisable_secrets(exchanges: Sequence[Exchange]) -> tuple[str, ...]:
    """Secrets a recording still shows (a hand-edited file, another tool's capture): raw
    ``Authorization`` values and token fields. Replay has no password; it scrubs these."""
    found: list[str] = []
    for exchange in exchanges:
        found.extend(learned_secrets(exchange.request.headers))
        if exchange.response is not None and exchange.response.body_encoding == "utf-8":
            found.extend(learned_secrets((), exchange.response.body.encode("utf-8")))
    # A placeholder our own redaction wrote ("<redacted: empty credentials>") is evidence,
    # not a secret: scrubbing it would change the recording replay must keep as it was.
    return tuple(dict.fromkeys(s for s in found if REDACTED[:-1] not in s))


def replay_report(saved: Report) -> Report:
    """Re-run both pullers offline on a saved report's exchanges, then diagnose again.

    The pullers read the recorded answers instead of the network, so a support engineer
    sees the diagnosis that this version of diagnose draws from the user's evidence. The
    evidence stays as captured: exchange ids, ``created`` and the settings are the saved
    ones; ``replayed_at`` says when this happened.
    """
    from diagnose.clients.catalogue import BY_ID
    from diagnose.replay import ReplayClient, id_source, replay_options, settings_of

    ref = saved.reference
    secrets = recognisable_secrets(saved.exchanges)
    new_ids = id_source(saved.exchanges)
    pulls = []
    for saved_pull in saved.pulls:
        client = ReplayClient(_redacted_again(saved_pull.exchanges), saved_pull.strategy, new_ids=new_ids)
        pull_options = replay_options(saved, saved_pull.strategy)
        pulls.append(guarded(PULLERS[saved_pull.strategy], ref, client, pull_options))
    # the same clients and table as the saved report (an older report: every model, every pull)
    clients = [c.client for c in saved.clients if c.client in BY_ID] or None
    table = saved.table or tuple(p.strategy for p in saved.pulls)
    report = build_report(
        ref,
        pulls,
        saved.auth,
        saved.options,
        settings=settings_of(saved),
        identities=saved.identities,
        clients=clients,
        table=table,
    )
    # The evidence as captured: the capture time stays, the replay adds its own.
    return scrub_report(dataclasses.replace(report, created=saved.created, replayed_at=_now()), secrets)


def _redacted_again(exchanges: Sequence[Exchange]) -> tuple[Exchange, ...]:
    """Request headers redacted as the transport would have (idempotent on our own files)."""
    return tuple(
        dataclasses.replace(
            e, request=dataclasses.replace(e.request, headers=redact_headers(e.request.headers))
        )
        for e in exchanges
    )
