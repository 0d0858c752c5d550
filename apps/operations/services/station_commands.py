"""One service per command a clerk can send from the back-office. Each builds a valid OCPP 1.6 payload from plain
arguments, sends it with command_send and keeps whatever evnet must remember of the answer (local list version,
reservation status, diagnostics upload link)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.charging.models import ChargingSession
from apps.stations.models import ChargingStation
from apps.stations.selectors import station_permission_valid_q
from apps.users.models import IdTag
from evnet.exceptions import DomainError

from ..exceptions import InvalidCommand, NoActiveSession
from ..models import CommandRecord, DiagnosticsRequest, FirmwareImage, Reservation, StationLocalList
from .commands import command_send

DIAGNOSTICS_SALT = "evnet.operations.diagnostics-upload"


def ocpp_time(at: datetime) -> str:
    """An OCPP dateTime: UTC, ISO 8601 with a Z."""
    return at.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def _public_url(path: str) -> str:
    return settings.EVNET_PUBLIC_URL.rstrip("/") + path


# --- Core ---------------------------------------------------------------------------------------------------------

def station_remote_start(*, station: ChargingStation, connector_id: int | None, id_tag_uid: str,
                         charging_profile: dict | None = None, requested_by=None,
                         timeout: float | None = None) -> dict:
    """RemoteStartTransaction for `id_tag_uid` on `connector_id` (None lets the charger choose)."""
    payload: dict = {"idTag": id_tag_uid.strip()}
    if connector_id:
        payload["connectorId"] = int(connector_id)
    if charging_profile:
        payload["chargingProfile"] = charging_profile
    return command_send(station=station, action="RemoteStartTransaction", payload=payload,
                        requested_by=requested_by, timeout=timeout)


def station_active_sessions(*, station: ChargingStation):
    return ChargingSession.objects.filter(station=station, state=ChargingSession.State.ACTIVE).order_by(
        "connector_number", "started_at")


def station_remote_stop(*, station: ChargingStation, transaction_id: int | None = None, requested_by=None,
                        timeout: float | None = None) -> dict:
    """RemoteStopTransaction of `transaction_id`, or of the station's only active session when not given."""
    if transaction_id is None:
        active = list(station_active_sessions(station=station)[:2])
        if not active:
            raise NoActiveSession(f"Station {station.ocpp_id} has no charging session in progress.")
        if len(active) > 1:
            raise InvalidCommand(f"Station {station.ocpp_id} has several sessions in progress: choose one.")
        transaction_id = active[0].pk
    elif not station_active_sessions(station=station).filter(pk=transaction_id).exists():
        raise NoActiveSession(f"Session {transaction_id} is not in progress on station {station.ocpp_id}.")
    return command_send(station=station, action="RemoteStopTransaction", payload={"transactionId": transaction_id},
                        requested_by=requested_by, timeout=timeout)


def station_reset(*, station: ChargingStation, reset_type: str, requested_by=None, timeout=None) -> dict:
    """Reset Soft (stop transactions, restart software) or Hard (reboot)."""
    return command_send(station=station, action="Reset", payload={"type": reset_type}, requested_by=requested_by,
                        timeout=timeout)


def station_unlock_connector(*, station: ChargingStation, connector_id: int, requested_by=None,
                             timeout=None) -> dict:
    return command_send(station=station, action="UnlockConnector", payload={"connectorId": int(connector_id)},
                        requested_by=requested_by, timeout=timeout)


def station_change_availability(*, station: ChargingStation, connector_id: int, availability: str,
                                requested_by=None, timeout=None) -> dict:
    """ChangeAvailability Operative/Inoperative; connector 0 is the whole station."""
    return command_send(station=station, action="ChangeAvailability",
                        payload={"connectorId": int(connector_id), "type": availability},
                        requested_by=requested_by, timeout=timeout)


def station_get_configuration(*, station: ChargingStation, keys: list[str] | None = None, requested_by=None,
                              timeout=None) -> dict:
    payload = {"key": keys} if keys else {}
    return command_send(station=station, action="GetConfiguration", payload=payload, requested_by=requested_by,
                        timeout=timeout)


def station_change_configuration(*, station: ChargingStation, key: str, value: str, requested_by=None,
                                 timeout=None) -> dict:
    return command_send(station=station, action="ChangeConfiguration", payload={"key": key, "value": value},
                        requested_by=requested_by, timeout=timeout)


def station_clear_cache(*, station: ChargingStation, requested_by=None, timeout=None) -> dict:
    return command_send(station=station, action="ClearCache", payload={}, requested_by=requested_by,
                        timeout=timeout)


def station_data_transfer(*, station: ChargingStation, vendor_id: str, message_id: str = "", data: str = "",
                          requested_by=None, timeout=None) -> dict:
    payload = {"vendorId": vendor_id}
    if message_id:
        payload["messageId"] = message_id
    if data:
        payload["data"] = data
    return command_send(station=station, action="DataTransfer", payload=payload, requested_by=requested_by,
                        timeout=timeout)


# --- Remote Trigger ---------------------------------------------------------------------------------------------

def station_trigger_message(*, station: ChargingStation, requested_message: str, connector_id: int | None = None,
                            requested_by=None, timeout=None) -> dict:
    payload: dict = {"requestedMessage": requested_message}
    if connector_id:
        payload["connectorId"] = int(connector_id)
    return command_send(station=station, action="TriggerMessage", payload=payload, requested_by=requested_by,
                        timeout=timeout)


# --- Firmware Management ----------------------------------------------------------------------------------------

def firmware_download_url(*, firmware: FirmwareImage) -> str:
    name = firmware.file.name.rsplit("/", 1)[-1]
    return _public_url(reverse("operations:firmware-download", kwargs={"token": firmware.download_token,
                                                                       "file_name": name}))


def station_update_firmware(*, station: ChargingStation, firmware: FirmwareImage, retrieve_at: datetime,
                            retries: int | None = None, retry_interval_s: int | None = None, requested_by=None,
                            timeout=None) -> dict:
    """UpdateFirmware pointing the charger at the image's download URL; it downloads from `retrieve_at` on."""
    if firmware.organization_id != station.site.organization_id:
        raise InvalidCommand(f"Firmware “{firmware}” belongs to another organization than station "
                             f"{station.ocpp_id}.")
    payload: dict = {"location": firmware_download_url(firmware=firmware), "retrieveDate": ocpp_time(retrieve_at)}
    if retries is not None:
        payload["retries"] = int(retries)
    if retry_interval_s is not None:
        payload["retryInterval"] = int(retry_interval_s)
    return command_send(station=station, action="UpdateFirmware", payload=payload, requested_by=requested_by,
                        timeout=timeout)


def diagnostics_link_ttl() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "EVNET_DIAGNOSTICS_LINK_TTL_S", 24 * 3600)))


def diagnostics_upload_url(*, request: DiagnosticsRequest) -> str:
    token = signing.dumps(request.pk, salt=DIAGNOSTICS_SALT)
    return _public_url(reverse("operations:diagnostics-upload", kwargs={"token": token}))


def station_get_diagnostics(*, station: ChargingStation, start_at: datetime | None = None,
                            stop_at: datetime | None = None, requested_by=None,
                            timeout=None) -> tuple[DiagnosticsRequest, dict]:
    """GetDiagnostics with a one-time upload link of evnet's own (signed, valid EVNET_DIAGNOSTICS_LINK_TTL_S).
    Returns the request (its file arrives later, when the charger uploads) and the charger's answer. When the
    command fails the link is expired at once, so it can never receive a file."""
    now = timezone.now()
    if start_at and stop_at and stop_at <= start_at:
        raise InvalidCommand("The diagnostics period must end after it starts.")
    diagnostics = DiagnosticsRequest.objects.create(
        station=station, requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        requested_at=now, expires_at=now + diagnostics_link_ttl())
    payload: dict = {"location": diagnostics_upload_url(request=diagnostics)}
    if start_at:
        payload["startTime"] = ocpp_time(start_at)
    if stop_at:
        payload["stopTime"] = ocpp_time(stop_at)
    request_id = uuid.uuid4().hex
    try:
        answer = command_send(station=station, action="GetDiagnostics", payload=payload, requested_by=requested_by,
                              timeout=timeout, request_id=request_id)
    except DomainError:
        DiagnosticsRequest.objects.filter(pk=diagnostics.pk).update(
            expires_at=timezone.now(), command=CommandRecord.objects.filter(request_id=request_id).first())
        raise
    diagnostics.command = CommandRecord.objects.get(request_id=request_id)
    diagnostics.announced_file_name = str(answer.get("fileName") or "")[:255]
    diagnostics.save(update_fields=["command", "announced_file_name"])
    return diagnostics, answer


# --- Smart Charging ---------------------------------------------------------------------------------------------

def charging_profile_build(*, profile_id: int, purpose: str, limit: Decimal, unit: str, stack_level: int = 0,
                           transaction_id: int | None = None, number_phases: int | None = None) -> dict:
    """A one-period OCPP 1.6 ChargingProfile capping the charge at `limit` A or W from the start of each
    transaction (TxDefaultProfile) or of the given transaction (TxProfile)."""
    if unit not in ("A", "W"):
        raise InvalidCommand("The limit unit is A or W.")
    if limit <= 0:
        raise InvalidCommand("The limit must be positive.")
    if purpose == "TxProfile" and transaction_id is None:
        raise InvalidCommand("A TxProfile applies to a transaction in progress: name it.")
    period: dict = {"startPeriod": 0, "limit": float(Decimal(limit).quantize(Decimal("0.1")))}
    if number_phases:
        period["numberPhases"] = int(number_phases)
    profile: dict = {
        "chargingProfileId": int(profile_id), "stackLevel": int(stack_level), "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        "chargingSchedule": {"chargingRateUnit": unit, "chargingSchedulePeriod": [period]},
    }
    if transaction_id is not None:
        profile["transactionId"] = int(transaction_id)
    return profile


def station_set_charging_profile(*, station: ChargingStation, connector_id: int, profile: dict, requested_by=None,
                                 timeout=None) -> dict:
    return command_send(station=station, action="SetChargingProfile",
                        payload={"connectorId": int(connector_id), "csChargingProfiles": profile},
                        requested_by=requested_by, timeout=timeout)


def station_clear_charging_profile(*, station: ChargingStation, profile_id: int | None = None,
                                   connector_id: int | None = None, purpose: str = "",
                                   stack_level: int | None = None, requested_by=None, timeout=None) -> dict:
    """ClearChargingProfile; with no criteria the charger clears every profile it holds."""
    payload: dict = {}
    if profile_id is not None:
        payload["id"] = int(profile_id)
    if connector_id is not None:
        payload["connectorId"] = int(connector_id)
    if purpose:
        payload["chargingProfilePurpose"] = purpose
    if stack_level is not None:
        payload["stackLevel"] = int(stack_level)
    return command_send(station=station, action="ClearChargingProfile", payload=payload,
                        requested_by=requested_by, timeout=timeout)


def station_get_composite_schedule(*, station: ChargingStation, connector_id: int, duration_s: int,
                                   unit: str = "", requested_by=None, timeout=None) -> dict:
    payload: dict = {"connectorId": int(connector_id), "duration": int(duration_s)}
    if unit:
        payload["chargingRateUnit"] = unit
    return command_send(station=station, action="GetCompositeSchedule", payload=payload,
                        requested_by=requested_by, timeout=timeout)


# --- Reservation ------------------------------------------------------------------------------------------------

def station_reserve_now(*, station: ChargingStation, connector_id: int, id_tag_uid: str, expires_at: datetime,
                        requested_by=None, timeout=None) -> tuple[Reservation, dict]:
    """ReserveNow; the Reservation row's id is the reservationId and keeps the charger's answer."""
    if expires_at <= timezone.now():
        raise InvalidCommand("A reservation must expire in the future.")
    card = IdTag.objects.filter(uid__iexact=id_tag_uid.strip()).first()
    reservation = Reservation.objects.create(
        station=station, connector_id=int(connector_id), id_tag_uid=id_tag_uid.strip(), expires_at=expires_at,
        requested_by=requested_by if getattr(requested_by, "pk", None) else None, requested_at=timezone.now())
    payload: dict = {"connectorId": int(connector_id), "expiryDate": ocpp_time(expires_at),
                     "idTag": reservation.id_tag_uid, "reservationId": reservation.pk}
    if card and card.parent_id_tag:
        payload["parentIdTag"] = card.parent_id_tag
    try:
        answer = command_send(station=station, action="ReserveNow", payload=payload, requested_by=requested_by,
                              timeout=timeout)
    except DomainError:
        Reservation.objects.filter(pk=reservation.pk).update(status="NotSent")
        raise
    reservation.status = str(answer.get("status", ""))
    reservation.save(update_fields=["status"])
    return reservation, answer


def station_cancel_reservation(*, station: ChargingStation, reservation_id: int, requested_by=None,
                               timeout=None) -> dict:
    reservation = Reservation.objects.filter(station=station, pk=reservation_id).first()
    if reservation is None:
        raise InvalidCommand(f"Station {station.ocpp_id} has no reservation {reservation_id}.")
    answer = command_send(station=station, action="CancelReservation", payload={"reservationId": reservation.pk},
                          requested_by=requested_by, timeout=timeout)
    if answer.get("status") == "Accepted":
        Reservation.objects.filter(pk=reservation.pk).update(cancelled_at=timezone.now())
    return answer


# --- Local Auth List Management ---------------------------------------------------------------------------------

def _id_tag_info(card: IdTag, at: datetime) -> dict:
    if card.status == IdTag.Status.BLOCKED:
        info = {"status": "Blocked"}
    elif card.expires_at and card.expires_at <= at:
        info = {"status": "Expired"}
    else:
        info = {"status": "Accepted"}
    if card.expires_at:
        info["expiryDate"] = ocpp_time(card.expires_at)
    if card.parent_id_tag:
        info["parentIdTag"] = card.parent_id_tag
    return info


def station_local_list_entries(*, station: ChargingStation, at: datetime | None = None) -> dict[str, dict]:
    """The cards a station should know offline, idTag → idTagInfo: cards with a current permission for the
    station, cards of people with one and, unless the station is restricted to permissions, every card of the
    station's organization. Blocked and expired cards are listed with that status, so the charger refuses them
    offline too."""
    at = at or timezone.now()
    permitted = station.permissions.filter(station_permission_valid_q(at=at))
    ids = set(permitted.exclude(id_tag=None).values_list("id_tag_id", flat=True))
    ids |= set(IdTag.objects.filter(owner_id__in=permitted.exclude(user=None).values("user_id"))
               .values_list("pk", flat=True))
    if station.access_mode != ChargingStation.AccessMode.RESTRICTED:
        ids |= set(IdTag.objects.filter(organization_id=station.site.organization_id).values_list("pk", flat=True))
    return {card.uid: _id_tag_info(card, at) for card in IdTag.objects.filter(pk__in=ids).order_by("uid")}


def station_send_local_list(*, station: ChargingStation, update_type: str, requested_by=None,
                            timeout=None) -> dict:
    """SendLocalList Full (every entry) or Differential (only what changed since the list the station holds;
    removed cards are sent without idTagInfo, OCPP 1.6 §5.15). The version goes up by one and is stored, with the
    entries, only when the charger answers Accepted."""
    if update_type not in ("Full", "Differential"):
        raise InvalidCommand("The update type is Full or Differential.")
    entries = station_local_list_entries(station=station)
    current, _ = StationLocalList.objects.get_or_create(station=station)
    if update_type == "Full":
        items = [{"idTag": uid, "idTagInfo": info} for uid, info in entries.items()]
    else:
        items = [{"idTag": uid, "idTagInfo": info} for uid, info in entries.items()
                 if current.entries.get(uid) != info]
        items += [{"idTag": uid} for uid in sorted(set(current.entries) - set(entries))]
    version = current.version + 1
    answer = command_send(station=station, action="SendLocalList",
                          payload={"listVersion": version, "updateType": update_type,
                                   "localAuthorizationList": items},
                          requested_by=requested_by, timeout=timeout)
    if answer.get("status") == "Accepted":
        with transaction.atomic():
            StationLocalList.objects.filter(pk=current.pk).update(version=version, entries=entries,
                                                                 sent_at=timezone.now())
    return answer


def station_get_local_list_version(*, station: ChargingStation, requested_by=None, timeout=None) -> dict:
    return command_send(station=station, action="GetLocalListVersion", payload={}, requested_by=requested_by,
                        timeout=timeout)
