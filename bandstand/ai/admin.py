from piccolo_admin.endpoints import TableConfig
from piccolo_api.crud.endpoints import OrderBy

from bandstand.ai.tables import AiBudget, AiCall

ADMIN = [
    # Read-only: `bandstand.admin_crud.AdminCRUD` refuses every write to it.
    TableConfig(
        AiCall,
        visible_columns=[
            AiCall.id,
            AiCall.at,
            AiCall.user,
            AiCall.kind,
            AiCall.model,
            AiCall.prompt_tokens,
            AiCall.completion_tokens,
            AiCall.cost,
            AiCall.latency_ms,
            AiCall.outcome,
        ],
        visible_filters=[AiCall.at, AiCall.user, AiCall.kind, AiCall.model, AiCall.outcome],
        order_by=[OrderBy(AiCall.id, ascending=False)],  # newest first
        menu_group="AI",
    ),
    TableConfig(AiBudget, visible_filters=[AiBudget.user, AiBudget.group], menu_group="AI"),
]
