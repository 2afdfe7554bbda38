"""A Docker-Hub-like token server for the real ``docker-registry`` in token-auth mode.

It issues ES256 JWTs exactly as distribution 2.8 verifies them
(distribution/distribution ``registry/auth/token/token.go``): claims ``iss``, ``sub``,
``aud`` (a single string in 2.8), ``exp``, ``nbf``, ``iat``, ``jti`` and ``access``;
header ``typ``/``alg`` and ``x5c`` = [the signing certificate, standard base64 DER], which
the registry verifies up to its ``rootcertbundle`` (our throwaway CA). The ES256 signature
is the JWS form (r || s, 32 bytes each), not DER: libtrust rejects DER signatures.

Policy, modelled on Docker Hub's token service (auth.docker.io):
- wrong password -> 401 ``{"details":"incorrect username or password"}``;
- a known user owns their namespace (alice -> alice/*): pull and push;
- anyone, anonymous included, may pull the public repositories (``library/*`` that exist);
- everything else is granted nothing: a token with ``"access": []`` (never an error),
  so that the registry is the one that answers 401 ``insufficient_scope``;
- the ``seeder`` user (used to push the fixture images) may push and pull anything.

Every request is appended to ``requests`` (method, path, user) for debugging.
This module must not know about images or start registries.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

TOKEN_LIFETIME = 300  # seconds, like Docker Hub's expires_in


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(claims: Mapping[str, Any], key: ec.EllipticCurvePrivateKey, x5c_der: Iterable[bytes]) -> str:
    """A compact ES256 JWS with an ``x5c`` header (standard base64 DER, leaf first)."""
    header = {
        "typ": "JWT",
        "alg": "ES256",
        "x5c": [base64.b64encode(der).decode("ascii") for der in x5c_der],
    }
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    der = key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input}.{_b64url(signature)}"


@dataclass(slots=True)
class TokenPolicy:
    """Who may do what; ``public`` may grow after start (repositories get seeded)."""

    users: Mapping[str, str]  # username -> password
    superusers: frozenset[str] = frozenset()  # may push and pull anything
    public: set[str] = field(default_factory=set)  # repositories anyone may pull
    refresh_tokens: Mapping[str, str] = field(default_factory=dict)  # identity token -> user

    def allowed(self, user: str | None, repository: str) -> set[str]:
        """The actions ``user`` (None: anonymous) holds on ``repository``."""
        if user is not None and user in self.superusers:
            return {"pull", "push"}
        actions: set[str] = set()
        if repository in self.public:
            actions.add("pull")
        if user is not None and repository.startswith(f"{user}/"):
            actions |= {"pull", "push"}
        return actions


def parse_scope(scope: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``repository:name[:port-less path]:pull,push`` -> (type, name, actions).

    The name may itself contain ``:`` (a port in a mirror name), so the type is the first
    field and the actions the last (distribution docs/spec/auth/scope.md).
    """
    first, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not name:
        return None
    resource_type = first.split("(", 1)[0]  # drop a deprecated "(class)"
    return resource_type, name, tuple(a for a in actions.split(",") if a)


@dataclass(frozen=True, slots=True)
class TokenRequestLog:
    method: str
    path: str
    user: str | None
    status: int


class TokenServer:
    """A threaded HTTPS token endpoint at ``https://127.0.0.1:<port>/token``."""

    def __init__(
        self,
        *,
        policy: TokenPolicy,
        issuer: str,
        service: str,
        signing_key: ec.EllipticCurvePrivateKey,
        signing_cert_der: bytes,
        server_cert: Path,
        server_key: Path,
    ) -> None:
        self.policy = policy
        self.issuer = issuer
        self.service = service
        self._key = signing_key
        self._x5c = (signing_cert_der,)
        self.requests: list[TokenRequestLog] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(server_cert, server_key)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="realreg-token-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # shutdown() waits for serve_forever() to notice; it would block forever if the
        # server thread never started.
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def log(self, entry: TokenRequestLog) -> None:
        with self._lock:
            self.requests.append(entry)

    def issue(self, user: str | None, scopes: Iterable[str], service: str | None) -> dict[str, Any]:
        """The JSON body of a successful token answer for ``user`` and the requested scopes."""
        access: list[dict[str, Any]] = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            resource_type, name, requested = parsed
            if resource_type != "repository":
                continue  # registry:catalog:* and friends: grant nothing
            granted = [a for a in requested if a in self.policy.allowed(user, name)]
            if granted:
                access.append({"type": "repository", "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": service or self.service,
            "exp": now + TOKEN_LIFETIME,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = sign_jwt(claims, self._key, self._x5c)
        issued = datetime.datetime.fromtimestamp(now, datetime.UTC)
        return {
            "token": token,
            "access_token": token,
            "expires_in": TOKEN_LIFETIME,
            "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _handler_for(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "realreg-token/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: we keep our own log
            return

        def _reply(self, status: int, body: Mapping[str, Any], user: str | None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="realreg token server"')
            self.end_headers()
            self.wfile.write(data)
            server.log(TokenRequestLog(self.command, self.path, user, status))

        def _basic(self) -> tuple[str, str] | bool | None:
            """(user, password), None when absent, False when malformed."""
            header = self.headers.get("Authorization")
            if not header:
                return None
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                user, sep, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return (user, password) if sep else False

        def _authenticate(self, creds: tuple[str, str] | bool | None) -> tuple[bool, str | None]:
            if creds is None:
                return True, None
            if creds is False or not isinstance(creds, tuple):
                return False, None
            user, password = creds
            expected = server.policy.users.get(user)
            if expected is None or not secrets.compare_digest(expected, password):
                return False, user
            return True, user

        def _answer(self, scopes: list[str], service: str | None, creds: Any) -> None:
            ok, user = self._authenticate(creds)
            if not ok:
                # Docker Hub's wording for a wrong password.
                self._reply(401, {"details": "incorrect username or password"}, user)
                return
            self._reply(200, server.issue(user, scopes, service), user)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                self._reply(404, {"details": "not found"}, None)
                return
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            self._answer(scopes, (query.get("service") or [None])[0], self._basic())

        def do_POST(self) -> None:
            # OAuth2 password and refresh-token grants (distribution docs/spec/auth/oauth.md);
            # a refresh token is what ``docker login`` stores as ``identitytoken``.
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            if url.path != "/token":
                self._reply(404, {"details": "not found"}, None)
                return
            grant = (form.get("grant_type") or [""])[0]
            scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
            service = (form.get("service") or [None])[0]
            if grant == "refresh_token":
                user = server.policy.refresh_tokens.get((form.get("refresh_token") or [""])[0])
                if user is None:
                    self._reply(401, {"error": "invalid_grant"}, None)
                    return
                self._reply(200, server.issue(user, scopes, service), user)
                return
            if grant != "password":
                self._reply(400, {"error": "unsupported_grant_type"}, None)
                return
            creds = ((form.get("username") or [""])[0], (form.get("password") or [""])[0])
            scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
            self._answer(scopes, (form.get("service") or [None])[0], creds)

    return Handler
