"""`make archive-purchases`: what Cloud Scheduler does each hour in production, done now on
the system `make run` runs: finished purchases older than PURCHASE_ARCHIVE_AFTER_DAYS go to
the storage emulator's archive bucket and out of the orchestrator's database
(orquestrador/app/service_layer/archive.py). It calls the orchestrator's internal route as
the platform, with the run's secret (`.run/platform-secret`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx

from mercado_shared.platform_auth import SharedSecret
from mercado_shared.registry import SERVICES

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    run_dir = Path(os.environ.get("RUN_DIR", ROOT / ".run"))
    secret_file = run_dir / "platform-secret"
    if not secret_file.exists():
        print(f"{secret_file} is missing: start the system with make run first", file=sys.stderr)
        return 2
    orquestrador = next(s for s in SERVICES if s.name == "orquestrador")
    port = os.environ.get(orquestrador.port_env, str(orquestrador.default_port))
    archived, objects = 0, []
    while True:
        answer = httpx.post(
            f"http://127.0.0.1:{port}/internal/purchases/archive",
            headers={SharedSecret.HEADER: secret_file.read_text().strip()},
            timeout=60,
        )
        answer.raise_for_status()
        report = answer.json()
        archived += report["archived"]
        objects += report["objects"]
        if not report["more"]:
            break
    print(json.dumps({"archived": archived, "objects": objects}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
