"""Reads of the operations app: uptime, live status, the command and file history of a station."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet

from apps.stations.models import ChargingStation
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


def station_uptime(*, station: ChargingStation, start_at: datetime, end_at: datetime) -> Uptime:
    """How long the station was connected in [start_at, end_at), from its connectivity history. Time before the
    first recorded event is not monitored (the station was not known to be anywhere yet)."""
    if end_at <= start_at:
        raise ValueError("The period must end after it starts.")
    before = StationConnectivityEvent.objects.filter(station=station, at__lt=start_at).order_by("-at", "-id").first()
    events = list(StationConnectivityEvent.objects.filter(station=station, at__gte=start_at, at__lt=end_at)
                  .order_by("at", "id").values_list("at", "is_connected"))
    state = before.is_connected if before else None
    cursor = start_at
    online = monitored = 0.0
    for at, connected in [*events, (end_at, None)]:
        if state is not None:
            span = (at - cursor).total_seconds()
            monitored += span
            if state:
                online += span
        cursor = at
        if connected is not None:
            state = connected
    return Uptime(start_at=start_at, end_at=end_at, online_s=int(online), monitored_s=int(monitored))


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
