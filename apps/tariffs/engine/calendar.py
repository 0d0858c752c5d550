"""Retailer time-of-use calendars, pure. A calendar is a set of windows (season, day type, local start–end,
period label) that must tile every day of every season exactly once. Evaluated in the site's time zone: window
edges are local wall-clock times converted to UTC per local date, so on the nights the clocks change a period
lasts its real elapsed time (the October 01:00–02:00 hour in Lisbon happens twice and is two real hours).

Seasons: rule "none" (one season, "ALL") or "eu_legal_time": "SUMMER" from the last Sunday of March to the day
before the last Sunday of October (the EU legal-time change dates, as ERSE uses them), "WINTER" otherwise; the
season is chosen by the local calendar date. Day types: WEEKDAY, SATURDAY, SUNDAY; a national holiday (from the
`holidays` package, for `holiday_country`/`holiday_subdiv`) counts as `holiday_day_type` when that is set."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..exceptions import InvalidCalendar

SEASON_RULES = ("none", "eu_legal_time")
SEASONS = ("ALL", "SUMMER", "WINTER")
DAY_TYPES = ("ALL", "WEEKDAY", "SATURDAY", "SUNDAY")
CONCRETE_DAY_TYPES = ("WEEKDAY", "SATURDAY", "SUNDAY")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def hhmm_to_minute(value: str, *, allow_24: bool = False) -> int:
    if not isinstance(value, str) or not _HHMM.match(value) or (value == "24:00" and not allow_24):
        raise InvalidCalendar(f"“{value}” is not a time of day HH:MM" + (" (or 24:00)" if allow_24 else "") + ".")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def minute_to_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


@lru_cache(maxsize=256)
def _summer_span(year: int) -> tuple[date, date]:
    return _last_sunday(year, 3), _last_sunday(year, 10)


@lru_cache(maxsize=64)
def _holiday_set(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    import holidays  # the only non-stdlib import: loaded once per (country, year)

    try:
        calendar = holidays.country_holidays(country, subdiv=subdiv or None, years=[year])
    except NotImplementedError as exc:
        raise InvalidCalendar(f"The holidays package has no calendar for {country}"
                              f"{'/' + subdiv if subdiv else ''}.") from exc
    return frozenset(calendar.keys())


def is_holiday(*, country: str | None, subdiv: str | None, day: date) -> bool:
    if not country:
        return False
    return day in _holiday_set(country, subdiv, day.year)


@dataclass(frozen=True, slots=True)
class Window:
    season: str
    day_type: str
    start_minute: int
    end_minute: int
    period: str


@dataclass(frozen=True, slots=True)
class DaySlot:
    """A stretch of one local day with one period. start_minute/end_minute local; start_at/end_at UTC epoch s."""

    start_at: float
    end_at: float
    start_minute: int
    season: str
    day_type: str
    period: str


class CalendarSpec:
    """A validated calendar. Build from a dict (`from_dict`) or from the TouCalendar model (apps.tariffs)."""

    __slots__ = ("code", "name", "distributor", "country", "season_rule", "holiday_country", "holiday_subdiv",
                 "holiday_day_type", "windows", "_tables", "_days")

    def __init__(self, *, code: str, name: str = "", distributor: str = "", country: str = "",
                 season_rule: str = "none", holiday_country: str | None = None, holiday_subdiv: str | None = None,
                 holiday_day_type: str | None = None, windows: list[Window] | tuple[Window, ...]):
        if season_rule not in SEASON_RULES:
            raise InvalidCalendar(f"Calendar {code}: season rule “{season_rule}” is not one of {SEASON_RULES}.")
        if holiday_day_type not in (None, "", *CONCRETE_DAY_TYPES):
            raise InvalidCalendar(f"Calendar {code}: holidays count as “{holiday_day_type}”, which is not one of "
                                  f"{CONCRETE_DAY_TYPES}.")
        self.code = code
        self.name = name or code
        self.distributor = distributor
        self.country = country
        self.season_rule = season_rule
        self.holiday_country = holiday_country or None
        self.holiday_subdiv = holiday_subdiv or None
        self.holiday_day_type = holiday_day_type or None
        self.windows = tuple(windows)
        self._tables = self._build_tables()
        self._days: dict[tuple[date, str], tuple[DaySlot, ...]] = {}

    def __eq__(self, other) -> bool:
        return isinstance(other, CalendarSpec) and self.to_dict() == other.to_dict()

    __hash__ = None

    # -- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> CalendarSpec:
        if not isinstance(data, dict):
            raise InvalidCalendar("A calendar must be a JSON object.")
        for key in ("code", "windows"):
            if key not in data:
                raise InvalidCalendar(f"The calendar has no “{key}”.")
        holidays_cfg = data.get("holidays") or {}
        windows = []
        for i, raw in enumerate(data["windows"]):
            if not isinstance(raw, dict):
                raise InvalidCalendar(f"Calendar {data['code']}: window {i} is not an object.")
            try:
                windows.append(Window(
                    season=raw.get("season", "ALL"), day_type=raw.get("day_type", "ALL"),
                    start_minute=hhmm_to_minute(raw["start"]), end_minute=hhmm_to_minute(raw["end"], allow_24=True),
                    period=str(raw["period"])))
            except KeyError as exc:
                raise InvalidCalendar(f"Calendar {data['code']}: window {i} has no “{exc.args[0]}”.") from exc
        return cls(code=str(data["code"]), name=data.get("name", ""), distributor=data.get("distributor", ""),
                   country=data.get("country", ""), season_rule=data.get("season_rule", "none"),
                   holiday_country=holidays_cfg.get("country"), holiday_subdiv=holidays_cfg.get("subdiv"),
                   holiday_day_type=holidays_cfg.get("day_type"), windows=windows)

    def to_dict(self) -> dict:
        return {
            "code": self.code, "name": self.name, "distributor": self.distributor, "country": self.country,
            "season_rule": self.season_rule,
            "holidays": {"country": self.holiday_country, "subdiv": self.holiday_subdiv,
                         "day_type": self.holiday_day_type},
            "windows": [{"season": w.season, "day_type": w.day_type, "start": minute_to_hhmm(w.start_minute),
                         "end": minute_to_hhmm(w.end_minute), "period": w.period} for w in self.windows],
        }

    def _build_tables(self) -> dict[tuple[str, str], tuple[tuple[int, int, str], ...]]:
        for w in self.windows:
            if w.season not in SEASONS:
                raise InvalidCalendar(f"Calendar {self.code}: season “{w.season}” is not one of {SEASONS}.")
            if w.day_type not in DAY_TYPES:
                raise InvalidCalendar(f"Calendar {self.code}: day type “{w.day_type}” is not one of {DAY_TYPES}.")
            if not 0 <= w.start_minute < w.end_minute <= 1440:
                raise InvalidCalendar(
                    f"Calendar {self.code}: window {minute_to_hhmm(w.start_minute)}–{minute_to_hhmm(w.end_minute)} "
                    f"({w.period}) must start before it ends within one day; split a window that runs through "
                    "midnight into two.")
            if not w.period:
                raise InvalidCalendar(f"Calendar {self.code}: a window has no period name.")
            if self.season_rule == "none" and w.season != "ALL":
                raise InvalidCalendar(f"Calendar {self.code} has no seasons but a window is for {w.season}.")
        seasons = ("ALL",) if self.season_rule == "none" else ("SUMMER", "WINTER")
        tables = {}
        for season in seasons:
            for day_type in CONCRETE_DAY_TYPES:
                rows = sorted((w.start_minute, w.end_minute, w.period) for w in self.windows
                              if w.season in (season, "ALL") and w.day_type in (day_type, "ALL"))
                cursor = 0
                for start, end, period in rows:
                    if start != cursor:
                        kind = "overlap" if start < cursor else "gap"
                        raise InvalidCalendar(
                            f"Calendar {self.code}: {kind} at {minute_to_hhmm(min(start, cursor))} on "
                            f"{season.lower()} {day_type.lower()}s (each day must be covered exactly once).")
                    cursor = end
                if cursor != 1440:
                    raise InvalidCalendar(f"Calendar {self.code}: {season.lower()} {day_type.lower()}s are not "
                                          f"covered from {minute_to_hhmm(cursor)} to 24:00.")
                tables[(season, day_type)] = tuple(rows)
        return tables

    # -- evaluation ----------------------------------------------------------------------------------------
    @property
    def periods(self) -> list[str]:
        seen: dict[str, None] = {}
        for w in self.windows:
            seen.setdefault(w.period, None)
        return list(seen)

    def boundary_minutes(self) -> set[int]:
        return {m for w in self.windows for m in (w.start_minute, w.end_minute) if 0 < m < 1440}

    def season_of(self, day: date) -> str:
        if self.season_rule == "none":
            return "ALL"
        summer_from, winter_from = _summer_span(day.year)
        return "SUMMER" if summer_from <= day < winter_from else "WINTER"

    def table_for(self, day: date) -> tuple[str, str, tuple[tuple[int, int, str], ...]]:
        """(season, day type, ((start_minute, end_minute, period), ...)) of a local date."""
        season, day_type = self.season_of(day), self.day_type_of(day)
        return season, day_type, self._tables[(season, day_type)]

    def day_type_of(self, day: date) -> str:
        if self.holiday_day_type and is_holiday(country=self.holiday_country, subdiv=self.holiday_subdiv, day=day):
            return self.holiday_day_type
        weekday = day.weekday()
        return "WEEKDAY" if weekday < 5 else ("SATURDAY" if weekday == 5 else "SUNDAY")

    def day_slots(self, day: date, time_zone: str) -> tuple[DaySlot, ...]:
        """The periods of one local day, with their real UTC edges (cached per date and zone)."""
        key = (day, time_zone)
        slots = self._days.get(key)
        if slots is None:
            tz = ZoneInfo(time_zone)
            season, day_type = self.season_of(day), self.day_type_of(day)
            rows = self._tables[(season, day_type)]
            edges = monotonic_edges([local_epoch(day, start, tz) for start, _, _ in rows]
                                    + [local_epoch(day, 1440, tz)])
            slots = tuple(DaySlot(edges[i], edges[i + 1], start, season, day_type, period)
                          for i, (start, _end, period) in enumerate(rows))
            if len(self._days) > 4096:
                self._days.clear()
            self._days[key] = slots
        return slots

    def slot_at(self, at: datetime, time_zone: str) -> DaySlot:
        tz = ZoneInfo(time_zone)
        local = at.astimezone(tz)
        epoch = at.timestamp()
        for slot in self.day_slots(local.date(), time_zone):
            if slot.start_at <= epoch < slot.end_at:
                return slot
        # Spring-forward edge: a local minute that does not exist maps to the slot that contains its wall time.
        minute = local.hour * 60 + local.minute
        for slot in reversed(self.day_slots(local.date(), time_zone)):
            if slot.start_minute <= minute:
                return slot
        raise InvalidCalendar(f"Calendar {self.code} has no period at {at.isoformat()}.")


def local_epoch(day: date, minute: int, tz: ZoneInfo) -> float:
    """UTC epoch seconds of local wall time `minute` (0–1440) on `day` in `tz`; 24:00 is the next local midnight.
    An ambiguous wall time (autumn) takes its first occurrence; a wall time inside the spring-forward gap takes the
    offset before the jump (PEP 495 fold=0) and `monotonic_edges` then pulls it back to the jump instant."""
    if minute >= 1440:
        day, minute = day + timedelta(days=1), minute - 1440
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz).timestamp()


def monotonic_edges(edges: list[float]) -> list[float]:
    """Edges of one day in order, none after its successor (only a spring-forward gap can break the order)."""
    for i in range(len(edges) - 2, -1, -1):
        if edges[i] > edges[i + 1]:
            edges[i] = edges[i + 1]
    return edges
