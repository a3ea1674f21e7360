"""Partial updates (PATCH): a field left out stays as it is; a field sent must have a value."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, model_validator


class PartialUpdate(BaseModel):
    """Fields default to None meaning "not sent". An explicit null would otherwise reach the
    database as a NOT NULL violation (which read as a conflict); it is refused here with
    a 422 that names the field, except for the fields a subclass names in ``CLEARABLE``,
    which a record may lack: null clears them."""

    CLEARABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(str(k) for k, v in data.items() if v is None and k not in cls.CLEARABLE)
            if nulls:
                raise ValueError(f"{', '.join(nulls)}: send a value, or leave the field out to keep it")
        return data
