"""Messages put together from parts a user may have typed: any line break in a header is
refused before the message exists, and an address must be one."""

from __future__ import annotations

from typing import Any

import pytest

from bandstand.email.messages import EmailError, compose

pytestmark = pytest.mark.engine_independent

PARTS: dict[str, Any] = {
    "subject": "Hello",
    "to": ["ann@example.com"],
    "text": "Hi.\n",
    "from_email": "Site <site@example.com>",
}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"subject": "Hi\r\nBcc: victim@example.net"}, id="subject-crlf"),
        pytest.param({"subject": "Hi\nBcc: victim@example.net"}, id="subject-lf"),
        pytest.param({"subject": "Hi\rX-Spam: no"}, id="subject-cr"),
        pytest.param({"to": ["Ann\r\nBcc: victim@example.net <ann@example.com>"]}, id="to-name"),
        pytest.param({"to": ["ann@example.com\nbcc: victim@example.net"]}, id="to-address"),
        pytest.param({"from_email": "Site\n<site@example.com>"}, id="from"),
        pytest.param({"reply_to": ["x@example.com\r\n\r\nbody"]}, id="reply-to"),
    ],
)
def test_a_line_break_in_a_header_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(EmailError, match="contains a line break"):
        compose(**{**PARTS, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"to": ["nobody"]}, id="no-at"),
        pytest.param({"to": ["ann@example.com, bob@example.com"]}, id="two-in-one"),
        pytest.param({"to": [""]}, id="empty"),
        pytest.param({"from_email": "site"}, id="from"),
    ],
)
def test_what_is_not_an_address_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(EmailError, match="is not a list of e-mail addresses"):
        compose(**{**PARTS, **changes})


def test_no_recipient_is_refused() -> None:
    with pytest.raises(EmailError, match="at least one recipient"):
        compose(**{**PARTS, "to": []})


def test_names_and_subjects_in_any_script_are_encoded() -> None:
    message = compose(
        **{**PARTS, "subject": "Пароль сброшен — 密码", "to": ['"Doe, Zoë" <zoe@example.com>']}
    )
    wire = message.as_bytes()
    assert wire.isascii()  # encoded words, as SMTP without SMTPUTF8 needs
    assert message["Subject"] == "Пароль сброшен — 密码"
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("Doe, Zoë", "zoe@example.com")
    ]


def test_the_html_part_is_an_alternative_of_the_text() -> None:
    message = compose(**PARTS, html="<p>Hi.</p>", reply_to=["help@example.com"])
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Reply-To"] == "help@example.com"
    assert message["Message-ID"].endswith("@example.com>")
    assert message["Date"]
