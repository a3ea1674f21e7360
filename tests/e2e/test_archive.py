"""`make archive-purchases` on a running system: a purchase that ended long ago goes to the
storage emulator's archive bucket and out of the orchestrator's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from tests.e2e.conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def test_make_archive_purchases_archives_an_old_finished_purchase(api: Api) -> None:
    _, me = api.new_customer(balance=60_000)
    vehicle = api.new_vehicle(45_900)
    tx = api.purchase(vehicle["id"], me)["transaction_id"]
    code = api.saga_reaches(tx, me, "AWAITING_PAYMENT")["payment_code"]
    assert api.pay(code, me).status_code == 201
    api.saga_reaches(tx, me, "COMPLETED")
    engine = sa.create_engine(api.stack.database_urls["orquestrador"])
    with engine.begin() as connection:  # it ended two years ago
        connection.execute(
            sa.text("UPDATE saga_states SET updated_at = now() - interval '730 days' WHERE transaction_id = :tx"),
            {"tx": tx},
        )

    port = api.stack.service("orquestrador").port
    done = subprocess.run(
        [sys.executable, "scripts/archive_purchases.py"],
        cwd=ROOT,
        env={**os.environ, "RUN_DIR": str(api.stack.config.run_dir), "ORQUESTRADOR_PORT": str(port)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert report["archived"] >= 1
    client = storage.Client(
        project="mercado-veiculo-local",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": api.stack.storage.url},
    )
    bucket = client.bucket("mercado-veiculo-purchase-archive")
    archived = [
        json.loads(line) for name in report["objects"] for line in bucket.blob(name).download_as_bytes().splitlines()
    ]
    assert tx in {a["purchase"]["transaction_id"] for a in archived}
    with engine.connect() as connection:
        left = connection.scalar(sa.text("SELECT count(*) FROM saga_states WHERE transaction_id = :tx"), {"tx": tx})
    engine.dispose()
    assert left == 0
    assert api.client.get(api.url("orquestrador", f"/saga-states/{tx}"), headers=me).status_code == 404
