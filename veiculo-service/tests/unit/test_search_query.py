"""How a search becomes SQL, without a database: each filter's condition and its bound
value, which facets share a statement, which are answered by the kept cells, how a
grouping-sets row names its dimension, the words of free text, and the cursors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.adapters.orm import facet_counts, vehicles
from app.adapters.repository import ORDERS, Listing, Position, Search, Sort, facet_statements, grouped_by
from app.domain.model import Fuel, Transmission
from app.entrypoints.schemas import MAX_WORD, MAX_WORDS, decode_position, encode_position, search_words
from mercado_shared.errors import Unprocessable

ID = "0b8f6a2e-3c1d-4e5f-9a7b-1c2d3e4f5a6b"
POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]


def sql(conditions: list[sa.ColumnElement[bool]]) -> str:
    return " AND ".join(str(c.compile(dialect=POSTGRESQL, compile_kwargs={"literal_binds": True})) for c in conditions)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (Search(), ["TRUE"]),
        (Search(listing=Listing.AVAILABLE), ["vehicles.reserved_by IS NULL AND vehicles.sold_at IS NULL"]),
        (Search(brand="Citroën"), ["vehicle_fold(vehicles.brand) = vehicle_fold('Citroën')"]),
        (Search(model="gol"), ["vehicle_fold(vehicles.model) = vehicle_fold('gol')"]),
        (Search(year_min=2015, year_max=2020), ["vehicles.year >= 2015", "vehicles.year <= 2020"]),
        (Search(price_min=Decimal("40000"), price_max=Decimal("60000.50")), ["vehicles.price >= 40000", "<= 60000.50"]),
        (Search(mileage_max=50000), ["vehicles.mileage_km <= 50000"]),
        (Search(fuel=Fuel.FLEX, transmission=Transmission.CVT), ["vehicles.fuel = 'flex'", "transmission = 'cvt'"]),
        (Search(words=("volks",)), ["vehicles.document @@ to_tsquery('portuguese'::regconfig", ":*"]),
    ],
)
def test_each_filter_is_one_condition_with_its_value_and_an_unset_one_is_none(
    search: Search, expected: list[str]
) -> None:
    rendered = sql(search.conditions())
    for fragment in expected:
        assert fragment in rendered
    assert len(search.conditions()) == 1 + sum(
        getattr(search, f) is not None for f in ("brand", "model", "year_min", "year_max", "price_min", "price_max",
                                                   "mileage_max", "fuel", "transmission", "words")
    )  # fmt: skip


def test_free_text_is_one_parameter_per_word_never_query_syntax() -> None:
    rendered = sql(Search(words=("único", "dono", "a&b|!c")).conditions())
    assert rendered.count("to_tsquery") == 3 and rendered.count("&&") == 2
    assert "vehicle_fold('a&b|!c') || ':*'" in rendered  # the operators stay inside a quoted value


def test_the_cells_answer_searches_by_brand_model_year_fuel_and_gearbox_only() -> None:
    cells = Search(listing=Listing.SOLD, brand="fiat", model="uno", year_min=2010, fuel=Fuel.FLEX)
    assert cells.by_cells
    rendered = sql(cells.conditions(facet_counts))
    assert "vehicle_facet_counts.listing = 'sold'" in rendered
    assert "vehicle_fold(vehicle_facet_counts.brand)" in rendered
    for outside in (Search(price_max=Decimal(1)), Search(mileage_max=1), Search(words=("x",))):
        assert not outside.by_cells


def test_each_facet_ignores_its_own_filter_and_facets_under_the_same_filters_share_a_statement() -> None:
    assert facet_statements(Search()) == {Search(): ["brand", "year", "fuel", "transmission", "price"]}
    narrowed = Search(brand="fiat", fuel=Fuel.FLEX, price_max=Decimal(80000))
    statements = facet_statements(narrowed)
    assert statements == {
        Search(fuel=Fuel.FLEX, price_max=Decimal(80000)): ["brand"],
        Search(brand="fiat", fuel=Fuel.FLEX): ["price"],
        Search(brand="fiat", price_max=Decimal(80000)): ["fuel"],
        narrowed: ["model", "year", "transmission"],
    }
    assert all(s.by_cells for s in statements)  # up to 79,999.99 in whole bands; 80,000 from the vehicles


@pytest.mark.parametrize(
    ("low", "high", "bands", "edges"),
    [
        (30000, 80000, (3, 4), [(30000, Decimal("39999.99")), (80000, 80000)]),
        (40000, Decimal("59999.99"), (3, 3), []),
        (None, Decimal("39999.99"), (1, 2), []),
        (200000, None, (8, 8), []),
        (150000, None, (7, 8), []),
        (20000, 60000, (2, 3), [(60000, 60000)]),
        (30000, 35000, None, []),  # no whole band: the vehicles are counted
        (None, 1, None, []),
    ],
)
def test_a_price_range_is_whole_bands_of_the_cells_and_vehicles_at_its_edges(
    low: int | None, high: Decimal | int | None, bands: tuple[int, int] | None, edges: list[tuple[Any, Any]]
) -> None:
    search = Search(price_min=None if low is None else Decimal(low), price_max=None if high is None else Decimal(high))
    assert search.bands == bands and search.by_cells == (bands is not None)
    rendered = [sql(conditions) for conditions in search.edges()]
    assert len(rendered) == len(edges)
    for text, (above, below) in zip(rendered, edges, strict=True):
        assert f"vehicles.price >= {above}" in text and f"vehicles.price <= {below}" in text


@pytest.mark.parametrize(("bits", "keys", "dimension"), [(0, 1, 0), (0b011, 3, 0), (0b101, 3, 1), (0b110, 3, 2)])
def test_a_grouping_sets_row_names_the_one_key_it_is_grouped_by(bits: int, keys: int, dimension: int) -> None:
    assert grouped_by(bits, keys) == dimension


def test_the_words_of_free_text_are_letters_and_digits_of_any_script_bounded() -> None:
    assert search_words("Único-dono, 2.0 TSI!") == ("Único", "dono", "2", "0", "TSI")
    assert search_words("x" * 100) == ("x" * MAX_WORD,)
    assert len(search_words(" ".join(["a"] * 20))) == MAX_WORDS
    with pytest.raises(Unprocessable):
        search_words("!!! --- ...")


@pytest.mark.parametrize("sort", list(Sort))
def test_each_orders_cursor_reads_back_as_its_position_and_no_other_orders(sort: Sort) -> None:
    value = {Sort.NEWEST: "2026-12-01T10:00:00+00:00", Sort.YEAR_DESC: "2019", Sort.MILEAGE_ASC: "60000"}.get(
        sort, "45900.00"
    )
    position = Position(sort, ORDERS[sort].parse(value), ID)
    assert decode_position(encode_position(position), sort) == position
    for other in set(Sort) - {sort}:
        with pytest.raises(Unprocessable):
            decode_position(encode_position(position), other)


def rendered(element: sa.ClauseElement | str) -> str:
    return element if isinstance(element, str) else str(element.compile(dialect=POSTGRESQL))


def test_each_order_has_an_index_of_the_available_listing_led_by_its_key() -> None:
    leading = {
        rendered(index.expressions[0])
        for index in vehicles.indexes
        if index.name and index.name.startswith("ix_vehicles_available_")
    }
    for order in ORDERS.values():
        assert rendered(order.key) in leading
