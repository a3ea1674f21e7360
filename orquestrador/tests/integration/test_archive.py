"""Retention of finished purchases, on real PostgreSQL and the Cloud Storage emulator with
the official client: what ended long enough ago is in the archive bucket, one JSON line
per purchase with its history and staff's actions, and only then gone from the database
with its history, idempotency keys and messages; what runs, or ended lately, stays."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from app.adapters.archive_store import ArchiveConflict, ArchiveStore
from app.bootstrap import bootstrap
from app.config import OrquestradorSettings
from app.service_layer.archive import archive_finished
from mercado_devtools.testing.tokens import TestTokens
from mercado_shared.contracts import CreditReleased, PaymentRefunded, VehicleReleased
from mercado_shared.retention import inbox_kept
from mercado_shared.runtime import app_runtime
from tests.conftest import SERVICE_DIR, Client

BUCKET = "mercado-veiculo-purchase-archive"
AFTER = timedelta(days=30)


@pytest.fixture
def archiving(
    migrated_database: Callable[[Path], str], emulator_host: str, project_id: str, storage_emulator: str
) -> Iterator[tuple[Client, ArchiveStore, str]]:
    database = migrated_database(SERVICE_DIR)
    settings = OrquestradorSettings(
        environment="test",
        database_url=database,
        pubsub_project_id=project_id,
        storage_emulator_host=storage_emulator,
        purchase_archive_after_days=AFTER.days,
        deadline_sweep_interval_seconds=3600,  # the test moves the clock; no sweep acts meanwhile
    )
    tokens = TestTokens()
    with TestClient(bootstrap(settings, key_source=tokens.key_source())) as http:
        yield Client(http, tokens), ArchiveStore(BUCKET, project_id, storage_emulator), database


def rows(database: str, table: str, tx: str) -> int:
    column = "subject" if table == "audit_log" else "transaction_id"
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        found = connection.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {column}::text = :tx"), {"tx": tx})  # noqa: S608
    engine.dispose()
    return int(found or 0)


def age(database: str, tx: str, by: timedelta) -> None:
    """The purchase ended ``by`` ago (the archive reads when a purchase last changed)."""
    engine = sa.create_engine(database)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE saga_states SET updated_at = updated_at - :by WHERE transaction_id = :tx"),
            {"by": by, "tx": tx},
        )
    engine.dispose()


def test_ended_purchases_past_retention_are_archived_then_purged_and_nothing_else(
    archiving: tuple[Client, ArchiveStore, str],
) -> None:
    client, store, database = archiving
    buyer = str(uuid.uuid4())
    old = client.completed(buyer)
    cancelled = client.awaiting_payment(buyer)
    staff_cancel = client.http.post(
        f"/operations/purchases/{cancelled}/cancel", json={"reason": "buyer asked by phone"}, headers=client.staff()
    )
    assert staff_cancel.status_code == 202
    ended_lately = client.completed(buyer)
    running = client.begin(buyer)
    for tx in (old, ended_lately):
        assert rows(database, "saga_history", tx) > 0
    age(database, old, AFTER + timedelta(days=1))
    age(database, running, AFTER + timedelta(days=1))  # old, but still running: never archived
    age(database, cancelled, AFTER + timedelta(days=1))  # still compensating: not ended

    now = datetime.now(UTC)
    runtime = app_runtime(client.http.app)
    out_of_time = archive_finished(runtime.uow_factory, store, now, AFTER, budget=-1)
    assert (out_of_time.archived, out_of_time.more) == (0, True)  # the next call goes on
    history_rows = {"service": "orquestrador", "table": "saga_history"}
    counted = REGISTRY.get_sample_value("purchases_archived_total") or 0
    purged = REGISTRY.get_sample_value("retention_purged_rows_total", history_rows) or 0
    report = archive_finished(runtime.uow_factory, store, now, AFTER)

    assert report.archived == 1 and len(report.objects) == 1 and not report.more
    assert (REGISTRY.get_sample_value("purchases_archived_total") or 0) == counted + 1  # counted in metrics
    assert (
        REGISTRY.get_sample_value("retention_purged_rows_total", history_rows) == purged + report.purged["saga_history"]
    )
    archived = [json.loads(line) for line in store.get(report.objects[0]).splitlines()]
    [purchase] = archived
    assert purchase["purchase"]["transaction_id"] == old and purchase["purchase"]["status"] == "COMPLETED"
    assert purchase["purchase"]["amount"] == "1000.00"
    assert purchase["history"][0]["event"] == "PurchaseRequested"
    assert purchase["history"][-1]["status"] == "COMPLETED"
    assert rows(database, "saga_states", old) == rows(database, "saga_history", old) == 0
    for kept in (ended_lately, running, cancelled):
        assert rows(database, "saga_states", kept) == 1 and rows(database, "saga_history", kept) > 0
    assert report.purged["saga_history"] == len(purchase["history"])

    # The cancel ends (its compensations answer); once old, it goes too, with staff's action.

    vehicle = client.http.get(f"/saga-states/{cancelled}", headers=client.staff()).json()["vehicle_id"]
    client.reply(CreditReleased(transaction_id=cancelled, customer_id=buyer))
    client.reply(VehicleReleased(transaction_id=cancelled, vehicle_id=vehicle))
    client.reply(PaymentRefunded(transaction_id=cancelled))
    age(database, cancelled, AFTER + timedelta(days=1))
    second = archive_finished(runtime.uow_factory, store, now, AFTER)
    [line] = [json.loads(x) for x in store.get(second.objects[0]).splitlines()]
    assert line["purchase"]["status"] == "CANCELLED"
    assert [a["action"] for a in line["staff_actions"]] == ["purchase.cancelled"]
    assert line["staff_actions"][0]["details"]["reason"] == "buyer asked by phone"
    assert rows(database, "audit_log", cancelled) == 1  # the audit log keeps its own entry: never purged
    assert archive_finished(runtime.uow_factory, store, now, AFTER).archived == 0  # nothing left to do


def test_a_rerun_after_a_stop_between_upload_and_purge_writes_the_same_object_and_purges(
    archiving: tuple[Client, ArchiveStore, str],
) -> None:
    client, store, database = archiving
    tx = client.completed(str(uuid.uuid4()))
    age(database, tx, AFTER + timedelta(days=1))
    runtime = app_runtime(client.http.app)

    class StopsAfterUpload(ArchiveStore):
        def put(self, name: str, data: bytes) -> None:
            super().put(name, data)
            raise ConnectionError("the instance was stopped here")

    with pytest.raises(ConnectionError):
        archive_finished(
            runtime.uow_factory, StopsAfterUpload(store.bucket, store.project, store.emulator), datetime.now(UTC), AFTER
        )
    assert rows(database, "saga_states", tx) == 1  # uploaded, not purged
    report = archive_finished(runtime.uow_factory, store, datetime.now(UTC), AFTER)
    assert report.archived == 1 and rows(database, "saga_states", tx) == 0
    with pytest.raises(ArchiveConflict):  # never overwritten with something else
        store.put(report.objects[0], b'{"other": "purchases"}\n')


def test_history_stays_append_only_outside_the_archive(archiving: tuple[Client, ArchiveStore, str]) -> None:
    client, _, database = archiving
    tx = client.completed(str(uuid.uuid4()))
    engine = sa.create_engine(database)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM saga_history WHERE transaction_id = :tx"), {"tx": tx})
    engine.dispose()
    assert rows(database, "saga_history", tx) > 0


def test_purchases_stay_longer_than_any_of_their_messages_can_come_back() -> None:
    shortest = OrquestradorSettings.model_fields["purchase_archive_after_days"].metadata[0].ge
    assert timedelta(days=shortest) > inbox_kept()
