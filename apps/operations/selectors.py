"""Reads of the operations app: uptime, live status, the command and file history of a station."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet

from apps.stations.models import ChargingStation, StationStatusEvent
from apps.stations.selectors import connector_status_text

from .models import CommandRecord, DiagnosticsRequest, StationConnectivityEvent


@dataclass(frozen=True)
class Uptime:
    """Seconds online and monitored in [start_at, end_at); `percent` = online / monitored, None if never seen."""

    start_at: datetime
    end_at: datetime
    online_s: int
    monitored_s: int

    @property
    def percent(self) -> Decimal | None:
        if not self.monitored_s:
            return None
        return (Decimal(self.online_s) * 100 / Decimal(self.monitored_s)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def __str__(self) -> str:
        return "not monitored" if self.percent is None else f"{self.percent}%"


# A connector (or, as connector 0, the station) in these states cannot serve a driver.
DOWN_STATUSES = frozenset({"Faulted", "Unavailable"})


def _state_at(changes: list[tuple[datetime, object]], initial, at: datetime):
    state = initial
    for when, value in changes:
        if when > at:
            break
        state = value
    return state


def _integrate(*, start_at: datetime, end_at: datetime, timelines: dict, is_monitored, is_up) -> Uptime:
    """Walk the union of the timelines' change points; `is_monitored(states)` / `is_up(states)` judge each span."""
    points = sorted({start_at, end_at, *(when for _, changes in timelines.values() for when, _ in changes)})
    online = monitored = 0.0
    for begin, finish in zip(points, points[1:]):
        states = {name: _state_at(changes, initial, begin) for name, (initial, changes) in timelines.items()}
        if not is_monitored(states):
            continue
        span = (finish - begin).total_seconds()
        monitored += span
        if is_up(states):
            online += span
    return Uptime(start_at=start_at, end_at=end_at, online_s=int(online), monitored_s=int(monitored))


def _connectivity(station: ChargingStation, start_at: datetime, end_at: datetime):
    before = StationConnectivityEvent.objects.filter(station=station, at__lt=start_at).order_by("-at", "-id").first()
    changes = list(StationConnectivityEvent.objects.filter(station=station, at__gte=start_at, at__lt=end_at)
                   .order_by("at", "id").values_list("at", "is_connected"))
    return (before.is_connected if before else None), changes


def _status(station: ChargingStation, connector_number: int, start_at: datetime, end_at: datetime):
    events = StationStatusEvent.objects.filter(station=station, connector_number=connector_number)
    before = events.filter(reported_at__lt=start_at).order_by("-reported_at", "-id").first()
    changes = list(events.filter(reported_at__gte=start_at, reported_at__lt=end_at)
                   .order_by("reported_at", "id").values_list("reported_at", "status"))
    return (before.status if before else None), changes


def station_uptime(*, station: ChargingStation, start_at: datetime, end_at: datetime) -> Uptime:
    """How long the station could serve drivers in [start_at, end_at): connected to evnet (connectivity history)
    and not reporting itself (connector 0) Faulted or Unavailable (status history). Time before the first
    connectivity record is not monitored."""
    if end_at <= start_at:
        raise ValueError("The period must end after it starts.")
    return _integrate(
        start_at=start_at, end_at=end_at,
        timelines={"link": _connectivity(station, start_at, end_at), "status": _status(station, 0, start_at, end_at)},
        is_monitored=lambda s: s["link"] is not None,
        is_up=lambda s: bool(s["link"]) and s["status"] not in DOWN_STATUSES,
    )


def connector_uptime(*, station: ChargingStation, connector_number: int, start_at: datetime,
                     end_at: datetime) -> Uptime:
    """How long one connector could serve drivers in [start_at, end_at): its reported status (StatusNotification
    history) not Faulted or Unavailable, and its station not known to be offline. Time before the connector's
    first status report is not monitored."""
    if end_at <= start_at:
        raise ValueError("The period must end after it starts.")
    return _integrate(
        start_at=start_at, end_at=end_at,
        timelines={"link": _connectivity(station, start_at, end_at),
                   "status": _status(station, connector_number, start_at, end_at)},
        is_monitored=lambda s: s["status"] is not None,
        is_up=lambda s: s["status"] not in DOWN_STATUSES and s["link"] is not False,
    )


def station_live_status(*, station: ChargingStation) -> str:
    """"Offline" or each connector's live text ("Car disconnected", "Charging at 2.4 kW of 4.6 kW allocated")."""
    if not station.is_connected:
        return "Offline"
    connectors = list(station.connectors.all())
    if not connectors:
        return "Online (no connector reported)"
    return "; ".join(f"#{c.connector_id}: {connector_status_text(connector=c)}" for c in connectors)


def station_command_list(*, station: ChargingStation) -> QuerySet[CommandRecord]:
    return CommandRecord.objects.filter(station=station).select_related("requested_by")


def station_diagnostics_list(*, station: ChargingStation) -> QuerySet[DiagnosticsRequest]:
    return DiagnosticsRequest.objects.filter(station=station)
