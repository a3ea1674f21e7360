"""Ids are opaque to clients; ours are UUIDs, and anything else names nothing."""

import re

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_uuid(value: object) -> bool:
    """One of our ids: a UUID as we write it (lower case, with dashes). Python's parser also
    takes ``urn:uuid:…``, braces and no dashes, which PostgreSQL then refuses or reads
    differently; those name nothing here."""
    return isinstance(value, str) and _CANONICAL.fullmatch(value) is not None
