"""The whole system on one machine, without Docker.

A private PostgreSQL cluster (or the server at DATABASE_URL), the official Pub/Sub
emulator, the topology provisioned on it, each service's migrations, and the four
services as processes. ``make run`` and the end-to-end tests both use this module, so
the local path and the tested path are the same path.

Every child runs in its own process group and is told to die with its parent
(PR_SET_PDEATHSIG), so neither Ctrl-C, SIGTERM nor a crash of the runner leaves a
process behind.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import glob
import hashlib
import logging
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from mercado_shared.mailcatcher import MailCatcher
from mercado_shared.topology import SubscriptionPolicy, Topology, load_topology

log = logging.getLogger("devstack")

EMULATOR_PACKAGE = "google-cloud-cli-pubsub-emulator"
EMULATOR_LAUNCHER = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"


@dataclass(frozen=True)
class ServiceDef:
    name: str
    directory: str
    port_env: str
    default_port: int
    database: str


SERVICES: tuple[ServiceDef, ...] = (
    ServiceDef("cliente-service", "cliente-service", "CLIENTE_PORT", 8080, "cliente"),
    ServiceDef("veiculo-service", "veiculo-service", "VEICULO_PORT", 8081, "veiculo"),
    ServiceDef("pagamento-service", "pagamento-service", "PAGAMENTO_PORT", 8082, "pagamento"),
    ServiceDef("orquestrador", "orquestrador", "ORQUESTRADOR_PORT", 8083, "orquestrador"),
)


class MissingDependency(RuntimeError):
    pass


# ---------------------------------------------------------------------------- helpers
def free_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range (32768 and up here):
    a port the kernel hands out could be taken, before our server binds it, as the source
    port of any outbound connection."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass.

    An exception means "not yet", except AssertionError, which gives up at once.
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except AssertionError:
            raise  # the condition says waiting is pointless
        except Exception as exc:  # not ready yet
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s ({last!r})")


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    output: IO[Any] | int | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
        user=user,
        group=user,
    )


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
        return bool(response.status == 200)


# ---------------------------------------------------------------------------- PostgreSQL
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


# ---------------------------------------------------------------------------- Pub/Sub
def emulator_launcher() -> str:
    for candidate in (
        os.environ.get("PUBSUB_EMULATOR_BIN"),
        shutil.which("cloud-pubsub-emulator"),
        EMULATOR_LAUNCHER,
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise MissingDependency(
        f"the Pub/Sub emulator is not installed: install the Debian package {EMULATOR_PACKAGE} "
        "(from Google Cloud's apt repository) or set PUBSUB_EMULATOR_BIN"
    )


# The emulator is glue between sockets: C1's quick compiles and the serial collector suit
# it. On this 2-core box they halve its CPU per message (1.29 → 0.70 ms, 3,000 pushes) and
# leave its rate unchanged. CLOUD_PUBSUB_EMULATOR_OPTS in the environment overrides them.
EMULATOR_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


class PubSubEmulator:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, log_file: IO[Any] | None = None) -> None:
        if shutil.which("java") is None:
            raise MissingDependency("java not found: the Pub/Sub emulator needs Java 17 (openjdk-17-jre-headless)")
        self.proc = spawn(
            [emulator_launcher(), "--host=127.0.0.1", f"--port={self.port}"],
            env={"CLOUD_PUBSUB_EMULATOR_OPTS": EMULATOR_JVM_OPTIONS, **os.environ},
            output=log_file if log_file is not None else subprocess.DEVNULL,
        )

        def up() -> bool:
            assert self.proc is None or self.proc.poll() is None, f"the emulator exited with {self.proc.returncode}"
            return _http_ok(f"http://{self.host}/")

        wait_until(up, timeout=90, what="Pub/Sub emulator", interval=0.2)

    def stop(self) -> None:
        stop_process(self.proc)


def provision(
    emulator_host: str,
    project_id: str,
    endpoints: Mapping[str, str],
    topology: Topology | None = None,
    policy: SubscriptionPolicy | None = None,
) -> None:
    """Create the topology's topics and subscriptions; push to ``endpoints[service]``.

    ``policy`` replaces the retry and dead-letter numbers (the fault tests shorten them so
    that a poison message is dead-lettered in seconds); names and wiring never change.
    """
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import pubsub_v1

    os.environ["PUBSUB_EMULATOR_HOST"] = emulator_host
    topology = topology or load_topology()
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    try:
        for topic in [*topology.topics, *topology.dead_letter_topics()]:
            with contextlib.suppress(AlreadyExists):
                publisher.create_topic(name=publisher.topic_path(project_id, topic))
        for service in topology.services:
            with contextlib.suppress(AlreadyExists):
                subscriber.create_subscription(
                    name=subscriber.subscription_path(project_id, topology.dead_letter_subscription(service)),
                    topic=publisher.topic_path(project_id, topology.dead_letter_topic(service)),
                )
        for sub in topology.subscriptions():
            if sub.service not in endpoints:
                continue
            p = policy or sub.policy
            request = {
                "name": subscriber.subscription_path(project_id, sub.name),
                "topic": publisher.topic_path(project_id, sub.topic),
                "push_config": {"push_endpoint": endpoints[sub.service].rstrip("/") + sub.push_path},
                "ack_deadline_seconds": p.ack_deadline_seconds,
                "dead_letter_policy": {
                    "dead_letter_topic": publisher.topic_path(project_id, sub.dead_letter_topic),
                    "max_delivery_attempts": p.max_delivery_attempts,
                },
                "retry_policy": {
                    "minimum_backoff": timedelta(seconds=p.minimum_backoff_seconds),
                    "maximum_backoff": timedelta(seconds=p.maximum_backoff_seconds),
                },
            }
            with contextlib.suppress(AlreadyExists):
                subscriber.create_subscription(request=request)
    finally:
        subscriber.close()
        publisher.stop()


# ---------------------------------------------------------------------------- services
def migrate(repo_root: Path, service: ServiceDef, database_url: str, env: Mapping[str, str] | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=repo_root / service.directory,
        env={**os.environ, **(env or {}), "DATABASE_URL": database_url},
        check=True,
        stdout=subprocess.DEVNULL,
    )


@dataclass
class ServiceProcess:
    service: ServiceDef
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, repo_root: Path, env: Mapping[str, str], log_file: IO[Any] | None = None) -> None:
        self._launch = (repo_root, dict(env), log_file)
        self.proc = spawn(
            [sys.executable, "-m", "mercado_shared.server"],
            cwd=repo_root / self.service.directory,
            env={**env, "PORT": str(self.port), "HOST": "127.0.0.1"},
            output=log_file,
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        def healthy() -> bool:
            exited = self.proc is not None and self.proc.poll() is not None
            assert not exited, f"{self.service.name} exited"
            return _http_ok(self.url + "/readyz")

        wait_until(healthy, timeout=timeout, what=self.service.name, interval=0.2)

    def stop(self) -> None:
        stop_process(self.proc)

    def signal(self, sig: int) -> None:
        """SIGKILL, SIGSTOP, SIGCONT… to the service's whole process group."""
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self.proc.wait(10)

    def restart(self, wait: bool = True) -> None:
        self.stop()
        self.start(*self._launch)
        if wait:
            self.wait_healthy()


@dataclass
class StackConfig:
    repo_root: Path
    run_dir: Path
    project_id: str = "mercado-veiculo-local"
    database_url: str | None = None  # an existing server; otherwise a private cluster
    emulator_host: str | None = None  # an emulator already running; otherwise one is started
    pg_port: int = 5432
    emulator_port: int = 8085
    service_ports: dict[str, int] = field(default_factory=dict)
    database_prefix: str = ""
    durable: bool = True
    env: dict[str, str] = field(default_factory=dict)
    log_file: IO[Any] | None = None  # None: inherit the terminal
    subscription_policy: SubscriptionPolicy | None = None  # tests only: faster retries
    smtp_port: int | None = None  # the mail catcher's; None: any free port


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.postgres: PostgresCluster | None = None
        self.emulator = PubSubEmulator(config.emulator_port)
        self.emulator_host = config.emulator_host or self.emulator.host
        self.services = [ServiceProcess(s, config.service_ports.get(s.name, s.default_port)) for s in SERVICES]
        self.database_urls: dict[str, str] = {}
        self.admin_url = ""
        self.platform_secret = config.env.get("PLATFORM_SECRET") or secrets.token_urlsafe(32)
        # What the services e-mail (password resets) lands here, over real SMTP.
        self.mail = MailCatcher(config.smtp_port or free_port(), config.run_dir / "mail")

    def url(self, service: str) -> str:
        return self.service(service).url

    def service(self, name: str) -> ServiceProcess:
        return next(s for s in self.services if s.service.name == name)

    def databases(self) -> dict[str, str]:
        """Each service's database URL, keyed as the invariant checker names them."""
        return {s.database: self.database_urls[s.name] for s in SERVICES}

    def start(self) -> None:
        c = self.config
        c.run_dir.mkdir(parents=True, exist_ok=True)
        if c.database_url:
            self.admin_url = c.database_url
        else:
            self.postgres = PostgresCluster(c.run_dir / "pgdata", c.pg_port, durable=c.durable)
            log.info("starting PostgreSQL on 127.0.0.1:%s (%s)", c.pg_port, self.postgres.data_dir)
            with open(c.run_dir / "postgres.log", "ab") as postgres_log:
                self.postgres.start(postgres_log)
            self.admin_url = self.postgres.admin_url
        if not c.emulator_host:
            log.info("starting the Pub/Sub emulator on %s", self.emulator.host)
            with open(c.run_dir / "pubsub-emulator.log", "ab") as emulator_log:
                self.emulator.start(emulator_log)
        self.mail.start()
        log.info("catching mail on smtp://%s:%s (kept in %s)", self.mail.host, self.mail.port, c.run_dir / "mail")
        names = {s.name: c.database_prefix + s.database for s in SERVICES}
        urls = create_databases(self.admin_url, list(names.values()))
        self.database_urls = {svc: urls[db] for svc, db in names.items()}
        for s in SERVICES:
            log.info("migrating %s", s.name)
            # Some migrations rewrite personal data (cliente-service's): they need its key.
            migrate(c.repo_root, s, self.database_urls[s.name], {"DATA_KEK_FILE": str(self._data_kek_file())})
        endpoints = {p.service.name: p.url for p in self.services}
        provision(self.emulator_host, c.project_id, endpoints, policy=c.subscription_policy)
        key_file = self._jwt_key_file()
        common = {
            **os.environ,
            # The platform's identity for this run only: nothing else on the machine, and
            # no page in the developer's browser, can push or call an internal route.
            "PLATFORM_AUTH": "secret",
            "PLATFORM_SECRET": self.platform_secret,
            "PUBSUB_EMULATOR_HOST": self.emulator_host,
            "PUBSUB_PROJECT_ID": c.project_id,
            "JWKS_URL": self.url("cliente-service") + "/.well-known/jwks.json",
            "CLIENTE_SERVICE_URL": self.url("cliente-service"),
            "ORQUESTRADOR_SERVICE_URL": self.url("orquestrador"),
            "VEICULO_SERVICE_URL": self.url("veiculo-service"),
            "PAGAMENTO_SERVICE_URL": self.url("pagamento-service"),
            "JWT_PRIVATE_KEY_FILE": str(key_file),
            "DATA_KEK_FILE": str(self._data_kek_file()),
            "SMTP_HOST": self.mail.host,
            "SMTP_PORT": str(self.mail.port),
            **c.env,
        }
        for proc in self.services:
            proc.start(c.repo_root, {**common, "DATABASE_URL": self.database_urls[proc.service.name]}, c.log_file)
        for proc in self.services:
            proc.wait_healthy()
            log.info("%s ready on %s", proc.service.name, proc.url)

    def _jwt_key_file(self) -> Path:
        """A signing key kept in the run folder, so tokens survive a restart of cliente-service."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        path = self.config.run_dir / "jwt-signing-key.pem"
        if not path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)
        return path

    def _data_kek_file(self) -> Path:
        """The local key-encryption key of personal data, kept with the database it unlocks."""
        path = self.config.run_dir / "data-kek"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(base64.b64encode(os.urandom(32)).decode())
        return path

    def stop(self) -> None:
        for proc in reversed(self.services):
            proc.stop()
        self.emulator.stop()
        self.mail.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def __enter__(self) -> Self:
        """Started; a start that fails part-way stops what it had started."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m mercado_shared.devstack provision``: the one-shot provisioning step of
    docker compose (topics, subscriptions, dead letters) from the shared topology."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mercado_shared.devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    prov = commands.add_parser("provision")
    prov.add_argument("--emulator-host", default=os.environ.get("PUBSUB_EMULATOR_HOST"), required=False)
    prov.add_argument("--project", default=os.environ.get("PUBSUB_PROJECT_ID", "mercado-veiculo-local"))
    prov.add_argument("--endpoint", action="append", default=[], help="service=http://host:port", required=True)
    args = parser.parse_args(argv)
    if not args.emulator_host:
        parser.error("set --emulator-host or PUBSUB_EMULATOR_HOST")
    endpoints = dict(e.split("=", 1) for e in args.endpoint)
    unknown = set(endpoints) - set(load_topology().services)
    if unknown:
        parser.error(f"unknown services: {sorted(unknown)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    provision(args.emulator_host, args.project, endpoints)
    log.info("provisioned %s topics for %s", len(load_topology().topics), ", ".join(sorted(endpoints)))


if __name__ == "__main__":
    main()
