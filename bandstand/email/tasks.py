"""E-mail sent by a job: a request queues the message and answers; the worker sends it, and
tries again, waiting longer each time, while the mail server refuses or cannot be reached."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.parser import BytesParser

from bandstand.email.backends import create_email_backend
from bandstand.jobs import task, worker


# Over about an hour: 1, 2, 4 … 32 minutes between the tries.
@task(name="bandstand.send_email", retries=6, backoff_seconds=60, timeout_seconds=120)
async def send_email(raw: bytes) -> None:
    """Send a message given as its bytes (what travels through the queue's database)."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    await create_email_backend(worker.current().settings).send(message)
