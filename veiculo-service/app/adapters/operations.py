"""What a purchase touched here, for staff's timeline (mercado_shared.operations): the
vehicle's reservation, and the vehicle if this purchase bought it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.adapters.orm import reservations, vehicles
from mercado_shared.ids import is_uuid
from mercado_shared.operations import rows


def records_of(connection: sa.Connection, transaction_id: str) -> dict[str, list[dict[str, Any]]]:
    reserved = rows(connection, sa.select(reservations).where(reservations.c.transaction_id == transaction_id))
    vehicle_ids = [r["vehicle_id"] for r in reserved if is_uuid(r["vehicle_id"])]
    sold = rows(
        connection,
        sa.select(vehicles.c.id, vehicles.c.sold_price, vehicles.c.sold_at, vehicles.c.picked_up_at).where(
            vehicles.c.id.in_(vehicle_ids), vehicles.c.sold_transaction_id == transaction_id
        ),
    )
    return {"reservations": reserved, "sales": sold}
