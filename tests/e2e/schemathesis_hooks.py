"""Shapes schemathesis would not think of on its own, which once gave 500s: ids spelled in
the other forms a UUID parser takes, and cursors crafted by hand. Loaded through
SCHEMATHESIS_HOOKS by test_schemathesis.py, so every generated case may carry them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import strategies as st

SPELLINGS: list[Callable[[str], str]] = [
    lambda u: f"urn:uuid:{u}",
    lambda u: f"{{{u}}}",
    str.upper,
    lambda u: u.replace("-", ""),
]


def _cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


CURSORS = [
    _cursor("2026-01-01T00:00:00+00:00", "urn:uuid:00000000-0000-4000-8000-000000000000"),
    _cursor("1e999999", "00000000-0000-4000-8000-000000000000"),
    _cursor("NaN", "{00000000-0000-4000-8000-000000000000}"),
    _cursor("10000-01-01T00:00:00+00:00", "00000000-0000-4000-8000-000000000000"),
    _cursor(1, [2]),
]


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    ids = [name for name in path_parameters if name.endswith("_id")]
    if not ids:
        return st.just(path_parameters)
    respelled = st.tuples(st.sampled_from(SPELLINGS), st.uuids()).map(
        lambda pair: {**path_parameters, **{name: pair[0](str(pair[1])) for name in ids}}
    )
    return st.one_of(st.just(path_parameters), respelled)


@schemathesis.hook
def flatmap_query(context: Any, query: dict[str, Any] | None) -> Any:
    if not isinstance(query, dict) or "cursor" not in query:
        return st.just(query)
    return st.one_of(st.just(query), st.sampled_from(CURSORS).map(lambda cursor: {**query, "cursor": cursor}))
