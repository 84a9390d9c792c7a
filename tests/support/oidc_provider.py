"""A sign-in provider on loopback for the tests: an OpenID Connect issuer and a GitHub-like
OAuth 2 server with its API, over real HTTP (tests/support/loopback_server.py).

It does what a real provider checks: the client's id and secret, the redirect URI, PKCE (S256,
required), and codes that work once and for a minute. Its ID tokens are RS256-signed JWTs
(joserfc) with the key its JWKS publishes. The user approves on its page (a form asking which
subject signs in), or a test adds `login_as=<subject>` to the authorization URL.

`host` names it in its URLs: `localhost` makes it another site than one on 127.0.0.1, as a
real provider is, for a browser's cookie rules.

For the hostile cases, a test can change what it answers: `replay_id_token` (an ID token
answered again, for a later sign-in), `claims_override` (claims changed in the next ID tokens).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from litestar import Litestar, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response

from tests.support.loopback_server import LOOPBACK, LoopbackServer

CLIENT_ID = "bandstand-tests"
CLIENT_SECRET = "provider-test-secret"
CODE_SECONDS = 60


@dataclass
class Grant:
    subject: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    issued: float = field(default_factory=time.monotonic)


@dataclass
class Person:
    """An account at the provider."""

    subject: str
    email: str
    email_verified: bool = True
    github_id: int = 0
    login: str = ""


class OidcProvider:
    def __init__(self, host: str = LOOPBACK) -> None:
        self.host = host
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.people: dict[str, Person] = {}
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, str] = {}
        self.issued_id_tokens: list[str] = []
        self.token_requests = 0
        self.replay_id_token: str | None = None
        self.claims_override: dict[str, Any] = {}
        self.server = LoopbackServer(self._app(), "OIDC provider")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.port}"

    def add(self, person: Person) -> Person:
        self.people[person.subject] = person
        return person

    # ------------------------------------------------------------------ the app

    def _app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": provider.url,
                "authorization_endpoint": f"{provider.url}/authorize",
                "token_endpoint": f"{provider.url}/token",
                "jwks_uri": f"{provider.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @get("/jwks")
        async def jwks() -> dict[str, Any]:
            return dict(KeySet([provider.key]).as_dict(private=False))

        @get(["/authorize", "/login/oauth/authorize"])
        async def authorize(request: Request[Any, Any, Any]) -> Redirect | Response[str]:
            return provider._authorize(dict(request.query_params))

        @post(["/token", "/login/oauth/access_token"], status_code=200)
        async def token(
            request: Request[Any, Any, Any],
            data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        ) -> Response[dict[str, Any]]:
            return provider._token(request.headers.get("authorization", ""), data)

        @get("/api/v3/user")
        async def github_user(request: Request[Any, Any, Any]) -> Response[Any]:
            person = provider._bearer(request)
            if person is None:
                return Response({"message": "Bad credentials"}, status_code=401)
            return Response({"id": person.github_id, "login": person.login})

        @get("/api/v3/user/emails")
        async def github_emails(request: Request[Any, Any, Any]) -> Response[Any]:
            person = provider._bearer(request)
            if person is None:
                return Response({"message": "Bad credentials"}, status_code=401)
            noise = {"email": "noreply@users.example", "verified": False, "primary": False}
            own = {"email": person.email, "verified": person.email_verified, "primary": True}
            return Response([noise, own])

        return Litestar([discovery, jwks, authorize, token, github_user, github_emails])

    def _authorize(self, query: dict[str, str]) -> Redirect | Response[str]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect_uri:
            return Response("unknown client or no redirect_uri", status_code=400)
        answer: dict[str, str] = {"state": query.get("state", "")}
        if "login_as" not in query:
            return self._approval_page(query)
        person = self.people.get(query["login_as"])
        if person is None:
            answer["error"] = "access_denied"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            answer["error"] = "invalid_request"
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                person.subject, redirect_uri, query["code_challenge"], query.get("nonce")
            )
            answer["code"] = code
        return Redirect(f"{redirect_uri}?{urlencode(answer)}", status_code=302)

    @staticmethod
    def _approval_page(query: dict[str, str]) -> Response[str]:
        kept = "".join(
            f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
            for name, value in query.items()
        )
        page = (
            "<!doctype html><title>Loopback ID</title><h1>Sign in to Loopback ID</h1>"
            f'<form method="get">{kept}<label for="login_as">Subject</label>'
            '<input id="login_as" name="login_as"><button type="submit">Authorize</button></form>'
        )
        return Response(page, media_type="text/html")

    def _token(self, authorization: str, form: dict[str, str]) -> Response[dict[str, Any]]:
        self.token_requests += 1

        def refuse(error: str) -> Response[dict[str, Any]]:
            return Response({"error": error}, status_code=400)

        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != f"Basic {basic}":
            return refuse("invalid_client")
        grant = self.grants.pop(form.get("code", ""), None)  # once
        if grant is None or time.monotonic() - grant.issued > CODE_SECONDS:
            return refuse("invalid_grant")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if grant.redirect_uri != form.get("redirect_uri") or challenge != grant.code_challenge:
            return refuse("invalid_grant")
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant.subject
        answer: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        if grant.nonce is not None:  # an OpenID Connect request
            answer["id_token"] = self.replay_id_token or self._id_token(grant)
        return Response(answer)

    def _id_token(self, grant: Grant) -> str:
        person = self.people[grant.subject]
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": person.subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            "email": person.email,
            "email_verified": person.email_verified,
            **self.claims_override,
        }
        token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        self.issued_id_tokens.append(token)
        return token

    def _bearer(self, request: Request[Any, Any, Any]) -> Person | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.people.get(self.access_tokens.get(token, ""))


@contextmanager
def running_provider(host: str = LOOPBACK) -> Iterator[OidcProvider]:
    provider = OidcProvider(host)
    with provider.server:
        yield provider


@pytest.fixture
def oidc_provider() -> Iterator[OidcProvider]:
    with running_provider() as provider:
        yield provider
