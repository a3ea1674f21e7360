"""Who may do what with purchases: the orchestrator's access rules, all in one place."""

from __future__ import annotations

from app.adapters.repository import StoredSaga
from mercado_shared.auth import Principal
from mercado_shared.errors import Forbidden, NotFound, Unprocessable


def buyer_of_new_purchase(principal: Principal, requested: str | None) -> str:
    """A customer buys for itself; staff must name the customer."""
    if principal.is_staff:
        if requested is None:
            raise Unprocessable("CUSTOMER_REQUIRED", "staff must name the customer_id")
        return requested
    if requested is not None and requested != principal.subject:
        raise Forbidden("FORBIDDEN", "a customer can only buy for itself")
    return principal.subject


def require_visible(principal: Principal, stored: StoredSaga | None) -> StoredSaga:
    """The buyer or staff; to anyone else the purchase does not exist (no existence leak)."""
    if stored is None or not principal.sees(stored.state.customer_id):
        raise NotFound("PURCHASE_NOT_FOUND", "no such purchase")
    return stored


def listed_customer(principal: Principal) -> str | None:
    """Whose purchases a listing shows: the caller's own; staff, everyone's."""
    return None if principal.is_staff else principal.subject
