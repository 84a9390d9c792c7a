"""The accounts forms, and the refusals the API documents for its guards.

Every form field defaults to empty, so a form with missing fields reaches the handler and is
answered with a message on the page rather than a bare 400."""

import msgspec
from litestar.openapi import ResponseSpec


class LoginForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    next: str = ""


class NextForm(msgspec.Struct):
    next: str = ""


class PasswordChangeForm(msgspec.Struct):
    current_password: str = ""
    new_password: str = ""
    confirm_password: str = ""


class CodeForm(msgspec.Struct):
    code: str = ""


class PasswordForm(msgspec.Struct):
    current_password: str = ""
    next: str = ""


class TwoFactorConfirmForm(msgspec.Struct):
    token: str = ""
    code: str = ""
    next: str = ""


class SignupForm(msgspec.Struct):
    username: str = ""
    email: str = ""
    password: str = ""
    confirm_password: str = ""


class Refusal(msgspec.Struct):
    """The JSON body of a 4xx answer from the API: Litestar's own shape, which the guards'
    answers (bandstand/accounts/errors.py) copy."""

    status_code: int
    detail: str


def refusal(description: str) -> ResponseSpec:
    """A documented 4xx answer (`responses=` on a route), without generated examples: they
    would be random, and the schema would change from one start to the next."""
    return ResponseSpec(Refusal, description=description, generate_examples=False)


# What the guards and the CSRF check answer. A write without the `x-site-csrf` header matching
# the `site_csrf` cookie is refused with 403 before any guard runs: an anonymous write gets 403.
NOT_LOGGED_IN = refusal("Not logged in, or the session has ended.")
CSRF_REFUSED = refusal("The x-site-csrf header is missing or does not match the site_csrf cookie.")
NOT_STAFF = refusal("Not staff; on a write, also a missing or wrong CSRF token.")
LOGIN_REQUIRED: dict[int, ResponseSpec] = {401: NOT_LOGGED_IN}
STAFF_REQUIRED: dict[int, ResponseSpec] = {401: NOT_LOGGED_IN, 403: NOT_STAFF}
LOGIN_AND_CSRF_REQUIRED: dict[int, ResponseSpec] = {401: NOT_LOGGED_IN, 403: CSRF_REFUSED}
CSRF_REQUIRED: dict[int, ResponseSpec] = {403: CSRF_REFUSED}
