"""Offline detection and connectivity history, and the schedules of the operations jobs."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from apps.stations.models import ChargingStation
from apps.stations.selectors import station_group_name

from ..models import StationConnectivityEvent

# OCPP 1.6 leaves offline detection to the central system; a station that missed two heartbeats and a half is
# treated as gone (a late heartbeat on a slow mobile link does not flap it).
OFFLINE_AFTER_HEARTBEATS = 2.5


def offline_threshold() -> timedelta:
    return timedelta(seconds=OFFLINE_AFTER_HEARTBEATS * settings.EVNET_OCPP_HEARTBEAT_INTERVAL_S)


def _disconnect_ghost(ocpp_id: str, reason: str) -> None:
    # The socket may still be open but silent (a half-open TCP connection on a mobile link): ask whichever process
    # holds it to close it, so `is_connected` and reality agree; a live charger reconnects at once.
    async_to_sync(get_channel_layer().group_send)(
        station_group_name(ocpp_id=ocpp_id), {"type": "ocpp.disconnect", "ocpp_id": ocpp_id, "except_connection": "", "reason": reason})


def stations_offline_mark(*, now: datetime | None = None) -> list[str]:
    """Mark offline every connected station that sent nothing for more than 2.5 × the heartbeat interval
    (EVNET_OCPP_HEARTBEAT_INTERVAL_S), record the change and close any silent socket left. Compare-and-set on
    `last_seen_at`: a message arriving during the sweep moves it, and that station stays connected. Returns the
    OCPP ids marked offline."""
    now = now or timezone.now()
    cutoff = now - offline_threshold()
    seconds = int(offline_threshold().total_seconds())
    marked = []
    stale = ChargingStation.objects.filter(is_connected=True).filter(
        Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True)).values_list("pk", "ocpp_id", "last_seen_at")
    for pk, ocpp_id, last_seen_at in stale:
        reason = f"No message for more than {seconds} s (2.5 × the heartbeat interval)."
        with transaction.atomic():
            changed = ChargingStation.objects.filter(pk=pk, is_connected=True, last_seen_at=last_seen_at).update(
                is_connected=False)
            if not changed:
                continue
            StationConnectivityEvent.objects.create(station_id=pk, is_connected=False, at=last_seen_at or now,
                                                    reason=reason)
            transaction.on_commit(lambda ocpp_id=ocpp_id, reason=reason: _disconnect_ghost(ocpp_id, reason))
        marked.append(ocpp_id)
    return marked


def connectivity_events_record(*, now: datetime | None = None) -> int:
    """Write a StationConnectivityEvent for every station whose `is_connected` differs from its last recorded
    state (the consumer sets and clears the flag; this sweep keeps the history uptime is computed from). The
    change is dated at the station's `last_seen_at` (its last sign of life), or now. Returns the rows written."""
    now = now or timezone.now()
    latest = StationConnectivityEvent.objects.filter(station=OuterRef("pk")).order_by("-at", "-id")
    rows = ChargingStation.objects.annotate(
        recorded=Subquery(latest.values("is_connected")[:1]),
        recorded_at=Subquery(latest.values("at")[:1]),
    ).values_list("pk", "is_connected", "last_seen_at", "recorded", "recorded_at")
    events = []
    for pk, connected, last_seen_at, recorded, recorded_at in rows:
        if recorded is None and not connected:
            continue  # never seen online: nothing to record yet
        if recorded is not None and bool(recorded) == connected:
            continue
        at = min(last_seen_at or now, now)
        if recorded_at and at < recorded_at:
            at = recorded_at
        reason = "Connected." if connected else "Connection closed."
        events.append(StationConnectivityEvent(station_id=pk, is_connected=connected, at=at, reason=reason))
    StationConnectivityEvent.objects.bulk_create(events)
    return len(events)


def stations_monitor(*, now: datetime | None = None) -> dict:
    """The periodic monitoring pass: mark silent stations offline, then bring the connectivity history up to date."""
    marked = stations_offline_mark(now=now)
    recorded = connectivity_events_record(now=now)
    return {"marked_offline": marked, "events_recorded": recorded}


def ocpp_message_log_prune(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete the raw OCPP message log (apps.ocpp's OcppMessage) older than EVNET_OCPP_MESSAGE_LOG_DAYS days, in
    batches of `batch_size` rows so the table is never locked for long. Returns the rows deleted."""
    from apps.ocpp.models import OcppMessage

    cutoff = (now or timezone.now()) - timedelta(days=settings.EVNET_OCPP_MESSAGE_LOG_DAYS)
    deleted = 0
    while True:
        ids = list(OcppMessage.objects.filter(created_at__lt=cutoff).order_by().values_list("pk", flat=True)[
            :batch_size])
        if not ids:
            return deleted
        deleted += OcppMessage.objects.filter(pk__in=ids).delete()[0]


# name → (task, every N seconds)
SCHEDULES = {
    "operations: mark silent stations offline": ("apps.operations.tasks.stations_monitor_task", 60),
    "operations: prune the OCPP message log": ("apps.operations.tasks.ocpp_message_log_prune_task", 3600),
}


def schedules_ensure() -> int:
    """Create or update the django-celery-beat entries of the operations jobs. Idempotent; run after migrate."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, every) in SCHEDULES.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True, "kwargs": json.dumps({})})
    return len(SCHEDULES)
