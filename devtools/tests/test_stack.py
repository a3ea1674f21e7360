import os
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from mercado_devtools.postgres import PostgresCluster
from mercado_devtools.processes import RESERVATION_SECONDS, RESERVATIONS, _reserve, free_port
from mercado_devtools.stack import LocalStack, StackConfig


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to the postgres user")
def test_a_cluster_folder_closed_to_postgres_gets_a_reachable_stand_in() -> None:
    with tempfile.TemporaryDirectory() as base:
        Path(base).chmod(0o755)
        folder = Path(base) / "project"
        folder.mkdir(mode=0o755)
        assert PostgresCluster(folder / "pgdata", 5432).data_dir == folder / "pgdata"

        folder.chmod(0o700)  # a checkout under /root, say
        stand_in = PostgresCluster(folder / "pgdata", 5432).data_dir
        assert stand_in.parent == Path("/var/tmp")
        assert stand_in == PostgresCluster(folder / "pgdata", 5432).data_dir  # the same on every run


def test_a_stack_that_fails_to_start_stops_what_it_started(tmp_path: Path) -> None:
    stack = LocalStack(
        StackConfig(
            repo_root=Path(__file__).resolve().parents[2],
            run_dir=tmp_path,
            database_url="postgresql+psycopg2://nobody@127.0.0.1:1/none",  # nothing listens there
            emulator_port=free_port(),
        )
    )
    with pytest.raises(sa.exc.OperationalError), stack:
        pytest.fail("the stack cannot have started")
    assert stack.emulator.proc is not None and stack.emulator.proc.poll() is not None  # started, then stopped


def test_a_free_port_is_reserved_for_everyone_else_until_its_reservation_is_stale() -> None:
    """Suites run side by side and a stack binds its ports seconds after choosing them: a
    port handed out is refused to every other process, for an hour."""
    port = free_port()
    reservation = RESERVATIONS / str(port)
    assert reservation.exists() and not _reserve(port)
    a_while_ago = time.time() - RESERVATION_SECONDS - 1
    os.utime(reservation, (a_while_ago, a_while_ago))
    assert _reserve(port) and not _reserve(port)  # stale: taken again, once
