import datetime
from typing import Annotated, Literal

import msgspec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import KwargDefinition

from project.chat.service import MAX_MESSAGE_LENGTH


class NewConversation(msgspec.Struct, forbid_unknown_fields=True):
    title: str = ""


# Python's \s spelled out: the schema's patterns are read by clients as JSON Schema (ECMA-262)
# regexes, whose \s differs (it lacks \x1c-\x1f and \x85, and has \ufeff).
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# For the OpenAPI schema only (msgspec ignores it): what `post_message` accepts. The route
# checks it itself, so that the refusal says what is wrong in words the chat can show.
MessageText = Annotated[
    str,
    KwargDefinition(
        description=f"1 to {MAX_MESSAGE_LENGTH} characters, not only spaces.",
        min_length=1,
        max_length=MAX_MESSAGE_LENGTH,
        pattern=f"[^{SPACE}]",
    ),
]


class MessageIn(msgspec.Struct, forbid_unknown_fields=True):
    content: MessageText


class RenameForm(msgspec.Struct):
    title: str = ""


class ConversationOut(msgspec.Struct):
    id: int
    title: str
    updated_at: datetime.datetime


class ToolUse(msgspec.Struct):
    """A tool an answer called: its name, the arguments the model gave (JSON text), and its
    answer (JSON text), or the error it gave instead."""

    name: str
    arguments: str
    content: str
    error: str


class MessageOut(msgspec.Struct):
    id: int
    role: str
    content: str
    provider: str
    status: str
    error: str
    tools: list[ToolUse]


class ConversationWithMessages(msgspec.Struct):
    id: int
    title: str
    messages: list[MessageOut]


_TEXT = Schema(type=OpenAPIType.STRING)
_TOOL_CALL = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "name"],
    properties={"id": _TEXT, "name": _TEXT},
)
_TOOL_RESULT = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "name", "arguments", "content", "error"],
    properties={
        "id": _TEXT,
        "name": _TEXT,
        "arguments": _TEXT,
        "content": _TEXT,
        "error": _TEXT,
    },
)
_DONE = Schema(
    type=OpenAPIType.OBJECT,
    required=["html", "message_id", "provider", "status"],
    properties={
        "message_id": Schema(type=OpenAPIType.INTEGER),
        "status": Schema(
            type=OpenAPIType.STRING, enum=["complete", "limited", "failed", "interrupted"]
        ),
        "provider": _TEXT,
        "html": _TEXT,
    },
)
EventData = Annotated[
    str,
    KwargDefinition(
        description="JSON: the token's text, the notice's or the error's message, the tool "
        "called (tool_call) and its answer (tool_result), or (done) the saved message's id, "
        "status and provider and the reply rendered as HTML.",
        schema_extra={
            "contentMediaType": "application/json",
            "contentSchema": Schema(any_of=[_TEXT, _TOOL_CALL, _TOOL_RESULT, _DONE]),
        },
    ),
]


class ReplyEvent(msgspec.Struct):
    """One Server-Sent Event of a streamed reply: `notice` (AI budget), `token` events,
    `tool_call` and `tool_result` for each tool called, then `error` if the provider failed,
    then `done`. (Before OpenAPI 3.2, a `text/event-stream` schema describes one event.)"""

    event: Literal["notice", "token", "tool_call", "tool_result", "error", "done"]
    data: EventData
