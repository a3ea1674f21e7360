"""What a purchase touched here, for staff's timeline (mercado_shared.operations): the
hold on the buyer's funds, and the mails decided for it. Ids and amounts, no personal data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.adapters.orm import holds, purchase_notices
from mercado_shared.operations import rows


def records_of(connection: sa.Connection, transaction_id: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "holds": rows(connection, sa.select(holds).where(holds.c.transaction_id == transaction_id)),
        "notices": rows(
            connection,
            sa.select(purchase_notices.c.kind, purchase_notices.c.created_at)
            .where(purchase_notices.c.transaction_id == transaction_id)
            .order_by(purchase_notices.c.created_at),
        ),
    }
