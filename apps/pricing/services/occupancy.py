"""Occupancy of stations, the β factor's input: expected occupancy per local hour learned from each station's own
charging sessions, and live occupancy from the connectors' current status.

Layering: pricing sits below charging, so the sessions are read through a lazy import inside the function that
learns (read-only; pricing never writes charging's tables)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count

from apps.stations.models import ChargingStation, Connector

from ..models import HOURS, DayType, StationOccupancy

SHARE_QUANTUM = Decimal("0.0001")
LEARNING_DAYS = 28
# Below this many sessions in the learning window a station counts as new: its organization's default curve applies.
MIN_SESSIONS_TO_LEARN = 5
# OCPP 1.6 ChargePointStatus values in which a connector is taken (a car is plugged in or it is reserved).
OCCUPIED_STATUSES = {
    Connector.Status.PREPARING, Connector.Status.CHARGING, Connector.Status.SUSPENDED_EV,
    Connector.Status.SUSPENDED_EVSE, Connector.Status.FINISHING, Connector.Status.RESERVED,
}
HOUR = timedelta(hours=1)


def day_type_of(day: date) -> str:
    """Weekday / Saturday / Sunday, the three load-curve day types of the paper (eq. 7)."""
    weekday = day.weekday()
    if weekday == 5:
        return DayType.SATURDAY
    if weekday == 6:
        return DayType.SUNDAY
    return DayType.WEEKDAY


def _share(value: Decimal) -> Decimal:
    return min(value, Decimal("1")).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_UP)


@transaction.atomic
def station_occupancy_learn(*, now: datetime, station_ids: list[int] | None = None,
                            days: int = LEARNING_DAYS) -> int:
    """Learn each station's expected share of connector-time in use per (day type, local hour) from its sessions
    of the last `days` complete local days. Stations with fewer than MIN_SESSIONS_TO_LEARN sessions lose any
    learned profile (the default curve applies). Re-running with the same `now` stores the same shares.
    Returns the number of stations with a learned profile."""
    from apps.charging.models import ChargingSession  # lazy: charging is above pricing (read-only use)

    stations = ChargingStation.objects.select_related("site").annotate(n_connectors=Count("connectors"))
    if station_ids is not None:
        stations = stations.filter(pk__in=station_ids)
    stations = list(stations)
    windows = {}
    for station in stations:
        zone = ZoneInfo(station.site.time_zone)
        last_day = now.astimezone(zone).date()
        first_day = last_day - timedelta(days=days)
        windows[station.pk] = (zone, first_day, last_day,
                               datetime.combine(first_day, time(0), zone),
                               datetime.combine(last_day, time(0), zone))
    if not windows:
        return 0
    earliest = min(w[3] for w in windows.values())
    rows = ChargingSession.objects.filter(station_id__in=list(windows), started_at__lt=now).exclude(
        stopped_at__lt=earliest).values_list("station_id", "started_at", "stopped_at")
    sessions = defaultdict(list)
    for station_id, started_at, stopped_at in rows.iterator(chunk_size=5000):
        sessions[station_id].append((started_at, stopped_at or now))

    learned = 0
    StationOccupancy.objects.filter(station_id__in=list(windows)).delete()
    profiles = []
    for station in stations:
        zone, first_day, last_day, window_start, window_end = windows[station.pk]
        counted = [(max(s, window_start), min(e, window_end)) for s, e in sessions.get(station.pk, [])]
        counted = [(s, e) for s, e in counted if e > s]
        if len(counted) < MIN_SESSIONS_TO_LEARN:
            continue
        days_of_type = defaultdict(int)
        for offset in range((last_day - first_day).days):
            days_of_type[day_type_of(first_day + timedelta(days=offset))] += 1
        seconds = defaultdict(float)
        for start, end in counted:
            cursor = start.replace(minute=0, second=0, microsecond=0)
            while cursor < end:
                overlap = (min(end, cursor + HOUR) - max(start, cursor)).total_seconds()
                local = cursor.astimezone(zone)
                seconds[(day_type_of(local.date()), local.hour)] += overlap
                cursor += HOUR
        capacity = 3600 * max(1, station.n_connectors)
        for day_type in DayType:
            n_days = days_of_type.get(day_type.value, 0)
            shares = [
                str(_share(Decimal(str(seconds.get((day_type.value, hour), 0.0))) / (capacity * n_days)))
                if n_days else "0"
                for hour in range(HOURS)
            ]
            profiles.append(StationOccupancy(station=station, day_type=day_type.value, shares=shares,
                                             days_observed=n_days, sessions_counted=len(counted),
                                             learned_at=now))
        learned += 1
    StationOccupancy.objects.bulk_create(profiles, batch_size=2000)
    return learned


def live_occupancy_shares(*, station_ids: list[int]) -> dict[int, Decimal]:
    """Share of each station's connectors in an occupied status right now (0 for stations without connectors)."""
    totals = defaultdict(int)
    taken = defaultdict(int)
    for station_id, status in Connector.objects.filter(station_id__in=station_ids).values_list("station_id",
                                                                                                "status"):
        totals[station_id] += 1
        if status in OCCUPIED_STATUSES:
            taken[station_id] += 1
    return {sid: _share(Decimal(taken[sid]) / Decimal(totals[sid])) if totals[sid] else Decimal("0")
            for sid in station_ids}
