"""Reads of the rating app: a session's energy curve, its running cost, staff-visible sessions and reports."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from apps.charging.models import ChargingSession, MeterValue
from apps.organizations.selectors import queryset_scope
from apps.pricing.exceptions import DynamicPricingNotConfigured, ForecastInputsMissing
from apps.pricing.selectors import price_schedule_for, price_schedules_for_stations
from apps.tariffs.engine.rating import Reading, RatingResult, rate
from apps.tariffs.engine.types import HourPrice, PriceSchedule, TariffSpec
from apps.tariffs.selectors import DEFAULT_QUOTE_POWER_W, tariff_spec_for, tariff_specs_for_stations

from .exceptions import SessionNotFound, TariffMissing
from .models import CostRecoveryReport, SessionPrice
from .readings import ENERGY_REGISTER, energy_curve

SESSION_ORGANIZATION_PATH = "station__site__organization"


def session_get(*, session_id: int) -> ChargingSession:
    try:
        return ChargingSession.objects.select_related("station__site__organization", "connector", "id_tag", "user").get(
            pk=session_id)
    except (ChargingSession.DoesNotExist, ValueError, TypeError):
        raise SessionNotFound(f"There is no charging session #{session_id}.") from None


def session_user_group(*, session: ChargingSession) -> str:
    """The price group of the card that started the session; "public" without a known card."""
    return (session.id_tag.user_group if session.id_tag_id and session.id_tag.user_group else "") or "public"


def session_is_closed(*, session: ChargingSession) -> bool:
    return session.state != ChargingSession.State.ACTIVE


def session_energy_points(*, session: ChargingSession) -> list[tuple]:
    """The session's cumulative energy curve (see readings.energy_curve) from the same register readings the
    charging app bills (whole register, at the outlet, Wh), closed at the stop with the session's billable energy
    when the session is closed."""
    samples = MeterValue.objects.filter(
        session_id=session.pk, measurand=ENERGY_REGISTER, phase="", location__in=("", "Outlet"), unit="Wh",
    ).order_by("sampled_at", "id").values_list("sampled_at", "value")
    closed = session_is_closed(session=session)
    stopped_at = session.stopped_at if closed else None
    connector = session.connector
    max_power_w = (connector.max_power_w if connector is not None else None) or session.station.max_power_w
    return energy_curve(started_at=session.started_at, meter_start_wh=session.meter_start_wh,
                        samples=list(samples), stopped_at=stopped_at,
                        meter_stop_wh=session.meter_stop_wh if stopped_at else None,
                        energy_wh=session.energy_wh if stopped_at else None, max_power_w=max_power_w)


def session_rate(*, session: ChargingSession, points: list[tuple], stopped_at) -> RatingResult:
    """Rate a session's curve with the tariff version in force at its start for its price group."""
    user_group = session_user_group(session=session)
    spec = tariff_spec_for(station=session.station, user_group=user_group, at=session.started_at)
    if spec is None:
        raise TariffMissing(f"No tariff applies to station {session.station.ocpp_id} for price group "
                            f"“{user_group}” at {session.started_at.isoformat()}.")
    charging_ended_at = session.charging_ended_at
    if charging_ended_at is not None and not (session.started_at <= charging_ended_at <= stopped_at):
        charging_ended_at = None
    return rate(tariff=spec, readings=[Reading(at=at, energy_wh=wh) for at, wh in points],
                started_at=session.started_at, stopped_at=stopped_at, charging_ended_at=charging_ended_at,
                time_zone=session.station.site.time_zone, user_group=user_group,
                price_schedule=session_price_schedule(session=session, spec=spec, stopped_at=stopped_at))


def session_price_schedule(*, session: ChargingSession, spec, stopped_at) -> PriceSchedule | None:
    """The station's published ANEEL dynamic prices for the session's hours, when its tariff has dynamic
    (`evnet_dynamic`) components. Without a configured dynamic price the engine falls back to the tariff's own
    price and flags `dynamic_price_missing` on the result (issue 8: the receipt shows which price applied)."""
    if not any(c.evnet_dynamic for element in spec.elements for c in element.price_components):
        return None
    try:
        return price_schedule_for(station=session.station, start_at=session.started_at, end_at=stopped_at)
    except (DynamicPricingNotConfigured, ForecastInputsMissing):
        return None


def session_cost_running(*, session_id: int) -> RatingResult:
    """The cost so far (contract 4): the session's meter values up to the latest one, rated with the tariff in
    force at its start. For a closed session this is its final price, recomputed (the stored SessionPrice is the
    reference once it exists)."""
    session = session_get(session_id=session_id)
    points = session_energy_points(session=session)
    stopped_at = session.stopped_at if session_is_closed(session=session) and session.stopped_at else points[-1][0]
    return session_rate(session=session, points=points, stopped_at=stopped_at)


def session_queryset_for(*, user) -> QuerySet[ChargingSession]:
    """Sessions a back-office user may see: the same scoping as the admin."""
    return queryset_scope(queryset=ChargingSession.objects.all(), user=user,
                          organization_path=SESSION_ORGANIZATION_PATH)


def session_price_get(*, session_id: int) -> SessionPrice | None:
    return SessionPrice.objects.filter(session_id=session_id).first()


def report_queryset_for(*, user) -> QuerySet[CostRecoveryReport]:
    return queryset_scope(queryset=CostRecoveryReport.objects.select_related("site", "organization"), user=user,
                          organization_path="organization")


# --- Prices now and for the next 24 hours (driver API station search) ------------------------------------------

PROBE_WH = 1000        # the price of "the first kWh" of a charge starting at that moment
PRICE_HOURS = 24
_PROBE_CACHE: dict[tuple, dict] = {}
_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class StationPrices:
    """What a driver pays at a station, for one price group: `now` and one entry per hour from the current hour
    (`hours[0]`) on. Each entry: unit prices incl. VAT (energy per kWh, time per hour, session fee, idle fee per
    hour after charging), as the tariff engine applies them to a charge starting then."""

    currency: str
    user_group: str
    now: dict | None
    hours: list[dict]


def _unit_prices(*, spec: TariffSpec, start_at: datetime, power_w: int, time_zone: str, user_group: str,
                 hour: HourPrice | None) -> dict:
    """Rate a 1 kWh probe charge starting at `start_at` at `power_w` and read the unit prices off its lines, with
    `hour` the station's published dynamic price of that hour (None: the tariff's own prices). Cached: a spec is
    immutable (keyed by its version and last edit), and so is a published hour."""
    key = (id(spec), spec.version_id, start_at, power_w, time_zone, user_group,
           None if hour is None else (hour.energy_per_kwh, hour.idle_per_minute, hour.fixed))
    cached = _PROBE_CACHE.get(key)
    if cached is not None and cached[0] is spec:
        return cached[1]
    seconds = PROBE_WH * 3600 / power_w
    stop_at = start_at + timedelta(seconds=seconds)
    probe_schedule = None if hour is None else PriceSchedule(hours=[hour], mode="at_start")
    result = rate(tariff=spec, readings=[Reading(start_at, 0), Reading(stop_at, PROBE_WH)], started_at=start_at,
                  stopped_at=stop_at, charging_ended_at=stop_at, time_zone=time_zone, user_group=user_group,
                  price_schedule=probe_schedule)
    found = {"ENERGY": None, "TIME": None, "FLAT": None}
    for line in result.lines:
        if line.flags or line.dimension not in found or found[line.dimension] is not None:
            continue
        price = line.unit_price
        if line.vat_rate is not None:
            price = price * (1 + line.vat_rate / 100)
        found[line.dimension] = price.quantize(_PLACES, rounding=ROUND_HALF_UP)
    idle = _idle_per_hour(spec=spec, at=start_at, time_zone=time_zone, user_group=user_group, hour=hour)
    zero = Decimal("0.0000")
    # Money as the API shows it ({"amount": "0.3690", "currency": "EUR"}, STYLE.md), built once per cached probe
    # instead of once per station and request. Treat as read-only: the same dicts serve many answers.
    currency = spec.currency
    prices = {"energy_per_kwh": {"amount": str(found["ENERGY"] or zero), "currency": currency},
              "time_per_hour": {"amount": str(found["TIME"] or zero), "currency": currency},
              "session_fee": {"amount": str(found["FLAT"] or zero), "currency": currency},
              "idle_per_hour": {"amount": str(idle), "currency": currency}}
    if len(_PROBE_CACHE) > 100_000:
        _PROBE_CACHE.clear()
    _PROBE_CACHE[key] = (spec, prices)
    return prices


def _idle_per_hour(*, spec: TariffSpec, at: datetime, time_zone: str, user_group: str, hour) -> Decimal:
    """The parking (idle) price per hour, incl. VAT, for a car left plugged in at `at` after charging: a probe
    with no energy after the grace period, rated with charging ended at its start."""
    start = at
    stop = start + timedelta(seconds=spec.parking_grace_s + 60)
    schedule = None if hour is None else PriceSchedule(hours=[hour], mode="at_start")
    result = rate(tariff=spec, readings=[Reading(start, 0), Reading(stop, 1)], started_at=start, stopped_at=stop,
                  charging_ended_at=start, time_zone=time_zone, user_group=user_group, price_schedule=schedule)
    for line in result.lines:
        if line.dimension == "PARKING_TIME" and not line.flags:
            price = line.unit_price
            if line.vat_rate is not None:
                price = price * (1 + line.vat_rate / 100)
            return price.quantize(_PLACES, rounding=ROUND_HALF_UP)
    return Decimal("0.0000")


def _has_dynamic(spec: TariffSpec) -> bool:
    return any(c.evnet_dynamic for element in spec.elements for c in element.price_components)


def station_prices_many(*, stations, user_group: str, now: datetime) -> dict[int, StationPrices | None]:
    """The prices now and for the next 24 hours at each station for `user_group`, from the tariff in force at
    each moment (tariffs.tariff_specs_for_stations) and, for tariffs with dynamic components, the station's
    published ANEEL hourly prices (pricing.price_schedules_for_stations) — the same combination as
    `session_rate`. A fixed number of queries whatever the number of stations; the engine runs once per distinct
    (tariff version, power, time zone, dynamic hour) and hour, and its answers are cached. "Now" is taken to the
    minute (tariff periods are given in minutes). Unit prices are decimal strings incl. VAT. None: no tariff."""
    stations = list(stations)
    if not stations:
        return {}
    now = now.astimezone(dt_timezone.utc).replace(second=0, microsecond=0)
    first_hour = now.replace(minute=0)
    hour_starts = [first_hour + timedelta(hours=i) for i in range(PRICE_HOURS)]
    moments = [now, *hour_starts]
    end_at = hour_starts[-1] + timedelta(hours=1)
    tariffs = tariff_specs_for_stations(stations=stations, user_group=user_group, start_at=now, end_at=end_at)
    dynamic = price_schedules_for_stations(stations=stations, start_at=now, end_at=end_at)
    specs_of: dict[int, tuple] = {}
    out: dict[int, StationPrices | None] = {}
    shared: dict[tuple, StationPrices | None] = {}
    for station in stations:
        candidates = tariffs[station.pk]
        known = specs_of.get(id(candidates))
        if known is None:
            specs = [candidates.spec_at(at) for at in moments]
            known = specs_of[id(candidates)] = (specs, any(s is not None and _has_dynamic(s) for s in specs))
        specs, dynamic_tariff = known
        time_zone = station.site.time_zone
        power = station.max_power_w or DEFAULT_QUOTE_POWER_W
        schedule = dynamic.get(station.pk)
        hours: list = [None] * len(moments)
        if schedule is not None and dynamic_tariff:
            by_start = {h.start_at: h for h in schedule.hours}
            hours = [by_start.get(first_hour if i == 0 else at) for i, at in enumerate(moments)]
        key = (id(candidates), time_zone, power, tuple(None if h is None else (h.energy_per_kwh, h.idle_per_minute,
                                                                               h.fixed) for h in hours))
        if key in shared:
            out[station.pk] = shared[key]
            continue
        entries = [None if spec is None else _unit_prices(spec=spec, start_at=at, power_w=power, time_zone=time_zone,
                                                          user_group=user_group, hour=hour)
                   for at, spec, hour in zip(moments, specs, hours)]
        if all(e is None for e in entries):
            shared[key] = out[station.pk] = None
            continue
        zone = ZoneInfo(time_zone)
        currency = candidates.currency
        result = StationPrices(
            currency=currency, user_group=user_group,
            now=None if entries[0] is None else {"at": now, "prices": entries[0], "currency": currency},
            hours=[{"start_at": at, "local_start": at.astimezone(zone), "prices": prices, "currency": currency}
                   for at, prices in zip(hour_starts, entries[1:])])
        shared[key] = out[station.pk] = result
    return out
