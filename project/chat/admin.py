from piccolo_admin.endpoints import TableConfig

from project.chat.tables import Conversation, Message

ADMIN = [
    TableConfig(
        Conversation,
        visible_columns=[
            Conversation.id,
            Conversation.title,
            Conversation.owner,
            Conversation.updated_at,
        ],
        visible_filters=[Conversation.owner, Conversation.title],
        menu_group="Chat",
    ),
    TableConfig(
        Message,
        visible_columns=[
            Message.id,
            Message.conversation,
            Message.role,
            Message.status,
            Message.provider,
        ],
        visible_filters=[Message.conversation, Message.role, Message.status],
        menu_group="Chat",
    ),
]
