"""The JSON report (``schema: diagnose/v1``): a public contract, and its inverse for ``replay``.

Within ``diagnose/v1`` fields may be added but never renamed or dropped (docs/json-report.md).
This module must not do I/O, print, or re-redact: what it serialises was already redacted by
the transport. ``report_from_dict`` must never raise anything but ``ValueError``.

Headers are a JSON object (name -> value); a name that occurs more than once (several
``WWW-Authenticate`` lines) has a list of values, in wire order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from diagnose.model import (
    SCHEMA,
    AuthInfo,
    AuthMode,
    ClientPrediction,
    Diagnosis,
    Exchange,
    FailureKind,
    Finding,
    Headers,
    ImageReference,
    MessageVariant,
    Outcome,
    Protocol,
    PullError,
    PullIdentity,
    PullResult,
    PullStep,
    RecordedRequest,
    RecordedResponse,
    RegistryError,
    Report,
    RunSettings,
    StepKind,
    Strategy,
    TokenAccess,
    TokenClaims,
    TokenGrant,
    TransportFailure,
    step_kind_of_label,
)
from diagnose.tokens import claims_from_mapping, claims_to_dict, legacy_body_claims

TOOL_NAME = "diagnose"


# ---------------------------------------------------------------------------------------------
# Report -> dict


def _headers(headers: Headers) -> dict[str, str | list[str]]:
    result: dict[str, str | list[str]] = {}
    for name, value in headers:
        if name not in result:
            result[name] = value
            continue
        previous = result[name]
        result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
    return result


def _failure(failure: TransportFailure | None) -> dict[str, Any] | None:
    return None if failure is None else {"kind": failure.kind.value, "detail": failure.detail}


def _error(error: PullError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {
        "step": error.step,
        "exchange_id": error.exchange_id,
        "status": error.status,
        "registry_errors": [
            {"code": e.code, "message": e.message, "detail": e.detail} for e in error.registry_errors
        ],
        "challenge_error": error.challenge_error,
        "failure": _failure(error.failure),
        "detail": error.detail,
        "kind": error.kind.value if error.kind is not None else None,
    }


def _step(step: PullStep) -> dict[str, Any]:
    return {
        "label": step.label,
        "method": step.method,
        "url": step.url,
        "status": step.status,
        "result": step.result,
        "exchange_id": step.exchange_id,
    }


def _pull(pull: PullResult) -> dict[str, Any]:
    return {
        "strategy": pull.strategy.value,
        "outcome": pull.outcome.value,
        "protocol": pull.protocol.value if pull.protocol is not None else None,
        "message": pull.message,
        "client": pull.client,
        "error": _error(pull.error),
        "steps": [_step(s) for s in pull.steps],
        "notes": list(pull.notes),
        "variants": [{"when": v.when, "message": v.message} for v in pull.variants],
        "daemon_error": pull.daemon_error,
        "exchange_ids": [e.id for e in pull.exchanges],
        "tokens": [_grant(t) for t in pull.tokens],
        "tool_error": pull.tool_error,
    }


def _access(access: Sequence[TokenAccess] | None) -> list[dict[str, Any]] | None:
    if access is None:
        return None
    return [{"type": a.type, "name": a.name, "actions": list(a.actions)} for a in access]


def _grant(grant: TokenGrant) -> dict[str, Any]:
    return {
        "exchange_id": grant.exchange_id,
        "scope": grant.scope,
        "issued": grant.issued,
        "access": _access(grant.access),
        "subject": grant.subject,
    }


def _exchange(exchange: Exchange) -> dict[str, Any]:
    request = exchange.request
    response = exchange.response
    return {
        "id": exchange.id,
        "strategy": exchange.strategy.value,
        "step": exchange.step,
        "request": {
            "method": request.method,
            "url": request.url,
            "headers": _headers(request.headers),
            "body": request.body,
        },
        "response": None
        if response is None
        else {
            "status": response.status,
            "reason": response.reason,
            "headers": _headers(response.headers),
            "body": response.body,
            "body_size": response.body_size,
            "body_truncated": response.body_truncated,
            "body_encoding": response.body_encoding,
            "body_sha256": response.body_sha256,
        },
        "failure": _failure(exchange.failure),
        "elapsed_ms": exchange.elapsed_ms,
        "redirect_of": exchange.redirect_of,
        "note": exchange.note,
        "started_at": exchange.started_at,
        "proxy": exchange.proxy,
        "kind": exchange.kind.value,
        "token_claims": None if exchange.token_claims is None else claims_to_dict(exchange.token_claims),
        "new_connection": exchange.new_connection,
        "tls_handshake": exchange.tls_handshake,
    }


def _diagnosis(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "id": diagnosis.id,
        "differ": diagnosis.differ,
        "title": diagnosis.title,
        "explanation": diagnosis.explanation,
        "known": list(diagnosis.known),
        "unknowable": list(diagnosis.unknowable),
        "next_steps": list(diagnosis.next_steps),
        "findings": [
            {"id": f.id, "title": f.title, "explanation": f.explanation} for f in diagnosis.findings
        ],
        "tool_error": diagnosis.tool_error,
    }


def _settings(settings: RunSettings | None) -> dict[str, Any] | None:
    if settings is None:
        return None
    return {
        "platform": settings.platform,
        "tls_verify": settings.tls_verify,
        "ca_cert": settings.ca_cert,
        "insecure_registries": list(settings.insecure_registries),
        "verify_layers": settings.verify_layers,
        "timeout": settings.timeout,
    }


def _identity(identity: PullIdentity) -> dict[str, Any]:
    return {
        "strategy": identity.strategy.value,
        "mode": identity.mode.value,
        "source": identity.source,
        "username": identity.username,
        "identity_token": identity.identity_token,
        "stored": identity.stored,
        "looked_up": identity.looked_up,
        "problem": identity.problem,
        "near_miss": identity.near_miss,
        "unused_login": identity.unused_login,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON values, keys in the contract's order."""
    ref = report.reference
    return {
        "schema": SCHEMA,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "created": report.created,
        "reference": {
            "input": ref.input,
            "registry": ref.domain,
            "repository": ref.path,
            "tag": ref.tag,
            "digest": ref.digest,
            "canonical": ref.canonical,
            "familiar": ref.familiar,
        },
        "auth": {
            "mode": report.auth.mode.value,
            "source": report.auth.source,
            "username": report.auth.username,
        },
        "options": dict(report.options),
        "identities": [_identity(i) for i in report.identities],
        "settings": _settings(report.settings),
        "replayed_at": report.replayed_at or None,
        "pulls": [_pull(p) for p in report.pulls],
        "exchanges": [_exchange(e) for e in report.exchanges],
        "clients": [_client(c) for c in report.clients],
        "table": [s.value for s in report.table],
        "diagnosis": _diagnosis(report.diagnosis),
    }


def _client(prediction: ClientPrediction) -> dict[str, Any]:
    return {
        "client": prediction.client,
        "name": prediction.name,
        "strategy": prediction.strategy.value,
        "message": prediction.message,
        "exit_code": prediction.exit_code,
        "source": prediction.source,
    }


def render_json(report: Report) -> str:
    """The report as JSON text: indent 2, contract key order, UTF-8 characters kept, no final newline."""
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# dict -> Report


class _Bad(Exception):
    """Internal: a field is missing or has the wrong type; turned into ValueError at the top."""


def _obj(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _Bad(f"{where}: expected an object, got {type(data).__name__}")
    return data


def _list(data: Mapping[str, Any], key: str, where: str) -> Sequence[Any]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f"{where}.{key}: expected a list")
    return value


def _str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _Bad(f"{where}.{key}: expected a string")
    return value


def _opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _Bad(f"{where}.{key}: expected a string or null")
    return value


def _opt_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{where}.{key}: expected an integer or null")
    return value


def _int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = _opt_int(data, key, where)
    if value is None:
        raise _Bad(f"{where}.{key}: missing")
    return value


def _bool(data: Mapping[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _Bad(f"{where}.{key}: expected true or false")
    return value


def _opt_bool(data: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise _Bad(f"{where}.{key}: expected true, false or null")
    return value


def _float(data: Mapping[str, Any], key: str, where: str, default: float = 0.0) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"{where}.{key}: expected a number")
    return float(value)


def _strings(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _list(data, key, where)
    if not all(isinstance(v, str) for v in values):
        raise _Bad(f"{where}.{key}: expected a list of strings")
    return tuple(values)


_E = TypeVar("_E", Strategy, Outcome, Protocol, FailureKind, AuthMode, StepKind)


def _enum(kind: type[_E], data: Mapping[str, Any], key: str, where: str) -> _E:
    value = data.get(key)
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise _Bad(f"{where}.{key}: {value!r} is not one of {allowed}") from None


def _headers_from(data: Mapping[str, Any], where: str) -> Headers:
    raw = data.get("headers") or {}
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                raise _Bad(f"{where}.headers.{name}: expected a string or a list of strings")
            pairs.extend((str(name), v) for v in values)
    elif isinstance(raw, list):  # tolerate [[name, value], ...]
        for item in raw:
            if not (
                isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(x, str) for x in item)
            ):
                raise _Bad(f"{where}.headers: expected [name, value] pairs")
            pairs.append((item[0], item[1]))
    else:
        raise _Bad(f"{where}.headers: expected an object")
    return tuple(pairs)


def _failure_from(data: object, where: str) -> TransportFailure | None:
    if data is None:
        return None
    obj = _obj(data, where)
    return TransportFailure(
        kind=_enum(FailureKind, obj, "kind", where), detail=_str(obj, "detail", where, "")
    )


def _exchange_from(data: object, where: str) -> Exchange:
    obj = _obj(data, where)
    req = _obj(obj.get("request"), f"{where}.request")
    resp_data = obj.get("response")
    response = None
    if resp_data is not None:
        resp = _obj(resp_data, f"{where}.response")
        response = RecordedResponse(
            status=_int(resp, "status", f"{where}.response"),
            reason=_str(resp, "reason", f"{where}.response", ""),
            headers=_headers_from(resp, f"{where}.response"),
            body=_str(resp, "body", f"{where}.response", ""),
            body_size=_opt_int(resp, "body_size", f"{where}.response"),
            body_truncated=_bool(resp, "body_truncated", f"{where}.response"),
            body_encoding=_str(resp, "body_encoding", f"{where}.response", "utf-8"),
            body_sha256=_opt_str(resp, "body_sha256", f"{where}.response"),
        )
    step = _str(obj, "step", where)
    claims_data = obj.get("token_claims")
    claims: TokenClaims | None
    if claims_data is not None:
        claims = claims_from_mapping(_obj(claims_data, f"{where}.token_claims"))
    else:  # written before token_claims existed: the claims were inside the redacted body
        claims = legacy_body_claims(response.body) if response is not None else None
    return Exchange(
        id=_int(obj, "id", where),
        strategy=_enum(Strategy, obj, "strategy", where),
        step=step,
        request=RecordedRequest(
            method=_str(req, "method", f"{where}.request"),
            url=_str(req, "url", f"{where}.request"),
            headers=_headers_from(req, f"{where}.request"),
            body=_opt_str(req, "body", f"{where}.request"),
        ),
        response=response,
        failure=_failure_from(obj.get("failure"), f"{where}.failure"),
        elapsed_ms=_float(obj, "elapsed_ms", where),
        redirect_of=_opt_int(obj, "redirect_of", where),
        note=_opt_str(obj, "note", where),
        started_at=_str(obj, "started_at", where, ""),
        proxy=_opt_str(obj, "proxy", where),
        kind=_enum(StepKind, obj, "kind", where) if "kind" in obj else step_kind_of_label(step),
        token_claims=claims,
        new_connection=_opt_bool(obj, "new_connection", where),
        tls_handshake=_opt_bool(obj, "tls_handshake", where),
    )


def _error_from(data: object, where: str) -> PullError | None:
    if data is None:
        return None
    obj = _obj(data, where)
    errors = []
    for i, item in enumerate(_list(obj, "registry_errors", where)):
        e = _obj(item, f"{where}.registry_errors[{i}]")
        errors.append(
            RegistryError(
                code=_str(e, "code", f"{where}.registry_errors[{i}]"),
                message=_str(e, "message", f"{where}.registry_errors[{i}]", ""),
                detail=_opt_str(e, "detail", f"{where}.registry_errors[{i}]"),
            )
        )
    return PullError(
        step=_str(obj, "step", where),
        exchange_id=_opt_int(obj, "exchange_id", where),
        status=_opt_int(obj, "status", where),
        registry_errors=tuple(errors),
        challenge_error=_opt_str(obj, "challenge_error", where),
        failure=_failure_from(obj.get("failure"), f"{where}.failure"),
        detail=_str(obj, "detail", where, ""),
        kind=None if obj.get("kind") is None else _enum(StepKind, obj, "kind", where),
    )


def _access_from(data: object, where: str) -> tuple[TokenAccess, ...] | None:
    if data is None:
        return None
    if not isinstance(data, list):
        raise _Bad(f"{where}: expected a list or null")
    entries = []
    for i, item in enumerate(data):
        e = _obj(item, f"{where}[{i}]")
        entries.append(
            TokenAccess(
                type=_str(e, "type", f"{where}[{i}]", ""),
                name=_str(e, "name", f"{where}[{i}]", ""),
                actions=_strings(e, "actions", f"{where}[{i}]"),
            )
        )
    return tuple(entries)


def _grants_from(obj: Mapping[str, Any], where: str, own: Sequence[Exchange]) -> tuple[TokenGrant, ...]:
    if "tokens" not in obj:
        # Written before pulls listed their tokens: each token exchange with its recorded claims.
        return tuple(_legacy_grant(e) for e in own if e.kind is StepKind.TOKEN and e.redirect_of is None)
    grants = []
    for i, item in enumerate(_list(obj, "tokens", where)):
        g = _obj(item, f"{where}.tokens[{i}]")
        grants.append(
            TokenGrant(
                exchange_id=_int(g, "exchange_id", f"{where}.tokens[{i}]"),
                scope=_str(g, "scope", f"{where}.tokens[{i}]", ""),
                issued=_bool(g, "issued", f"{where}.tokens[{i}]"),
                access=_access_from(g.get("access"), f"{where}.tokens[{i}].access"),
                subject=_opt_str(g, "subject", f"{where}.tokens[{i}]"),
            )
        )
    return tuple(grants)


def _legacy_grant(exchange: Exchange) -> TokenGrant:
    claims = exchange.token_claims
    scope = next(
        (v for k, v in parse_qsl(urlsplit(exchange.request.url).query) if k == "scope"),
        "",
    )
    issued = exchange.response is not None and exchange.response.status == 200 and claims is not None
    return TokenGrant(
        exchange_id=exchange.id,
        scope=scope,
        issued=issued,
        access=claims.access if claims is not None else None,
        subject=claims.sub if claims is not None else None,
    )


def _identity_from(data: object, where: str) -> PullIdentity:
    obj = _obj(data, where)
    return PullIdentity(
        strategy=_enum(Strategy, obj, "strategy", where),
        mode=_enum(AuthMode, obj, "mode", where),
        source=_str(obj, "source", where, ""),
        username=_opt_str(obj, "username", where),
        identity_token=_bool(obj, "identity_token", where),
        stored=_bool(obj, "stored", where),
        looked_up=_opt_str(obj, "looked_up", where),
        problem=_opt_str(obj, "problem", where),
        near_miss=_opt_str(obj, "near_miss", where),
        unused_login=_opt_str(obj, "unused_login", where),
    )


def _settings_from(data: object, where: str) -> RunSettings | None:
    if data is None:
        return None
    obj = _obj(data, where)
    defaults = RunSettings()
    return RunSettings(
        platform=_str(obj, "platform", where, defaults.platform),
        tls_verify=_bool(obj, "tls_verify", where, defaults.tls_verify),
        ca_cert=_opt_str(obj, "ca_cert", where),
        insecure_registries=_strings(obj, "insecure_registries", where),
        verify_layers=_bool(obj, "verify_layers", where, defaults.verify_layers),
        timeout=_float(obj, "timeout", where, defaults.timeout),
    )


def _pull_from(data: object, where: str, exchanges: Mapping[int, Exchange]) -> PullResult:
    obj = _obj(data, where)
    strategy = _enum(Strategy, obj, "strategy", where)
    steps = []
    for i, item in enumerate(_list(obj, "steps", where)):
        s = _obj(item, f"{where}.steps[{i}]")
        steps.append(
            PullStep(
                label=_str(s, "label", f"{where}.steps[{i}]"),
                method=_str(s, "method", f"{where}.steps[{i}]", ""),
                url=_str(s, "url", f"{where}.steps[{i}]", ""),
                status=_opt_int(s, "status", f"{where}.steps[{i}]"),
                result=_str(s, "result", f"{where}.steps[{i}]", ""),
                exchange_id=_opt_int(s, "exchange_id", f"{where}.steps[{i}]"),
            )
        )
    if "exchange_ids" in obj:
        ids = _list(obj, "exchange_ids", where)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise _Bad(f"{where}.exchange_ids: expected a list of integers")
        missing = [i for i in ids if i not in exchanges]
        if missing:
            raise _Bad(f"{where}.exchange_ids: no exchange with id {missing[0]!r}")
        own = tuple(exchanges[i] for i in ids)
    else:  # a hand-written or older report: the exchanges of this strategy
        own = tuple(e for e in exchanges.values() if e.strategy is strategy)
    protocol = None if obj.get("protocol") is None else _enum(Protocol, obj, "protocol", where)
    tokens = _grants_from(obj, where, own)
    return PullResult(
        strategy=strategy,
        outcome=_enum(Outcome, obj, "outcome", where),
        protocol=protocol,
        message=_str(obj, "message", where, ""),
        client=_str(obj, "client", where, ""),
        steps=tuple(steps),
        exchanges=own,
        error=_error_from(obj.get("error"), f"{where}.error"),
        notes=_strings(obj, "notes", where),
        daemon_error=_opt_str(obj, "daemon_error", where),
        variants=tuple(
            MessageVariant(
                when=_str(_obj(v, f"{where}.variants[{i}]"), "when", f"{where}.variants[{i}]"),
                message=_str(_obj(v, f"{where}.variants[{i}]"), "message", f"{where}.variants[{i}]"),
            )
            for i, v in enumerate(_list(obj, "variants", where))
        ),
        tokens=tokens,
        tool_error=_opt_str(obj, "tool_error", where),
    )


def _report_from(data: Mapping[str, Any]) -> Report:
    tool = _obj(data.get("tool", {}), "tool")
    ref = _obj(data.get("reference"), "reference")
    auth = _obj(data.get("auth"), "auth")
    diag = _obj(data.get("diagnosis"), "diagnosis")
    exchanges: dict[int, Exchange] = {}
    for i, item in enumerate(_list(data, "exchanges", "report")):
        exchange = _exchange_from(item, f"exchanges[{i}]")
        exchanges[exchange.id] = exchange
    options = _obj(data.get("options", {}) or {}, "options")
    return Report(
        reference=ImageReference(
            input=_str(ref, "input", "reference"),
            domain=_str(ref, "registry", "reference"),
            path=_str(ref, "repository", "reference"),
            tag=_opt_str(ref, "tag", "reference"),
            digest=_opt_str(ref, "digest", "reference"),
        ),
        auth=AuthInfo(
            mode=_enum(AuthMode, auth, "mode", "auth"),
            source=_str(auth, "source", "auth", ""),
            username=_opt_str(auth, "username", "auth"),
        ),
        pulls=tuple(
            _pull_from(p, f"pulls[{i}]", exchanges) for i, p in enumerate(_list(data, "pulls", "report"))
        ),
        diagnosis=Diagnosis(
            id=_str(diag, "id", "diagnosis"),
            differ=_bool(diag, "differ", "diagnosis"),
            title=_str(diag, "title", "diagnosis", ""),
            explanation=_str(diag, "explanation", "diagnosis", ""),
            known=_strings(diag, "known", "diagnosis"),
            unknowable=_strings(diag, "unknowable", "diagnosis"),
            next_steps=_strings(diag, "next_steps", "diagnosis"),
            findings=tuple(
                Finding(
                    id=_str(_obj(item, f"diagnosis.findings[{i}]"), "id", f"diagnosis.findings[{i}]"),
                    title=_str(item, "title", f"diagnosis.findings[{i}]", ""),
                    explanation=_str(item, "explanation", f"diagnosis.findings[{i}]", ""),
                )
                for i, item in enumerate(_list(diag, "findings", "diagnosis"))
            ),
            tool_error=_opt_str(diag, "tool_error", "diagnosis"),
        ),
        tool_version=_str(tool, "version", "tool", ""),
        created=_str(data, "created", "report", ""),
        options=tuple((str(k), str(v)) for k, v in options.items()),
        clients=tuple(
            _client_from(c, f"clients[{i}]") for i, c in enumerate(_list(data, "clients", "report"))
        ),
        table=tuple(_table_from(data)),
        identities=tuple(
            _identity_from(d, f"identities[{i}]") for i, d in enumerate(_list(data, "identities", "report"))
        ),
        settings=_settings_from(data.get("settings"), "settings"),
        replayed_at=_opt_str(data, "replayed_at", "report") or "",
    )


def _client_from(data: object, where: str) -> ClientPrediction:
    obj = _obj(data, where)
    return ClientPrediction(
        client=_str(obj, "client", where),
        name=_str(obj, "name", where, ""),
        strategy=_enum(Strategy, obj, "strategy", where),
        message=_str(obj, "message", where, ""),
        exit_code=_int(obj, "exit_code", where),
        source=_str(obj, "source", where, ""),
    )


def _table_from(data: Mapping[str, Any]) -> list[Strategy]:
    out = []
    for i, value in enumerate(_list(data, "table", "report")):
        out.append(_enum(Strategy, {"strategy": value}, "strategy", f"table[{i}]"))
    return out


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """Rebuild a Report from ``report_to_dict`` output (or its JSON); ``ValueError`` on anything else."""
    if not isinstance(data, Mapping):
        raise ValueError(f"not a diagnose report: expected a JSON object, got {type(data).__name__}")
    schema = data.get("schema")
    if schema != SCHEMA:
        raise ValueError(f"not a {SCHEMA} report (schema is {schema!r})")
    try:
        return _report_from(data)
    except _Bad as exc:
        raise ValueError(f"malformed {SCHEMA} report: {exc}") from None
