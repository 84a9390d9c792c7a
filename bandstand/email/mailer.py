"""The site's outgoing e-mail: messages rendered from templates, sent by EMAIL_BACKEND.

A message named `welcome` is three templates, looked up as pages are (the site's `templates/`,
then the features', then the framework's): `email/welcome.subject.txt` (one line),
`email/welcome.txt` and, if the same folder has one, `email/welcome.html`, all rendered from one
context. Only the HTML part is autoescaped. Links in e-mails must be absolute: `absolute_url(path)`
and `site_url` (SITE_URL) are there for that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, StrictUndefined, select_autoescape

from bandstand.email.backends import EmailBackend, create_email_backend
from bandstand.email.messages import EmailError, compose
from bandstand.email.tasks import send_email
from bandstand.settings import Settings
from bandstand.templating import template_loader

if TYPE_CHECKING:  # the framework's features send mail: they import this module
    from bandstand.features import Feature
    from bandstand.jobs import Job

FOLDER = "email"


class Mailer:
    def __init__(
        self,
        settings: Settings,
        features: Sequence[Feature] = (),
        *,
        site_name: str = "Bandstand",
        backend: EmailBackend | None = None,
    ) -> None:
        """Compiles every e-mail template now: made at start-up, never inside a request."""
        self.settings = settings
        self.backend = backend or create_email_backend(settings)
        loader = template_loader(settings, features)
        self._templates = Environment(
            loader=loader,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            # A missing variable in an e-mail is a bug, not a blank in what someone receives.
            undefined=StrictUndefined,
            auto_reload=settings.debug,
            cache_size=-1,
            keep_trailing_newline=True,
        )
        # Each template's folder, by its place in the lookup order; known up front, as asking
        # the loaders for a template that is not there reads folders.
        self._folder_of: dict[str, int] = {}
        for place, folder in enumerate(loader.loaders):
            for name in folder.list_templates():
                if name.startswith(f"{FOLDER}/"):
                    self._folder_of.setdefault(name, place)
        for name in self._folder_of:
            self._templates.get_template(name)
        site_url = settings.site_url.rstrip("/")
        self._templates.globals.update(
            site_name=site_name, site_url=site_url, absolute_url=lambda path: site_url + path
        )

    def message(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        to: Sequence[str],
        from_email: str | None = None,
        reply_to: Sequence[str] = (),
    ) -> EmailMessage:
        """The message `template` makes of `context`; EmailError if a header would break."""
        subject = self._render(f"{template}.subject.txt", context).strip()
        # The HTML part only from the folder the text came from: a site that overrides the
        # text of a framework message and gives no HTML must not send the framework's.
        text_folder = self._folder_of.get(f"{FOLDER}/{template}.txt")
        html_folder = self._folder_of.get(f"{FOLDER}/{template}.html")
        html_matches = html_folder is not None and html_folder == text_folder
        html = self._render(f"{template}.html", context) if html_matches else None
        return compose(
            subject=subject,
            to=to,
            text=self._render(f"{template}.txt", context),
            html=html,
            from_email=from_email or self.settings.default_from_email,
            reply_to=reply_to,
        )

    async def send(self, message: EmailMessage) -> None:
        """Send now, and wait for the mail server: for commands and jobs."""
        await self.backend.send(message)

    async def send_later(self, message: EmailMessage) -> Job:
        """Queue the message for a job worker to send, retrying while the server fails: what a
        request does, so that no page waits on a mail server."""
        return await send_email.enqueue(message.as_bytes())

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        path = f"{FOLDER}/{name}"
        if path not in self._folder_of:
            raise EmailError(f"no e-mail template {path} in any templates folder")
        return self._templates.get_template(path).render(context)
