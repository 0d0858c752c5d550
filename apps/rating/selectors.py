"""Reads of the rating app: a session's energy curve, its running cost, staff-visible sessions and reports."""
from __future__ import annotations

from django.db.models import QuerySet

from apps.charging.models import ChargingSession, MeterValue
from apps.organizations.selectors import queryset_scope
from apps.pricing.exceptions import DynamicPricingNotConfigured, ForecastInputsMissing
from apps.pricing.selectors import price_schedule_for
from apps.tariffs.engine.rating import Reading, RatingResult, rate
from apps.tariffs.engine.types import PriceSchedule
from apps.tariffs.selectors import tariff_spec_for

from .exceptions import SessionNotFound, TariffMissing
from .models import CostRecoveryReport, SessionPrice
from .readings import ENERGY_REGISTER, energy_curve

SESSION_ORGANIZATION_PATH = "station__site__organization"


def session_get(*, session_id: int) -> ChargingSession:
    try:
        return ChargingSession.objects.select_related("station__site__organization", "connector", "id_tag", "user").get(
            pk=session_id)
    except (ChargingSession.DoesNotExist, ValueError, TypeError):
        raise SessionNotFound(f"There is no charging session #{session_id}.") from None


def session_user_group(*, session: ChargingSession) -> str:
    """The price group of the card that started the session; "public" without a known card."""
    return (session.id_tag.user_group if session.id_tag_id and session.id_tag.user_group else "") or "public"


def session_is_closed(*, session: ChargingSession) -> bool:
    return session.state != ChargingSession.State.ACTIVE


def session_energy_points(*, session: ChargingSession) -> list[tuple]:
    """The session's cumulative energy curve (see readings.energy_curve) from the same register readings the
    charging app bills (whole register, at the outlet, Wh), closed at the stop with the session's billable energy
    when the session is closed."""
    samples = MeterValue.objects.filter(
        session_id=session.pk, measurand=ENERGY_REGISTER, phase="", location__in=("", "Outlet"), unit="Wh",
    ).order_by("sampled_at", "id").values_list("sampled_at", "value")
    closed = session_is_closed(session=session)
    stopped_at = session.stopped_at if closed else None
    connector = session.connector
    max_power_w = (connector.max_power_w if connector is not None else None) or session.station.max_power_w
    return energy_curve(started_at=session.started_at, meter_start_wh=session.meter_start_wh,
                        samples=list(samples), stopped_at=stopped_at,
                        meter_stop_wh=session.meter_stop_wh if stopped_at else None,
                        energy_wh=session.energy_wh if stopped_at else None, max_power_w=max_power_w)


def session_rate(*, session: ChargingSession, points: list[tuple], stopped_at) -> RatingResult:
    """Rate a session's curve with the tariff version in force at its start for its price group."""
    user_group = session_user_group(session=session)
    spec = tariff_spec_for(station=session.station, user_group=user_group, at=session.started_at)
    if spec is None:
        raise TariffMissing(f"No tariff applies to station {session.station.ocpp_id} for price group "
                            f"“{user_group}” at {session.started_at.isoformat()}.")
    charging_ended_at = session.charging_ended_at
    if charging_ended_at is not None and not (session.started_at <= charging_ended_at <= stopped_at):
        charging_ended_at = None
    return rate(tariff=spec, readings=[Reading(at=at, energy_wh=wh) for at, wh in points],
                started_at=session.started_at, stopped_at=stopped_at, charging_ended_at=charging_ended_at,
                time_zone=session.station.site.time_zone, user_group=user_group,
                price_schedule=session_price_schedule(session=session, spec=spec, stopped_at=stopped_at))


def session_price_schedule(*, session: ChargingSession, spec, stopped_at) -> PriceSchedule | None:
    """The station's published ANEEL dynamic prices for the session's hours, when its tariff has dynamic
    (`evnet_dynamic`) components. Without a configured dynamic price the engine falls back to the tariff's own
    price and flags `dynamic_price_missing` on the result (issue 8: the receipt shows which price applied)."""
    if not any(c.evnet_dynamic for element in spec.elements for c in element.price_components):
        return None
    try:
        return price_schedule_for(station=session.station, start_at=session.started_at, end_at=stopped_at)
    except (DynamicPricingNotConfigured, ForecastInputsMissing):
        return None


def session_cost_running(*, session_id: int) -> RatingResult:
    """The cost so far (contract 4): the session's meter values up to the latest one, rated with the tariff in
    force at its start. For a closed session this is its final price, recomputed (the stored SessionPrice is the
    reference once it exists)."""
    session = session_get(session_id=session_id)
    points = session_energy_points(session=session)
    stopped_at = session.stopped_at if session_is_closed(session=session) and session.stopped_at else points[-1][0]
    return session_rate(session=session, points=points, stopped_at=stopped_at)


def session_queryset_for(*, user) -> QuerySet[ChargingSession]:
    """Sessions a back-office user may see: the same scoping as the admin."""
    return queryset_scope(queryset=ChargingSession.objects.all(), user=user,
                          organization_path=SESSION_ORGANIZATION_PATH)


def session_price_get(*, session_id: int) -> SessionPrice | None:
    return SessionPrice.objects.filter(session_id=session_id).first()


def report_queryset_for(*, user) -> QuerySet[CostRecoveryReport]:
    return queryset_scope(queryset=CostRecoveryReport.objects.select_related("site", "organization"), user=user,
                          organization_path="organization")
