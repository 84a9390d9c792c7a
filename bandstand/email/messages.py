"""An e-mail message put together from its parts, refusing what would forge headers.

A subject or a name can come from what a user typed. A line break in a header value would end
that header and start another (`Bcc: …`, or a body of the attacker's choosing), so any CR or LF
is refused here, before the message exists, with an error that names the header.
"""

from __future__ import annotations

import email.policy
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


class EmailError(ValueError):
    """A message that cannot be sent as given: a header with a line break, or an address that
    is not one."""


def compose(
    *,
    subject: str,
    to: Sequence[str],
    text: str,
    html: str | None = None,
    from_email: str,
    reply_to: Sequence[str] = (),
) -> EmailMessage:
    """A message with a text part and, if given, an HTML alternative of it."""
    if not to:
        raise EmailError("a message needs at least one recipient")
    message = EmailMessage(policy=email.policy.SMTP)
    _set_header(message, "Subject", subject)
    _set_addresses(message, "From", [from_email])
    _set_addresses(message, "To", to)
    if reply_to:
        _set_addresses(message, "Reply-To", reply_to)
    message["Date"] = formatdate(localtime=False)
    # The sender's domain, not this machine's name: make_msgid's default asks DNS for it.
    message["Message-ID"] = make_msgid(domain=message["From"].addresses[0].domain)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _set_header(message: EmailMessage, name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise EmailError(f"the {name} header contains a line break: {value!r}")
    message[name] = value


def _set_addresses(message: EmailMessage, name: str, addresses: Sequence[str]) -> None:
    _set_header(message, name, ", ".join(addresses))
    parsed: tuple[Address, ...] = message[name].addresses
    if len(parsed) != len(addresses) or not all(a.username and a.domain for a in parsed):
        del message[name]
        raise EmailError(f"{name} is not a list of e-mail addresses: {', '.join(addresses)!r}")
