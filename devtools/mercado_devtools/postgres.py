"""A private PostgreSQL cluster for `make run` and the tests, and databases in it."""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from mercado_devtools.processes import MissingDependency, spawn, stop_process, wait_until

log = logging.getLogger("devstack")


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise MissingDependency(f"{name} not found: install PostgreSQL (apt-get install postgresql-15)")
    return found


def _traversable_by(path: Path, user: str) -> bool:
    account = pwd.getpwnam(user)
    groups = set(os.getgrouplist(user, account.pw_gid))
    for folder in (path, *path.parents):
        info = folder.stat()
        if info.st_uid == account.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


class PostgresCluster:
    """A private cluster in ``data_dir``, listening on 127.0.0.1 only.

    PostgreSQL refuses to run as root, so as root the cluster belongs to ``postgres``.
    """

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.port = port
        self.durable = durable
        self.user = "postgres" if os.geteuid() == 0 else None
        self.data_dir = self._reachable(data_dir)
        self.proc: subprocess.Popen[bytes] | None = None

    def _reachable(self, data_dir: Path) -> Path:
        """``data_dir``, or a stand-in the postgres user can reach when one of its parents
        is closed to it (a project checked out under /root, say)."""
        if self.user is None:
            return data_dir
        parent = data_dir.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        if _traversable_by(parent, self.user):
            return data_dir
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        # /var/tmp, not /tmp: a development database should survive a reboot.
        stand_in = Path("/var/tmp") / f"mercado-veiculo-pg-{digest}"  # noqa: S108
        log.warning("%s is not reachable by the postgres user; keeping the cluster in %s", data_dir, stand_in)
        return stand_in

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        subprocess.run(
            [
                _pg_binary("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            user=self.user,
            group=self.user,
        )

    def start(self, log_file: IO[Any] | None = None) -> None:
        self._initdb()
        args = [
            _pg_binary("postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
        ]
        if not self.durable:  # tests: the data is thrown away anyway
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.proc = spawn(args, output=log_file, user=self.user)
        engine = sa.create_engine(self.admin_url, poolclass=sa.pool.NullPool)

        def accepting() -> bool:
            assert self.proc is None or self.proc.poll() is None, f"postgres exited with {self.proc.returncode}"
            with engine.connect():
                return True

        try:
            wait_until(accepting, timeout=60, what="PostgreSQL")
        finally:
            engine.dispose()

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGINT, timeout=30)  # SIGINT: fast shutdown


def create_databases(admin_url: str, names: list[str], template: str | None = None) -> dict[str, str]:
    """Create each database if missing (as a copy of ``template``, if given); return name -> URL."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            existing = set(conn.scalars(sa.text("SELECT datname FROM pg_database")))
            for name in names:
                if name not in existing:
                    copy = f' TEMPLATE "{template}"' if template else ""
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        engine.dispose()
    base = make_url(admin_url)
    return {n: base.set(database=n).render_as_string(hide_password=False) for n in names}
