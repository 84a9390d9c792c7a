from piccolo.apps.user.tables import BaseUser
from piccolo.columns import JSON, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

DEFAULT_TITLE = "New conversation"


class Conversation(Table):
    id: Serial
    owner = ForeignKey(BaseUser, on_delete=OnDelete.cascade, null=False, index=True)
    title = Varchar(length=200, default=DEFAULT_TITLE)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Message(Table):
    """A user's message or the assistant's answer.

    `status` is "complete", "streaming" (being written now), "interrupted" (the reader left
    before the end) or "failed" (the provider failed; `error` says how). Whatever arrived
    before an interruption or failure is kept in `content`. An answer's `tools` are the tools
    it called on the way: [{"name", "arguments", "content", "error"}, …], in order.
    """

    id: Serial
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade, null=False, index=True)
    role = Varchar(length=20)  # "user" or "assistant"
    content = Text()
    provider = Varchar(length=200, default="")
    status = Varchar(length=20, default="complete")
    error = Text(default="")
    tools = JSON(default="[]")
    created_at = Timestamptz()


TABLES = [Conversation, Message]
