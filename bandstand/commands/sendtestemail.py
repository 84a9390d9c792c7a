"""`piccolo project sendtestemail`: one message through EMAIL_BACKEND, as Django's command, to
see the e-mail settings work before a password reset depends on them."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import anyio.to_thread

from bandstand.email.backends import DeliveryError
from bandstand.email.messages import EmailError
from bandstand.settings import get_settings

if TYPE_CHECKING:
    from bandstand.features import Feature


def sendtestemail_command(features: Sequence[Feature]) -> Callable[[str], Awaitable[None]]:
    async def sendtestemail(to: str) -> None:
        """
        Send a test message through EMAIL_BACKEND (console, smtp or memory); exits 1 with the
        reason if the mail server refuses it or cannot be reached.

        :param to:
            the address(es) to send to, separated by commas.
        """
        from bandstand.email.mailer import Mailer

        settings = get_settings()
        mailer = await anyio.to_thread.run_sync(lambda: Mailer(settings, features))
        recipients = [address.strip() for address in to.split(",") if address.strip()]
        try:
            message = mailer.message(
                "test_message", {"backend": settings.email_backend}, to=recipients
            )
            await mailer.send(message)
        except (EmailError, DeliveryError) as error:
            sys.exit(f"sendtestemail: {error}")
        print(f"sendtestemail: sent to {', '.join(recipients)}")

    return sendtestemail
