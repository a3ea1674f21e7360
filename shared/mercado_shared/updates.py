"""Partial updates (PATCH): a field left out stays as it is; a field sent must have a value."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


class PartialUpdate(BaseModel):
    """Fields default to None meaning "not sent". An explicit null would otherwise reach the
    database as a NOT NULL violation (which read as a conflict); it is refused here with
    a 422 that names the field."""

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(str(k) for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(f"{', '.join(nulls)}: send a value, or leave the field out to keep it")
        return data
