"""Outgoing e-mail: `Mailer` renders a message from templates and sends it by the backend that
EMAIL_BACKEND names (docs/email.md)."""

from bandstand.email.backends import DeliveryError, EmailBackend, MemoryBackend
from bandstand.email.mailer import Mailer
from bandstand.email.messages import EmailError, compose

__all__ = ["DeliveryError", "EmailBackend", "EmailError", "Mailer", "MemoryBackend", "compose"]
