"""Writes of the live state a station reports over OCPP: connection, heartbeats, boot information, connector
status and its history, firmware and diagnostics progress. Called by the OCPP layer's group-commit writer, many
items per call, so each function issues a constant number of queries per batch."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from apps.core.bulk import Row, execute_deferred, rows_update

from .models import ChargingStation, Connector, StationStatusEvent

CHARGING_STATUSES = frozenset({Connector.Status.CHARGING})


@dataclass(frozen=True)
class StatusReport:
    """One StatusNotification. connector_number 0 is the station itself."""

    station_id: int
    connector_number: int
    status: str
    error_code: str
    reported_at: datetime
    received_at: datetime
    info: str = ""
    vendor_id: str = ""
    vendor_error_code: str = ""


def stations_seen(*, station_ids: list[int], at: datetime, heartbeat: bool = False, deferred: bool = False) -> int:
    """Mark stations as heard from at `at` (one UPDATE for the whole list). With deferred on PostgreSQL inside
    apps.core.bulk.rows_deferred(), the UPDATE is queued (sent with the batch's commit) and 0 is returned."""
    if deferred and connection.vendor == "postgresql":
        table = ChargingStation._meta.db_table
        extra = ", last_heartbeat_at = %s" if heartbeat else ""
        params = [at, at, station_ids] if heartbeat else [at, station_ids]
        execute_deferred(sql=f'UPDATE "{table}" SET last_seen_at = %s{extra} WHERE id = ANY(%s::bigint[])',
                         params=params)
        return 0
    fields = {"last_seen_at": at}
    if heartbeat:
        fields["last_heartbeat_at"] = at
    return ChargingStation.objects.filter(pk__in=station_ids).update(**fields)


@dataclass(frozen=True)
class ConnectionChange:
    """A socket of a station opened or closed; `channel` names that socket (ChargingStation.ocpp_channel)."""

    station_id: int
    channel: str
    at: datetime | None = None


def stations_connection_open(*, changes: list[ConnectionChange]) -> None:
    """Many sockets opened (a reconnect herd): one UPDATE. A station opening twice keeps its last socket."""
    latest = {change.station_id: change for change in changes}
    rows_update(model=ChargingStation, fields=["is_connected", "ocpp_channel", "last_seen_at"],
                objs=[Row(c.station_id, is_connected=True, ocpp_channel=c.channel, last_seen_at=c.at)
                      for c in latest.values()])


def stations_connection_close(*, changes: list[ConnectionChange]) -> list[bool]:
    """Many sockets closed: each clears `is_connected` only if it is still the station's connection
    (compare-and-set on ocpp_channel). Returns, per change, whether it did."""
    if connection.vendor != "postgresql":
        return [bool(ChargingStation.objects.filter(pk=c.station_id, ocpp_channel=c.channel).update(
            is_connected=False, ocpp_channel="")) for c in changes]
    table = ChargingStation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" AS t SET is_connected = false, ocpp_channel = \'\' '
                       "FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, channel) "
                       "WHERE t.id = v.id AND t.ocpp_channel = v.channel RETURNING v.id, v.channel",
                       [[c.station_id for c in changes], [c.channel for c in changes]])
        cleared = set(cursor.fetchall())
    return [(c.station_id, c.channel) in cleared for c in changes]


BOOT_FIELDS = ("vendor", "model", "serial_number", "firmware_version", "iccid", "imsi", "meter_type",
               "meter_serial_number")


@dataclass(frozen=True)
class BootReport:
    """What one BootNotification reports: `info` maps BOOT_FIELDS names to values (absent keys are kept)."""

    station_id: int
    info: dict
    at: datetime


def stations_boot_record(*, reports: list[BootReport]) -> dict[int, str]:
    """Store many BootNotifications with one read and one UPDATE (a restart herd boots thousands of chargers at
    once). A station booting twice keeps its last report. Returns each station's registration status."""
    stations = {station.pk: station for station in ChargingStation.objects.filter(
        pk__in={r.station_id for r in reports}).only("registration_status", *BOOT_FIELDS)}
    for report in reports:
        station = stations.get(report.station_id)
        if station is None:
            continue
        for field, value in report.info.items():
            setattr(station, field, (value or "")[: ChargingStation._meta.get_field(field).max_length])
        station.last_boot_at = station.last_seen_at = report.at
    rows_update(objs=list(stations.values()), fields=[*BOOT_FIELDS, "last_boot_at", "last_seen_at"])
    return {pk: station.registration_status for pk, station in stations.items()}


def station_firmware_status_record(*, station_id: int, status: str, at: datetime) -> None:
    ChargingStation.objects.filter(pk=station_id).update(firmware_status=status[:32], firmware_status_at=at)


def station_diagnostics_status_record(*, station_id: int, status: str, at: datetime) -> None:
    ChargingStation.objects.filter(pk=station_id).update(diagnostics_status=status[:32], diagnostics_status_at=at)


def connector_statuses_record(*, reports: list[StatusReport]) -> list[Connector | None]:
    """Append every report to the status history and update each connector's live status (a report older than
    the connector's current status — a late message — only goes to the history). A connector that is not
    charging delivers no power. An unregistered connector number is created when the station's power is known.
    Returns the connector touched by each report (None for connector 0)."""
    StationStatusEvent.objects.bulk_create([
        StationStatusEvent(station_id=r.station_id, connector_number=r.connector_number, status=r.status,
                           error_code=r.error_code if r.error_code != "NoError" else "", info=r.info,
                           vendor_id=r.vendor_id, vendor_error_code=r.vendor_error_code, reported_at=r.reported_at,
                           received_at=r.received_at)
        for r in reports
    ])
    wanted = {(r.station_id, r.connector_number) for r in reports if r.connector_number >= 1}
    connectors = {(c.station_id, c.connector_id): c for c in Connector.objects.filter(
        station_id__in={s for s, _ in wanted}, connector_id__in={n for _, n in wanted})
        if (c.station_id, c.connector_id) in wanted}
    missing = wanted - connectors.keys()
    if missing:
        powers = dict(ChargingStation.objects.filter(pk__in={s for s, _ in missing}).values_list("pk", "max_power_w"))
        for station_id, number in sorted(missing):
            if powers.get(station_id):
                connectors[(station_id, number)] = Connector.objects.create(
                    station_id=station_id, connector_id=number, max_power_w=powers[station_id])
    touched: dict[int, Connector] = {}
    result: list[Connector | None] = []
    for r in reports:
        connector = connectors.get((r.station_id, r.connector_number))
        result.append(connector)
        if connector is None or (connector.status_at and r.reported_at < connector.status_at):
            continue
        connector.status = r.status if r.status in Connector.Status.values else Connector.Status.UNKNOWN
        connector.error_code = "" if r.error_code == "NoError" else r.error_code[:32]
        connector.status_info = r.info[:50]
        connector.status_at = r.reported_at
        if connector.status not in CHARGING_STATUSES:
            connector.power_w = 0
        touched[connector.pk] = connector
    rows_update(objs=touched.values(), fields=["status", "error_code", "status_info", "status_at", "power_w"])
    return result
