"""Retention of finished purchases: archived to Cloud Storage, then purged.

A purchase that ended more than ``PURCHASE_ARCHIVE_AFTER_DAYS`` ago leaves the database:
its row, its history, what staff did to it (copied; the audit log itself is never purged)
go to the archive bucket as one JSON line each, a batch per object, and only once the
bucket holds that object are the purchase, its history, its idempotency keys and its sent
messages deleted, in one transaction. A run that stops between the two leaves the rows;
the next run writes the same object again (accepted only if identical) and purges then.
The age is at least 16 days, longer than any message of the purchase can still come back
(mercado_shared.retention.inbox_kept): no redelivery can find its saga gone.

Cloud Scheduler calls ``POST /internal/purchases/archive`` each hour; locally,
``make archive-purchases``. Each call works for at most ``budget`` seconds, within Cloud
Run's request timeout; what is left waits for the next.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.adapters.archive_store import ArchiveStore
from app.service_layer.unit_of_work import OrquestradorUnitOfWork
from mercado_shared import metrics

log = logging.getLogger(__name__)
BATCH = 200
SERVICE = "orquestrador"


@dataclass
class ArchiveReport:
    archived: int = 0
    objects: list[str] = field(default_factory=list)
    purged: dict[str, int] = field(default_factory=dict)
    more: bool = False  # stopped at its budget with purchases left to archive


def _plain(value: Any) -> str:
    """What JSON cannot say itself: times (ISO 8601), money (its exact decimal), ids."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def lines(records: list[dict[str, Any]]) -> bytes:
    """One purchase per line; the same purchases give the same bytes (a rerun's check)."""
    return b"".join(json.dumps(r, default=_plain, sort_keys=True, ensure_ascii=False).encode() + b"\n" for r in records)


def object_name(ended_first: datetime, ids: list[str]) -> str:
    """Named by what it holds: the same batch gets the same name, another batch another."""
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:24]
    return f"purchases/{ended_first:%Y/%m/%d}/{digest}.jsonl"


def archive_finished(
    uow_factory: Callable[[], OrquestradorUnitOfWork],
    store: ArchiveStore,
    now: datetime,
    older_than: timedelta,
    *,
    budget: float = 20.0,
    batch: int = BATCH,
) -> ArchiveReport:
    cutoff = now - older_than
    report = ArchiveReport()
    started = time.monotonic()
    while True:
        with uow_factory() as uow:
            ids = uow.archive.finished_before(cutoff, batch)
            if ids and time.monotonic() - started > budget:
                report.more = True  # the next call goes on from here
                break
            records = uow.archive.records(ids)
        if not ids:
            break
        name = object_name(records[0]["purchase"]["updated_at"], ids)
        store.put(name, lines(records))
        with uow_factory() as uow:
            purged = uow.archive.purge(ids, cutoff)
            uow.commit()
        report.archived += purged["saga_states"]
        report.objects.append(name)
        for table, count in purged.items():
            report.purged[table] = report.purged.get(table, 0) + count
            metrics.RETENTION_PURGED.labels(SERVICE, table).inc(count)
        metrics.PURCHASES_ARCHIVED.inc(purged["saga_states"])
    if report.archived:
        log.info("purchases archived", extra={"archived": report.archived, "objects": len(report.objects)})
    return report
