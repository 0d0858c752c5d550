"""Contract 4: final session prices (frozen, idempotent), running cost, the task and the sweep."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from django_celery_beat.models import PeriodicTask
from djmoney.money import Money

from apps.charging.models import ChargingSession, MeterValue
from apps.rating.exceptions import SessionNotClosed, SessionNotFound, TariffMissing
from apps.rating.models import SessionPrice
from apps.rating.schedules import PERIODIC_TASKS, periodic_tasks_ensure
from apps.rating.selectors import session_cost_running
from apps.rating.services.prices import session_price_final, session_price_sweep
from apps.rating.tasks import session_rate_final
from apps.tariffs.models import TariffVersion
from tests.factories import StationFactory

from .conftest import tariff_publish
from .factories import session_with_readings
from .seed_chazemo import local, ocpi_tariff

MON = date(2026, 6, 1)


def _crossing_session(condo, **kwargs):
    # Mon 1 June 2026, Lisbon (WEST, UTC+1): 08:00 → 12:15, crossing Cheia 1 | Ponta at 09:15 between the readings
    # of 09:05 (5 867 Wh) and 09:25 (7 867 Wh): half of the 2 000 Wh goes to each side.
    readings = [(local(MON, "08:00"), 0), (local(MON, "09:05"), 5867), (local(MON, "09:25"), 7867),
                (local(MON, "12:15"), 26867)]
    return session_with_readings(station=condo["station"], readings=readings, id_tag=condo["tags"]["rui"], **kwargs)


@pytest.mark.django_db
def test_final_price_splits_energy_at_the_period_boundary(condo):
    session = _crossing_session(condo)
    price = session_price_final(session_id=session.pk)
    # Cheia 1: 5.867 + 1.000 = 6.867 kWh × 0.227756 = 1.5640 → 1.56; VAT 23 % of 1.56 = 0.3588 → 0.36
    # Ponta: 1.000 + 19.000 = 20.000 kWh × 0.245102 = 4.90204 → 4.90; VAT 23 % of 4.90 = 1.127 → 1.13
    energy = [(ln["period"], Decimal(ln["quantity"]), ln["amount_rounded"])
              for ln in price.lines if ln["dimension"] == "ENERGY"]
    assert sorted(energy) == [("Cheia 1", Decimal("6.867"), "1.56"), ("Ponta", Decimal("20"), "4.90")]
    assert price.total_excl_vat == Money("6.46", "EUR")
    assert price.total_vat == Money("1.49", "EUR")
    assert price.total_incl_vat == Money("7.95", "EUR")
    assert price.energy_wh == 26867
    assert price.tariff_version == condo["version"]
    assert Decimal(price.cdr_totals["total_energy"]) == Decimal("26.867")
    condo["version"].refresh_from_db()
    assert condo["version"].locked_at is not None


@pytest.mark.django_db
def test_pricing_twice_returns_the_same_row_even_after_a_tariff_change(condo):
    session = _crossing_session(condo)
    first = session_price_final(session_id=session.pk)
    # A new version with other prices, in force since before the session: the closed session keeps its price.
    cheaper = ocpi_tariff(calendar="chazemo-tejo-weekly")
    for element in cheaper["elements"]:
        element["price_components"][0]["price"] = "0.10"
    v2 = tariff_publish(organization=condo["organization"], site=condo["site"], ocpi=cheaper,
                        valid_from_at=datetime(2026, 2, 1, tzinfo=timezone.utc))
    assert v2.number == 2
    again = session_price_final(session_id=session.pk)
    assert again.pk == first.pk and again.total_incl_vat == Money("7.95", "EUR")
    assert SessionPrice.objects.filter(session=session).count() == 1
    # …while a session started now is priced with version 2.
    later = session_with_readings(station=condo["station"], id_tag=condo["tags"]["ana"],
                                  readings=[(local(MON, "14:00"), 0), (local(MON, "15:00"), 5000)])
    assert session_price_final(session_id=later.pk).tariff_version == v2


@pytest.mark.django_db
def test_a_session_still_charging_has_no_final_price(condo):
    session = session_with_readings(station=condo["station"], id_tag=condo["tags"]["ana"], closed=False,
                                    readings=[(local(MON, "14:00"), 0), (local(MON, "14:30"), 3000)])
    with pytest.raises(SessionNotClosed, match="still charging"):
        session_price_final(session_id=session.pk)
    assert not SessionPrice.objects.exists()


@pytest.mark.django_db
def test_unknown_session_and_missing_tariff_are_clear_errors(condo):
    with pytest.raises(SessionNotFound, match="#999999"):
        session_price_final(session_id=999999)
    elsewhere = StationFactory(ocpp_id="NOTARIFF1")  # its own site, no tariff anywhere
    session = session_with_readings(station=elsewhere, readings=[(local(MON, "14:00"), 0),
                                                                 (local(MON, "15:00"), 5000)])
    with pytest.raises(TariffMissing, match="NOTARIFF1"):
        session_price_final(session_id=session.pk)
    assert not SessionPrice.objects.exists()


@pytest.mark.django_db
def test_running_cost_grows_as_meter_values_arrive(condo):
    session = session_with_readings(station=condo["station"], id_tag=condo["tags"]["ana"], closed=False,
                                    readings=[(local(MON, "08:00"), 0), (local(MON, "09:00"), 5000)])
    # 5.000 kWh of Cheia 1 × 0.227756 = 1.13878 → 1.14 excl. VAT
    assert session_cost_running(session_id=session.pk).total_excl_vat == Decimal("1.14")
    MeterValue.objects.create(session=session, station=session.station, connector_number=1,
                              sampled_at=local(MON, "09:45"), value=session.meter_start_wh + 9000, unit="Wh")
    running = session_cost_running(session_id=session.pk)
    # + 09:00–09:15 1 333.3 Wh Cheia 1 (interpolated), 09:15–09:45 2 666.7 Wh Ponta:
    # Cheia 1 6.333 kWh → 1.44; Ponta 2.667 kWh × 0.245102 = 0.6537 → 0.65
    assert {ln.period: ln.quantity_raw for ln in running.lines} == {"Cheia 1": 6333, "Ponta": 2667}
    assert running.total_excl_vat == Decimal("2.09")
    assert running.total_energy_wh == 9000


@pytest.mark.django_db
def test_task_prices_by_id_and_ignores_unknown_sessions(condo):
    session = _crossing_session(condo)
    price_id = session_rate_final.apply(args=[session.pk]).get()
    assert SessionPrice.objects.get(pk=price_id).session_id == session.pk
    assert session_rate_final.apply(args=[session.pk]).get() == price_id
    assert session_rate_final.apply(args=[424242]).get() is None


@pytest.mark.django_db
def test_sweep_prices_every_closed_unpriced_session_and_leaves_the_rest(condo):
    priced = _crossing_session(condo)
    running = session_with_readings(station=condo["station"], id_tag=condo["tags"]["ana"], closed=False,
                                    readings=[(local(MON, "20:00"), 0), (local(MON, "20:30"), 3000)])
    no_tariff = session_with_readings(station=StationFactory(ocpp_id="NOTARIFF2"),
                                      readings=[(local(MON, "14:00"), 0), (local(MON, "15:00"), 5000)])
    assert session_price_sweep() == {"pending": 2, "priced": 1, "failed": 1}
    assert SessionPrice.objects.filter(session=priced).exists()
    assert not SessionPrice.objects.filter(session__in=[running, no_tariff]).exists()
    assert session_price_sweep() == {"pending": 1, "priced": 0, "failed": 1}


@pytest.mark.django_db
def test_interrupted_session_without_stop_is_priced_to_its_last_reading(condo):
    session = session_with_readings(station=condo["station"], id_tag=condo["tags"]["ana"], closed=False,
                                    readings=[(local(MON, "13:00"), 0), (local(MON, "14:00"), 7000)])
    ChargingSession.objects.filter(pk=session.pk).update(state=ChargingSession.State.INTERRUPTED, energy_wh=7000)
    price = session_price_final(session_id=session.pk)
    # 7.000 kWh of Cheia 2 × 0.227756 = 1.594292 → 1.59
    assert price.total_excl_vat == Money("1.59", "EUR") and price.energy_wh == 7000


@pytest.mark.django_db
def test_periodic_jobs_are_registered_once():
    periodic_tasks_ensure()
    periodic_tasks_ensure()
    names = [name for name, _, _ in PERIODIC_TASKS]
    assert PeriodicTask.objects.filter(name__in=names).count() == len(names)
    assert set(PeriodicTask.objects.filter(name__in=names).values_list("task", flat=True)) == {
        "apps.rating.tasks.session_price_sweep", "apps.rating.tasks.cost_recovery_reports_due"}


def test_tariff_versions_are_protected_by_prices():
    field = SessionPrice._meta.get_field("tariff_version")
    assert field.related_model is TariffVersion
