"""Who may see and pay codes and payments: the buyer or staff; nobody else learns they exist."""

from __future__ import annotations

from mercado_shared.auth import Principal


def reaches(principal: Principal | None, owner: str) -> bool:
    """``principal`` None is the payment provider, authenticated by its signature."""
    return principal is None or principal.is_staff or principal.subject == owner
