"""A buyer's search on real PostgreSQL: every filter, every order with its own cursor,
exact totals, and the refusals (a minimum above its maximum, a cursor of another order)."""

from __future__ import annotations

import contextlib
import random
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from app.adapters.repository import Listing, Search, Sort, sorts_all
from app.domain.model import Vehicle
from mercado_shared.pagination import encode_cursor
from mercado_shared.runtime import app_runtime
from tests.conftest import Client

CATALOGUE: dict[str, dict[str, Any]] = {
    "gol": {"brand": "Volkswagen", "model": "Gol", "year": 2019, "price": 45900, "mileage_km": 60000,
            "fuel": "flex", "transmission": "manual"},
    "polo": {"brand": "Volkswagen", "model": "Polo", "year": 2022, "price": 89900, "mileage_km": 20000,
             "fuel": "flex", "transmission": "automatico"},
    "c3": {"brand": "Citroën", "model": "C3", "year": 2020, "price": 45900, "fuel": "gasolina",
           "transmission": "manual"},  # mileage unknown
    "uno": {"brand": "Fiat", "model": "Uno", "year": 2012, "price": 18000, "mileage_km": 150000,
            "fuel": "flex", "transmission": "manual"},
    "gol_old": {"brand": "VOLKSWAGEN", "model": "gol", "year": 2012, "price": 21000, "mileage_km": 150000,
                "fuel": "etanol", "transmission": "manual"},
}  # fmt: skip


@pytest.fixture
def catalogue(client: Client) -> dict[str, str]:
    return {name: client.create(**fields)["id"] for name, fields in CATALOGUE.items()}


def search(client: Client, limit: int = 2, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of a search, and the total each page reported (the same on all)."""
    seen: list[dict[str, Any]] = []
    totals: set[int] = set()
    cursor = None
    while True:
        page = client.http.get("/vehicles", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        seen += body["vehicles"]
        totals.add(body["total"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(totals) == 1 and totals == {len(seen)}, (totals, len(seen))
    return seen, len(seen)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"brand": "volkswagen"}, {"gol", "polo", "gol_old"}),
        ({"brand": "CITROEN"}, {"c3"}),  # no case, no accent
        ({"brand": "citroën"}, {"c3"}),
        ({"model": "GOL"}, {"gol", "gol_old"}),
        ({"brand": "volks"}, set()),  # a name, whole: prefixes are the text search's
        ({"year_min": 2020}, {"polo", "c3"}),
        ({"year_max": 2012}, {"uno", "gol_old"}),
        ({"year_min": 2019, "year_max": 2020}, {"gol", "c3"}),
        ({"price_min": 45900, "price_max": 45900}, {"gol", "c3"}),
        ({"price_max": 21000}, {"uno", "gol_old"}),
        ({"mileage_max": 60000}, {"gol", "polo"}),  # the C3's mileage is unknown
        ({"fuel": "gasolina"}, {"c3"}),
        ({"transmission": "automatico"}, {"polo"}),
        ({"brand": "volkswagen", "fuel": "flex", "year_min": 2020}, {"polo"}),
        ({"brand": "volkswagen", "price_min": 20000, "price_max": 50000}, {"gol", "gol_old"}),  # cells and an edge
        ({"model": "gol", "price_min": 21000, "price_max": 45900}, {"gol", "gol_old"}),  # both edges, no band
        ({"status_filter": "available", "transmission": "manual", "price_max": 50000}, {"gol", "c3", "uno", "gol_old"}),
    ],
)
def test_each_filter_finds_what_it_names_with_its_exact_total(
    client: Client, catalogue: dict[str, str], params: dict[str, Any], expected: set[str]
) -> None:
    found, _ = search(client, **params)
    assert {v["id"] for v in found} == {catalogue[name] for name in expected}


ORDERS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    "price_asc": lambda v: (v["price"], v["id"]),
    "price_desc": lambda v: (-v["price"], _reverse(v["id"])),
    "newest": lambda v: (_reverse(v["created_at"]), _reverse(v["id"])),
    "year_desc": lambda v: (-v["year"], _reverse(v["id"])),
    "mileage_asc": lambda v: (v["mileage_km"] if v["mileage_km"] is not None else 10**9, v["id"]),
}


def _reverse(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


@pytest.mark.parametrize("sort", list(ORDERS))
def test_each_order_pages_through_every_vehicle_once_ties_by_id(
    client: Client, catalogue: dict[str, str], sort: str
) -> None:
    found, total = search(client, limit=2, sort=sort)
    assert total == len(catalogue) and len({v["id"] for v in found}) == total
    assert found == sorted(found, key=ORDERS[sort])
    if sort == "mileage_asc":
        assert found[-1]["id"] == catalogue["c3"]  # unknown mileage last


@pytest.mark.parametrize(
    ("listing", "limit", "sorting_all"),
    [
        ("available", 1, False),  # finds 3 of 5: pages of one walk each order's index
        ("available", 2, True),  # pages of two sort the 3 found
        (None, 1, None),  # every vehicle: by price it walks, in another order it sorts
    ],
)
@pytest.mark.parametrize("sort", list(ORDERS))
def test_a_text_search_pages_in_each_order_with_its_total_past_its_last_page_too(
    client: Client, catalogue: dict[str, str], sort: str, listing: str | None, limit: int, sorting_all: bool | None
) -> None:
    """A text search counts what it finds first; then it reads each page by walking its
    order's index or by sorting all it finds (sorts_all), and past its last page it still
    says its total."""
    listed = Listing(listing) if listing else None
    by_price = sort in ("price_asc", "price_desc")
    assert sorts_all(3, limit, len(catalogue), listed, Sort(sort)) == (sorting_all if listing else not by_price)
    params = {"q": "volkswagen", "sort": sort, **({"status_filter": listing} if listing else {})}
    found, total = search(client, limit=limit, **params)
    assert {v["id"] for v in found} == {catalogue[name] for name in ("gol", "polo", "gol_old")} and total == 3
    assert found == sorted(found, key=ORDERS[sort])
    last = found[-1]
    value = {"price_asc": "price", "price_desc": "price", "newest": "created_at", "year_desc": "year"}.get(sort)
    key = str(last[value]) if value else str(last["mileage_km"] if last["mileage_km"] is not None else 2_000_001)
    past = {**params, "cursor": encode_cursor(sort, key, last["id"]), "limit": limit}
    body = client.http.get("/vehicles", params=past).json()
    assert (body["vehicles"], body["total"], body["next_cursor"]) == ([], 3, None)


def test_pages_of_an_order_neither_repeat_nor_skip_while_vehicles_are_added(client: Client) -> None:
    before = [client.create(year=2000 + i)["id"] for i in range(6)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"sort": "year_desc", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.http.get("/vehicles", params=params).json()
        seen += [v["id"] for v in page["vehicles"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        client.create(year=2003)  # lands among the pages still to come, or among those seen
    assert [i for i in seen if i in before] == list(reversed(before))  # each once, in order
    assert len(seen) == len(set(seen))


def test_bad_searches_are_422_with_a_stable_code(client: Client, catalogue: dict[str, str]) -> None:
    def refused(params: dict[str, Any]) -> Any:
        response = client.http.get("/vehicles", params=params)
        assert response.status_code == 422, (params, response.text)
        return response.json()["detail"]

    assert refused({"year_min": 2021, "year_max": 2020})["code"] == "INVALID_RANGE"
    assert refused({"price_min": 2, "price_max": 1})["code"] == "INVALID_RANGE"
    for params in ({"sort": "cheapest"}, {"fuel": "alcool"}, {"transmission": "cambio"}, {"year_min": 1800}):
        assert isinstance(refused(params), list)  # the schema's refusal, naming the parameter
    by_price = client.http.get("/vehicles", params={"limit": 1}).json()["next_cursor"]
    assert refused({"sort": "newest", "cursor": by_price})["code"] == "INVALID_CURSOR"  # another order's cursor
    for sort, value in (
        ("year_desc", str(2**40)),  # beyond the column: PostgreSQL would refuse it
        ("newest", "2026-01-01T00:00:00"),  # a naive time
        ("mileage_asc", "lots"),
        ("price_desc", "NaN"),
    ):
        crafted = encode_cursor(sort, value, catalogue["gol"])
        assert refused({"sort": sort, "cursor": crafted})["code"] == "INVALID_CURSOR", (sort, value)
    fine = encode_cursor("year_desc", "2020", catalogue["gol"])  # the same shape, a value that fits
    assert client.http.get("/vehicles", params={"sort": "year_desc", "cursor": fine}).status_code == 200


def test_a_cursor_from_before_orders_still_pages_by_price(client: Client, catalogue: dict[str, str]) -> None:
    first = client.http.get("/vehicles", params={"limit": 2}).json()["vehicles"]
    legacy = encode_cursor(str(first[-1]["price"]), first[-1]["id"])  # [price, id], as clients hold them
    rest = client.http.get("/vehicles", params={"cursor": legacy, "limit": 10}).json()["vehicles"]
    assert [v["id"] for v in first + rest] == [v["id"] for v in search(client, limit=10)[0]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("volks", {"polo", "gol", "gol_old"}),  # a word it begins
        ("VOLKSWAGEN gol", {"gol", "gol_old"}),  # every word, any case
        ("citroen", {"c3"}),  # without accents
        ("trendline", {"gol"}),  # the version
        ("automáticos", {"polo"}),  # the description, in Portuguese: plural and accent
        ("único dono", {"polo"}),  # "dono" only there
        ("gol, 2019!", set()),  # punctuation separates; 2019 is in no text
        ("x" * 100, set()),
    ],
)
def test_free_text_finds_brand_model_version_and_description_in_portuguese(
    client: Client, q: str, expected: set[str]
) -> None:
    ids = {
        "gol": client.create(**CATALOGUE["gol"], version="1.0 MPI Trendline")["id"],
        "polo": client.create(**CATALOGUE["polo"], description="Câmbio automático, único dono.")["id"],
        "gol_old": client.create(**CATALOGUE["gol_old"])["id"],
        "c3": client.create(**CATALOGUE["c3"])["id"],
    }
    found, _ = search(client, q=q)
    assert {v["id"] for v in found} == {ids[name] for name in expected}


def test_free_text_combines_with_the_filters_and_refuses_text_without_words(client: Client) -> None:
    polo = client.create(**CATALOGUE["polo"])["id"]
    client.create(**CATALOGUE["gol"])
    found, total = search(client, q="volkswagen", transmission="automatico")
    assert [v["id"] for v in found] == [polo] and total == 1
    for text in ("!!!", "   ", "--"):
        response = client.http.get("/vehicles", params={"q": text})
        assert (response.status_code, response.json()["detail"]["code"]) == (422, "INVALID_QUERY"), text


def facets(client: Client, **params: Any) -> dict[str, Any]:
    response = client.http.get("/vehicles", params={**params, "facets": "true", "limit": 1})
    assert response.status_code == 200, response.text
    return dict(response.json()["facets"])


def counted(entries: list[dict[str, Any]]) -> dict[Any, int]:
    return {entry["value"]: entry["count"] for entry in entries}


def test_facets_count_each_value_under_the_other_filters_each_ignoring_its_own(
    client: Client, catalogue: dict[str, str]
) -> None:
    everything = facets(client)
    assert counted(everything["brand"]) in (
        {"VOLKSWAGEN": 3, "Citroën": 1, "Fiat": 1},
        {"Volkswagen": 3, "Citroën": 1, "Fiat": 1},
    )
    assert everything["model"] == []  # no brand chosen
    assert counted(everything["year"]) == {2022: 1, 2020: 1, 2019: 1, 2012: 2}
    assert [e["value"] for e in everything["year"]] == [2022, 2020, 2019, 2012]
    assert counted(everything["fuel"]) == {"flex": 3, "gasolina": 1, "etanol": 1}
    assert counted(everything["transmission"]) == {"manual": 4, "automatico": 1}
    assert everything["price"] == [
        {"min": 0, "max": 20000, "count": 1},
        {"min": 20000, "max": 40000, "count": 1},
        {"min": 40000, "max": 60000, "count": 2},
        {"min": 80000, "max": 100000, "count": 1},
    ]
    narrowed = facets(client, brand="volkswagen", fuel="flex")
    assert counted(narrowed["brand"]) == {"Volkswagen": 2, "Fiat": 1}  # brand ignores brand: every flex car
    assert counted(narrowed["model"]) == {"Gol": 1, "Polo": 1}  # within the brand, flex only
    assert counted(narrowed["fuel"]) == {"flex": 2, "etanol": 1}  # fuel ignores fuel: every Volkswagen
    assert counted(narrowed["year"]) == {2022: 1, 2019: 1}
    assert sum(e["count"] for e in narrowed["price"]) == 2
    client.sell({"id": catalogue["polo"], "price": CATALOGUE["polo"]["price"]})
    available = facets(client, status_filter="available", brand="volkswagen")
    assert counted(available["model"]) == {"Gol": 2}  # Gol and gol are one model; the Polo is sold
    plain = client.http.get("/vehicles", params={"limit": 1}).json()
    assert plain["facets"] is None  # only when asked


def plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def expected_facets(vehicles: list[Vehicle], params: dict[str, Any]) -> dict[str, dict[Any, int]]:
    """Facets counted here, one vehicle at a time, as the issue states them: each dimension
    under every filter but its own."""
    listing = params.get("status_filter")
    rules: dict[str, Callable[[Vehicle], bool]] = {
        "brand": lambda v: plain(v.brand) == plain(params["brand"]),
        "model": lambda v: plain(v.model) == plain(params["model"]),
        "year_min": lambda v: v.year >= params["year_min"],
        "year_max": lambda v: v.year <= params["year_max"],
        "price_min": lambda v: v.price >= params["price_min"],
        "price_max": lambda v: v.price <= params["price_max"],
        "mileage_max": lambda v: v.mileage_km is not None and v.mileage_km <= params["mileage_max"],
        "fuel": lambda v: v.fuel == params["fuel"],
        "transmission": lambda v: v.transmission == params["transmission"],
    }
    listed = [
        v for v in vehicles
        if listing is None or (v.is_available if listing == "available" else v.sold_at is not None)
    ]  # fmt: skip

    def under(*own: str) -> list[Vehicle]:
        return [v for v in listed if all(rules[f](v) for f in rules if f in params and f not in own)]

    def tally(found: list[Vehicle], key: Callable[[Vehicle], Any]) -> dict[Any, int]:
        return dict(Counter(key(v) for v in found if key(v) is not None))

    bands = (0, 20000, 40000, 60000, 80000, 100000, 150000, 200000)
    return {
        "found": {"total": len(under())},
        "brand": tally(under("brand"), lambda v: plain(v.brand)),
        "model": tally(under("model"), lambda v: plain(v.model)) if "brand" in params else {},
        "year": tally(under("year_min", "year_max"), lambda v: v.year),
        "fuel": tally(under("fuel"), lambda v: v.fuel),
        "transmission": tally(under("transmission"), lambda v: v.transmission),
        "price": tally(under("price_min", "price_max"), lambda v: max(b for b in bands if v.price >= b)),
    }


def test_facets_kept_by_cells_or_counted_from_vehicles_agree_with_a_count_of_every_vehicle(client: Client) -> None:
    """The kept cells (migration 0011) answer facets filtered by brand, model, year, fuel and
    gearbox; mileage, price and text count the vehicles. Both must be exact after vehicles
    are listed, reserved, sold and edited across cells and price bands, and so must the
    total, which a facet counted under all the search's filters gives."""
    rng = random.Random(15)
    listed = [
        client.create(
            brand=rng.choice(["Volkswagen", "VOLKSWAGEN", "Fiat", "Citroën", "citroen"]),
            model=rng.choice(["Gol", "gol", "Uno", "C3"]),
            year=rng.choice([2012, 2019, 2020]),
            price=rng.choice([15000, 20000, 39999.99, 45900, 99000, 150000, 250000]),
            **rng.choice([{}, {"fuel": "flex"}, {"fuel": "etanol"}]),
            **rng.choice([{}, {"transmission": "automatico"}, {"transmission": "manual"}]),
            **rng.choice([{}, {"mileage_km": 30000}, {"mileage_km": 90000}]),
        )
        for _ in range(30)
    ]
    for vehicle in listed[:3]:
        client.reserve(vehicle)
    for vehicle in listed[3:7]:
        client.sell(vehicle)
    edits = [{"price": 180000}, {"brand": "Fiat", "fuel": None}, {"year": 2012, "transmission": "cvt"}]
    for vehicle, edit in zip(listed[7:], edits, strict=False):
        response = client.http.patch(f"/vehicles/{vehicle['id']}", json=edit, headers=client.tokens.staff())
        assert response.status_code == 200, response.text
    with app_runtime(client.http.app).uow_factory() as uow:
        vehicles = list(uow.session.scalars(sa.select(Vehicle)))
    searches: list[dict[str, Any]] = [
        {},
        {"brand": "volkswagen", "fuel": "flex"},
        {"brand": "CITROEN", "model": "c3", "year_min": 2019},
        {"transmission": "automatico", "year_max": 2019},
        {"price_min": 20000, "price_max": 99000},  # bands of the cells, 80,000 and up counted
        {"mileage_max": 50000, "brand": "fiat"},
        {"year_min": 2019, "year_max": 2020, "price_max": 99000},  # the total from the brands
        {"brand": "fiat", "year_min": 2012, "price_min": 20000},  # from nothing but a count
        {"price_min": 30000, "price_max": 150000},  # whole bands, and vehicles at both edges
        {"price_min": 30000, "price_max": 35000},  # no whole band: every vehicle counted
    ]
    for params in searches:
        for listing in (None, "available", "sold"):
            asked = {**params, **({"status_filter": listing} if listing else {})}
            body = client.http.get("/vehicles", params={**asked, "facets": "true", "limit": 1}).json()
            found = body["facets"]
            shown: dict[str, dict[Any, int]] = {
                "found": {"total": body["total"]},  # summed from a facet when one counts them all
            } | {
                dimension: {
                    (plain(e["value"]) if dimension in ("brand", "model") else e["value"]): e["count"]
                    for e in found[dimension]
                }
                for dimension in ("brand", "model", "year", "fuel", "transmission")
            }
            shown["price"] = {band["min"]: band["count"] for band in found["price"]}
            assert shown == expected_facets(vehicles, asked), asked


def test_a_search_by_what_the_cells_hold_totals_each_listing_apart(client: Client, catalogue: dict[str, str]) -> None:
    """Totals of searches by brand, model, year, fuel or gearbox are summed from the facet
    cells: the listing, and each vehicle's moves between listings, must hold there too."""
    client.sell({"id": catalogue["polo"], "price": CATALOGUE["polo"]["price"]})
    client.reserve({"id": catalogue["gol"], "price": CATALOGUE["gol"]["price"]})
    expected = {
        None: {"gol", "polo", "gol_old"},
        "available": {"gol_old"},
        "sold": {"polo"},
    }
    for listing, names in expected.items():
        params = {"brand": "volkswagen", **({"status_filter": listing} if listing else {})}
        found, total = search(client, limit=10, **params)
        assert {v["id"] for v in found} == {catalogue[n] for n in names} and total == len(names), listing
    flex, total = search(client, status_filter="available", fuel="flex", year_min=2012)
    assert {v["id"] for v in flex} == {catalogue["uno"]} and total == 1


def test_a_search_reads_outside_a_transaction_and_leaves_every_connection_transactional(
    client: Client, catalogue: dict[str, str]
) -> None:
    """A search runs its statements in autocommit (no BEGIN, no ROLLBACK): the connections
    it used must come back to the pool as they were, or the next unit of work's writes
    would each commit on their own."""
    runtime = app_runtime(client.http.app)
    size = runtime.settings.db_pool_size
    with contextlib.ExitStack() as held:  # every pooled connection, each serving a search
        for _ in range(size):
            uow = held.enter_context(runtime.uow_factory())
            assert uow.vehicles.find(Search(brand="volkswagen"), Sort.PRICE_ASC, None, 10).total == 3
    with contextlib.ExitStack() as held:
        for _ in range(size):
            session = held.enter_context(runtime.uow_factory()).session
            first, second = (session.scalar(sa.text("SELECT pg_current_xact_id()::text")) for _ in range(2))
            assert first == second  # both statements in one transaction
