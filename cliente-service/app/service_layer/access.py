"""Who may do what with customer records: cliente-service's access rules, all in one place."""

from __future__ import annotations

from mercado_shared.auth import Principal
from mercado_shared.errors import Forbidden, NotFound

STAFF_ONLY_FIELDS = {"initial_balance", "credit_limit"}


def require_visible(principal: Principal, customer_id: str) -> None:
    """The customer itself or staff; to anyone else the record does not exist."""
    if not principal.sees(customer_id):
        raise NotFound("CUSTOMER_NOT_FOUND", "no such customer")


def export(principal: Principal, customer_id: str) -> None:
    """The LGPD export is the customer's own: staff are refused, others see nothing."""
    if principal.subject != customer_id:
        if principal.is_staff:
            raise Forbidden("FORBIDDEN", "only the customer may export its data")
        raise NotFound("CUSTOMER_NOT_FOUND", "no such customer")


def write_fields(principal: Principal | None, fields: set[str]) -> None:
    """Money fields are staff's to set (property-level authorisation)."""
    restricted = fields & STAFF_ONLY_FIELDS
    if restricted and (principal is None or not principal.is_staff):
        raise Forbidden("STAFF_ONLY_FIELD", f"only staff may set {', '.join(sorted(restricted))}")
