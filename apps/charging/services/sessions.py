"""Charging sessions (OCPP transactions): start, stop, close on boot, anomalies and their resolution.

Times are the charger's (OCPP 1.6 §4.8: queued transaction messages arrive late and carry the time they happened);
energy is integer Wh and never negative."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.stations.models import ChargingStation, Connector
from apps.users.models import User

from ..exceptions import AttentionNotNeeded, ResolutionNoteRequired
from ..models import ChargingSession, MeterValue
from .authorization import AuthorizationVerdict
from .meter import Sample, energy_from_readings

logger = logging.getLogger(__name__)

# A transaction message this much older than its arrival came from the charger's offline queue.
LATE_AFTER = timedelta(minutes=15)
RATE_TASK = "apps.rating.tasks.session_rate_final"

# Sending a Celery task may block on the broker; never do that on the thread that writes OCPP batches.
_task_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evnet-task-send")


def _send_task_now(name: str, args: list) -> None:
    from celery import current_app

    try:
        current_app.send_task(name, args=args)
    except Exception:  # noqa: BLE001 - a broker outage must not undo a committed stop; the rating sweep catches up
        logger.warning("could not send %s%s; the periodic sweep will pick it up", name, args, exc_info=True)


def _rate_on_commit(session_id: int) -> None:
    """Contract 4: rating lives above charging; ask for it by name once the stop is committed."""
    transaction.on_commit(lambda: _task_sender.submit(_send_task_now, RATE_TASK, [session_id]))


def anomaly_add(*, session: ChargingSession, code: str, detail: str = "", at: datetime | None = None) -> bool:
    """Append an anomaly (once per code and detail) and queue the session for a clerk unless it only informs.
    Returns True when it was new. The caller saves the session."""
    if any(a.get("code") == code and a.get("detail", "") == detail for a in session.anomalies):
        return False
    session.anomalies = [*session.anomalies, {"code": code, "detail": detail,
                                             "at": (at or timezone.now()).isoformat()}]
    if code not in ChargingSession.INFORMATIONAL_ANOMALIES:
        session.needs_attention = True
        session.attention_resolved_at = None
    return True


def _max_power_w(*, station: ChargingStation, connector: Connector | None) -> int | None:
    return (connector.max_power_w if connector else None) or station.max_power_w


def _connector(*, station: ChargingStation, number: int) -> Connector | None:
    if number < 1:
        return None
    return Connector.objects.filter(station=station, connector_id=number).first()


def session_start_existing(*, station: ChargingStation, connector_number: int, id_tag_uid: str,
                           meter_start_wh: int, started_at: datetime) -> ChargingSession | None:
    """The session a retransmitted StartTransaction (same connector, idTag, meterStart and timestamp) refers to."""
    return ChargingSession.objects.filter(
        station=station, connector_number=connector_number, id_tag_uid=id_tag_uid, started_at=started_at,
        meter_start_wh=meter_start_wh,
    ).first()


@transaction.atomic
def session_start(*, station: ChargingStation, connector_number: int, id_tag_uid: str, meter_start_wh: int,
                  started_at: datetime, verdict: AuthorizationVerdict, reservation_id: int | None = None,
                  received_at: datetime | None = None) -> tuple[ChargingSession, bool]:
    """Open the session of a StartTransaction; its id is the transactionId. Idempotent on the natural key
    (station, connector, idTag, timestamp, meterStart): a retransmission returns the same session and created
    False. A session left active on the same connector is closed as superseded (its StopTransaction was lost).
    OCPP 1.6 §5.11: a transactionId is issued even when the card is refused; `id_tag_status` keeps the answer."""
    received_at = received_at or timezone.now()
    existing = session_start_existing(station=station, connector_number=connector_number, id_tag_uid=id_tag_uid,
                                      meter_start_wh=meter_start_wh, started_at=started_at)
    if existing:
        return existing, False
    connector = _connector(station=station, number=connector_number)
    for stale in ChargingSession.objects.select_for_update().filter(
            station=station, connector_number=connector_number, state=ChargingSession.State.ACTIVE,
            started_at__lt=started_at):
        _close_interrupted(session=stale, code=ChargingSession.Anomaly.SUPERSEDED_BY_START,
                           detail=f"a new transaction started on connector {connector_number} at "
                                  f"{started_at.isoformat()}", station=station, connector=connector)
    session = ChargingSession(
        station=station, connector=connector, connector_number=connector_number, id_tag=verdict.id_tag,
        id_tag_uid=id_tag_uid, user=verdict.user, reservation_id=reservation_id, started_at=started_at,
        meter_start_wh=meter_start_wh, id_tag_status=verdict.status, meter_last_wh=meter_start_wh,
        meter_last_at=started_at,
    )
    if received_at - started_at > LATE_AFTER:
        anomaly_add(session=session, code=ChargingSession.Anomaly.LATE_MESSAGE,
                    detail=f"StartTransaction of {started_at.isoformat()} arrived at {received_at.isoformat()}",
                    at=received_at)
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError:
        # The same StartTransaction committed concurrently (two sockets of one station): return that one.
        existing = session_start_existing(station=station, connector_number=connector_number,
                                          id_tag_uid=id_tag_uid, meter_start_wh=meter_start_wh,
                                          started_at=started_at)
        if existing is None:
            raise
        return existing, False
    return session, True


def _register_readings(session: ChargingSession) -> list[tuple[datetime, int]]:
    rows = MeterValue.objects.filter(session=session, measurand="Energy.Active.Import.Register", phase="",
                                     location__in=("", "Outlet"), unit="Wh").order_by("sampled_at", "id")
    return [(at, value) for at, value in rows.values_list("sampled_at", "value")]


def _energy_recompute(*, session: ChargingSession, station: ChargingStation, connector: Connector | None) -> None:
    """energy_wh from every stored register reading between meterStart and meterStop, in time order (late and
    out-of-order MeterValues included); flags backwards and jumping meters."""
    readings = [(session.started_at, session.meter_start_wh)]
    readings += [(at, wh) for at, wh in _register_readings(session)
                 if session.started_at <= at <= (session.stopped_at or at)]
    if session.meter_stop_wh is not None:
        readings.append((max(session.stopped_at or session.started_at, readings[-1][0]), session.meter_stop_wh))
    total = energy_from_readings(readings=readings, max_power_w=_max_power_w(station=station, connector=connector))
    session.energy_wh = total.energy_wh
    for code, detail in total.anomalies:
        anomaly_add(session=session, code=code, detail=detail)
    if session.charging_ended_at is None and session.stopped_at is not None:
        session.charging_ended_at = total.last_increase_at or session.stopped_at
        if session.charging_ended_at > session.stopped_at:
            session.charging_ended_at = session.stopped_at


def _close_interrupted(*, session: ChargingSession, code: str, detail: str, station: ChargingStation,
                       connector: Connector | None) -> None:
    """Close a session whose StopTransaction never came, at its last meter reading."""
    session.state = ChargingSession.State.INTERRUPTED
    session.meter_stop_wh = session.meter_last_wh if session.meter_last_wh is not None else session.meter_start_wh
    session.stopped_at = max(session.meter_last_at or session.started_at, session.started_at)
    anomaly_add(session=session, code=code, detail=detail)
    _energy_recompute(session=session, station=station, connector=connector)
    session.save()


@transaction.atomic
def sessions_close_on_boot(*, station: ChargingStation, booted_at: datetime) -> list[ChargingSession]:
    """A BootNotification means the charger restarted: no transaction survives it (OCPP 1.6 §4.2). Close the
    station's active sessions as interrupted at their last meter value, flagged `closed_by_boot` for a clerk."""
    closed = []
    for session in ChargingSession.objects.select_for_update().filter(station=station,
                                                                       state=ChargingSession.State.ACTIVE):
        connector = _connector(station=station, number=session.connector_number)
        _close_interrupted(session=session, code=ChargingSession.Anomaly.CLOSED_BY_BOOT,
                           detail=f"the station booted at {booted_at.isoformat()} with this transaction open",
                           station=station, connector=connector)
        closed.append(session)
    return closed


def _transaction_data_rows(*, session: ChargingSession | None, station: ChargingStation, connector_number: int,
                           samples: list[Sample]) -> list[MeterValue]:
    return [MeterValue(session=session, station=station, connector_number=connector_number, sampled_at=s.sampled_at,
                       measurand=s.measurand, phase=s.phase, location=s.location, context=s.context, unit=s.unit,
                       value=s.value) for s in samples]


@transaction.atomic
def session_stop(*, station: ChargingStation, transaction_id: int, meter_stop_wh: int, stopped_at: datetime,
                 reason: str = "", id_tag_uid: str = "", transaction_data: list[Sample] | None = None,
                 received_at: datetime | None = None) -> tuple[ChargingSession, str]:
    """Close a session from StopTransaction. Returns (session, outcome) with outcome one of:
    "stopped"; "duplicate" (already completed: flagged duplicate_stop, totals unchanged); "late_after_boot" (the
    boot had closed it: the charger's real figures replace the estimate); "unknown" (no such transaction at this
    station, e.g. -1: an anomaly session row is recorded, once per retransmission key).
    Energy is recomputed from every stored register reading; rating is requested on commit."""
    received_at = received_at or timezone.now()
    samples = transaction_data or []
    session = ChargingSession.objects.select_for_update().filter(pk=transaction_id, station=station).first()
    if session is None:
        return _stop_unknown(station=station, transaction_id=transaction_id, meter_stop_wh=meter_stop_wh,
                             stopped_at=stopped_at, reason=reason, id_tag_uid=id_tag_uid), "unknown"
    connector = session.connector
    if session.state == ChargingSession.State.COMPLETED or (
            session.state == ChargingSession.State.INTERRUPTED
            and not any(a.get("code") == ChargingSession.Anomaly.CLOSED_BY_BOOT for a in session.anomalies)) or (
            any(a.get("code") == ChargingSession.Anomaly.LATE_STOP_AFTER_BOOT for a in session.anomalies)):
        anomaly_add(session=session, code=ChargingSession.Anomaly.DUPLICATE_STOP,
                    detail=f"StopTransaction again: meterStop {meter_stop_wh} Wh at {stopped_at.isoformat()}",
                    at=received_at)
        session.save(update_fields=["anomalies", "needs_attention", "attention_resolved_at", "updated_at"])
        return session, "duplicate"
    outcome = "stopped"
    if session.state == ChargingSession.State.INTERRUPTED:
        outcome = "late_after_boot"
        anomaly_add(session=session, code=ChargingSession.Anomaly.LATE_STOP_AFTER_BOOT,
                    detail=f"StopTransaction arrived at {received_at.isoformat()}: meterStop {meter_stop_wh} Wh at "
                           f"{stopped_at.isoformat()} replaces the estimate ({session.meter_stop_wh} Wh)",
                    at=received_at)
    if samples:
        MeterValue.objects.bulk_create(_transaction_data_rows(session=session, station=station,
                                                              connector_number=session.connector_number,
                                                              samples=samples))
    session.state = ChargingSession.State.COMPLETED
    session.meter_stop_wh = meter_stop_wh
    session.stopped_at = stopped_at
    session.stop_reason = reason or "Local"
    if stopped_at < session.started_at:
        anomaly_add(session=session, code=ChargingSession.Anomaly.STOP_BEFORE_START,
                    detail=f"stopped at {stopped_at.isoformat()}, started at {session.started_at.isoformat()}")
    if received_at - stopped_at > LATE_AFTER:
        anomaly_add(session=session, code=ChargingSession.Anomaly.LATE_MESSAGE,
                    detail=f"StopTransaction of {stopped_at.isoformat()} arrived at {received_at.isoformat()}",
                    at=received_at)
    if session.charging_ended_at and session.charging_ended_at > stopped_at:
        session.charging_ended_at = None
    _energy_recompute(session=session, station=station, connector=connector)
    session.meter_last_wh, session.meter_last_at = meter_stop_wh, stopped_at
    session.save()
    if connector is not None:
        Connector.objects.filter(pk=connector.pk).update(power_w=0)
    _rate_on_commit(session.pk)
    return session, outcome


def _stop_unknown(*, station: ChargingStation, transaction_id: int, meter_stop_wh: int, stopped_at: datetime,
                  reason: str, id_tag_uid: str) -> ChargingSession:
    """Record a StopTransaction for a transaction evnet never issued as a zero-energy, interrupted session in the
    attention queue. Retransmissions find the same row (natural key: station, connector 0, idTag, time, meter)."""
    session, created = ChargingSession.objects.get_or_create(
        station=station, connector_number=0, id_tag_uid=id_tag_uid, started_at=stopped_at,
        meter_start_wh=meter_stop_wh,
        defaults={"state": ChargingSession.State.INTERRUPTED, "stopped_at": stopped_at,
                  "meter_stop_wh": meter_stop_wh, "meter_last_wh": meter_stop_wh, "meter_last_at": stopped_at,
                  "stop_reason": reason or "Local", "energy_wh": 0, "id_tag_status": "Unknown"},
    )
    if anomaly_add(session=session, code=ChargingSession.Anomaly.UNKNOWN_TRANSACTION_STOP,
                   detail=f"StopTransaction for transactionId {transaction_id}, never issued to {station.ocpp_id}; "
                          f"meterStop {meter_stop_wh} Wh at {stopped_at.isoformat()}"):
        session.save()
    return session


@transaction.atomic
def session_attention_resolve(*, session: ChargingSession, user: User, note: str) -> ChargingSession:
    """A clerk closes the anomalies of a session: who, when and what they decided. Anomalies stay as history.
    A closed session is (re)offered to rating, which is idempotent."""
    note = (note or "").strip()
    if not note:
        raise ResolutionNoteRequired()
    session = ChargingSession.objects.select_for_update().get(pk=session.pk)
    if not session.needs_attention:
        raise AttentionNotNeeded(f"Session #{session.pk} is not waiting for a clerk.")
    session.needs_attention = False
    session.attention_resolved_at = timezone.now()
    session.attention_resolved_by = user
    session.attention_note = note
    session.save(update_fields=["needs_attention", "attention_resolved_at", "attention_resolved_by",
                                "attention_note", "updated_at"])
    if session.state != ChargingSession.State.ACTIVE:
        _rate_on_commit(session.pk)
    return session
