"""Sign-in providers: Google, GitHub (or GitHub Enterprise Server), and any OpenID Connect
issuer, through Authlib's async client.

Each is on once its client id is set (the `OIDC_*` settings). A sign-in is OAuth 2's
authorization code flow with PKCE (S256). With OpenID Connect (Google, an issuer) the ID token
also carries the nonce sent at the start, and is checked against the issuer's published keys,
its issuer, its audience and its expiry. GitHub is OAuth 2 only: the account and its verified
addresses come from its API.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import BaseApp
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from joserfc.errors import JoseError

from bandstand.accounts.email_addresses import normalized_address
from bandstand.settings import Settings

with warnings.catch_warnings():
    # Authlib 1.9 asks for httpx2, a fork of httpx; it works on httpx, which the rest uses.
    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

GOOGLE_ISSUER = "https://accounts.google.com"
GITHUB = "https://github.com"
TIMEOUT_SECONDS = 10.0
# What goes wrong on the way: the provider's error answers, a token that fails its checks, the
# network, and answers that are not the JSON expected.
_FAILURES = (AuthlibBaseError, JoseError, httpx.HTTPError, ValueError, KeyError, TypeError)


class SignInFailed(Exception):
    """The provider did not vouch for an account; the message is for the user."""


class Identity(NamedTuple):
    """Who the provider says signed in."""

    provider: str
    subject: str
    # Lower case; None when the provider gave no address it has verified.
    email: str | None
    # A username to suggest for a new account.
    username: str

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.subject}"


class Start(NamedTuple):
    """Where to send the browser, and what to keep until it comes back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class _Client(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's framework integrations, without a framework: the flow's values are kept by
    the routes (bandstand/accounts/oidc_routes.py), in a signed cookie."""

    client_cls = AsyncOAuth2Client


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    client: _Client
    # Where its authorization page is: the one origin besides the site's that the site's
    # Content-Security-Policy lets a form lead to for it (bandstand/headers.py).
    origin: str
    # The issuer an ID token must name (OpenID Connect), or the API that tells who signed in
    # (GitHub).
    issuer: str = ""
    api_url: str = ""

    async def start(self, redirect_uri: str) -> Start:
        try:
            if self.issuer:
                await self._check_issuer()
            started = await self.client.create_authorization_url(redirect_uri)
        except _FAILURES as error:
            raise self._unreachable() from error
        if origin_of(started["url"]) != self.origin:
            raise SignInFailed(
                f"{self.label}'s sign-in page is at {origin_of(started['url'])}, not at "
                f"{self.origin}: the site lets its forms lead to {self.origin} only."
            )
        return Start(
            started["url"], started["state"], started.get("nonce", ""), started["code_verifier"]
        )

    async def identity(
        self, redirect_uri: str, code: str, code_verifier: str, nonce: str
    ) -> Identity:
        try:
            token = await self.client.fetch_access_token(
                redirect_uri=redirect_uri, code=code, code_verifier=code_verifier
            )
            if self.issuer:
                return await self._from_id_token(token, nonce)
            return await self._from_github(token)
        except SignInFailed:
            raise
        except _FAILURES as error:
            raise SignInFailed(
                f"{self.label} did not confirm the sign-in: try again. ({_reason(error)})"
            ) from error

    async def _check_issuer(self) -> None:
        # Discovery's issuer must be the one configured (OpenID Connect Discovery, 4.3): a
        # document that names another is not this issuer's.
        metadata = await self.client.load_server_metadata()
        if metadata.get("issuer", "").rstrip("/") != self.issuer.rstrip("/"):
            raise ValueError(f"the discovery document names the issuer {metadata.get('issuer')!r}")

    async def _from_id_token(self, token: dict[str, Any], nonce: str) -> Identity:
        if "id_token" not in token or not nonce:
            raise ValueError("no ID token in the token response, or no nonce to check it by")
        metadata = await self.client.load_server_metadata()
        # Authlib checks the audience only through azp; it is required here.
        options = {
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": self.client.client_id},
        }
        claims = await self.client.parse_id_token(token, nonce=nonce, claims_options=options)
        verified = claims.get("email_verified") in (True, "true")
        email = normalized_address(str(claims.get("email") or "")) if verified else None
        suggestion = claims.get("preferred_username") or (email or "").partition("@")[0]
        return Identity(self.name, str(claims["sub"]), email, str(suggestion))

    async def _from_github(self, token: dict[str, Any]) -> Identity:
        account = await self._api(token, "user")
        emails = await self._api(token, "user/emails")
        verified = [entry for entry in emails if entry.get("verified") is True]
        verified.sort(key=lambda entry: entry.get("primary") is not True)  # the primary first
        email = normalized_address(str(verified[0]["email"])) if verified else None
        return Identity(self.name, str(int(account["id"])), email, str(account.get("login", "")))

    async def _api(self, token: dict[str, Any], path: str) -> Any:
        response = await self.client.get(f"{self.api_url}{path}", token=token)
        response.raise_for_status()
        return response.json()

    def _unreachable(self) -> SignInFailed:
        return SignInFailed(f"{self.label} cannot be reached just now: try again in a moment.")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _reason(error: BaseException) -> str:
    return getattr(error, "description", None) or type(error).__name__


def _client(client_id: str, secret: str, scope: str, **endpoints: str) -> _Client:
    return _Client(
        framework=None,
        client_id=client_id,
        client_secret=secret,
        client_kwargs={"scope": scope, "code_challenge_method": "S256", "timeout": TIMEOUT_SECONDS},
        **endpoints,
    )


def _discovery(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/.well-known/openid-configuration"


@functools.cache
def providers(settings: Settings) -> dict[str, Provider]:
    """The providers that are on, by the name in their URLs. One client each per process: it
    keeps the discovery document and the issuer's keys."""
    found: list[Provider] = []
    if settings.oidc_google_client_id:
        client = _client(
            settings.oidc_google_client_id,
            settings.oidc_google_client_secret,
            "openid email profile",
            server_metadata_url=_discovery(GOOGLE_ISSUER),
        )
        found.append(Provider("google", "Google", client, GOOGLE_ISSUER, issuer=GOOGLE_ISSUER))
    if settings.oidc_github_client_id:
        web = settings.oidc_github_url.rstrip("/")
        # github.com has its API on a host of its own; GitHub Enterprise Server under /api/v3.
        api = "https://api.github.com/" if web == GITHUB else f"{web}/api/v3/"
        client = _client(
            settings.oidc_github_client_id,
            settings.oidc_github_client_secret,
            "read:user user:email",
            authorize_url=f"{web}/login/oauth/authorize",
            access_token_url=f"{web}/login/oauth/access_token",
        )
        found.append(Provider("github", "GitHub", client, origin_of(web), api_url=api))
    if settings.oidc_client_id:
        client = _client(
            settings.oidc_client_id,
            settings.oidc_client_secret,
            "openid email profile",
            server_metadata_url=_discovery(settings.oidc_issuer),
        )
        issuer = settings.oidc_issuer
        found.append(
            Provider("oidc", settings.oidc_label, client, origin_of(issuer), issuer=issuer)
        )
    return {provider.name: provider for provider in found}
