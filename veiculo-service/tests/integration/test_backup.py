"""The search's functions and indexes survive a backup: pg_dump and a restore run with an
empty search_path, so a function that names another without its schema breaks both."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from mercado_shared.runtime import app_runtime
from tests.conftest import Client

# The project's own PostgreSQL client programs, with fixed arguments.
PG_DUMP, PSQL = shutil.which("pg_dump") or "pg_dump", shutil.which("psql") or "psql"


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_dump_restores_into_a_new_database_and_searches_there(
    client: Client, migrated_database: Callable[[Path], str], new_database: Callable[[str], str]
) -> None:
    client.create(brand="Citroën", model="C3", description="Câmbio automático")
    source = app_runtime(client.http.app).engine.url.render_as_string(hide_password=False)
    dump = subprocess.run([PG_DUMP, "--no-owner", libpq(source)], capture_output=True, text=True, check=False)  # noqa: S603
    assert dump.returncode == 0, dump.stderr
    target = new_database("veiculo_restored")
    restore = subprocess.run(  # noqa: S603
        [PSQL, "-v", "ON_ERROR_STOP=1", "-q", libpq(target)],
        input=dump.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert restore.returncode == 0, restore.stderr
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        found = conn.scalar(
            sa.text(
                "SELECT count(*) FROM vehicles WHERE vehicle_document(brand, model, version, description)"
                " @@ to_tsquery('portuguese', vehicle_fold('automaticos') || ':*')"
                " AND vehicle_fold(brand) = vehicle_fold('CITROEN')"
            )
        )
    engine.dispose()
    assert found == 1
