"""The whole system on one machine, without Docker.

A private PostgreSQL cluster (or the server at DATABASE_URL), the official Pub/Sub
emulator, the topology provisioned on it, each service's migrations, a mail catcher, and
the services of the registry (mercado_shared.registry) as processes. ``make run``, the
end-to-end tests and the benchmark all use this module, so the local path and the tested
path are the same path.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from mercado_devtools.gateway import Gateway, load_routes
from mercado_devtools.mailcatcher import MailCatcher
from mercado_devtools.pix_provider import LOCAL_PIX_SECRET, PIX_KEY, PixProvider
from mercado_devtools.postgres import PostgresCluster, create_databases
from mercado_devtools.processes import free_port, http_ok, spawn, stop_process, wait_until
from mercado_devtools.pubsub import PubSubEmulator, provision
from mercado_devtools.storage import StorageEmulator
from mercado_shared.registry import SERVICES, ServiceDef
from mercado_shared.topology import SubscriptionPolicy

log = logging.getLogger("devstack")


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
            assert not exited, f"{self.service.name} exited with {self.proc.returncode if self.proc else None}:\n" + (
                self._log_tail()
            )
            return http_ok(self.url + "/readyz")

        wait_until(healthy, timeout=timeout, what=self.service.name, interval=0.2)

    def _log_tail(self, lines: int = 30) -> str:
        """What the service last wrote (the stack's log, which every service shares)."""
        log_file = self._launch[2] if hasattr(self, "_launch") else None
        name = getattr(log_file, "name", None)
        if not isinstance(name, str):
            return "(its output went to the terminal)"
        with open(name, errors="replace") as log:
            return "".join(log.readlines()[-lines:])

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
    storage_port: int | None = None  # the Cloud Storage emulator's; None: any free port
    pix_port: int | None = None  # the Pix provider's; None: any free port
    gateway_port: int | None = None  # the one origin (the load balancer's URL map); None: any free port


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
        # The Pix provider pagamento-service charges through; its /bank page pays a BR Code.
        self.pix = PixProvider("127.0.0.1", config.pix_port or free_port(), "local", LOCAL_PIX_SECRET)
        self.pix_webhook_secret = secrets.token_urlsafe(32)
        # One origin for the console and the frontend, routed as the load balancer routes.
        self.gateway = Gateway("127.0.0.1", config.gateway_port or free_port(), {}, {})
        # Photos go to a Cloud Storage emulator, kept in the run folder as the database is.
        self.storage = StorageEmulator(
            config.storage_port or free_port(), config.run_dir / "storage" if config.durable else None
        )

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
        self.pix.start()
        log.info("Pix provider on %s (pay a BR Code at %s/bank)", self.pix.url, self.pix.url)
        log.info("catching mail on smtp://%s:%s (kept in %s)", self.mail.host, self.mail.port, c.run_dir / "mail")
        with open(c.run_dir / "storage-emulator.log", "ab") as storage_log:
            self.storage.start(storage_log)
        log.info("Cloud Storage emulator on %s", self.storage.url)
        names = {s.name: c.database_prefix + s.database for s in SERVICES}
        urls = create_databases(self.admin_url, list(names.values()))
        self.database_urls = {svc: urls[db] for svc, db in names.items()}
        for s in SERVICES:
            log.info("migrating %s", s.name)
            # Some migrations rewrite personal data (cliente-service's): they need its key.
            migrate(c.repo_root, s, self.database_urls[s.name], {"DATA_KEK_FILE": str(self._data_kek_file())})
        # For the operator's tools of this run (make archive-purchases): the platform's identity, owner-only.
        secret_file = c.run_dir / "platform-secret"
        secret_file.touch(mode=0o600)
        secret_file.write_text(self.platform_secret)
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
            # Where each service finds the others (their settings' <DATABASE>_SERVICE_URL).
            **{f"{s.database.upper()}_SERVICE_URL": self.url(s.name) for s in SERVICES},
            "JWT_PRIVATE_KEY_FILE": str(key_file),
            "DATA_KEK_FILE": str(self._data_kek_file()),
            "SMTP_HOST": self.mail.host,
            "SMTP_PORT": str(self.mail.port),
            "STORAGE_EMULATOR_HOST": self.storage.url,
            "PIX_API_URL": self.pix.url,
            "PIX_CLIENT_ID": "local",
            "PIX_CLIENT_SECRET": LOCAL_PIX_SECRET,
            "PIX_WEBHOOK_SECRET": self.pix_webhook_secret,
            **c.env,
        }
        for proc in self.services:
            proc.start(c.repo_root, {**common, "DATABASE_URL": self.database_urls[proc.service.name]}, c.log_file)
        for proc in self.services:
            proc.wait_healthy()
            log.info("%s ready on %s", proc.service.name, proc.url)
        self.gateway.routes = load_routes(c.repo_root)
        self.gateway.backends = {p.service.name: p.url for p in self.services}
        self.gateway.start()
        log.info(
            "one origin, routed as the load balancer routes: %s (the staff console: %s/console/)",
            self.gateway.url,
            self.gateway.url,
        )
        # As an operator registers it at the provider (docs/operations.md): the Pix received
        # for the shop's key are notified to pagamento-service.
        webhook = f"{self.url('pagamento-service')}/webhooks/pix?hmac={self.pix_webhook_secret}&ignorar="
        self.pix.register_webhook(PIX_KEY, webhook)

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
        self.gateway.stop()
        for proc in reversed(self.services):
            proc.stop()
        self.emulator.stop()
        self.mail.stop()
        self.pix.stop()
        self.storage.stop()
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
