from piccolo_admin.endpoints import TableConfig
from piccolo_api.crud.endpoints import OrderBy

from bandstand.audit.tables import AuditEntry

# Read-only: `bandstand.admin_crud.AdminCRUD` refuses every write to it.
ADMIN = [
    TableConfig(
        AuditEntry,
        visible_columns=[
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.action,
            AuditEntry.actor,
            AuditEntry.target_table,
            AuditEntry.target_id,
            AuditEntry.source,
            AuditEntry.client,
        ],
        visible_filters=[
            AuditEntry.at,
            AuditEntry.action,
            AuditEntry.actor,
            AuditEntry.actor_id,
            AuditEntry.target_table,
            AuditEntry.target_id,
            AuditEntry.source,
            AuditEntry.client,
            AuditEntry.request_id,
        ],
        order_by=[OrderBy(AuditEntry.id, ascending=False)],  # newest first
        menu_group="Accounts",
    )
]
