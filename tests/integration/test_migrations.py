"""Each service's migrations build exactly the schema its models describe, and unwind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from mercado_shared.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", [s.directory for s in SERVICES])
def test_migrations_match_the_models_and_downgrade_cleanly(service: str, new_database: Callable[[str], str]) -> None:
    url = new_database(service.replace("-", "_"))
    directory = ROOT / service
    result = in_service(directory, url, _ALEMBIC_COMMANDS, "upgrade head", "check", "downgrade base", "upgrade head")
    assert result.returncode == 0, f"alembic: {result.stdout}{result.stderr}"


# Alembic's own command line, one command after another in one process (a failing one exits).
_ALEMBIC_COMMANDS = """
from alembic.config import main
for command in sys.argv[1:]:
    main(argv=command.split())
"""


# Migrations written before anything ran in production, where no previous revision had to
# keep working: 0004 made customers' email_index and document_index required when it
# encrypted personal data. Every migration after these is held to the rule.
WRITTEN_BEFORE_ANY_RELEASE = {"cliente-service": ("0004",)}


def revisions(directory: Path) -> list[str]:
    """The service's revisions, oldest first."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(directory / "migrations"))
    return [r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


Schema = dict[str, dict[str, tuple[str, bool, bool]]]  # table → column → (type, nullable, has a default)

# Run in the service's folder (its package is ``app``, like every service's): upgrades one
# revision at a time and prints the schema after each. One process for all the revisions
# rather than one per revision: the interpreter and the service's imports are paid once.
_STEP_THROUGH = """
import json, os, sys
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

engine = sa.create_engine(os.environ["DATABASE_URL"])
for revision in sys.argv[1:]:
    command.upgrade(Config("alembic.ini"), revision)
    inspector = sa.inspect(engine)
    schema = {
        table: {
            c["name"]: (str(c["type"]), bool(c["nullable"]), c.get("default") is not None or "identity" in c)
            for c in inspector.get_columns(table)
        }
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }
    print("MV-SCHEMA " + json.dumps({"revision": revision, "schema": schema}), flush=True)
"""


def in_service(directory: Path, url: str, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a process of its own, in the service's folder (each service is an
    ``app``), with ``sys`` imported and the database in ``DATABASE_URL``."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{script}", *args],
        cwd=directory,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )


def schemas_after_each(directory: Path, url: str, revisions: list[str]) -> list[tuple[str, Schema]]:
    result = in_service(directory, url, _STEP_THROUGH, *revisions)
    assert result.returncode == 0, result.stderr
    steps = [
        json.loads(line.removeprefix("MV-SCHEMA "))
        for line in result.stdout.splitlines()
        if line.startswith("MV-SCHEMA ")
    ]
    assert [step["revision"] for step in steps] == revisions, result.stderr
    return [
        (
            step["revision"],
            {
                t: {c: (kind, nullable, default) for c, (kind, nullable, default) in cols.items()}
                for t, cols in step["schema"].items()
            },
        )
        for step in steps
    ]


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
    before: Schema = {}
    for revision, after in schemas_after_each(directory, url, revisions(directory)):
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
