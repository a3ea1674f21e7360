"""How contact details show in lists: enough to tell customers apart, not to reach them.
A staff member who needs them opens the one record (GET /customers/{id})."""

from __future__ import annotations


def mask_email(email: str) -> str:
    """``m***@example.com``."""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """``+55*******5678``: the country code and the last four digits."""
    if len(phone) <= 6:
        return "*" * len(phone)
    head = phone[:3] if phone.startswith("+") else ""
    return head + "*" * (len(phone) - len(head) - 4) + phone[-4:]
