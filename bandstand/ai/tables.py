"""The AI call log, and the budgets that override AI_BUDGET_* for a user or a group."""

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from bandstand.accounts.tables import Group

COST = (14, 6)


class AiCall(Table):
    """One call to an LLM or an embedding model: written when it ends, whatever its outcome,
    and never changed (the admin shows it read-only). The budgets add up its tokens and cost."""

    id: Serial
    at = Timestamptz(index=True)
    # Kept when the account is deleted, for the totals: the spend happened.
    user = ForeignKey(BaseUser, on_delete=OnDelete.set_null, null=True, index=True)
    kind = Varchar(length=20)  # "chat" or "embedding"
    model = Varchar(length=200, index=True)
    prompt_tokens = Integer()
    completion_tokens = Integer()
    # True when the provider did not report its count (bandstand/ai/providers.py estimates).
    tokens_estimated = Boolean()
    cost = Numeric(digits=COST)
    latency_ms = Integer()
    # "complete", "limited" (stopped at the budget's limit), "failed" or "interrupted".
    outcome = Varchar(length=20)
    error = Text()


class AiBudget(Table):
    """Limits for one user or one group, in place of AI_BUDGET_*: an empty limit keeps the
    default, 0 is no limit. A user's own row wins over their groups'; among groups, the most
    generous limit wins. A row naming a user applies to that user only, whatever its group."""

    id: Serial
    user = ForeignKey(BaseUser, on_delete=OnDelete.cascade, null=True, unique=True)
    group = ForeignKey(Group, on_delete=OnDelete.cascade, null=True, unique=True)
    daily_tokens = Integer(null=True, default=None)
    monthly_tokens = Integer(null=True, default=None)
    daily_cost = Numeric(digits=COST, null=True, default=None)
    monthly_cost = Numeric(digits=COST, null=True, default=None)


TABLES = [AiCall, AiBudget]
