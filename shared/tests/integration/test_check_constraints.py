"""A CHECK constraint whose condition changed in the models (a new value of an enum column:
a new saga step) is a difference `alembic check` reports, so `make test` fails until the
migration exists; PostgreSQL's own wording of an unchanged condition is not one."""

from __future__ import annotations

import enum
from collections.abc import Callable

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mercado_shared import check_constraints
from mercado_shared.db import str_enum
from mercado_shared.migrations import AUTOGENERATE_PLUGINS


class Step(enum.StrEnum):
    RESERVE = "RESERVE"
    PAY = "PAY"


class StepWithCheck(enum.StrEnum):
    RESERVE = "RESERVE"
    CHECK = "CHECK"  # the new step
    PAY = "PAY"


def table(metadata: sa.MetaData, steps: type[enum.StrEnum], least: int = 0) -> sa.Table:
    column = str_enum(steps)
    column.name = "ck_step"  # the same constraint name in both models, as a real change keeps it
    return sa.Table(
        "history",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("step", column, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(f"amount > {least}", name="ck_history_amount"),
        sa.CheckConstraint("paid_at IS NULL OR step = 'PAY'", name="ck_history_paid_at_pay"),
    )


def differences(url: str, metadata: sa.MetaData) -> list[tuple[str, str]]:
    check_constraints.register()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"autogenerate_plugins": AUTOGENERATE_PLUGINS, "target_metadata": metadata}
            )
            found = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    return sorted((change[0], str(change[1].name)) for change in found)


def created(url: str, steps: type[enum.StrEnum]) -> sa.MetaData:
    """The table created in the database, as a migration would have left it."""
    metadata = sa.MetaData()
    table(metadata, steps)
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return metadata


def test_an_unchanged_condition_in_postgresqls_words_is_no_difference(new_database: Callable[[str], str]) -> None:
    url = new_database("checks")
    assert differences(url, created(url, Step)) == []


def test_a_new_enum_value_or_bound_is_a_difference_alembic_reports(new_database: Callable[[str], str]) -> None:
    url = new_database("checks")
    created(url, Step)
    after = sa.MetaData()
    table(after, StepWithCheck, least=10)
    assert differences(url, after) == [
        ("add_constraint", "ck_history_amount"),
        ("add_constraint", "ck_step"),
        ("remove_constraint", "ck_history_amount"),
        ("remove_constraint", "ck_step"),
    ]


def test_both_wordings_of_a_condition_say_the_same() -> None:
    postgres = "(status)::text = ANY ((ARRAY['A'::character varying, 'B'::character varying])::text[])"
    model = "saga_states.status IN ('A', 'B')"
    assert check_constraints.condition_tokens(postgres) == check_constraints.condition_tokens(model)
    assert check_constraints.condition_tokens("amount > (0)::numeric") == check_constraints.condition_tokens(
        "amount > 0"
    )
    assert check_constraints.condition_tokens(
        "(year >= 1900) AND (year <= 2100)"
    ) == check_constraints.condition_tokens("year BETWEEN 1900 AND 2100")
    assert check_constraints.condition_tokens(
        "(char_length(version) >= 1) AND (char_length(version) <= 60)"
    ) == check_constraints.condition_tokens("char_length(version) BETWEEN 1 AND 60")
    assert check_constraints.condition_tokens("(method)::text = 'pix'::text") == check_constraints.condition_tokens(
        "payments.method IN ('pix')"
    )
    assert check_constraints.condition_tokens("status IN ('A', 'B')") != check_constraints.condition_tokens(
        "status IN ('A', 'b')"
    )
