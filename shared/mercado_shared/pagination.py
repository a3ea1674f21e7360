"""Keyset pagination: opaque cursors and the page-size parameter every listing shares.

A cursor carries the sort key of the last item of a page; the next page starts after it,
so items added or removed between pages never shift, skip or repeat the ones that follow.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from mercado_shared.errors import Unprocessable
from mercado_shared.ids import is_uuid

MAX_PAGE = 100

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Cursor = Annotated[str | None, Query(max_length=300, description="next_cursor of the previous page")]


def encode_cursor(*key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> tuple[str, ...]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, str) for k in key):
        raise Unprocessable("INVALID_CURSOR", "the cursor is not one this API returned")
    return tuple(key)


def encode_time_cursor(at: datetime, item_id: str) -> str:
    """A cursor for listings ordered by a timestamp, ties by id."""
    return encode_cursor(at.isoformat(), item_id)


def in_utc(value: datetime) -> datetime:
    """An aware time as UTC, which the database takes whatever the offset it came with
    (PostgreSQL refuses offsets beyond ±15:59 that Python allows); one so far in the past or
    future that UTC cannot hold it becomes the earliest or latest time there is."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year == datetime.min.year else datetime.max).replace(tzinfo=UTC)


def decode_time_cursor(cursor: str, valid_id: Callable[[str], bool] = is_uuid) -> tuple[datetime, str]:
    at, item_id = decode_cursor(cursor, 2)
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or not valid_id(item_id):
        raise Unprocessable("INVALID_CURSOR", "the cursor is not one this API returned")
    return in_utc(parsed), item_id
