"""The city the generator fills: the reference data already in the database (wards,
agencies, categories, routing rules, rejection reasons), read once, with the weights that
make generated reports look like a city's.

- Wards: weighted by a population estimate, area × a density that falls off with the
  distance from Hoàn Kiếm Lake (central wards are small and crowded), communes (xã) less
  engaged than urban wards (phường). Each ward has a pool of report spots inside its
  boundary (checked with the same point → ward index the app uses), some busier than
  others.
- Categories: Zipf-like over a realistic popularity order (rubbish and pavements first,
  initiatives last), tilted per ward (communes report more building and rubbish, fewer
  pavements) and by season (flooding and fallen trees in the rainy season and on storm
  days; smoke and street markets in the dry months).
- Agencies: each has its habits, drawn once: how fast it works, how well residents rate
  it, how often something stays unhandled.

Nothing here writes to the database.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

import h3
from django.conf import settings
from django.utils import translation

from ihanoi.agencies.models import Agency
from ihanoi.feedback.models import H3_RESOLUTION, Category, Kind, Question, RejectionReason
from ihanoi.feedback.reference import Reference, reference
from ihanoi.feedback.routing import route
from ihanoi.lib.geo import WardHit, WardIndex
from ihanoi.places.models import AdministrativeUnit
from ihanoi.places.selectors import current_wards, ward_index

# Hoàn Kiếm Lake, the centre the density model measures from.
CENTRE = (21.0287, 105.8523)
KM_PER_DEGREE = 111.2

# Most reported first; a category not named here ranks after these, in catalogue order.
POPULARITY = (
    "moi-truong-ve-sinh",
    "trat-tu-do-thi",
    "giao-thong",
    "trat-tu-xay-dung",
    "chieu-sang-dien",
    "thoat-nuoc-ngap",
    "cay-xanh",
    "cap-nuoc",
    "an-ninh-trat-tu",
    "khac",
    "an-toan-thuc-pham",
    "thu-tuc-hanh-chinh",
    "lang-phi",
    "sang-kien",
)
ZIPF_EXPONENT = 0.9

SEASON_FACTORS: dict[str, dict[str, float]] = {
    "normal": {},
    "rainy": {"thoat-nuoc-ngap": 2.5, "cay-xanh": 1.6},
    "storm": {"thoat-nuoc-ngap": 10.0, "cay-xanh": 8.0, "chieu-sang-dien": 2.0},
    "dry": {"moi-truong-ve-sinh": 1.25, "trat-tu-do-thi": 1.15},
}
SEASONS = tuple(SEASON_FACTORS)
COMMUNE_FACTORS = {
    "trat-tu-xay-dung": 1.6,
    "moi-truong-ve-sinh": 1.3,
    "thu-tuc-hanh-chinh": 1.2,
    "giao-thong": 0.8,
    "trat-tu-do-thi": 0.6,
}
URBAN_FACTORS = {"trat-tu-do-thi": 1.2}

KIND_OF_CATEGORY = {
    "thu-tuc-hanh-chinh": Kind.PROCEDURE,
    "lang-phi": Kind.WASTE,
    "sang-kien": Kind.INITIATIVE,
}
# Who a ward's People's Committee passes a report on to, by category (agency codes of the
# seed; those missing or inactive are skipped).
SPECIALISTS: dict[str, tuple[str, ...]] = {
    "an-ninh-trat-tu": ("cong-an-thanh-pho",),
    "cap-nuoc": (
        "nuoc-sach-ha-noi",
        "nuoc-sach-so-2",
        "nuoc-sach-so-3",
        "viwaco",
        "nuoc-sach-ha-dong",
    ),
    "moi-truong-ve-sinh": ("urenco", "so-nong-nghiep-moi-truong"),
    "thoat-nuoc-ngap": ("thoat-nuoc-ha-noi",),
    "chieu-sang-dien": ("evn-hanoi",),
    "trat-tu-xay-dung": ("so-xay-dung", "so-quy-hoach-kien-truc"),
    "giao-thong": ("so-xay-dung", "cong-an-thanh-pho"),
    "cay-xanh": ("so-xay-dung",),
    "an-toan-thuc-pham": ("so-y-te", "so-cong-thuong"),
    "thu-tuc-hanh-chinh": ("ttpvhcc", "so-tu-phap", "so-noi-vu"),
    "lang-phi": ("thanh-tra-thanh-pho", "so-tai-chinh"),
    "sang-kien": ("van-phong-ubnd-thanh-pho",),
}
REJECTION_WEIGHTS = {
    "khong-phu-hop": 30,
    "khieu-nai-to-cao": 25,
    "khong-ro": 20,
    "trung-lap": 12,
    "ngoai-dia-ban": 8,
    "bi-mat": 1,
}
SPOTS_PER_WARD = 96
# A report lands within ~15 m of its spot (kept inside the ward).
JITTER_DEGREES = 0.00015


class MissingReferenceData(Exception):
    """The database lacks wards, agencies or categories to generate reports with."""


LOAD_HINT = (
    "load the reference data first: `ihanoi load_places`, `ihanoi seed_agencies` and "
    "`ihanoi seed_feedback` (or `ihanoi demo_setup`, which runs all three)"
)


@dataclass
class WardInfo:
    unit: AdministrativeUnit
    is_commune: bool
    centre: tuple[float, float]
    population: float
    spots: list[Spot] = field(default_factory=list)
    spot_cum: list[float] = field(default_factory=list)
    neighbours: list[int] = field(default_factory=list)  # committees of the nearest wards


@dataclass(frozen=True, slots=True)
class Spot:
    lat: float
    lon: float
    cell: str  # H3 cell at the reports' resolution
    # The square of ±JITTER_DEGREES around it lies in the same ward: reports may land
    # anywhere in it without leaving the ward.
    roomy: bool


@dataclass
class CategoryInfo:
    category: Category
    kind: str
    questions: list[Question]
    specialists: list[int]


@dataclass(frozen=True)
class Habits:
    """How an agency works: a factor on its handling times, a shift of its residents'
    ratings, and the chance that an item stays unhandled with it."""

    speed: float
    quality: float
    neglect: float


@dataclass(frozen=True)
class Routing:
    agency: int | None
    reason: str
    rules: tuple[int, ...]
    note: str


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * KM_PER_DEGREE
    dx = (a[1] - b[1]) * KM_PER_DEGREE * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dx, dy)


def _population(area_km2: float, distance_km: float) -> float:
    """People in a ward: ~30,000/km² in the old quarter falling to rural ~900/km²."""
    return area_km2 * (28_000 * math.exp(-distance_km / 3.5) + 900)


def _centre(unit: AdministrativeUnit) -> tuple[float, float] | None:
    if unit.centre_lat is not None and unit.centre_lon is not None:
        return unit.centre_lat, unit.centre_lon
    if unit.boundary:
        from shapely.geometry import shape

        try:
            point = shape(unit.boundary).representative_point()
        except (ValueError, TypeError, AttributeError):
            return None
        return point.y, point.x
    return None


class City:
    """Reference data and weights; ``load`` reads them from the database."""

    def __init__(
        self,
        *,
        wards: list[WardInfo],
        categories: list[CategoryInfo],
        habits: dict[int, Habits],
        agency_codes: dict[int, str],
        reasons: list[tuple[str, str]],
        rng: random.Random,
    ) -> None:
        self.wards = wards
        self.categories = categories
        self.habits = habits
        self.agency_codes = agency_codes
        self.reasons = reasons
        self.reason_cum = list(
            accumulate(REJECTION_WEIGHTS.get(code, 5) for code, _text in reasons)
        )
        self.ward_cum = list(
            accumulate(w.population * (0.55 if w.is_commune else 1.0) for w in wards)
        )
        self._category_cum = self._category_weights(rng)
        self._routes: dict[tuple[int, int], Routing] = {}
        # One snapshot for the whole load: the generator runs in a transaction, where
        # reference() would read the tables afresh at each call.
        self._reference: Reference | None = None

    # --- Loading ----------------------------------------------------------------------------

    @classmethod
    def load(cls, rng: random.Random, *, spots_per_ward: int = SPOTS_PER_WARD) -> City:
        units = list(current_wards().order_by("code"))
        if not units:
            raise MissingReferenceData(f"There are no current wards/communes: {LOAD_HINT}.")
        categories = list(
            Category.objects.filter(is_active=True).prefetch_related("questions").order_by("pk")
        )
        if not categories:
            raise MissingReferenceData(f"There are no active categories: {LOAD_HINT}.")
        agencies = list(
            Agency.objects.filter(is_active=True).exclude(kind=Agency.Kind.HUB).order_by("pk")
        )
        if not agencies:
            raise MissingReferenceData(f"There are no agencies to route reports to: {LOAD_HINT}.")
        committees: dict[int, int] = {}
        for unit_id, agency_id in Agency.objects.filter(
            kind=Agency.Kind.WARD_COMMITTEE, is_active=True, served_units__in=units
        ).values_list("served_units", "pk"):
            committees.setdefault(unit_id, agency_id)

        wards = cls._wards(units, rng, spots_per_ward)
        for ward in wards:
            by_distance = sorted(
                (_distance_km(ward.centre, other.centre), i)
                for i, other in enumerate(wards)
                if other is not ward
            )
            nearest = [wards[i].unit.pk for _distance, i in by_distance[:4]]
            ward.neighbours = [committees[pk] for pk in nearest if pk in committees][:3]
        by_code = {a.code: a.pk for a in agencies}
        infos = [
            CategoryInfo(
                category=category,
                kind=KIND_OF_CATEGORY.get(category.code, Kind.FIELD),
                questions=list(category.questions.all()),
                specialists=[
                    by_code[code] for code in SPECIALISTS.get(category.code, ()) if code in by_code
                ],
            )
            for category in categories
        ]
        habits = {}
        committee_ids = set(committees.values())
        commune_committees = {
            committees[w.unit.pk] for w in wards if w.is_commune and w.unit.pk in committees
        }
        for agency in agencies:
            speed = math.exp(rng.gauss(0, 0.35)) * (1.15 if agency.pk in commune_committees else 1)
            speed = min(3.0, max(0.4, speed))
            habits[agency.pk] = Habits(
                speed=speed,
                quality=rng.gauss(0, 0.45) - (0.1 if agency.pk in committee_ids else 0),
                neglect=min(0.08, 0.012 * speed * speed),
            )
        reasons = list(
            RejectionReason.objects.filter(is_active=True)
            .order_by("pk")
            .values_list("code", "text")
        )
        return cls(
            wards=wards,
            categories=infos,
            habits=habits,
            agency_codes={a.pk: a.code for a in agencies},
            reasons=reasons,
            rng=rng,
        )

    @staticmethod
    def _wards(
        units: list[AdministrativeUnit], rng: random.Random, spots_per_ward: int
    ) -> list[WardInfo]:
        index = ward_index()
        centres = [_centre(unit) for unit in units]
        known = [c for c in centres if c is not None]
        fallback = (
            (sum(c[0] for c in known) / len(known), sum(c[1] for c in known) / len(known))
            if known
            else CENTRE
        )
        areas = sorted(u.area_km2 for u in units if u.area_km2)
        typical_area = areas[len(areas) // 2] if areas else 5.0
        wards = []
        for unit, centre in zip(units, centres, strict=True):
            centre = centre or fallback
            area = unit.area_km2 or typical_area
            ward = WardInfo(
                unit=unit,
                is_commune=unit.unit_type.lower().startswith("xã"),
                centre=centre,
                population=_population(area, _distance_km(centre, CENTRE)),
            )
            _place_spots(ward, index, rng, spots_per_ward)
            wards.append(ward)
        return wards

    def _category_weights(self, rng: random.Random) -> dict[tuple[int, str], list[float]]:
        order = {code: rank for rank, code in enumerate(POPULARITY)}
        ranked = sorted(
            range(len(self.categories)),
            key=lambda i: (
                order.get(self.categories[i].category.code, len(order)),
                self.categories[i].category.position,
                self.categories[i].category.pk,
            ),
        )
        base = [0.0] * len(self.categories)
        for rank, i in enumerate(ranked):
            base[i] = 1 / (rank + 1) ** ZIPF_EXPONENT
        codes = [c.category.code for c in self.categories]
        table: dict[tuple[int, str], list[float]] = {}
        for w, ward in enumerate(self.wards):
            tilt = COMMUNE_FACTORS if ward.is_commune else URBAN_FACTORS
            own = [
                base[i] * tilt.get(code, 1.0) * math.exp(rng.gauss(0, 0.3))
                for i, code in enumerate(codes)
            ]
            for season, factors in SEASON_FACTORS.items():
                weights = [own[i] * factors.get(code, 1.0) for i, code in enumerate(codes)]
                table[(w, season)] = list(accumulate(weights))
        return table

    # --- Drawing ----------------------------------------------------------------------------

    def pick_ward(self, rng: random.Random) -> int:
        return bisect_right(self.ward_cum, rng.random() * self.ward_cum[-1])

    def pick_category(self, rng: random.Random, ward: int, season: str) -> int:
        cum = self._category_cum[(ward, season)]
        return bisect_right(cum, rng.random() * cum[-1])

    def pick_point(self, rng: random.Random, ward: int) -> tuple[float, float, str]:
        """A report's point: near one of the ward's spots, the busy ones more often."""
        info = self.wards[ward]
        spot = info.spots[bisect_right(info.spot_cum, rng.random() * info.spot_cum[-1])]
        if not spot.roomy:
            return spot.lat, spot.lon, spot.cell
        lat = round(spot.lat + rng.uniform(-JITTER_DEGREES, JITTER_DEGREES), 6)
        lon = round(spot.lon + rng.uniform(-JITTER_DEGREES, JITTER_DEGREES), 6)
        return lat, lon, h3.latlng_to_cell(lat, lon, H3_RESOLUTION)

    def pick_reason(self, rng: random.Random) -> tuple[str, str] | None:
        if not self.reasons:
            return None
        return self.reasons[bisect_right(self.reason_cum, rng.random() * self.reason_cum[-1])]

    def routing(self, category: int, ward: int) -> Routing:
        """What ``feedback.routing.route`` decides for this category in this ward (asked
        once per pair)."""
        key = (category, ward)
        found = self._routes.get(key)
        if found is None:
            self._reference = self._reference or reference()
            decision = route(
                category=self.categories[category].category,
                ward=self.wards[ward].unit,
                snapshot=self._reference,
            )
            with translation.override(settings.LANGUAGE_CODE):
                note = decision.explain()
            found = Routing(
                agency=decision.agency.pk if decision.agency else None,
                reason=decision.reason,
                rules=decision.rule_ids,
                note=note,
            )
            self._routes[key] = found
        return found

    def transfer_target(
        self, rng: random.Random, category: int, ward: int, holder: int | None
    ) -> int | None:
        """Where a report is passed on to: the category's specialist agency, or the
        committee of a neighbouring ward (a point near a boundary); never the holder."""
        specialists = [a for a in self.categories[category].specialists if a != holder]
        neighbours = [a for a in self.wards[ward].neighbours if a != holder]
        if specialists and (not neighbours or rng.random() < 0.65):
            return rng.choice(specialists)
        return rng.choice(neighbours) if neighbours else None

    def habits_of(self, agency: int) -> Habits:
        return self.habits.get(agency) or Habits(speed=1.0, quality=0.0, neglect=0.01)


def _place_spots(ward: WardInfo, index: WardIndex, rng: random.Random, count: int) -> None:
    """A pool of spots inside the ward, the busiest first (Zipf-like weights)."""
    unit = ward.unit
    lat0, lon0 = ward.centre
    box = (lat0 - 0.01, lon0 - 0.01, lat0 + 0.01, lon0 + 0.01)
    if unit.boundary:
        from shapely.geometry import shape

        try:
            west, south, east, north = shape(unit.boundary).bounds
            box = (south, west, north, east)
        except (ValueError, TypeError, AttributeError):
            pass
    south, west, north, east = box
    spots: list[Spot] = []

    def where(lat: float, lon: float) -> WardHit | None:
        return index.locate(lat, lon) if len(index) else None

    def draw(accept: Callable[[WardHit | None], bool], attempts: int) -> None:
        for _attempt in range(attempts):
            if len(spots) >= count:
                return
            lat = round(rng.uniform(south, north), 6)
            lon = round(rng.uniform(west, east), 6)
            if not accept(where(lat, lon)):
                continue
            d = JITTER_DEGREES
            corners = (
                (lat - d, lon - d),
                (lat - d, lon + d),
                (lat + d, lon - d),
                (lat + d, lon + d),
            )
            roomy = all(accept(where(*corner)) for corner in corners)
            spots.append(Spot(lat, lon, h3.latlng_to_cell(lat, lon, H3_RESOLUTION), roomy))

    if len(index):
        # Where the app will locate the point: in this very ward.
        draw(lambda hit: hit is not None and hit.unit_id == unit.pk, count * 60)
    if not spots:
        # A ward without a (usable) boundary: around its centre, off other wards' ground.
        draw(lambda hit: hit is None, count * 20)
    if not spots:
        spots = [Spot(lat0, lon0, h3.latlng_to_cell(lat0, lon0, H3_RESOLUTION), False)]
    ward.spots = spots
    ward.spot_cum = list(accumulate(1 / (rank + 1) ** 0.7 for rank in range(len(spots))))
