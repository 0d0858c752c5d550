"""What each inbound OCPP 1.6 action does to the database, as plain functions run by the group-commit writer
thread inside its batch transaction. The connection validated the payload against the 1.6 schema already; these
return the CALLRESULT payload."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone as dt_timezone

from django.conf import settings

from apps.charging.services.authorization import ACCEPTED, BLOCKED, CONCURRENT_TX, INVALID, id_tag_authorize
from apps.charging.services.live import MeterValuesReport, meter_values_record_many, status_notifications_record_many
from apps.charging.services.meter import meter_values_parse, parse_timestamp
from apps.charging.services.sessions import session_start, session_start_existing, session_stop, \
    sessions_close_on_boot
from apps.charging.models import ChargingSession
from apps.stations.live import BootReport, ConnectionChange, StatusReport, station_diagnostics_status_record, \
    station_firmware_status_record, stations_boot_record, stations_connection_close, stations_connection_open
from apps.stations.models import ChargingStation
from apps.stations.services import station_password_verifier_store

from .. import writer
from .admission import AdmissionRequest, PasswordCheckNeeded, stations_admit_known
from .funds import prepaid_funds_problem

logger = logging.getLogger("apps.ocpp")

_BOOT_FIELDS = {
    "chargePointVendor": "vendor", "chargePointModel": "model", "chargePointSerialNumber": "serial_number",
    "chargeBoxSerialNumber": "serial_number", "firmwareVersion": "firmware_version", "iccid": "iccid",
    "imsi": "imsi", "meterType": "meter_type", "meterSerialNumber": "meter_serial_number",
}


def ocpp_time(at: datetime) -> str:
    """An OCPP dateTime: UTC with milliseconds and Z."""
    return at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _station(station_id: int) -> ChargingStation:
    return ChargingStation.objects.select_related("site").get(pk=station_id)


def _id_tag_info(verdict) -> dict:
    info = {"status": verdict.status}
    if verdict.expiry_at is not None:
        info["expiryDate"] = ocpp_time(verdict.expiry_at)
    if verdict.parent_id_tag:
        info["parentIdTag"] = verdict.parent_id_tag
    return info


def _authorize_with_funds(*, station: ChargingStation, uid: str, at: datetime):
    verdict = id_tag_authorize(station=station, uid=uid, at=at)
    if verdict.status == ACCEPTED:
        problem = prepaid_funds_problem(id_tag=verdict.id_tag, user=verdict.user, station=station)
        if problem:
            logger.info("idTag %s refused at %s for funds: %s", uid, station.ocpp_id, problem)
            verdict = type(verdict)(BLOCKED, verdict.id_tag, verdict.user, verdict.expiry_at, verdict.parent_id_tag,
                                    problem)
    if verdict.status != ACCEPTED:
        logger.info("idTag %s at %s: %s (%s)", uid, station.ocpp_id, verdict.status, verdict.reason)
    return verdict


# --- "call" operations: one function per action, run one after another inside the batch -------------------------

def boot_report(*, station_id: int, payload: dict, at: datetime) -> BootReport:
    """The "boot" operation of a BootNotification (run in batches by `_run_boots`)."""
    return BootReport(station_id, {field: payload[key] for key, field in _BOOT_FIELDS.items() if key in payload}, at)


def authorize(*, station_id: int, payload: dict, at: datetime) -> dict:
    verdict = _authorize_with_funds(station=_station(station_id), uid=payload["idTag"], at=at)
    return {"idTagInfo": _id_tag_info(verdict)}


def start_transaction(*, station_id: int, payload: dict, at: datetime) -> dict:
    """A retransmitted StartTransaction gets the same transactionId and answer (natural key); a new one is
    authorized (contract 2: card, station access, ConcurrentTx, then prepaid funds) and always gets an id."""
    station = _station(station_id)
    started_at = parse_timestamp(payload["timestamp"], default=at)
    key = {"station": station, "connector_number": payload["connectorId"], "id_tag_uid": payload["idTag"],
           "meter_start_wh": payload["meterStart"], "started_at": started_at}
    existing = session_start_existing(**key)
    if existing is not None:
        return {"transactionId": existing.pk, "idTagInfo": {"status": existing.id_tag_status}}
    verdict = _authorize_with_funds(station=station, uid=payload["idTag"], at=started_at)
    session, _ = session_start(**key, verdict=verdict, reservation_id=payload.get("reservationId"), received_at=at)
    return {"transactionId": session.pk, "idTagInfo": _id_tag_info(verdict)}


def stop_transaction(*, station_id: int, payload: dict, at: datetime) -> dict:
    """Always a CallResult, so the charger stops retrying: a duplicate is flagged, an unknown transactionId is
    recorded for a clerk. idTagInfo (when an idTag is given) is that card's status; the card stopping its own
    transaction is not ConcurrentTx."""
    station = _station(station_id)
    stopped_at = parse_timestamp(payload["timestamp"], default=at)
    samples = []
    for entry in payload.get("transactionData") or ():
        parsed, _ = meter_values_parse(meter_value=[entry], default_at=stopped_at)
        samples.extend(parsed)
    session, outcome = session_stop(
        station=station, transaction_id=payload["transactionId"], meter_stop_wh=payload["meterStop"],
        stopped_at=stopped_at, reason=payload.get("reason", ""), id_tag_uid=payload.get("idTag", ""),
        transaction_data=samples, received_at=at,
    )
    if outcome != "stopped":
        logger.warning("StopTransaction %s from %s: %s (session #%s)", payload["transactionId"], station.ocpp_id,
                       outcome, session.pk)
    if not payload.get("idTag"):
        return {}
    verdict = id_tag_authorize(station=station, uid=payload["idTag"], at=stopped_at)
    status = ACCEPTED if verdict.status == CONCURRENT_TX else verdict.status
    if outcome == "unknown" and verdict.id_tag is None:
        status = INVALID
    return {"idTagInfo": {**_id_tag_info(verdict), "status": status}}


def firmware_status(*, station_id: int, payload: dict, at: datetime) -> dict:
    station_firmware_status_record(station_id=station_id, status=payload["status"], at=at)
    return {}


def diagnostics_status(*, station_id: int, payload: dict, at: datetime) -> dict:
    station_diagnostics_status_record(station_id=station_id, status=payload["status"], at=at)
    return {}


def log_status(*, station_id: int, payload: dict, at: datetime) -> dict:
    """Security extension: the log upload's progress, kept where diagnostics progress is."""
    station_diagnostics_status_record(station_id=station_id, status=payload["status"], at=at)
    return {}


def security_event(*, station_id: int, payload: dict, at: datetime) -> dict:
    """Security extension: the event is in the message log; a warning goes to the operations log."""
    logger.warning("security event from station %s: %s at %s (%s)", station_id, payload.get("type"),
                   payload.get("timestamp"), payload.get("techInfo", ""))
    return {}


def sign_certificate(*, station_id: int, payload: dict, at: datetime) -> dict:
    """Security profile 3 certificates are not issued by evnet (profiles 1 and 2 only): refuse politely."""
    return {"status": "Rejected"}


# Security-extension messages a 1.6 charger may wrap in DataTransfer (messageId = the action).
SECURITY_IN_DATA_TRANSFER = {
    "SecurityEventNotification": security_event,
    "SignedFirmwareStatusNotification": firmware_status,
    "LogStatusNotification": log_status,
}


def data_transfer(*, station_id: int, payload: dict, at: datetime) -> dict:
    """Vendor-specific data has no meaning to evnet beyond the message log (UnknownVendorId), except the security
    extension's notifications, handled as if sent directly."""
    from ..schemas import PayloadError, validate

    handler_fn = SECURITY_IN_DATA_TRANSFER.get(payload.get("messageId", ""))
    if handler_fn is None:
        return {"status": "UnknownVendorId"}
    try:
        inner = json.loads(payload.get("data") or "{}")
        validate(payload["messageId"], inner)
    except (ValueError, TypeError, PayloadError) as exc:
        return {"status": "Rejected", "data": json.dumps({"error": str(exc)[:200]})}
    return {"status": "Accepted", "data": json.dumps(handler_fn(station_id=station_id, payload=inner, at=at))}


# --- batch handlers of the writer --------------------------------------------------------------------------------

@writer.handler("call")
def _run_calls(payloads: list[tuple]) -> list:
    return [fn(**kwargs) for fn, kwargs in payloads]


@writer.handler("admit")
def _run_admissions(requests: list[AdmissionRequest]) -> list:
    return stations_admit_known(requests=requests)


@writer.handler("password_verified")
def _run_password_verified(checks: list[PasswordCheckNeeded]) -> list:
    for check in checks:
        station_password_verifier_store(station_id=check.admission.station_id, password_hash=check.password_hash,
                                        password=check.password)
    return [None] * len(checks)


@writer.handler("open")
def _run_opens(changes: list[ConnectionChange]) -> list:
    stations_connection_open(changes=changes)
    return [None] * len(changes)


@writer.handler("close")
def _run_closes(changes: list[ConnectionChange]) -> list[bool]:
    return stations_connection_close(changes=changes)


@writer.handler("boot")
def _run_boots(reports: list[BootReport]) -> list[dict]:
    """BootNotifications: store what the stations report, close the transactions a power cut left open (flagged
    closed_by_boot), and answer each with its station's registration status and the heartbeat interval. One read
    and one write for the batch; sessions are looked at only for stations that have an active one."""
    statuses = stations_boot_record(reports=reports)
    with_open_sessions = set(ChargingSession.objects.filter(
        station_id__in=statuses, state=ChargingSession.State.ACTIVE).values_list("station_id", flat=True))
    answers = []
    for report in reports:
        if report.station_id in with_open_sessions:
            with_open_sessions.discard(report.station_id)  # a second boot of the batch finds them closed
            station = _station(report.station_id)
            closed = sessions_close_on_boot(station=station, booted_at=report.at)
            if closed:
                logger.warning("%s booted with %d open transaction(s): %s closed as interrupted", station.ocpp_id,
                               len(closed), [s.pk for s in closed])
        answers.append({"status": statuses.get(report.station_id, ChargingStation.RegistrationStatus.REJECTED),
                        "currentTime": ocpp_time(report.at), "interval": settings.EVNET_OCPP_HEARTBEAT_INTERVAL_S})
    return answers


@writer.handler("status")
def _run_statuses(reports: list[StatusReport]) -> list:
    status_notifications_record_many(reports=reports)
    return [None] * len(reports)


@writer.handler("meter_values")
def _run_meter_values(reports: list[MeterValuesReport]) -> list:
    return meter_values_record_many(reports=reports)

