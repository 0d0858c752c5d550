"""The driver starts and stops charging from the app: checks (station, card, authorization, prepaid funds), the
remote command through apps.operations, and the wait for the charger's StartTransaction."""
from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone

from apps.billing.selectors import prepaid_funds_problem
from apps.charging.models import ChargingSession
from apps.charging.services.authorization import id_tag_authorize
from apps.operations.exceptions import CommandTimeout, StationOffline
from apps.operations.services.station_commands import station_remote_start, station_remote_stop
from apps.stations.models import Connector
from apps.users.models import IdTag

from .exceptions import (CardNotFound, ChargeRefused, ChargerRejected, ConnectorBusy, ConnectorNotFound, FundsProblem,
                         NoUsableCard, SessionNotActive)
from .models import RemoteStart
from .selectors import driver_default_card, remote_start_resolve, session_get_for_driver, station_get_for_driver

POLL_S = 0.1


def _card_for(*, user, card_id, at) -> IdTag:
    if card_id is not None:
        card = IdTag.objects.filter(owner=user, pk=card_id).select_related("organization").first()
        if card is None:
            raise CardNotFound(f"There is no card #{card_id} of yours.")
        return card
    card = driver_default_card(user=user, at=at)
    if card is None:
        raise NoUsableCard("You have no card that can charge now (active and not expired): ask your organization "
                           "for one.")
    return card


def charge_start(*, user, station_id: int, connector_id: int, card_id: int | None = None,
                 wait_s: float | None = None) -> RemoteStart:
    """Ask the charger to start charging on `connector_id` with the driver's card (by default their oldest card
    that can charge now: `driver_default_card`) and wait up to `wait_s` seconds (EVNET_API_START_WAIT_S) for its
    StartTransaction. Checks first, sending nothing when one fails: the station is one they may use (StationNotFound), the connector exists, is
    neither faulted nor unavailable and is free (ConnectorBusy), the card is theirs (CardNotFound) and accepted here now (ChargeRefused, with the reason), the prepaid
    funds suffice (FundsProblem), the station is online (StationOffline). The charger's Rejected is
    ChargerRejected; no answer is CommandTimeout. The returned request is STARTED with its session, or ACCEPTED
    when the charger has not reported the transaction yet (the app polls it)."""
    now = timezone.now()
    station = station_get_for_driver(user=user, station_id=station_id, at=now)
    connector = next((c for c in station.connectors.all() if c.connector_id == connector_id), None)
    if connector is None:
        raise ConnectorNotFound(f"Station #{station.pk} has no connector {connector_id}.")
    if connector.status in (Connector.Status.FAULTED, Connector.Status.UNAVAILABLE):
        raise ConnectorBusy(f"Connector {connector_id} of station #{station.pk} is {connector.status.lower()}: "
                            f"choose another one.", extra={"status": connector.status})
    card = _card_for(user=user, card_id=card_id, at=now)
    verdict = id_tag_authorize(station=station, uid=card.uid, at=now)
    if not verdict.accepted:
        raise ChargeRefused(f"Card {card.uid} cannot charge here now: {verdict.status} ({verdict.reason}).",
                            extra={"status": verdict.status})
    problem = prepaid_funds_problem(id_tag=card, user=user, station=station)
    if problem:
        raise FundsProblem(problem)
    if ChargingSession.objects.filter(station=station, connector_number=connector_id,
                                      state=ChargingSession.State.ACTIVE).exists():
        raise ConnectorBusy(f"Connector {connector_id} of station #{station.pk} is already charging.")
    if not station.is_connected:
        raise StationOffline(f"Station #{station.pk} is offline: it cannot start charging now.")
    start = RemoteStart.objects.create(user=user, station=station, connector_number=connector_id, id_tag=card,
                                       requested_at=now)
    try:
        answer = station_remote_start(station=station, connector_id=connector_id, id_tag_uid=card.uid,
                                      requested_by=user, timeout=settings.EVNET_API_COMMAND_TIMEOUT_S)
    except (StationOffline, CommandTimeout) as exc:
        start.status, start.detail, start.answered_at = RemoteStart.Status.FAILED, exc.message[:255], timezone.now()
        start.save(update_fields=["status", "detail", "answered_at"])
        raise
    start.answered_at = timezone.now()
    if answer.get("status") != "Accepted":
        start.status = RemoteStart.Status.REJECTED
        start.detail = f"The charger answered {answer.get('status')}."
        start.save(update_fields=["status", "detail", "answered_at"])
        raise ChargerRejected(f"Station #{station.pk} rejected the remote start ({answer.get('status')}).",
                              extra={"start_id": start.pk})
    start.status = RemoteStart.Status.ACCEPTED
    start.save(update_fields=["status", "answered_at"])
    # A bounded wait: the worker thread is held at most `wait_s`; after that the app polls the start request.
    deadline = time.monotonic() + (settings.EVNET_API_START_WAIT_S if wait_s is None else wait_s)
    while True:
        start = remote_start_resolve(start=start)
        if start.status != RemoteStart.Status.ACCEPTED or time.monotonic() >= deadline:
            return start
        time.sleep(POLL_S)


def charge_stop(*, user, session_id) -> ChargingSession:
    """RemoteStopTransaction of the driver's running session. The session closes when the charger sends its
    StopTransaction; the answer here is the charger's acceptance."""
    session = session_get_for_driver(user=user, session_id=session_id)
    if session.state != ChargingSession.State.ACTIVE:
        raise SessionNotActive(f"Session #{session.pk} is not charging any more ({session.state}).")
    answer = station_remote_stop(station=session.station, transaction_id=session.pk, requested_by=user,
                                 timeout=settings.EVNET_API_COMMAND_TIMEOUT_S)
    if answer.get("status") != "Accepted":
        raise ChargerRejected(f"Station {session.station.ocpp_id} rejected the remote stop ({answer.get('status')}).")
    return session
