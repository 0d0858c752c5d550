"""The day-ahead forecast (paper §2.5): for every station with dynamic pricing, the fixed price, the variable
price per kWh and the idle fee of each hour of a site-local day (23, 24 or 25 hours on DST days), stored with the
contribution of each factor.

Invariants: rerunning for the same day writes the same prices (upsert on (station, hour)); an hour that has already
begun is never rewritten by the daily run (sessions started in it were offered that price), only once by the live
job at its start, which replaces the expected occupancy with the connectors' live status."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from ..exceptions import ForecastInputsMissing
from ..formula import Coefficients, HourFactors, hour_price, occupancy_factor, pv_factors
from ..models import (
    EnergyTariff, LoadCurve, OccupancyDefault, PriceForecast, PvCurve, Season, StationOccupancy,
    StationPricing,
)
from .occupancy import MIN_SESSIONS_TO_LEARN, day_type_of, live_occupancy_shares

HOUR = timedelta(hours=1)
ZERO = Decimal("0")
KW = Decimal("1000")
UPDATE_FIELDS = [
    "local_date", "local_hour", "currency", "fixed_price", "variable_price_per_kwh", "idle_fee_per_minute",
    "energy_tariff_per_kwh", "energy_period", "f_load", "f_occ", "f_pv_local", "f_pv_global", "dm", "clamped",
    "occupancy_expected", "occupancy_source", "computed_at",
]


@dataclass(frozen=True, slots=True)
class HourSlot:
    start_at: datetime      # UTC
    local_date: date
    local_hour: int
    day_type: str


@dataclass
class ForecastRun:
    stations: int = 0
    rows: int = 0
    skipped: dict[str, str] = field(default_factory=dict)   # ocpp_id → why no forecast


def local_day_slots(*, day: date, zone: ZoneInfo) -> list[HourSlot]:
    """The hours of a local day, in UTC steps from local midnight to the next: 24, or 23/25 on DST days (on the
    25-hour day the repeated wall-clock hour appears twice and takes the same curve value)."""
    return list(_local_day_slots(day, zone))


@lru_cache(maxsize=1024)
def _local_day_slots(day: date, zone: ZoneInfo) -> tuple[HourSlot, ...]:
    start = datetime.combine(day, time(0), zone).astimezone(dt_timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(dt_timezone.utc)
    slots = []
    cursor = start
    while cursor < end:
        local = cursor.astimezone(zone)
        slots.append(HourSlot(start_at=cursor, local_date=day, local_hour=local.hour, day_type=day_type_of(day)))
        cursor += HOUR
    return tuple(slots)


def coefficients_of(pricing: StationPricing) -> Coefficients:
    return Coefficients(alpha=pricing.alpha, beta=pricing.beta, gamma=pricing.gamma,
                        fixed_price=pricing.fixed_price, min_price_per_kwh=pricing.min_price_per_kwh,
                        investment_per_kwh=pricing.investment_per_kwh, profit_per_kwh=pricing.profit_per_kwh,
                        idle_fee_per_minute=pricing.idle_fee_per_minute)


def _decimals(values) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


class _Inputs:
    """Every curve the stations of one run need, read in a handful of queries."""

    def __init__(self, pricings: list[StationPricing]):
        feeder_ids = {p.feeder_id for p in pricings}
        utility_ids = {p.feeder.utility_id for p in pricings}
        site_ids = {p.station.site_id for p in pricings}
        station_ids = [p.station_id for p in pricings]
        org_ids = {p.station.site.organization_id for p in pricings}
        self.load = {}
        self.utility_feeders_kw = defaultdict(list)
        for curve in LoadCurve.objects.filter(feeder__utility_id__in=utility_ids).select_related("feeder"):
            kw = _decimals(curve.load_kw) if curve.load_kw else None
            if curve.feeder_id in feeder_ids:
                self.load[(curve.feeder_id, curve.season, curve.day_type)] = (_decimals(curve.load_pu), kw)
            if kw:
                self.utility_feeders_kw[(curve.feeder.utility_id, curve.feeder_id)].append(
                    (curve.season, curve.day_type, kw))
        self.pv_global = {(c.utility_id, c.season): _decimals(c.power_kw)
                          for c in PvCurve.objects.filter(utility_id__in=utility_ids)}
        self.pv_local = {(c.site_id, c.season): _decimals(c.power_kw)
                         for c in PvCurve.objects.filter(site_id__in=site_ids)}
        self.tariff = {(t.utility_id, t.day_type): (_decimals(t.price_per_kwh), t.periods)
                       for t in EnergyTariff.objects.filter(utility_id__in=utility_ids)}
        self.learned = {}
        for profile in StationOccupancy.objects.filter(station_id__in=station_ids,
                                                       sessions_counted__gte=MIN_SESSIONS_TO_LEARN):
            self.learned[(profile.station_id, profile.day_type)] = _decimals(profile.shares)
        self.learned_stations = {station_id for station_id, _ in self.learned}
        self.defaults = {(d.organization_id, d.day_type): _decimals(d.shares)
                         for d in OccupancyDefault.objects.filter(organization_id__in=org_ids)}
        self._utility_load_cache = {}

    @staticmethod
    def _seasonal(table: dict, key: tuple, season: str):
        return table.get(key + (season,)) or table.get(key + (Season.ALL.value,))

    def load_curve(self, feeder_id: int, season: str, day_type: str):
        return self.load.get((feeder_id, season, day_type)) or self.load.get((feeder_id, Season.ALL, day_type))

    def utility_load_kw(self, utility_id: int, season: str, day_type: str) -> list[Decimal] | None:
        """The utility's load in kW: the sum of its feeders' kW curves (None when no feeder has one)."""
        key = (utility_id, season, day_type)
        if key not in self._utility_load_cache:
            total = None
            for (u_id, _feeder_id), curves in self.utility_feeders_kw.items():
                if u_id != utility_id:
                    continue
                by_key = {(s, d): kw for s, d, kw in curves}
                kw = by_key.get((season, day_type)) or by_key.get((Season.ALL.value, day_type))
                if kw:
                    total = kw if total is None else [a + b for a, b in zip(total, kw)]
            self._utility_load_cache[key] = total
        return self._utility_load_cache[key]

    def occupancy(self, station_id: int, organization_id: int, day_type: str) -> tuple[list[Decimal] | None, str]:
        learned = self.learned.get((station_id, day_type))
        if learned:
            return learned, PriceForecast.OccupancySource.LEARNED
        default = self.defaults.get((organization_id, day_type))
        if default:
            return default, PriceForecast.OccupancySource.DEFAULT
        return None, PriceForecast.OccupancySource.NONE


PRICING_FIELDS = ["station", "feeder", "mode", "alpha", "beta", "gamma", "fixed_price", "min_price_per_kwh",
                  "investment_per_kwh", "profit_per_kwh", "idle_fee_per_minute", "occupancy_threshold"]


def _pricings(station_ids: list[int] | None) -> list[StationPricing]:
    queryset = StationPricing.objects.filter(enabled=True).select_related(
        "station__site", "feeder__utility").only(
        *PRICING_FIELDS, "station__ocpp_id", "station__max_power_w", "station__site__time_zone",
        "station__site__currency", "station__site__organization_id", "feeder__code", "feeder__utility__name",
        "feeder__utility__summer_months").order_by("station_id")
    if station_ids is not None:
        queryset = queryset.filter(station_id__in=station_ids)
    return list(queryset)


# Column order of a forecast row as computed and written (PriceForecast's columns).
COLUMNS = ["station_id", "start_at"] + UPDATE_FIELDS
DM_QUANTUM = Decimal("0.0001")


def _coefficient_key(pricing: StationPricing) -> tuple:
    return (pricing.alpha, pricing.beta, pricing.gamma, pricing.fixed_price, pricing.min_price_per_kwh,
            pricing.investment_per_kwh, pricing.profit_per_kwh, pricing.idle_fee_per_minute,
            pricing.occupancy_threshold)


def forecast_rows_compute(*, pricings: list[StationPricing], slots_by_station: dict[int, list[HourSlot]],
                          now: datetime, live_shares: dict[int, Decimal] | None = None,
                          run: ForecastRun | None = None) -> list[tuple]:
    """Forecast rows (tuples in COLUMNS order) for the given stations and hours. `live_shares` (station → share of
    connectors in use now) replaces the expected occupancy. Stations missing an energy tariff or a load curve are
    left out and named in `run.skipped`.

    The hot loop of the daily job (10,000 stations × 24 hours). Stations whose every input is the same — same site,
    feeder, coefficients, power, hours and occupancy curve (the chargers of one garage, typically) — get identical
    rows but for the station, so each such group is computed once; and groups with the same coefficients and
    factors share one evaluation of the formula."""
    run = run if run is not None else ForecastRun()
    inputs = _Inputs(pricings)
    groups: dict[tuple, list[StationPricing]] = {}
    for pricing in pricings:
        station = pricing.station
        slots = slots_by_station.get(station.pk, [])
        own_curve = station.pk in inputs.learned_stations
        key = (id(slots), station.site_id, pricing.feeder_id, _coefficient_key(pricing), station.max_power_w,
               station.pk if own_curve else None,
               live_shares.get(station.pk, ZERO) if live_shares is not None else None)
        groups.setdefault(key, []).append(pricing)

    seasons = {}
    plans = []
    demand_by_utility_hour = defaultdict(lambda: ZERO)
    live = PriceForecast.OccupancySource.LIVE
    for members in groups.values():
        pricing = members[0]
        station = pricing.station
        station_id = station.pk
        organization_id = station.site.organization_id
        utility = pricing.feeder.utility
        utility_id = utility.pk
        feeder_id = pricing.feeder_id
        power_kw = Decimal(station.max_power_w or 0) / KW
        multiplicity = len(members)
        per_day = {}
        hours = []
        problem = None
        for slot in slots_by_station.get(station_id, ()):
            day = per_day.get(slot.local_date)
            if day is None:
                month = slot.local_date.month
                season = seasons.get((utility_id, month))
                if season is None:
                    season = seasons[(utility_id, month)] = utility.season_of(month)
                tariff = inputs.tariff.get((utility_id, slot.day_type))
                load = inputs.load_curve(feeder_id, season, slot.day_type)
                if tariff is None:
                    problem = f"no energy tariff of {utility} for {slot.day_type}"
                elif load is None:
                    problem = f"no load curve of feeder {pricing.feeder.code} for {season} {slot.day_type}"
                if problem:
                    break
                curve, source = ((None, live) if live_shares is not None
                                 else inputs.occupancy(station_id, organization_id, slot.day_type))
                day = per_day[slot.local_date] = (season, tariff, load, curve, source)
            season, tariff, load, curve, source = day
            if live_shares is not None:
                share = live_shares.get(station_id, ZERO)
            else:
                share = curve[slot.local_hour] if curve else ZERO
            demand_kw = share * power_kw
            demand_by_utility_hour[(utility_id, slot.start_at)] += demand_kw * multiplicity
            hours.append((slot, season, tariff, load, share, source, demand_kw))
        if problem:
            for member in members:
                run.skipped[member.station.ocpp_id] = problem
            continue
        plans.append((members, hours))

    computed = {}
    pv_cache = {}
    rows = []
    for members, hours in plans:
        pricing = members[0]
        station = pricing.station
        site_id = station.site_id
        currency = station.site.currency
        utility_id = pricing.feeder.utility_id
        coefficients = coefficients_of(pricing)
        threshold = pricing.occupancy_threshold
        coefficient_key = _coefficient_key(pricing)
        tails = []
        for slot, season, (prices, periods), (load_pu, _), share, source, demand_kw in hours:
            h = slot.local_hour
            pv_key = (site_id, utility_id, season, slot.day_type)
            curves = pv_cache.get(pv_key)
            if curves is None:
                global_curve = inputs._seasonal(inputs.pv_global, (utility_id,), season)
                curves = pv_cache[pv_key] = (
                    inputs._seasonal(inputs.pv_local, (site_id,), season), global_curve,
                    inputs.utility_load_kw(utility_id, season, slot.day_type) if global_curve else None)
            local_curve, global_curve, utility_load = curves
            f_pv_local, f_pv_global = pv_factors(
                local_pv_kw=local_curve[h] if local_curve else ZERO, station_demand_kw=demand_kw,
                global_pv_kw=global_curve[h] if global_curve else ZERO,
                utility_load_kw=utility_load[h] if utility_load else None,
                stations_demand_kw=demand_by_utility_hour[(utility_id, slot.start_at)],
            )
            f_occ = occupancy_factor(share=share, threshold=threshold)
            key = (coefficient_key, prices[h], load_pu[h], f_occ, f_pv_local, f_pv_global)
            priced = computed.get(key)
            if priced is None:
                result = hour_price(coefficients=coefficients, factors=HourFactors(
                    energy_tariff_per_kwh=prices[h], f_load=load_pu[h], f_occ=f_occ, f_pv_local=f_pv_local,
                    f_pv_global=f_pv_global))
                priced = computed[key] = (result.fixed_price, result.variable_price_per_kwh,
                                          result.idle_fee_per_minute, result.dm.quantize(DM_QUANTUM),
                                          result.clamped)
            fixed, variable, idle, dm, clamped = priced
            tails.append((slot.start_at, slot.local_date, h, currency, fixed, variable, idle, prices[h], periods[h],
                          load_pu[h], f_occ, f_pv_local, f_pv_global, dm, clamped, share, source, now))
        for member in members:
            head = (member.station_id,)
            rows.extend([head + tail for tail in tails])
        run.stations += len(members)
    return rows


def forecast_rows_as_models(rows: list[tuple]) -> list[PriceForecast]:
    """Unsaved PriceForecast objects for rows computed but not stored (previews)."""
    return [PriceForecast(**dict(zip(COLUMNS, row))) for row in rows]


def _save(rows: list[tuple]) -> int:
    """Upsert on (station, start_at): INSERT … ON CONFLICT DO UPDATE (PostgreSQL, SQLite ≥ 3.24). On PostgreSQL the
    rows travel by COPY into a temporary table first. Raw SQL because building 240,000 model instances through
    bulk_create costs most of the job's time, and row-by-row statements most of the rest."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table = quote(PriceForecast._meta.db_table)
    names = ", ".join(quote(c) for c in COLUMNS)
    # An hour whose prices and factors did not change is not rewritten at all (its computed_at stays): a rerun
    # writes nothing, and PostgreSQL makes no new row versions.
    compared = [c for c in UPDATE_FIELDS if c != "computed_at"]
    upsert = (f"ON CONFLICT ({quote('station_id')}, {quote('start_at')}) DO UPDATE SET "
              + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in UPDATE_FIELDS)
              + f" WHERE ({', '.join(f'{table}.{quote(c)}' for c in compared)}) <> "
              + f"({', '.join(f'EXCLUDED.{quote(c)}' for c in compared)})")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            staging = quote("pricing_forecast_staging")
            cursor.execute(f"DROP TABLE IF EXISTS {staging}")
            cursor.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {names} FROM {table} WITH NO DATA")
            with cursor.cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # SELECT … ORDER BY: the upsert needs no two rows for the same key, and the order keeps lock order stable.
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "
                           f"ORDER BY {quote('station_id')}, {quote('start_at')} {upsert}")
            cursor.execute(f"DROP TABLE {staging}")
            return len(rows)
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) {upsert}"
        adapt_dt = connection.ops.adapt_datetimefield_value
        adapt_date = connection.ops.adapt_datefield_value
        # Many stations share each hour: adapt each distinct datetime/date once (keyed by the object's identity; the
        # rows keep every object alive meanwhile).
        adapted = {}
        for row in rows:
            for index, adapt in ((1, adapt_dt), (2, adapt_date), (18, adapt_dt)):
                if id(row[index]) not in adapted:
                    adapted[id(row[index])] = adapt(row[index])
        for first in range(0, len(rows), 5000):
            batch = [(r[0], adapted[id(r[1])], adapted[id(r[2])]) + r[3:18] + (adapted[id(r[18])],)
                     for r in rows[first:first + 5000]]
            cursor.executemany(sql, batch)
    return len(rows)


@transaction.atomic
def forecast_compute(*, now: datetime, day: date | None = None, station_ids: list[int] | None = None) -> ForecastRun:
    """Store the forecast of every enabled station for the site-local `day`, or — when `day` is None — for the
    site's local today and tomorrow (so the next 24 hours are always published). Hours that have begun and are
    already stored are left as they are."""
    pricings = _pricings(station_ids)
    slots_by_station = {}
    shared = {}     # stations in the same zone share one list of hours (forecast_rows_compute groups by it)
    for pricing in pricings:
        time_zone = pricing.station.site.time_zone
        if time_zone not in shared:
            zone = ZoneInfo(time_zone)
            days = [day] if day else [now.astimezone(zone).date() + timedelta(days=n) for n in (0, 1)]
            shared[time_zone] = [s for d in days for s in local_day_slots(day=d, zone=zone)]
        slots_by_station[pricing.station_id] = shared[time_zone]
    all_starts = [s.start_at for slots in shared.values() for s in slots if s.start_at <= now]
    if all_starts:
        started = defaultdict(set)
        for station_id, start_at in PriceForecast.objects.filter(
                station_id__in=list(slots_by_station), start_at__gte=min(all_starts), start_at__lte=now,
        ).values_list("station_id", "start_at"):
            started[station_id].add(start_at)
        for station_id, begun in started.items():
            slots_by_station[station_id] = [s for s in slots_by_station[station_id] if s.start_at not in begun]
    run = ForecastRun()
    rows = forecast_rows_compute(pricings=pricings, slots_by_station=slots_by_station, now=now, run=run)
    run.rows = _save(rows)
    return run


@transaction.atomic
def forecast_live_hour(*, now: datetime, station_ids: list[int] | None = None) -> ForecastRun:
    """Reprice the hour containing `now` with the connectors' live occupancy (the paper's F_occ "when the
    station's connectors are occupied"), once per hour: a row already priced live is kept."""
    pricings = _pricings(station_ids)
    hour_start = now.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)
    done = set(PriceForecast.objects.filter(start_at=hour_start, occupancy_source=PriceForecast.OccupancySource.LIVE,
                                            station_id__in=[p.station_id for p in pricings])
               .values_list("station_id", flat=True))
    pricings = [p for p in pricings if p.station_id not in done]
    slots_by_station = {}
    for pricing in pricings:
        zone = ZoneInfo(pricing.station.site.time_zone)
        slots = local_day_slots(day=now.astimezone(zone).date(), zone=zone)
        slots_by_station[pricing.station_id] = [s for s in slots if s.start_at == hour_start]
    live = live_occupancy_shares(station_ids=[p.station_id for p in pricings])
    run = ForecastRun()
    rows = forecast_rows_compute(pricings=pricings, slots_by_station=slots_by_station, now=now, live_shares=live,
                                 run=run)
    run.rows = _save(rows)
    return run


def forecast_hours_preview(*, pricing: StationPricing, day: date, now: datetime) -> list[PriceForecast]:
    """The forecast of one station and local day computed now, not saved (what-if and missing-hours fallback)."""
    zone = ZoneInfo(pricing.station.site.time_zone)
    run = ForecastRun()
    rows = forecast_rows_compute(pricings=[pricing], slots_by_station={
        pricing.station_id: local_day_slots(day=day, zone=zone)}, now=now, run=run)
    if run.skipped:
        raise ForecastInputsMissing(f"{pricing.station.ocpp_id}: {run.skipped[pricing.station.ocpp_id]}")
    return forecast_rows_as_models(rows)

