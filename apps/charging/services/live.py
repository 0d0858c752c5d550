"""The hot path of charging: meter values and status notifications of many stations in one call, as the OCPP
group-commit writer hands them over (a constant number of queries per batch, whatever its size)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.db import connection
from django.utils import timezone

from apps.core.bulk import Row, rows_insert, rows_update
from apps.stations.live import StatusReport, connector_statuses_record
from apps.stations.models import Connector

from ..models import ChargingSession, MeterValue
from .meter import IDLE_POWER_W, Sample, active_power_w, energy_step, is_energy_register
from .sessions import anomaly_add

_RUNNING_FIELDS = ["energy_wh", "meter_last_wh", "meter_last_at", "charging_ended_at", "updated_at"]
_ATTENTION_FIELDS = [*_RUNNING_FIELDS, "anomalies", "needs_attention", "attention_resolved_at"]


@dataclass
class MeterValuesReport:
    """One MeterValues request (or the clock-aligned values of connector 0, transaction_id None)."""

    station_id: int
    connector_number: int
    transaction_id: int | None
    samples: list[Sample]
    received_at: datetime
    max_power_w: int | None = None  # the station's rating, used when the connector has none
    notes: list[str] = field(default_factory=list)


# A session's running meter state, read in one query for a batch: the fields meter_values_record_many reads and
# writes, without building model instances (their __init__ and signals were a large share of a batch).
_STATE_COLUMNS = ["pk", "station_id", "state", "started_at", "meter_start_wh", "meter_last_wh", "meter_last_at",
                  "energy_wh", "charging_ended_at", "anomalies", "needs_attention", "attention_resolved_at",
                  "connector__max_power_w"]
_METER_VALUE_FIELDS = ["session_id", "station_id", "connector_number", "sampled_at", "measurand", "phase", "location",
                       "context", "unit", "value"]


class _SessionState:
    """The running meter state of one session (duck-types the ChargingSession fields anomaly_add touches)."""

    __slots__ = ("pk", "station_id", "state", "started_at", "meter_start_wh", "meter_last_wh", "meter_last_at",
                 "energy_wh", "charging_ended_at", "anomalies", "needs_attention", "attention_resolved_at",
                 "connector_max_power_w", "updated_at")

    def __init__(self, row: tuple):
        (self.pk, self.station_id, self.state, self.started_at, self.meter_start_wh, self.meter_last_wh,
         self.meter_last_at, self.energy_wh, self.charging_ended_at, self.anomalies, self.needs_attention,
         self.attention_resolved_at, self.connector_max_power_w) = row
        self.updated_at = None


def meter_values_record_many(*, reports: list[MeterValuesReport]) -> list[MeterValuesReport]:
    """Store every sample (bulk insert) and advance each active session's running energy from its register:
    billable increments only, backwards or jumping meters flagged (see meter.energy_step); values older than the
    session's last reading (late, out of order) are stored and counted when the session stops. The connector's
    live power comes from Power.Active.Import; power falling to ~0 after energy flowed sets charging_ended_at
    (idle fees count from there), power coming back clears it. A transactionId that is not one of this station's
    sessions keeps its values for the station only, with a note."""
    tx_ids = {r.transaction_id for r in reports if r.transaction_id is not None}
    sessions = {row[0]: _SessionState(row) for row in _session_states(tx_ids)} if tx_ids else {}
    wanted = {(r.station_id, r.connector_number) for r in reports if r.connector_number >= 1}
    # [pk, power_w] per (station, connector number)
    connectors = {(station_id, number): [pk, power_w] for pk, station_id, number, power_w in _connector_powers(
        station_ids={s for s, _ in wanted}, numbers={n for _, n in wanted}) if (station_id, number) in wanted
                  } if wanted else {}
    rows: list[tuple] = []
    running: dict[int, _SessionState] = {}
    attention: dict[int, _SessionState] = {}
    touched_connectors: dict[int, list] = {}
    for report in reports:
        session = sessions.get(report.transaction_id) if report.transaction_id is not None else None
        if session is not None and session.station_id != report.station_id:
            session = None
        if report.transaction_id is not None and session is None:
            report.notes.append(f"transactionId {report.transaction_id} is not a transaction of this station")
        session_id = session.pk if session is not None else None
        rows.extend((session_id, report.station_id, report.connector_number, s.sampled_at, s.measurand, s.phase,
                     s.location, s.context, s.unit, s.value) for s in report.samples)
        connector = connectors.get((report.station_id, report.connector_number))
        power = active_power_w(report.samples)
        if session is not None and session.state == ChargingSession.State.ACTIVE:
            max_power = session.connector_max_power_w or report.max_power_w
            flagged = False
            for sample in sorted((s for s in report.samples if is_energy_register(s)), key=lambda s: s.sampled_at):
                previous_at = session.meter_last_at or session.started_at
                if sample.sampled_at <= previous_at:
                    continue
                previous_wh = session.meter_last_wh if session.meter_last_wh is not None else session.meter_start_wh
                step = energy_step(previous_wh=previous_wh, previous_at=previous_at, reading_wh=sample.value,
                                   reading_at=sample.sampled_at, max_power_w=max_power)
                session.energy_wh += step.increment_wh
                session.meter_last_wh, session.meter_last_at = sample.value, sample.sampled_at
                if step.anomaly:
                    flagged |= anomaly_add(session=session, code=step.anomaly, detail=step.detail,
                                           at=report.received_at)
            if power is not None:
                at, watts = power
                if watts <= IDLE_POWER_W and session.energy_wh > 0 and session.charging_ended_at is None:
                    session.charging_ended_at = at
                elif watts > IDLE_POWER_W and session.charging_ended_at is not None:
                    session.charging_ended_at = None
            if flagged or session.pk in attention:
                attention[session.pk] = session
                running.pop(session.pk, None)
            else:
                running[session.pk] = session
        if connector is not None and power is not None and connector[1] != power[1]:
            connector[1] = power[1]
            touched_connectors[connector[0]] = connector
    # The UPDATEs are deferred (inside the writer's rows_deferred): sent with the batch's COMMIT in one round trip.
    # Nothing later in a writer batch reads these rows.
    rows_insert(model=MeterValue, fields=_METER_VALUE_FIELDS, rows=rows)
    now = timezone.now()
    for session in (*running.values(), *attention.values()):
        session.updated_at = now
    rows_update(model=ChargingSession, objs=running.values(), fields=_RUNNING_FIELDS, deferred=True)
    rows_update(model=ChargingSession, objs=attention.values(), fields=_ATTENTION_FIELDS, deferred=True)
    rows_update(model=Connector, objs=[Row(pk, power_w=w) for pk, w in touched_connectors.values()],
                fields=["power_w"], deferred=True)
    return reports


def _session_states(tx_ids: set[int]) -> list[tuple]:
    """_STATE_COLUMNS of these sessions, locked. FOR UPDATE in primary key order (no deadlock between batches):
    the OCPP writer runs batches of different lanes at once, and a StopTransaction committed by another lane
    meanwhile must not be overwritten from a stale read."""
    if connection.vendor != "postgresql":
        return list(ChargingSession.objects.filter(pk__in=tx_ids).order_by("pk").select_for_update(of=("self",))
                    .values_list(*_STATE_COLUMNS))
    # The same query as plain SQL: building it with the ORM cost about 1 ms of CPU per writer batch, more than
    # the rest of a small batch's Python work.
    with connection.cursor() as cursor:
        cursor.execute(_session_states_sql(), [sorted(tx_ids)])
        rows = cursor.fetchall()
    # Django reads jsonb as text and decodes it in the field's from_db_value; plain SQL gets that text.
    anomalies = _STATE_COLUMNS.index("anomalies")
    decode = ChargingSession._meta.get_field("anomalies").from_db_value
    return [(*row[:anomalies], decode(row[anomalies], None, connection), *row[anomalies + 1:]) for row in rows]


@cache
def _session_states_sql() -> str:
    session, connector = ChargingSession._meta, Connector._meta
    columns = [session.get_field(name).column for name in _STATE_COLUMNS[1:-1]]
    session_connector = session.get_field("connector").column
    return (f'SELECT s."{session.pk.column}", ' + ", ".join(f's."{c}"' for c in columns)
            + f', c."{connector.get_field("max_power_w").column}" FROM "{session.db_table}" s '
            f'LEFT JOIN "{connector.db_table}" c ON c."{connector.pk.column}" = s."{session_connector}" '
            f'WHERE s."{session.pk.column}" = ANY(%s::bigint[]) ORDER BY 1 FOR UPDATE OF s')


def _connector_powers(*, station_ids: set[int], numbers: set[int]) -> list[tuple]:
    """(pk, station_id, connector number, power_w) of the connectors with those numbers at those stations."""
    if connection.vendor != "postgresql":
        return list(Connector.objects.filter(station_id__in=station_ids, connector_id__in=numbers).order_by()
                    .values_list("pk", "station_id", "connector_id", "power_w"))
    meta = Connector._meta
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{meta.pk.column}", "station_id", "connector_id", "power_w" FROM "{meta.db_table}" '
                       "WHERE station_id = ANY(%s::bigint[]) AND connector_id = ANY(%s::int[])",
                       [sorted(station_ids), sorted(numbers)])
        return cursor.fetchall()


def status_notifications_record_many(*, reports: list[StatusReport]) -> None:
    """Connector status and history (stations.live), plus the session side: a connector going SuspendedEV or
    Finishing after energy flowed marks when charging ended (idle fees count from there); Charging again clears
    it."""
    connector_statuses_record(reports=reports)
    ended = {(r.station_id, r.connector_number): r for r in reports
             if r.connector_number >= 1 and r.status in (Connector.Status.SUSPENDED_EV, Connector.Status.FINISHING,
                                                          Connector.Status.CHARGING)}
    if not ended:
        return
    changed = []
    for session in ChargingSession.objects.filter(station_id__in={s for s, _ in ended},
                                                  connector_number__in={n for _, n in ended},
                                                  state=ChargingSession.State.ACTIVE):
        report = ended.get((session.station_id, session.connector_number))
        if report is None or report.reported_at < session.started_at:
            continue
        if report.status == Connector.Status.CHARGING:
            if session.charging_ended_at is not None:
                session.charging_ended_at = None
                changed.append(session)
        elif session.charging_ended_at is None and session.energy_wh > 0:
            session.charging_ended_at = report.reported_at
            changed.append(session)
    now = timezone.now()
    for session in changed:
        session.updated_at = now
    rows_update(objs=changed, fields=["charging_ended_at", "updated_at"])
