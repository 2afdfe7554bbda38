"""The lab token server: Docker-Hub-like ``GET /token`` and a minimal OAuth2 ``POST /token``.

Pure request -> response; no sockets. Facts: distribution docs/spec/auth/token.md and
oauth.md, Docker Hub's answers (``{"details": "incorrect username or password"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from diagnose.lab.content import (
    Behaviour,
    LabContent,
)
from diagnose.lab.modes import LabToken
from diagnose.lab.tokens import (
    Access,
    InvalidToken,
    TokenIssuer,
    granted,
    parse_scope,
)
from diagnose.lab.wire import (
    LabRequest,
    LabResponse,
    _basic_credentials,
    _check_password,
    _json,
)


@dataclass
class TokenApp:
    """The lab token server (``GET /token``, and a minimal OAuth2 ``POST /token``)."""

    content: LabContent
    issuer: TokenIssuer
    users: Mapping[str, str]
    mode: LabToken = LabToken.NORMAL

    def handle(self, request: LabRequest) -> LabResponse:
        if request.path != "/token":
            return LabResponse(404, (("Content-Type", "text/plain; charset=utf-8"),), b"404 page not found\n")
        if request.method == "GET":
            return self._get(request)
        if request.method == "POST":
            return self._post(request)
        return LabResponse(
            405,
            (("Content-Type", "application/json"), ("Allow", "GET, POST")),
            _json({"details": "method not allowed"}),
        )

    def _public(self) -> frozenset[str]:
        return frozenset(n for n in self.content.repositories if n.startswith("library/"))

    def _grant(self, subject: str, scopes: list[str]) -> list[Access]:
        access: list[Access] = []
        for value in scopes:
            for text in value.split():
                requested = parse_scope(text)
                if requested is None:
                    continue
                repo = self.content.repositories.get(requested.name)
                if repo is not None and repo.behaviour is Behaviour.PUSH_ONLY:
                    # A CI upload account: its token names what it may do there, which is push only.
                    if subject and requested.name.partition("/")[0] == subject:
                        access.append(Access("repository", requested.name, ("push",)))
                    continue
                grant = granted(
                    subject, requested, public_repositories=self._public(), users=self.users.keys()
                )
                if grant is not None and grant not in access:
                    access.append(grant)
        return access

    def _issued_at(self) -> str:
        return datetime.fromtimestamp(self.issuer.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _get(self, request: LabRequest) -> LabResponse:
        query = request.query
        authorization = request.header("Authorization")
        subject = ""
        if authorization and authorization.strip().lower().startswith("basic"):
            creds = _basic_credentials(authorization)
            if creds is None or not _check_password(self.users, *creds):
                return _incorrect_password()
            subject = creds[0]
        service = (query.get("service") or [""])[0]
        skew = -3600 if self.mode is LabToken.EXPIRED else 0
        token = self.issuer.issue(
            subject, service, self._grant(subject, list(query.get("scope", []))), skew=skew
        )
        answer: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": self.issuer.lifetime,
            "issued_at": self._issued_at(),
        }
        if self.mode is LabToken.EMPTY:
            # A token service that answers 200 but forgets the token (a misconfigured proxy in
            # front of it, or an auth plugin that failed silently).
            answer = {"expires_in": self.issuer.lifetime, "issued_at": self._issued_at()}
        if (query.get("offline_token") or [""])[0].lower() == "true" and subject:
            answer["refresh_token"] = self.issuer.issue_refresh(subject, service)
        return LabResponse(200, (("Content-Type", "application/json"),), _json(answer))

    def _post(self, request: LabRequest) -> LabResponse:
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            return _oauth_error("invalid_request")
        field_ = {k: v[0] for k, v in form.items() if v}
        service = field_.get("service", "")
        grant_type = field_.get("grant_type", "")
        if grant_type == "password":
            user, password = field_.get("username", ""), field_.get("password", "")
            if not _check_password(self.users, user, password):
                return _incorrect_password()
            subject = user
        elif grant_type == "refresh_token":
            try:
                subject = self.issuer.verify_refresh(field_.get("refresh_token", ""), service)
            except InvalidToken:
                return _incorrect_password()
        else:
            return _oauth_error("unsupported_grant_type")
        scope = field_.get("scope", "")
        token = self.issuer.issue(subject, service, self._grant(subject, [scope]))
        answer: dict[str, Any] = {
            "access_token": token,
            "scope": scope,
            "expires_in": self.issuer.lifetime,
            "issued_at": self._issued_at(),
        }
        if field_.get("access_type") == "offline" or grant_type == "refresh_token":
            answer["refresh_token"] = self.issuer.issue_refresh(subject, service)
        return LabResponse(200, (("Content-Type", "application/json"),), _json(answer))


def _incorrect_password() -> LabResponse:
    # Docker Hub's token endpoint wording; docker prints "unauthorized: incorrect username or password".
    return LabResponse(
        401, (("Content-Type", "application/json"),), _json({"details": "incorrect username or password"})
    )


def _oauth_error(code: str) -> LabResponse:
    return LabResponse(400, (("Content-Type", "application/json"),), _json({"error": code}))
