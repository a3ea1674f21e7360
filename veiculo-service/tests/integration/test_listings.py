"""The listing rule is said once (adapters.orm.LISTING_MEMBERSHIP): the trigger that keeps
each listing's total must say the same, and every listing a client can ask for has a
rule, a kept total and an index. A listing added without them fails here."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.adapters.orm import LISTING_MEMBERSHIP, listing_condition, listing_counts, metadata
from app.adapters.repository import PRICE_BANDS, Listing
from app.domain.model import Vehicle
from mercado_shared.runtime import app_runtime
from tests.conftest import Client


@pytest.mark.parametrize("function", ["vehicle_listing_count", "vehicle_facet_count", "vehicle_listing_band"])
def test_the_triggers_keep_each_listing_by_the_rule_the_model_states(client: Client, function: str) -> None:
    with app_runtime(client.http.app).engine.connect() as conn:
        source = conn.scalar(sa.text("SELECT prosrc FROM pg_proc WHERE proname = :f"), {"f": function})
        kept = set(conn.scalars(sa.select(listing_counts.c.listing).distinct()))
    assert source is not None
    for listing, member in LISTING_MEMBERSHIP.items():
        for row in ("OLD.", "NEW."):
            assert f"({member.format(r=row)})" in source, f"{function} counts {listing!r} by another rule"
    assert kept == set(LISTING_MEMBERSHIP)


@pytest.mark.parametrize("function", ["vehicle_facet_count", "vehicle_listing_band"])
def test_the_kept_counts_spread_prices_over_the_bands_the_search_shows(client: Client, function: str) -> None:
    with app_runtime(client.http.app).engine.connect() as conn:
        source = conn.scalar(sa.text("SELECT prosrc FROM pg_proc WHERE proname = :f"), {"f": function})
    assert f"ARRAY[{', '.join(map(str, PRICE_BANDS))}]::numeric[]" in source


def test_every_listing_a_client_may_ask_for_has_its_rule_and_its_index() -> None:
    indexed = {index.name for index in metadata.tables["vehicles"].indexes}
    for listing in Listing:
        assert listing.value in LISTING_MEMBERSHIP
        assert f"ix_vehicles_{listing.value}_price_id" in indexed


def test_each_listing_holds_exactly_the_vehicles_its_rule_admits(client: Client) -> None:
    sold, reserved, *_ = [client.create(price=10000 + i) for i in range(5)]
    client.sell(sold)
    client.reserve(reserved)
    runtime = app_runtime(client.http.app)
    with runtime.uow_factory() as uow:
        vehicles = list(uow.session.scalars(sa.select(Vehicle)))
        for name in LISTING_MEMBERSHIP:
            admitted = set(
                uow.session.scalars(
                    sa.select(sa.column("id")).select_from(sa.table("vehicles")).where(listing_condition(name))
                )
            )
            assert len(admitted) == {"all": 5, "available": 3, "sold": 1}[name]
            if name == "available":
                assert {str(i) for i in admitted} == {str(v.id) for v in vehicles if v.is_available}
    for listing in (None, *Listing):
        params = {"status_filter": listing.value} if listing else {}
        page = client.http.get("/vehicles", params=params).json()
        assert page["total"] == {None: 5, Listing.AVAILABLE: 3, Listing.SOLD: 1}[listing]
