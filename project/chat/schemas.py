import datetime

import msgspec


class NewConversation(msgspec.Struct, forbid_unknown_fields=True):
    title: str = ""


class MessageIn(msgspec.Struct, forbid_unknown_fields=True):
    content: str


class RenameForm(msgspec.Struct):
    title: str = ""


class ConversationOut(msgspec.Struct):
    id: int
    title: str
    updated_at: datetime.datetime


class MessageOut(msgspec.Struct):
    id: int
    role: str
    content: str
    provider: str
    status: str
    error: str


class ConversationWithMessages(msgspec.Struct):
    id: int
    title: str
    messages: list[MessageOut]
