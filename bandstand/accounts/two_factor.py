"""Two-factor sign-in: a code from an authenticator app (TOTP), or a single-use recovery code.

Built on piccolo_api's MFA, which Piccolo Admin's login already asks for: its
`authenticator_secret` table (the shared secret encrypted, the recovery codes hashed) and its
`AuthenticatorProvider`. `TotpSecret` is that table with its checks made fit for the site:

- a code is claimed by its 30-second period in one conditional UPDATE, so that no code is
  accepted twice, neither by two requests at once nor after a later code was used (piccolo_api
  refuses only a repeat of the last code, after reading it);
- recovery codes are hashed and checked on a worker thread: each is a password hash, which
  piccolo_api computes on the event loop;
- an enrolment starts from a secret the user has already proved by entering a code from it, so
  that an abandoned set-up page never locks anyone out.
"""

from __future__ import annotations

import base64
import datetime
import logging
import re
from typing import Any

import anyio.to_thread
import pyotp
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from piccolo.apps.user.tables import BaseUser
from piccolo_api.encryption.providers import EncryptionProvider, FernetProvider
from piccolo_api.mfa.authenticator.provider import AuthenticatorProvider
from piccolo_api.mfa.authenticator.tables import AuthenticatorSecret
from piccolo_api.mfa.authenticator.utils import get_b64encoded_qr_image
from piccolo_api.mfa.recovery_codes import generate_recovery_code

from bandstand.audit.log import record
from bandstand.settings import Settings
from bandstand.tokens import tokens_match

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# piccolo_api's: twelve letters and digits, shown as two halves joined by a dash.
RECOVERY_CODE_LENGTH = 12
# Codes of the period before and after the current one pass too: a phone's clock a little off,
# or a code typed at the end of its period.
VALID_WINDOW = 1
# pyotp's, and every authenticator app's, default.
PERIOD_SECONDS = 30
SETUP_PATH = "/account/two-factor"
_TOTP_CODE = re.compile(r"\d{6}")
# What a recovery code can be, at most, once spaces are dropped: a longer one is no code, and is
# never hashed.
_MAX_RECOVERY_CODE_LENGTH = 32


class TotpSecret(AuthenticatorSecret, tablename="authenticator_secret"):
    """piccolo_api's table, with the checks above (not registered for migrations: piccolo_api's
    `mfa_authenticator` app has them).

    `last_used_at` holds the start of the period of the last code accepted, which is how a code
    of that period or an earlier one is refused."""

    @classmethod
    async def create_new(
        cls,
        user_id: int,
        encryption_provider: EncryptionProvider,
        recovery_code_count: int = RECOVERY_CODE_COUNT,
        secret: str | None = None,
    ) -> tuple[AuthenticatorSecret, list[str]]:
        """The user's secret (a new one unless given) and recovery codes, which are shown this
        once and only kept hashed."""
        codes, hashed = await _new_recovery_codes(recovery_code_count)
        instance = cls(
            {
                cls.user_id: user_id,
                cls.secret: encryption_provider.encrypt(secret or cls.generate_secret()),
                cls.recovery_codes: hashed,
                cls.recovery_codes_used_at: [],
                cls.created_at: _now(),
            }
        )
        await instance.save()
        return instance, codes

    @classmethod
    async def authenticate(
        cls,
        user_id: int,
        code: str,
        encryption_provider: EncryptionProvider,
        valid_window: int = VALID_WINDOW,
    ) -> bool:
        row = await _active(cls, user_id)
        if row is None:
            return False
        code = "".join(code.split()).lower()
        if _TOTP_CODE.fullmatch(code):
            try:
                shared = encryption_provider.decrypt(row.secret)
            except InvalidToken:
                logger.error(
                    "two-factor secret of user %s cannot be decrypted (SECRET_KEY changed?): "
                    "reset it with `piccolo project reset2fa`",
                    user_id,
                )
                return False
            period = matching_period(shared, code, valid_window)
            return period is not None and await _claim_period(cls, row.id, period)
        return await _use_recovery_code(cls, row, code)

    @classmethod
    async def replace_recovery_codes(cls, user_id: int) -> list[str] | None:
        """New recovery codes in place of the unused ones; None when two-factor is off."""
        row = await _active(cls, user_id)
        if row is None:
            return None
        codes, hashed = await _new_recovery_codes(RECOVERY_CODE_COUNT)
        await cls.update({cls.recovery_codes: hashed}).where(cls.id == row.id)
        return codes

    @classmethod
    async def recovery_codes_left(cls, user_id: int) -> int | None:
        """How many unused recovery codes the user has; None when two-factor is off."""
        row = await _active(cls, user_id)
        return None if row is None else len(row.recovery_codes)


class SiteAuthenticator(AuthenticatorProvider):
    """piccolo_api's provider on `TotpSecret`, with the secrets encrypted by a key derived from
    SECRET_KEY. Piccolo Admin's login uses it to ask for the code; its own set-up page sends the
    user to the site's (`SETUP_PATH`), the one with a confirmation step."""

    def __init__(self, settings: Settings, issuer: str) -> None:
        super().__init__(
            encryption_provider=encryption(settings),
            recovery_code_count=RECOVERY_CODE_COUNT,
            secret_table=TotpSecret,
            issuer_name=issuer,
            valid_window=VALID_WINDOW,
        )

    async def get_registration_html(self, user: BaseUser) -> str:
        return (
            "<p>Turn on two-factor sign-in from "
            f'<a href="{SETUP_PATH}" target="_top">your account page</a>.</p>'
        )

    async def get_registration_json(self, user: BaseUser) -> dict[str, Any]:
        return {"setup_url": SETUP_PATH}

    async def delete_registration(self, user: BaseUser) -> None:
        """Turned off from the admin's own page (after its password check): audited as the
        site's page is, without the client, which piccolo_api does not hand over."""
        await super().delete_registration(user)
        await record("two_factor.disable", actor_id=user.id, actor=user.username, source="admin")


def encryption(settings: Settings) -> FernetProvider:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"bandstand two-factor secrets"
    ).derive(settings.secret_key.encode())
    return FernetProvider(encryption_key=base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return pyotp.random_base32()


def matching_period(secret: str, code: str, valid_window: int = VALID_WINDOW) -> int | None:
    """The period (the TOTP counter) of `secret` whose code `code` is, within the window around
    now."""
    totp = pyotp.TOTP(secret, interval=PERIOD_SECONDS)
    now = totp.timecode(datetime.datetime.now(datetime.UTC))
    for period in range(now - valid_window, now + valid_window + 1):
        if tokens_match(code, totp.generate_otp(period)):
            return period
    return None


def setup_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


async def qr_code_png(data: str) -> str:
    """A QR code of `data` as a base64 PNG, drawn here: the secret goes to no other service."""
    return await anyio.to_thread.run_sync(get_b64encoded_qr_image, data)


async def is_enrolled(user_id: int) -> bool:
    return bool(await TotpSecret.is_user_enrolled(user_id=user_id))


async def turn_off(user_id: int) -> bool:
    """Revoke the user's second factor; whether there was one."""
    if not await is_enrolled(user_id):
        return False
    await TotpSecret.revoke(user_id=user_id)
    return True


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def _active(table: type[TotpSecret], user_id: int) -> TotpSecret | None:
    return (
        await table.objects()
        .where(table.user_id == user_id, table.revoked_at.is_null())
        .order_by(table.created_at, ascending=False)
        .first()
    )


async def _claim_period(table: type[TotpSecret], row_id: int, period: int) -> bool:
    start = datetime.datetime.fromtimestamp(period * PERIOD_SECONDS, datetime.UTC)
    claimed = (
        await table.update({table.last_used_at: start})
        .where((table.id == row_id) & (table.last_used_at.is_null() | (table.last_used_at < start)))
        .returning(table.id)
    )
    return bool(claimed)


async def _new_recovery_codes(count: int) -> tuple[list[str], list[str]]:
    codes = [generate_recovery_code(RECOVERY_CODE_LENGTH) for _ in range(count)]
    # One salt for all of a user's codes, as piccolo_api does: a code typed at login is then
    # hashed once, not once per code.
    salt = BaseUser.get_salt()
    hashed = await anyio.to_thread.run_sync(
        lambda: [BaseUser.hash_password(code, salt) for code in codes]
    )
    return codes, hashed


async def _use_recovery_code(table: type[TotpSecret], row: TotpSecret, code: str) -> bool:
    if not 10 <= len(code) <= _MAX_RECOVERY_CODE_LENGTH or not row.recovery_codes:
        return False
    letters = "".join(char for char in code if char.isalnum())
    if len(letters) == RECOVERY_CODE_LENGTH:  # typed without its dash
        half = RECOVERY_CODE_LENGTH // 2
        code = f"{letters[:half]}-{letters[half:]}"
    _, iterations, salt, _ = BaseUser.split_stored_password(row.recovery_codes[0])
    hashed = await anyio.to_thread.run_sync(BaseUser.hash_password, code, salt, int(iterations))
    if not any(tokens_match(hashed, stored) for stored in row.recovery_codes):
        return False
    left = [stored for stored in row.recovery_codes if stored != hashed]
    # Only if no other request used a code meanwhile: the list is the one just read.
    used = (
        await table.update(
            {
                table.recovery_codes: left,
                table.recovery_codes_used_at: [*row.recovery_codes_used_at, _now()],
            }
        )
        .where((table.id == row.id) & (table.recovery_codes == row.recovery_codes))
        .returning(table.id)
    )
    return bool(used)
