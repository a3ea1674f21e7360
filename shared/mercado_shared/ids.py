"""Ids are opaque to clients; ours are UUIDs, and anything else names nothing."""

import uuid


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
