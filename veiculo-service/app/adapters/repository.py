"""Repositories over the mapped domain classes, and the keyset-paginated listings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.adapters.orm import (
    DOCUMENT,
    MILEAGE_ORDER,
    facet_counts,
    fold,
    listing_bands,
    listing_condition,
    listing_counts,
    photos,
    text_query,
    vehicles,
)
from app.domain.model import Fuel, Photo, PhotoStatus, Reservation, Transmission, Vehicle
from mercado_shared.ids import is_uuid


class Listing(StrEnum):
    AVAILABLE = "available"
    SOLD = "sold"


class Sort(StrEnum):
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NEWEST = "newest"
    YEAR_DESC = "year_desc"
    MILEAGE_ASC = "mileage_asc"


@dataclass(frozen=True)
class Order:
    """What a sort orders by (ties by id, in the same direction) and how its cursor's value
    reads back."""

    key: sa.ColumnElement[Any]
    descending: bool
    parse: Callable[[str], object]


ORDERS: dict[Sort, Order] = {
    Sort.PRICE_ASC: Order(vehicles.c.price, False, Decimal),
    Sort.PRICE_DESC: Order(vehicles.c.price, True, Decimal),
    Sort.NEWEST: Order(vehicles.c.created_at, True, datetime.fromisoformat),
    Sort.YEAR_DESC: Order(vehicles.c.year, True, int),
    Sort.MILEAGE_ASC: Order(MILEAGE_ORDER, False, int),
}


@dataclass(frozen=True)
class Position:
    """Where a page starts: after the vehicle with this sort value and id."""

    sort: Sort
    value: object
    id: str


@dataclass(frozen=True)
class Search:
    """A buyer's filters; None is "any". Brand and model match without case or accents."""

    listing: Listing | None = None
    brand: str | None = None
    model: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    mileage_max: int | None = None
    fuel: Fuel | None = None
    transmission: Transmission | None = None
    words: tuple[str, ...] | None = None  # free text: every word, or one it begins

    @property
    def listing_name(self) -> str:
        """The listing it searches, as the listings' rules and kept totals name it."""
        return self.listing.value if self.listing else "all"

    @property
    def narrowed(self) -> bool:
        """Whether it filters more than a listing does (whose total is kept by a trigger)."""
        return any(getattr(self, f) is not None for f in _FILTERS)

    @property
    def priced(self) -> bool:
        return self.price_min is not None or self.price_max is not None

    @property
    def cell_filtered(self) -> bool:
        """Whether it names a brand, model, year, fuel or gearbox (which narrow the cells)."""
        return any(getattr(self, f) is not None for f in _CELL_FILTERS)

    @property
    def bands(self) -> tuple[int, int] | None:
        """The price bands (first and last, counted from 1 as width_bucket does) that lie
        wholly inside its price range; None if none does."""
        inside = [
            i
            for i in range(1, len(PRICE_BANDS) + 1)
            if (self.price_min is None or PRICE_BANDS[i - 1] >= self.price_min)
            and (
                self.price_max is None
                if i == len(PRICE_BANDS)  # the last band has no top
                else self.price_max is None or PRICE_BANDS[i] - _CENT <= self.price_max
            )
        ]
        return (inside[0], inside[-1]) if inside else None

    @property
    def by_cells(self) -> bool:
        """Whether the facet-count cells (orm.facet_counts) answer it: it filters by what a
        cell holds (a brand, model, year, fuel and gearbox), and by a price range only where
        whole bands of it lie inside (the vehicles at its edges are then counted one by one)."""
        if any(getattr(self, f) is not None for f in _FILTERS.keys() - _CELL_FILTERS - _PRICE_FILTERS):
            return False
        return not self.priced or self.bands is not None

    def edges(self) -> list[list[sa.ColumnElement[bool]]]:
        """When the cells answer it (by_cells) with a price range: the conditions on the
        vehicles of the range that the whole bands leave out, below them and above them,
        each a range of the price index."""
        if not self.priced or self.bands is None:
            return []
        first, last = self.bands
        found = []
        bottom = PRICE_BANDS[first - 1]
        if self.price_min is not None and self.price_min < bottom:
            found.append(replace(self, price_max=bottom - _CENT).conditions())
        top = PRICE_BANDS[last] if last < len(PRICE_BANDS) else None
        if top is not None and self.price_max is not None and self.price_max >= top:
            found.append(replace(self, price_min=Decimal(top)).conditions())
        return found

    def without(self, *names: str) -> Search:
        """The same search, not filtered by ``names`` (a facet counts ignoring its own)."""
        return replace(self, **dict.fromkeys(names))

    def conditions(self, table: sa.Table = vehicles) -> list[sa.ColumnElement[bool]]:
        """Its conditions on ``table``: the vehicles, or (when by_cells) their facet counts,
        whose price range is which of their bands are summed (cell_count)."""
        listing = self.listing_name
        found = [listing_condition(listing) if table is vehicles else table.c.listing == listing]
        for name, condition in _FILTERS.items():
            value = getattr(self, name)
            if value is not None and (table is vehicles or name in _CELL_FILTERS):
                found.append(condition(table.c, value))
        return found

    def cell_count(self) -> sa.ColumnElement[Any]:
        """What a cell counts of the vehicles it finds: all of them, or those of the whole
        bands inside its price range."""
        if not self.priced:
            return facet_counts.c.vehicles
        assert self.bands is not None, "a price range the cells answer"
        return _bands_sum(*self.bands)


@functools.cache
def _bands_sum(first: int, last: int) -> sa.ColumnElement[Any]:
    """A cell's vehicles in bands ``first`` to ``last`` (built once for each pair)."""
    bands = [facet_counts.c.price_bands[i] for i in range(first, last + 1)]
    return sum(bands[1:], bands[0])


_FILTERS: dict[str, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    "brand": lambda c, v: fold(c.brand) == fold(sa.literal(v, sa.Text)),
    "model": lambda c, v: fold(c.model) == fold(sa.literal(v, sa.Text)),
    "year_min": lambda c, v: c.year >= v,
    "year_max": lambda c, v: c.year <= v,
    "price_min": lambda c, v: c.price >= v,
    "price_max": lambda c, v: c.price <= v,
    "mileage_max": lambda c, v: c.mileage_km <= v,  # an unknown mileage is not known to be low
    "fuel": lambda c, v: c.fuel == v,
    "transmission": lambda c, v: c.transmission == v,
    "words": lambda c, v: DOCUMENT.op("@@")(text_query(list(v))),
}
# The filters a facet-count cell answers: it holds a brand, model, year, fuel and gearbox;
# and a price range, band by band.
_CELL_FILTERS = {"brand", "model", "year_min", "year_max", "fuel", "transmission"}
_PRICE_FILTERS = {"price_min", "price_max"}
_CENT = Decimal("0.01")  # prices have two decimals: the last price below a band's bound
# The dimensions every vehicle has a value of (fuel and gearbox may be unknown).
_EVERY_VEHICLE_HAS = ("year", "brand", "price")
# The filters each facet ignores: its own.
_FACET_FILTERS = {
    "brand": ("brand",),
    "model": ("model",),
    "year": ("year_min", "year_max"),
    "fuel": ("fuel",),
    "transmission": ("transmission",),
    "price": ("price_min", "price_max"),
}


# What a facet-count cell holds of its vehicles.
_CELL = ("brand", "model", "year", "fuel", "transmission")
# Price bands a buyer narrows by (R$): each from its bound to the next; the last is open.
PRICE_BANDS = (0, 20_000, 40_000, 60_000, 80_000, 100_000, 150_000, 200_000)


# The orders each listing has an index of (orm.py), which a text search that finds many
# walks to its page; in any other order it sorts every vehicle it finds.
_INDEXED: dict[Listing | None, set[Sort]] = {
    Listing.AVAILABLE: set(Sort),
    Listing.SOLD: {Sort.PRICE_ASC, Sort.PRICE_DESC},
    None: {Sort.PRICE_ASC, Sort.PRICE_DESC},
}


# What a search lists of each vehicle, read straight from its row (a query needs no domain
# object): its columns but the plate's key and its search document, whether it is reserved or sold, its cover (its
# first photo: cover_id, cover_width, cover_height; None without photos) and its value of
# the page's order (key).
LISTED = (
    *(c for c in vehicles.c if c.name not in ("plate_key", "document")),
    vehicles.c.reserved_by.is_not(None).label("is_reserved"),  # Vehicle.is_reserved
    vehicles.c.sold_at.is_not(None).label("is_sold"),  # Vehicle.is_sold
    photos.c.id.label("cover_id"),
    photos.c.width.label("cover_width"),
    photos.c.height.label("cover_height"),
)


Listed = dict[str, Any]  # LISTED and the page's key, by name


# A page's columns (built once: a statement's columns cost a request about 0.3 ms to build)
# and how a vehicle's cover joins it.
_LISTING = sa.select(*LISTED)
_COVER = sa.and_(photos.c.vehicle_id == vehicles.c.id, photos.c.position == 0)


@dataclass(frozen=True)
class Results:
    page: list[Listed]  # in the page's order
    total: int  # how many the search finds
    facets: Facets | None

    def after(self, sort: Sort, index: int) -> Position:
        """The position after its page's ``index``th vehicle."""
        listed = self.page[index]
        return Position(sort, listed["key"], listed["id"])


@dataclass(frozen=True)
class Facets:
    """How many vehicles each value would find, under the search's other filters."""

    brand: list[tuple[str, int]]
    model: list[tuple[str, int]]  # within the chosen brand; none without one
    year: list[tuple[int, int]]
    fuel: list[tuple[str, int]]
    transmission: list[tuple[str, int]]
    price: list[tuple[int, int | None, int]]  # band's low, high (None: open), vehicles
    total: int | None  # what the search finds, if a facet was counted under all its filters


def facet_statements(search: Search) -> dict[Search, list[str]]:
    """The facets to count, by the filters each is counted under: each dimension ignores
    its own filter, so those under the same filters share one statement. The model facet
    is counted within a chosen brand only."""
    under: dict[Search, list[str]] = {}
    for dimension, own in _FACET_FILTERS.items():
        if dimension != "model" or search.brand:
            under.setdefault(search.without(*own), []).append(dimension)
    return under


def grouped_by(bits: int, keys: int) -> int:
    """Which of ``keys`` grouping keys a GROUPING SETS row is grouped by, from PostgreSQL's
    grouping(k1, ..., kn): a bit per key, the first key highest, set for each key the row
    is not grouped by."""
    return next(i for i in range(keys) if not bits & (1 << (keys - 1 - i)))


def _by_count(counts: Iterable[tuple[Any, int]]) -> list[tuple[Any, int]]:
    return sorted(counts, key=lambda p: (-p[1], p[0]))[:100]


def _merged(written: list[tuple[str, str, int]]) -> list[tuple[str, int]]:
    """Names counted as written, merged by the name without case or accents, each shown as
    most often written."""
    merged: dict[str, tuple[int, str, int]] = {}  # folded -> total, label, the label's count
    for name, folded, n in written:
        total, label, most = merged.get(folded, (0, name, 0))
        if n > most or (n == most and name < label):
            label, most = name, n
        merged[folded] = (total + n, label, most)
    return _by_count((label, total) for total, label, _ in merged.values())


def sorts_all(found: int, limit: int, listed_in: int, listing: Listing | None, sort: Sort) -> bool:
    """Whether a text search that finds ``found`` of its listing's ``listed_in`` vehicles
    reads its page by sorting them all (found through the text index), rather than by
    walking its order's index, reading each vehicle's document, to the page: about
    limit × listed_in / found vehicles. Either costs about the same when found² = limit ×
    listed_in; without an index of the order in its listing, it sorts them all anyway."""
    return found * found < limit * listed_in or sort not in _INDEXED[listing]


class VehicleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, vehicle: Vehicle) -> None:
        self.session.add(vehicle)

    def get(self, vehicle_id: str) -> Vehicle | None:
        return self.session.get(Vehicle, vehicle_id) if is_uuid(vehicle_id) else None

    def bought_by(self, customer_id: str) -> list[Vehicle]:
        query = sa.select(Vehicle).where(vehicles.c.buyer_id == customer_id)
        return list(self.session.scalars(query.order_by(vehicles.c.sold_at, vehicles.c.id)))

    def get_for_update(self, vehicle_id: str) -> Vehicle | None:
        if not is_uuid(vehicle_id):
            return None
        return self.session.get(Vehicle, vehicle_id, with_for_update=True)

    def find(self, search: Search, sort: Sort, after: Position | None, limit: int, facets: bool = False) -> Results:
        """A page in ``sort``'s order after ``after`` (LISTED), how many vehicles the search
        finds, and (if asked) its facets. The total comes from whatever already counts the
        vehicles: a facet counted under every filter of the search, else the page's own
        statement (a column of it: the totals kept by the database, or a count); a text
        search counts first, since how many it finds decides how its page is read."""
        # A search only reads, and each of its statements is exact on its own (as under READ
        # COMMITTED): it runs outside a transaction, saving a BEGIN and a ROLLBACK round trip.
        self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        counted = self.facets(search) if facets else None
        total = counted.total if counted is not None else None
        if search.words:
            total, listed_in = self._text_counts(search, total)
            if not total:  # nothing to list: no second scan
                return Results([], 0, counted)
            sort_all = sorts_all(total, limit, listed_in, search.listing, sort)
            return Results(self._page(search, sort, after, limit, counting=False, sort_all=sort_all), total, counted)
        listed = self._page(search, sort, after, limit, counting=total is None, sort_all=False)
        if total is None and listed:
            total = listed[0]["total"]
        elif total is None:  # no row to carry it: nothing found, or a page past the last
            total = 0 if after is None else self._total(search)
        return Results(listed, total, counted)

    def _text_counts(self, search: Search, total: int | None) -> tuple[int, int]:
        """How many vehicles a text search finds (``total`` if already counted), and how many
        its listing holds, in one statement."""
        counts = [] if total is not None else [_total_query(search).scalar_subquery()]
        counts.append(_total_query(Search(listing=search.listing)).scalar_subquery())
        *found, listed_in = self.session.execute(sa.select(*counts)).one()
        return (total if total is not None else int(found[0])), int(listed_in)

    def _page(
        self, search: Search, sort: Sort, after: Position | None, limit: int, counting: bool, sort_all: bool
    ) -> list[Listed]:
        """The page; each row also carries its search's total (``total``) if ``counting``.
        ``sort_all``: find every vehicle first (through the text index), then sort them;
        else walk the order's index to the page, which the planner does from the index
        alone for any other search (it carries what the filters read: migrations 0012 and
        0014). A text search walks it reading each vehicle's document: its match is asked
        as a function (ts_match_vq, what @@ calls), which no index answers, so the planner
        does not sort every vehicle the text index finds (it guesses how many from
        defaults: 40 for "único dono", which finds 10,000)."""
        if search.words and not sort_all:
            read = sa.func.ts_match_vq(DOCUMENT, text_query(list(search.words)), type_=sa.Boolean)
            conditions = [*search.without("words").conditions(), read]
        else:
            conditions = search.conditions()
        order = ORDERS[sort]
        matches = sa.select(vehicles.c.id, order.key.label("key")).where(*conditions)
        found = matches.cte("found").prefix_with("MATERIALIZED") if sort_all else matches.subquery("found")
        ids = sa.select(found.c.id, found.c.key)
        if after is not None:
            here = sa.tuple_(found.c.key, found.c.id)
            there = sa.tuple_(sa.literal(after.value, order.key.type), sa.literal(after.id, sa.Uuid(as_uuid=False)))
            ids = ids.where(here < there if order.descending else here > there)
        in_order = (found.c.key.desc(), found.c.id.desc()) if order.descending else (found.c.key, found.c.id)
        page = ids.order_by(*in_order).limit(limit).subquery("page")
        # Then those vehicles and their covers (their first photo).
        columns = [page.c.key]
        if counting:
            columns.append(_total_query(search).scalar_subquery().label("total"))
        query = _LISTING.add_columns(*columns).join(page, vehicles.c.id == page.c.id).outerjoin(photos, _COVER)
        ordered = (page.c.key.desc(), page.c.id.desc()) if order.descending else (page.c.key, page.c.id)
        rows = self.session.execute(query.order_by(*ordered))
        names = list(rows.keys())
        return [dict(zip(names, row, strict=True)) for row in rows]

    def facets(self, search: Search) -> Facets:
        """Each dimension counted under the search's other filters. Dimensions under the
        same filters are counted by one statement (a grouping set each); from the kept
        cells when the filters are all a cell holds (a first screen, a brand and a fuel),
        else from the vehicles themselves (free text, mileage, a price range)."""
        counted: dict[str, list[tuple[Any, Any, int]]] = {}  # value, its folded name, vehicles
        statements = facet_statements(search)
        for other, dimensions in statements.items():
            counted.update(self._count(other, dimensions))
        # A dimension counted under every filter of the search, whose every vehicle has a
        # value, counts each vehicle the search finds once.
        whole = next((d for d in statements.get(search, []) if d in _EVERY_VEHICLE_HAS), None)
        return Facets(
            brand=_merged(counted.get("brand", [])),
            model=_merged(counted.get("model", [])),
            year=sorted(((v, n) for v, _, n in counted["year"]), reverse=True),
            fuel=_by_count((v, n) for v, _, n in counted["fuel"]),
            transmission=_by_count((v, n) for v, _, n in counted["transmission"]),
            price=[
                (PRICE_BANDS[i - 1], PRICE_BANDS[i] if i < len(PRICE_BANDS) else None, n)
                for i, _, n in sorted(counted["price"])
            ],
            total=None if whole is None else sum(n for _, _, n in counted[whole]),
        )

    def _count(self, search: Search, dimensions: list[str]) -> dict[str, list[tuple[Any, Any, int]]]:
        """Vehicles per value of each dimension under ``search``, in one statement."""
        cells = search.by_cells
        found: dict[str, list[tuple[Any, Any, int]]] = {d: [] for d in dimensions}
        if cells and "price" in dimensions:
            assert not search.priced, "the price facet ignores the price range"
            found["price"] = self._bands(search)
            dimensions = [d for d in dimensions if d != "price"]
        if not dimensions:
            return found
        table: sa.Table | sa.Subquery = vehicles
        conditions: list[sa.ColumnElement[bool]] = search.conditions()
        n: sa.ColumnElement[Any] = sa.func.count()
        if cells:  # the cells' counts, and one for each vehicle at the price range's edges
            kept = sa.select(*(facet_counts.c[c] for c in _CELL), search.cell_count().label("n"))
            edge = sa.select(*(vehicles.c[c] for c in _CELL), sa.literal(1).label("n"))
            edges = [edge.where(*range_) for range_ in search.edges()]
            table = sa.union_all(kept.where(*search.conditions(facet_counts)), *edges).subquery("counted")
            conditions, n = [], sa.func.sum(table.c.n)
        band = sa.func.width_bucket(vehicles.c.price, sa.literal(list(PRICE_BANDS), ARRAY(sa.Numeric)))
        keys = [band if d == "price" else table.c[d] for d in dimensions]
        names = [fold(table.c[d]) if d in ("brand", "model") else sa.null() for d in dimensions]
        which = sa.func.grouping(*keys) if len(keys) > 1 else sa.literal(0)
        query = sa.select(which, *keys, *names, n).where(*conditions)
        query = query.group_by(sa.func.grouping_sets(*(sa.tuple_(k) for k in keys)) if len(keys) > 1 else keys[0])
        for set_bits, *row in self.session.execute(query):
            at = grouped_by(set_bits, len(keys))
            value, name, count = row[at], row[len(keys) + at], int(row[-1])
            if value is not None and count:
                found[dimensions[at]].append((value, name, count))
        return found

    def _bands(self, search: Search) -> list[tuple[Any, Any, int]]:
        """Vehicles per price band under a search the cells answer: the listing's own bands
        if it names nothing else (migration 0015), else its cells' (each cell spreads its
        vehicles over the bands)."""
        if not search.cell_filtered:
            summed = sa.select(listing_bands.c.band, sa.func.sum(listing_bands.c.vehicles))
            query = summed.where(listing_bands.c.listing == search.listing_name).group_by(listing_bands.c.band)
            return [(band, None, int(n)) for band, n in sorted(self.session.execute(query).all()) if n]
        per_band = [sa.func.sum(facet_counts.c.price_bands[i]) for i in range(1, len(PRICE_BANDS) + 1)]
        bands = self.session.execute(sa.select(*per_band).where(*search.conditions(facet_counts))).one()
        return [(i, None, int(n)) for i, n in enumerate(bands, start=1) if n]

    def _total(self, search: Search) -> int:
        return int(self.session.scalar(_total_query(search)) or 0)


def _total_query(search: Search) -> sa.Select[Any]:
    """How many vehicles a search finds, exactly, kept by the database where it can be: a
    listing's from its totals; a search by brand, model, year, fuel or gearbox (and a price
    range) from the facet cells of those (a few hundred rows, not every vehicle it finds);
    anything else counted. A price range alone is counted from the price index: summing
    every cell of the listing costs more than counting the vehicles of a range."""
    if search.narrowed and search.by_cells and search.cell_filtered:
        cells = sa.select(sa.func.coalesce(sa.func.sum(search.cell_count()), 0))
        cells = cells.where(*search.conditions(facet_counts))
        if not search.priced:
            return cells
        edges = [sa.select(sa.func.count()).select_from(vehicles).where(*e) for e in search.edges()]
        return sa.select(sum((e.scalar_subquery() for e in edges), cells.scalar_subquery()))
    if search.narrowed:
        return sa.select(sa.func.count()).select_from(vehicles).where(*search.conditions())
    kept = sa.select(sa.func.coalesce(sa.func.sum(listing_counts.c.vehicles), 0))
    return kept.where(listing_counts.c.listing == search.listing_name)


class ReservationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, reservation: Reservation) -> None:
        self.session.add(reservation)

    def get_for_update(self, transaction_id: str) -> Reservation | None:
        return self.session.get(Reservation, transaction_id, with_for_update=True)


class PhotoRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, photo: Photo) -> None:
        self.session.add(photo)

    def delete(self, photo: Photo) -> None:
        self.session.delete(photo)

    def get(self, vehicle_id: str, photo_id: str) -> Photo | None:
        if not is_uuid(photo_id):
            return None
        photo = self.session.get(Photo, photo_id)
        return photo if photo is not None and photo.vehicle_id == vehicle_id else None

    def of_vehicle(self, vehicle_id: str) -> list[Photo]:
        """Its photos: the ready ones in gallery order, then those uploading."""
        query = sa.select(Photo).where(photos.c.vehicle_id == vehicle_id)
        return list(self.session.scalars(query.order_by(photos.c.position.nulls_last(), photos.c.created_at)))

    def gallery(self, vehicle_id: str) -> list[Photo]:
        return [p for p in self.of_vehicle(vehicle_id) if p.status is PhotoStatus.READY]

    def abandoned(self, before: datetime, limit: int) -> list[Photo]:
        """Uploads never confirmed, handed out before ``before``, oldest first; locked, and
        skipping those another sweep (or a confirmation) holds."""
        query = (
            sa.select(Photo)
            .where(photos.c.status == PhotoStatus.UPLOADING.value, photos.c.created_at < before)
            .order_by(photos.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(query))
