"""Pytest plugin: real PostgreSQL and the real Pub/Sub emulator for every test suite.

``make test`` starts one cluster and one emulator and hands them to each pytest run
through MV_TEST_PG_ADMIN_URL and PUBSUB_EMULATOR_HOST. A pytest run started alone
starts its own. Every test gets fresh databases and its own Pub/Sub project id, so
tests never see each other's data or messages.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mercado_devtools.postgres import PostgresCluster, create_databases
from mercado_devtools.processes import free_port
from mercado_devtools.pubsub import PubSubEmulator
from mercado_devtools.storage import BUCKETS, StorageEmulator, create_buckets


def pytest_configure(config: pytest.Config) -> None:
    """Services built in the test process prove the platform with a secret of this run's
    (mercado_shared.platform_auth); the stacks a test starts make their own."""
    os.environ.setdefault("PLATFORM_SECRET", secrets.token_urlsafe(32))


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    existing = os.environ.get("MV_TEST_PG_ADMIN_URL")
    if existing:
        yield existing
        return
    base = Path(tempfile.mkdtemp(prefix="mv-test-pg-"))
    base.chmod(0o755)  # the postgres user must reach its data folder
    cluster = PostgresCluster(base / "data", free_port(), durable=False)
    cluster.start(subprocess.DEVNULL)  # type: ignore[arg-type]
    try:
        yield cluster.admin_url
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator_host() -> Iterator[str]:
    existing = os.environ.get("PUBSUB_EMULATOR_HOST")
    if existing:
        yield existing
        return
    emulator = PubSubEmulator(free_port())
    emulator.start()
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
    try:
        yield emulator.host
    finally:
        emulator.stop()
        os.environ.pop("PUBSUB_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def storage_emulator() -> Iterator[str]:
    """A Cloud Storage emulator (fake-gcs-server, in memory) with veiculo's buckets; its URL."""
    existing = os.environ.get("STORAGE_EMULATOR_HOST")
    if existing:
        create_buckets(existing, BUCKETS)
        yield existing
        return
    emulator = StorageEmulator(free_port())
    emulator.start()
    try:
        yield emulator.url
    finally:
        emulator.stop()


@pytest.fixture
def project_id() -> str:
    """A Pub/Sub project of the test's own: the emulator keeps projects apart."""
    return f"mv-test-{uuid.uuid4().hex[:12]}"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def new_database(pg_admin_url: str) -> Callable[[str], str]:
    """Create an empty database named after ``prefix``; returns its URL."""

    def create(prefix: str) -> str:
        name = unique(prefix)
        return create_databases(pg_admin_url, [name])[name]

    return create


def migrate(service_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Alembic for one service, in a process of its own (each service is an ``app``)."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", *(args or ("upgrade", "head"))],
        cwd=service_dir,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def _migrated_templates(pg_admin_url: str) -> dict[Path, str]:
    return {}


@pytest.fixture
def migrated_database(pg_admin_url: str, _migrated_templates: dict[Path, str]) -> Callable[[Path], str]:
    """A fresh database with ``service_dir``'s migrations applied.

    The migrations run once per test session into a template; each test gets a copy
    (CREATE DATABASE ... TEMPLATE), as isolated as a new database and much faster.
    """

    def create(service_dir: Path) -> str:
        if service_dir not in _migrated_templates:
            name = unique(f"template_{service_dir.name.replace('-', '_')}")
            url = create_databases(pg_admin_url, [name])[name]
            result = migrate(service_dir, url)
            assert result.returncode == 0, result.stderr
            _migrated_templates[service_dir] = name
        name = unique(service_dir.name.replace("-", "_"))
        return create_databases(pg_admin_url, [name], template=_migrated_templates[service_dir])[name]

    return create
