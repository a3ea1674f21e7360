"""`make run`: the whole system on this machine, in the foreground until Ctrl-C or SIGTERM.

PostgreSQL (a private cluster under .run/, or the server at DATABASE_URL), the Pub/Sub
emulator, topics and subscriptions, migrations, and the four services on their ports.
Every setting comes from the environment; see the README for the list.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

from mercado_devtools.processes import MissingDependency
from mercado_devtools.stack import LocalStack, StackConfig
from mercado_shared.registry import SERVICES

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("make-run")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    config = StackConfig(
        repo_root=ROOT,
        run_dir=Path(os.environ.get("RUN_DIR", ROOT / ".run")),
        project_id=os.environ.get("PUBSUB_PROJECT_ID", "mercado-veiculo-local"),
        database_url=os.environ.get("DATABASE_URL") or None,
        pg_port=int(os.environ.get("PG_PORT", "54320")),
        emulator_port=int(os.environ.get("PUBSUB_EMULATOR_PORT", "8085")),
        smtp_port=int(os.environ.get("SMTP_PORT", "8025")),
        storage_port=int(os.environ.get("STORAGE_EMULATOR_PORT", "4443")),
        pix_port=int(os.environ.get("PIX_PROVIDER_PORT", "8090")),
        gateway_port=int(os.environ.get("GATEWAY_PORT", "8000")),
        service_ports={s.name: int(os.environ.get(s.port_env, s.default_port)) for s in SERVICES},
    )
    stack = LocalStack(config)
    try:
        stack.start()
    except MissingDependency as missing:
        log.error("%s", missing)
        stack.stop()
        return 2
    except BaseException:
        log.exception("start-up failed; stopping what started")
        stack.stop()
        return 1
    log.info("Mercado Veículo is up: %s", ", ".join(f"{p.service.name} {p.url}" for p in stack.services))
    log.info("Ctrl-C to stop")
    exited = None
    while not stop.wait(0.5):
        exited = next((p for p in stack.services if p.proc is not None and p.proc.poll() is not None), None)
        if exited is not None:
            log.error("%s exited with %s; stopping everything", exited.service.name, exited.proc.returncode)  # type: ignore[union-attr]
            break
    log.info("stopping")
    stack.stop()
    log.info("stopped")
    return 1 if exited is not None else 0


if __name__ == "__main__":
    sys.exit(main())
