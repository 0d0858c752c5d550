"""Reads of dynamic pricing: the stored forecast as a tariff-engine PriceSchedule (contract 3), and the data of the
price panel and the JSON endpoint."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.organizations.selectors import queryset_scope
from apps.stations.models import ChargingStation
from apps.tariffs.engine.types import HourPrice, PriceSchedule

from .exceptions import DynamicPricingNotConfigured, ForecastInputsMissing
from .models import PriceForecast, StationPricing
from .services.forecast import forecast_hours_preview

HOUR = timedelta(hours=1)


def station_pricing_get(*, station: ChargingStation) -> StationPricing:
    pricing = (StationPricing.objects.select_related("station__site", "feeder__utility")
               .filter(station=station, enabled=True).first())
    if pricing is None:
        raise DynamicPricingNotConfigured(f"Station {station.ocpp_id} has no dynamic pricing enabled.")
    return pricing


def price_schedule_for(*, station: ChargingStation, start_at: datetime, end_at: datetime) -> PriceSchedule:
    """The hourly prices covering [start_at, end_at) for the tariff engine, from the stored forecast — the prices
    published before each hour began. Hours never stored (the job did not run) are computed from the current
    inputs without being stored. Raises DynamicPricingNotConfigured for a station without dynamic pricing, and
    ForecastInputsMissing when an hour cannot be priced at all."""
    pricing = station_pricing_get(station=station)
    first = start_at.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)
    last = max(end_at, start_at + timedelta(seconds=1))
    rows = {row.start_at: row for row in PriceForecast.objects.filter(station=station, start_at__gte=first,
                                                                       start_at__lt=last)}
    wanted = []
    cursor = first
    while cursor < last:
        wanted.append(cursor)
        cursor += HOUR
    missing = [at for at in wanted if at not in rows]
    if missing:
        zone = ZoneInfo(station.site.time_zone)
        now = timezone.now()
        for day in sorted({at.astimezone(zone).date() for at in missing}):
            for row in forecast_hours_preview(pricing=pricing, day=day, now=now):
                rows.setdefault(row.start_at, row)
    hours = [HourPrice(start_at=at, energy_per_kwh=rows[at].variable_price_per_kwh,
                       idle_per_minute=rows[at].idle_fee_per_minute, fixed=rows[at].fixed_price)
             for at in wanted if at in rows]
    return PriceSchedule(hours=hours, mode=pricing.mode)


def station_for_staff(*, user, ocpp_id: str) -> ChargingStation | None:
    """The station with this OCPP id among those the staff user serves (None: absent or not theirs)."""
    stations = queryset_scope(queryset=ChargingStation.objects.select_related("site"), user=user,
                              organization_path="site__organization")
    return stations.filter(ocpp_id__iexact=ocpp_id).first()


def forecast_rows(*, station: ChargingStation, day: date | None = None,
                  now: datetime | None = None) -> list[PriceForecast]:
    """Stored rows of one site-local day, or (day None) of the 24 hours from the current hour."""
    queryset = PriceForecast.objects.filter(station=station).order_by("start_at")
    if day is not None:
        zone = ZoneInfo(station.site.time_zone)
        first = datetime.combine(day, time(0), zone)
        return list(queryset.filter(start_at__gte=first, start_at__lt=datetime.combine(day + timedelta(days=1),
                                                                                       time(0), zone)))
    first = (now or timezone.now()).astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)
    return list(queryset.filter(start_at__gte=first, start_at__lt=first + 24 * HOUR))


def _money(amount, currency: str) -> dict:
    return {"amount": str(amount), "currency": currency}


def forecast_as_json(*, station: ChargingStation, rows: list[PriceForecast]) -> dict:
    """The JSON of /pricing/stations/<ocpp_id>/forecast.json (also what the driver API will publish)."""
    pricing = StationPricing.objects.filter(station=station).first()
    return {
        "station": station.ocpp_id,
        "time_zone": station.site.time_zone,
        "currency": station.site.currency,
        "mode": pricing.mode if pricing else None,
        "hours": [
            {
                "start_at": row.start_at.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z"),
                "local_date": row.local_date.isoformat(),
                "local_hour": row.local_hour,
                "fixed_price": _money(row.fixed_price, row.currency),
                "variable_price_per_kwh": _money(row.variable_price_per_kwh, row.currency),
                "idle_fee_per_minute": _money(row.idle_fee_per_minute, row.currency),
                "factors": {
                    "energy_tariff_per_kwh": str(row.energy_tariff_per_kwh),
                    "energy_period": row.energy_period,
                    "f_load": str(row.f_load),
                    "f_occ": row.f_occ,
                    "f_pv_local": row.f_pv_local,
                    "f_pv_global": row.f_pv_global,
                    "dm": str(row.dm),
                    "clamped_at_min_price": row.clamped,
                    "occupancy_expected": str(row.occupancy_expected),
                    "occupancy_source": row.occupancy_source,
                },
            }
            for row in rows
        ],
    }


def panel_series(*, rows: list[PriceForecast]) -> dict:
    """The series of the price panel (paper Figure 4): prices above, the factors beneath. Numbers as floats for
    the chart only; the table and JSON keep the exact decimals."""
    labels = []
    seen = set()
    for row in rows:
        label = f"{row.local_hour:02d}h"
        if label in seen:      # the repeated hour of a 25-hour DST day
            label += " (2nd)"
        seen.add(label)
        labels.append(label)
    return {
        "labels": labels,
        "fixed_price": [float(r.fixed_price) for r in rows],
        "variable_price_per_kwh": [float(r.variable_price_per_kwh) for r in rows],
        "idle_fee_per_minute": [float(r.idle_fee_per_minute) for r in rows],
        "f_load": [float(r.f_load) for r in rows],
        "f_occ": [r.f_occ for r in rows],
        "f_pv_local": [r.f_pv_local for r in rows],
        "f_pv_global": [r.f_pv_global for r in rows],
        "dm": [float(r.dm) for r in rows],
    }


def price_schedules_for_stations(*, stations, start_at: datetime, end_at: datetime) -> dict[int, PriceSchedule]:
    """`price_schedule_for` for many stations in two queries: the stations with dynamic pricing enabled and their
    stored forecast hours of [start_at, end_at). A station whose stored hours do not cover the window (the daily
    job has not run yet) falls back to `price_schedule_for`, which computes the missing hours. Stations without
    dynamic pricing are absent from the result."""
    station_by_id = {s.pk: s for s in stations}
    modes = dict(StationPricing.objects.filter(station_id__in=station_by_id, enabled=True).order_by()
                 .values_list("station_id", "mode"))
    if not modes:
        return {}
    first = start_at.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)
    wanted = []
    cursor = first
    while cursor < end_at:
        wanted.append(cursor)
        cursor += HOUR
    hours: dict[int, dict[datetime, HourPrice]] = {pk: {} for pk in modes}
    for row in (PriceForecast.objects.filter(station_id__in=modes, start_at__gte=first, start_at__lt=end_at)
                .order_by().values_list("station_id", "start_at", "variable_price_per_kwh", "idle_fee_per_minute",
                             "fixed_price")):
        station_id, at, energy, idle, fixed = row
        hours[station_id][at] = HourPrice(start_at=at, energy_per_kwh=energy, idle_per_minute=idle, fixed=fixed)
    out = {}
    for station_id, mode in modes.items():
        stored = hours[station_id]
        if all(at in stored for at in wanted):
            out[station_id] = PriceSchedule(hours=[stored[at] for at in wanted], mode=mode)
            continue
        try:
            out[station_id] = price_schedule_for(station=station_by_id[station_id], start_at=start_at,
                                                 end_at=end_at)
        except (DynamicPricingNotConfigured, ForecastInputsMissing):
            continue
    return out
