"""Purchases by status and stuck purchases, counted in the database when Prometheus scrapes.

Counted rather than kept in process: every instance reports the same truth, and it
survives restarts. The two queries read the status column and the deadline index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

Census = Callable[[], tuple[dict[str, int], int]]


class PurchaseCensus(Collector):
    def __init__(self) -> None:
        self.source: Census | None = None  # set by the running app (bootstrap), unset at shutdown

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.source is None:
            return
        try:
            by_status, stuck = self.source()
        except Exception:
            return
        purchases = GaugeMetricFamily("purchases", "Purchases stored, by status", labels=["status"])
        for status, count in sorted(by_status.items()):
            purchases.add_metric([status], count)
        yield purchases
        yield GaugeMetricFamily("purchases_stuck", "Running purchases being retried or past their deadline", stuck)


PURCHASE_CENSUS = PurchaseCensus()
REGISTRY.register(PURCHASE_CENSUS)
