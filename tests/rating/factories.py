"""Sessions with their meter readings, as the charging app stores them (rows, not OCPP messages: these tests are
about pricing what was stored)."""
from __future__ import annotations

from datetime import datetime

from apps.charging.models import ChargingSession, MeterValue
from tests.factories import ConnectorFactory


def session_with_readings(*, station, readings: list[tuple[datetime, int]], id_tag=None, user=None,
                          meter_start_wh: int = 1_000_000, closed: bool = True,
                          charging_ended_at: datetime | None = None) -> ChargingSession:
    """A session whose register starts at `meter_start_wh`; `readings` are (UTC time, Wh since the start), the
    first being the start and, when `closed`, the last being the stop (StopTransaction's meterStop)."""
    connector = station.connectors.first() or ConnectorFactory(station=station)
    started_at = readings[0][0]
    session = ChargingSession.objects.create(
        station=station, connector=connector, connector_number=connector.connector_id, id_tag=id_tag,
        id_tag_uid=id_tag.uid if id_tag else "", user=user or (id_tag.owner if id_tag else None),
        started_at=started_at, meter_start_wh=meter_start_wh,
        state=ChargingSession.State.COMPLETED if closed else ChargingSession.State.ACTIVE,
        stopped_at=readings[-1][0] if closed else None,
        meter_stop_wh=meter_start_wh + readings[-1][1] if closed else None,
        energy_wh=readings[-1][1] if closed else 0,
        charging_ended_at=charging_ended_at,
    )
    samples = readings[1:-1] if closed else readings[1:]
    MeterValue.objects.bulk_create([
        MeterValue(session=session, station=station, connector_number=connector.connector_id, sampled_at=at,
                   value=meter_start_wh + wh, unit="Wh", context="Sample.Periodic")
        for at, wh in samples
    ])
    return session
