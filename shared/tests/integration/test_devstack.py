import os
import tempfile
from pathlib import Path

import pytest

from mercado_shared.devstack import PostgresCluster


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
