"""Celery jobs of the operations app: ids in, one service call."""
from __future__ import annotations

from celery import shared_task

from apps.stations.models import ChargingStation
from evnet.exceptions import DomainError

from . import services


@shared_task(name="apps.operations.tasks.stations_monitor_task")
def stations_monitor_task() -> dict:
    """Beat, every minute: mark silent stations offline and record connectivity changes."""
    return services.stations_monitor()


@shared_task(name="apps.operations.tasks.ocpp_message_log_prune_task")
def ocpp_message_log_prune_task() -> int:
    """Beat, hourly: delete OCPP message-log rows older than EVNET_OCPP_MESSAGE_LOG_DAYS."""
    return services.ocpp_message_log_prune()


@shared_task(name="apps.operations.tasks.command_send_task")
def command_send_task(station_id: int, action: str, payload: dict, timeout: float | None = None) -> dict:
    """Send one command from a worker. The answer (or error) is in the command's CommandRecord as well."""
    station = ChargingStation.objects.get(pk=station_id)
    try:
        return {"ok": True, "payload": services.command_send(station=station, action=action, payload=payload,
                                                             timeout=timeout)}
    except DomainError as exc:
        return {"ok": False, "code": exc.code, "message": exc.message}
