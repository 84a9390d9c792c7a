"""The accounts forms. Every field defaults to empty, so a form with missing fields reaches the
handler and is answered with a message on the page rather than a bare 400."""

import msgspec


class LoginForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    next: str = ""


class PasswordChangeForm(msgspec.Struct):
    current_password: str = ""
    new_password: str = ""
    confirm_password: str = ""


class SignupForm(msgspec.Struct):
    username: str = ""
    email: str = ""
    password: str = ""
    confirm_password: str = ""
