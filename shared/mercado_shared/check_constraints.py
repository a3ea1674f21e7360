"""Alembic autogenerate: a CHECK constraint whose condition changed is a change.

``alembic.ext.checkconstraint_byname`` finds a named CHECK constraint that was added or
removed, but takes two of the same name as equal: PostgreSQL returns a condition in its
own words (``(amount > (0)::numeric)``, ``= ANY (ARRAY[...])``), which it cannot compare
with the model's. So a new value of an enum column (a new saga step, whose CHECK lists
the steps) passed ``alembic check`` without its migration. This comparator reduces both
sides to the same tokens (no casts, no parentheses, IN for ``= ANY (ARRAY[...])``) and,
where they differ, drops and re-adds the constraint: ``alembic check`` fails, and
``alembic revision --autogenerate`` writes the migration.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from typing import Any

from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.plugins import Plugin, _all_plugins
from alembic.util import PriorityDispatchResult, sqla_compat
from sqlalchemy import CheckConstraint, Table
from sqlalchemy.dialects import postgresql

NAME = "mercado.checkconstraint_condition"
_CAST = re.compile(r"::\s*(?:character varying|double precision|timestamp with time zone|[a-z_]+)(?:\[\])?", re.I)
_QUALIFIER = re.compile(r"\b[a-z_][a-z0-9_]*\.(?=[a-z_])", re.I)  # saga_states.status is status
_TOKEN = re.compile(r"'(?:[^']|'')*'|[a-z_][a-z0-9_]*|\d+(?:\.\d+)?|<>|!=|<=|>=|[=<>]", re.I)
_BETWEEN = re.compile(r"\b([a-z_][a-z0-9_]*(?:\([^()]*\))?)\s+between\s+(\S+)\s+and\s+(\S+)", re.I)
_NOISE = {"array", "check"}
_SAME = {"in": "="}
_POSTGRESQL: Any = postgresql.dialect()  # type: ignore[no-untyped-call]


def condition_tokens(sql: str) -> Counter[str]:
    """What a CHECK condition says, whoever wrote it (PostgreSQL or SQLAlchemy)."""
    text = _QUALIFIER.sub("", _CAST.sub("", sql))
    text = re.sub(r"=\s*any\s*\(", " in (", text, flags=re.I)  # IN, as PostgreSQL says it
    text = re.sub(r"<>\s*all\s*\(", " not in (", text, flags=re.I)
    text = _BETWEEN.sub(r"\1 >= \2 and \1 <= \3", text)  # BETWEEN, as PostgreSQL says it
    words = (word if word.startswith("'") else word.lower() for word in _TOKEN.findall(text))
    # IN of one value is = to PostgreSQL (status IN ('a') comes back as status = 'a').
    return Counter(_SAME.get(word, word) for word in words if word not in _NOISE)


def _model_condition(constraint: CheckConstraint) -> str:
    sqltext: Any = constraint.sqltext
    return str(sqltext.compile(dialect=_POSTGRESQL, compile_kwargs={"literal_binds": True}))


def _compare(
    autogen_context: AutogenContext,
    modify_table_ops: ops.ModifyTableOps,
    schema: str | None,
    tname: str,
    conn_table: Table | None,
    metadata_table: Table | None,
) -> PriorityDispatchResult:
    if conn_table is None or metadata_table is None or autogen_context.inspector is None:
        return PriorityDispatchResult.CONTINUE
    in_database = {
        ck["name"]: ck["sqltext"]
        for ck in autogen_context.inspector.get_check_constraints(tname, schema=schema)
        if ck.get("name")
    }
    for constraint in sorted(sqla_compat.all_table_check_constraints(metadata_table), key=lambda c: str(c.name)):
        found = in_database.get(str(constraint.name)) if constraint.name else None
        if found is None or condition_tokens(found) == condition_tokens(_model_condition(constraint)):
            continue
        reflected = CheckConstraint(found, name=constraint.name, table=conn_table)
        modify_table_ops.ops.append(ops.DropConstraintOp.from_constraint(reflected))
        modify_table_ops.ops.append(ops.AddConstraintOp.from_constraint(constraint))
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_compare, "table", "checkconstraint_condition")


def register() -> None:
    """Make the plugin known to Alembic under NAME (once per process)."""
    if NAME not in _all_plugins:
        Plugin.setup_plugin_from_module(sys.modules[__name__], NAME)
