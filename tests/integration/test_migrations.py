"""Each service's migrations build exactly the schema its models describe, and unwind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from mercado_shared.devstack import SERVICES
from mercado_shared.testing.fixtures import migrate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", [s.directory for s in SERVICES])
def test_migrations_match_the_models_and_downgrade_cleanly(service: str, new_database: Callable[[str], str]) -> None:
    url = new_database(service.replace("-", "_"))
    directory = ROOT / service
    for step in (("upgrade", "head"), ("check",), ("downgrade", "base"), ("upgrade", "head")):
        result = migrate(directory, url, *step)
        assert result.returncode == 0, f"alembic {' '.join(step)}: {result.stdout}{result.stderr}"


# Migrations written before anything ran in production, where no previous revision had to
# keep working: 0004 made customers' email_index and document_index required when it
# encrypted personal data. Every migration after these is held to the rule.
WRITTEN_BEFORE_ANY_RELEASE = {"cliente-service": ("0004",)}


def revisions(directory: Path) -> list[str]:
    """The service's revisions, oldest first."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(directory / "migrations"))
    return [r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


def schema(url: str) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    """Every table's columns: type, nullable, has a default."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {
                c["name"]: (str(c["type"]), bool(c["nullable"]), c.get("default") is not None or "identity" in c)
                for c in inspector.get_columns(table)
            }
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", [s.directory for s in SERVICES])
def test_every_migration_only_expands_so_the_revision_still_serving_keeps_working(
    service: str, new_database: Callable[[str], str]
) -> None:
    """A release migrates, then moves traffic: while it moves, and after a rollback, the
    previous revision runs on the new schema. So a migration may add tables, nullable or
    defaulted columns, widen a NOT NULL; it may not drop, rename or retype what the
    previous revision reads, nor add a column it would have to fill. Removing something
    is a later release's migration, once no revision reads it (docs/operations.md)."""
    url = new_database(service.replace("-", "_"))
    directory = ROOT / service
    before: dict[str, dict[str, tuple[str, bool, bool]]] = {}
    for revision in revisions(directory):
        result = migrate(directory, url, "upgrade", revision)
        assert result.returncode == 0, result.stderr
        after = schema(url)
        if revision in WRITTEN_BEFORE_ANY_RELEASE.get(service, ()):
            before = after
            continue
        for table, columns in before.items():
            assert table in after, f"{service} {revision} drops table {table}"
            for name, (kind, nullable, _) in columns.items():
                assert name in after[table], f"{service} {revision} drops {table}.{name}"
                assert after[table][name][0] == kind, f"{service} {revision} retypes {table}.{name}"
                assert after[table][name][1] or not nullable, f"{service} {revision} makes {table}.{name} NOT NULL"
            for name, (_, nullable, has_default) in after[table].items():
                if name not in columns:
                    assert nullable or has_default, f"{service} {revision} adds {table}.{name}, required and bare"
        before = after
