"""Who may see and pay codes and payments: the buyer or staff; nobody else learns they exist."""

from __future__ import annotations

from typing import Protocol, TypeVar

from mercado_shared.auth import Principal
from mercado_shared.errors import NotFound


class Owned(Protocol):
    @property
    def customer_id(self) -> str: ...


R = TypeVar("R", bound=Owned)


def require_visible(principal: Principal | None, record: R | None, missing: NotFound) -> R:
    """The code or payment, if ``principal`` may see it; ``principal`` None is the payment
    provider, authenticated by its signature. To anyone else it does not exist: ``missing``."""
    if record is None or not (principal is None or principal.sees(record.customer_id)):
        raise missing
    return record
