"""The e-mails a site's jobs send, as a test waits for and reads them."""

from __future__ import annotations

import re
from email.message import EmailMessage

from bandstand.jobs.queue import active_queue
from tests.support.waiting import until


async def no_job_waits() -> bool:
    """Every job queued so far has finished."""
    return all(state.finished for state in await active_queue().states(limit=1000))


async def sent(outbox: list[EmailMessage], count: int) -> list[EmailMessage]:
    """The outbox once every job has finished, which must hold `count` messages."""
    await until(no_job_waits, seconds=30)
    assert len(outbox) == count, [message["Subject"] for message in outbox]
    return outbox


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The site-relative link under `path` in the message's text."""
    found = re.search(rf"http://[^\s/]+({re.escape(path)}[\w.-]+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)
