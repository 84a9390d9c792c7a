"""Messages from templates: the site's over the framework's, only the HTML part escaped,
absolute links from SITE_URL, and a template's mistakes caught, not mailed."""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path

import anyio.to_thread
import jinja2
import pytest

from bandstand.email.backends import ConsoleBackend, EmailBackend
from bandstand.email.mailer import Mailer
from bandstand.email.messages import EmailError
from bandstand.settings import load_settings

pytestmark = pytest.mark.engine_independent

TEMPLATES = {
    "welcome.subject.txt": "Welcome, {{ name }}\n",
    "welcome.txt": "Hello {{ name }}, confirm at {{ absolute_url('/confirm/' ~ token) }}\n",
    "welcome.html": '<p>Hello {{ name }}, <a href="{{ absolute_url("/confirm/" ~ token) }}">'
    "confirm</a> ({{ site_name }})</p>\n",
    "plain.subject.txt": "Plain",
    "plain.txt": "Only text, for {{ name }}.\n",
    "test_message.subject.txt": "The site's own test message",
    "test_message.txt": "Overridden.\n",
}


def make_mailer(
    root: Path,
    templates: dict[str, str] = TEMPLATES,
    backend: EmailBackend | None = None,
    **settings: str,
) -> Mailer:
    """A mailer for a site in `root` whose templates/email/ holds `templates`."""
    folder = root / "templates" / "email"
    folder.mkdir(parents=True)
    for name, text in templates.items():
        (folder / name).write_text(text)
    environ = {"PROJECT_ROOT": str(root), "EMAIL_BACKEND": "memory", **settings}
    return Mailer(load_settings(environ, env_file=None), site_name="Test Site", backend=backend)


@pytest.fixture
def mailer(tmp_path: Path) -> Mailer:
    return make_mailer(tmp_path, SITE_URL="https://example.com/app/")


def parts(message: EmailMessage) -> tuple[str, str | None]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    return text.get_content(), None if html is None else html.get_content()


def test_user_text_is_escaped_in_html_only(mailer: Mailer) -> None:
    name = "Tom & <b>Jerry</b>"
    message = mailer.message("welcome", {"name": name, "token": "t0k"}, to=["tom@example.com"])

    text, html = parts(message)
    assert message["Subject"] == f"Welcome, {name}"
    assert text == f"Hello {name}, confirm at https://example.com/app/confirm/t0k\n"
    assert html == (
        '<p>Hello Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;, <a href="https://example.com/app/confirm/t0k">'
        "confirm</a> (Test Site)</p>\n"
    )
    assert message["From"] == "webmaster@localhost"


def test_a_message_without_an_html_template_is_text_only(mailer: Mailer) -> None:
    message = mailer.message("plain", {"name": "Ann"}, to=["ann@example.com"], from_email="a@b.c")
    assert message.get_content_type() == "text/plain"
    assert parts(message) == ("Only text, for Ann.\n", None)
    assert message["From"] == "a@b.c"


def test_the_sites_template_wins_over_the_frameworks(mailer: Mailer, tmp_path: Path) -> None:
    # The site gives a subject and a text part: the framework's HTML part is not sent with them.
    message = mailer.message("test_message", {"backend": "memory"}, to=["ops@example.com"])
    assert message["Subject"] == "The site's own test message"
    assert parts(message) == ("Overridden.\n", None)

    framework = make_mailer(tmp_path / "bare-site", {})
    framework_message = framework.message("test_message", {"backend": "x"}, to=["o@example.com"])
    assert framework_message["Subject"] == "Test message from Test Site"
    assert "EMAIL_BACKEND=x" in (parts(framework_message)[1] or "")


def test_a_line_break_from_the_context_into_the_subject_is_refused(mailer: Mailer) -> None:
    with pytest.raises(EmailError, match="Subject header contains a line break"):
        mailer.message("welcome", {"name": "x\nBcc: v@example.net", "token": "t"}, to=["a@b.c"])


def test_a_variable_missing_from_the_context_is_an_error(mailer: Mailer) -> None:
    with pytest.raises(jinja2.UndefinedError, match="token"):
        mailer.message("welcome", {"name": "Ann"}, to=["ann@example.com"])


def test_an_unknown_template_is_an_error(mailer: Mailer) -> None:
    with pytest.raises(EmailError, match=r"no e-mail template email/goodbye\.subject\.txt"):
        mailer.message("goodbye", {}, to=["ann@example.com"])


async def test_the_memory_backend_keeps_what_is_sent(
    mailer: Mailer, mail_outbox: list[EmailMessage]
) -> None:
    first = mailer.message("plain", {"name": "1"}, to=["one@example.com"])
    second = mailer.message("plain", {"name": "2"}, to=["two@example.com"])
    await mailer.send(first)
    await mailer.send(second)
    assert mail_outbox == [first, second]


async def test_the_console_backend_prints_the_message(tmp_path: Path) -> None:
    stream = io.StringIO()
    mailer = await anyio.to_thread.run_sync(
        make_mailer, tmp_path, TEMPLATES, ConsoleBackend(stream)
    )
    await mailer.send(mailer.message("plain", {"name": "Ann"}, to=["ann@example.com"]))
    printed = stream.getvalue()
    assert "To: ann@example.com\n" in printed
    assert "Only text, for Ann." in printed
    assert printed.endswith("-" * 79 + "\n")
