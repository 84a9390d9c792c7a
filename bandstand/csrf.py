"""Litestar's CSRF protection, with malformed tokens refused as wrong ones.

Litestar 2.25's `CSRFMiddleware` compares the tokens as `str` with `hmac.compare_digest`,
which raises TypeError on non-ASCII text: a valid token plus one character (`¿`) in the form
field, the header or the cookie answered 500, with a traceback in the log, on every write
(docs/security.md has the reproduction, for upstream). This is the same check on the same
configuration (cookie, header, form field, token format), except that:

- a token must have the shape of Litestar's (a random value and its HMAC, in hex) before
  anything is compared, and the comparison is `bandstand.tokens.tokens_match`, on bytes;
- a malformed cookie on a page is replaced by a new token rather than handed back in the
  page's forms (where every submission would fail);
- a form field that is a file is no token.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import Request
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import (
    CSRF_SECRET_LENGTH,
    CSRFMiddleware,
    generate_csrf_hash,
    generate_csrf_token,
)
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from bandstand.accounts.api_tokens import bearer
from bandstand.tokens import tokens_match, well_formed

# What `generate_csrf_token` makes: 32 random bytes and their SHA-256 HMAC, in hex.
TOKEN_SHAPE = re.compile(rf"[0-9a-f]{{{CSRF_SECRET_LENGTH * 2}}}")
FORM_FIELD = "_csrf_token"  # Litestar's, fixed
FORMS = {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}


class StrictCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope, receive)
        if bearer(request.headers.get("authorization")) is not None:
            # An API token: a credential no browser sends by itself, so no forgery to stop,
            # and no cookie to hand out (bandstand/accounts/api_tokens.py).
            await self.app(scope, receive, send)
            return
        cookie = well_formed(request.cookies.get(self.config.cookie_name), TOKEN_SHAPE)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            token = state.csrf_token = cookie or generate_csrf_token(secret=self.config.secret)
            await self.app(scope, receive, self.create_send_wrapper(send, token, cookie))
            return
        submitted: object = request.headers.get(self.config.header_name)
        if not submitted and request.content_type[0] in FORMS:
            submitted = (await request.form()).get(FORM_FIELD)
        given = well_formed(submitted, TOKEN_SHAPE)
        if given is None or cookie is None or not self._csrf_tokens_match(given, cookie):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = given
        await self.app(scope, receive, send)

    def _decode_csrf_token(self, token: str) -> str | None:
        """The token's random part, if its HMAC is right."""
        if well_formed(token, TOKEN_SHAPE) is None:
            return None
        secret, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        expected = generate_csrf_hash(token=secret, secret=self.config.secret)
        return secret if tokens_match(signature, expected) else None

    def _csrf_tokens_match(self, request_csrf_token: str, cookie_csrf_token: str) -> bool:
        submitted = self._decode_csrf_token(request_csrf_token)
        expected = self._decode_csrf_token(cookie_csrf_token)
        return submitted is not None and expected is not None and tokens_match(submitted, expected)


def csrf_middleware(config: CSRFConfig) -> DefineMiddleware:
    """The app's CSRF protection, in place of Litestar's `csrf_config`."""
    return DefineMiddleware(StrictCSRFMiddleware, config=config)
