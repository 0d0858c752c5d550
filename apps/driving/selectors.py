"""Reads for the driver: their sessions, start requests, price group and the stations they may use."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.charging.models import ChargingSession, MeterValue
from apps.rating.exceptions import RatingError
from apps.rating.models import SessionPrice
from apps.rating.selectors import session_cost_running
from apps.stations.models import ChargingStation
from apps.stations.selectors import ConnectorLive, id_tags_usable_by, station_queryset_usable_by
from apps.tariffs.exceptions import TariffError
from apps.users.models import IdTag

from .exceptions import SessionNotFound, StartNotFound, StationNotFound
from .models import RemoteStart

# OCPP 1.6 ConnectionTimeOut is typically 60-180 s: a start the charger accepted but never reported after this
# long will not come (the driver did not plug in).
START_EXPIRES_AFTER = timedelta(minutes=3)
SOC = "SoC"
POWER = "Power.Active.Import"


def driver_default_card(*, user, at: datetime) -> IdTag | None:
    """The card a driver charges with when they name none: their oldest card a charger would accept at `at`
    (active and not expired: `id_tags_usable_by`, the rule of charging's authorization)."""
    return id_tags_usable_by(user=user, at=at).select_related("organization").order_by("created_at", "pk").first()


def driver_price_group(*, user, at: datetime | None = None) -> str:
    """The price group of the driver's default card ("public" without one): the prices a start without a card
    choice would be rated at."""
    card = driver_default_card(user=user, at=at or timezone.now()) if user and user.is_authenticated else None
    return (card.user_group if card is not None else "") or "public"


def station_get_for_driver(*, user, station_id, at: datetime | None = None) -> ChargingStation:
    """A station the driver may charge at (404 otherwise, whether it exists or not)."""
    try:
        station = (station_queryset_usable_by(user=user, at=at or timezone.now())
                   .select_related("site__organization").prefetch_related("connectors").get(pk=int(station_id)))
    except (ChargingStation.DoesNotExist, ValueError, TypeError, OverflowError):
        raise StationNotFound(f"There is no station #{station_id} you may charge at.") from None
    station.live_connectors = [ConnectorLive({name: getattr(c, name) for name in ConnectorLive.__slots__})
                               for c in station.connectors.all()]
    return station


def session_queryset_for_driver(*, user) -> QuerySet[ChargingSession]:
    """The driver's own sessions: started with one of their cards or attributed to them."""
    return ChargingSession.objects.filter(Q(user=user) | Q(id_tag__owner=user)).select_related(
        "station__site", "connector", "id_tag")


def session_get_for_driver(*, user, session_id) -> ChargingSession:
    try:
        return session_queryset_for_driver(user=user).get(pk=int(session_id))
    except (ChargingSession.DoesNotExist, ValueError, TypeError, OverflowError):
        raise SessionNotFound(f"There is no charging session #{session_id} of yours.") from None


def session_live(*, session: ChargingSession) -> dict:
    """What the app shows for a session: its state and energy, the power and state of charge last reported, the
    running cost (tariff engine on the meter values so far) and, once rated, the final price."""
    latest = {}
    for measurand in (SOC, POWER):
        row = (MeterValue.objects.filter(session_id=session.pk, measurand=measurand, phase="")
               .order_by("-sampled_at", "-id").values_list("value", "sampled_at").first())
        latest[measurand] = row
    active = session.state == ChargingSession.State.ACTIVE
    power_w = 0
    if active:
        if latest[POWER] is not None:
            power_w = max(0, latest[POWER][0])
        elif session.connector is not None:
            power_w = session.connector.power_w
    price = SessionPrice.objects.filter(session_id=session.pk).first()
    running = None
    if price is None:
        try:
            running = session_cost_running(session_id=session.pk)
        except (RatingError, TariffError):
            running = None  # no tariff applies: the app shows the energy only
    return {
        "session": session,
        "power_w": power_w,
        "soc_percent": None if latest[SOC] is None else latest[SOC][0],
        "running_cost": running,
        "price": price,
    }


def remote_start_get_for_driver(*, user, start_id) -> RemoteStart:
    """A start request of the driver, resolved to its session when the charger has reported it (the charger's
    StartTransaction for the same card and connector, received after the request)."""
    try:
        start = RemoteStart.objects.select_related("station", "session").get(pk=int(start_id), user=user)
    except (RemoteStart.DoesNotExist, ValueError, TypeError, OverflowError):
        raise StartNotFound(f"There is no start request #{start_id} of yours.") from None
    return remote_start_resolve(start=start)


def remote_start_resolve(*, start: RemoteStart) -> RemoteStart:
    """Link the request to its session once the charger reported it; expire it when it never will."""
    if start.status not in (RemoteStart.Status.SENT, RemoteStart.Status.ACCEPTED):
        return start
    session = (ChargingSession.objects.filter(station_id=start.station_id, connector_number=start.connector_number,
                                              id_tag_id=start.id_tag_id, created_at__gte=start.requested_at)
               .order_by("created_at", "pk").first())
    if session is not None:
        start.session = session
        start.status = RemoteStart.Status.STARTED
        start.started_at = session.started_at
        start.save(update_fields=["session", "status", "started_at"])
    elif (start.status == RemoteStart.Status.ACCEPTED
          and timezone.now() - (start.answered_at or start.requested_at) > START_EXPIRES_AFTER):
        start.status = RemoteStart.Status.EXPIRED
        start.detail = "The charger accepted but did not start within 3 minutes (is the car plugged in?)."
        start.save(update_fields=["status", "detail"])
    return start
