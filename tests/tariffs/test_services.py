"""Tariff versions, assignments and resolution against the database (real PostgreSQL in CI)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from apps.tariffs import services
from apps.tariffs.calendars import period_at
from apps.tariffs.exceptions import CurrencyMismatch, InvalidTariff, NoTariff, TariffVersionLocked
from apps.tariffs.models import TariffVersion, TouCalendar
from apps.tariffs.selectors import tariff_quote, tariff_spec_for
from tests.factories import OrganizationFactory, SiteFactory, StationFactory

from .factories import SIMPLE_EUR, TariffFactory
from .helpers import SAO_PAULO, D, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped_calendars")]
JAN = datetime(2026, 1, 1, tzinfo=timezone.utc)
JUN = datetime(2026, 6, 1, tzinfo=timezone.utc)


def eur(price: str, **extra) -> dict:
    return {"id": "t", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": Decimal(price), "step_size": 1}]}], **extra}


def test_shipped_retailer_calendars_are_loaded():
    codes = set(TouCalendar.objects.values_list("code", flat=True))
    assert {"erse-btn-weekly-tri", "erse-btn-daily-bi", "chazemo-tejo-weekly", "br-branca-enel-sp"} <= codes
    enel = TouCalendar.objects.get(code="br-branca-enel-sp")
    assert period_at(calendar=enel, at=local(SAO_PAULO, 2026, 3, 4, 18, 0), time_zone="America/Sao_Paulo") == "Ponta"
    assert period_at(calendar=enel, at=local(SAO_PAULO, 2026, 3, 4, 21, 30),
                     time_zone="America/Sao_Paulo") == "Intermediário"


def test_version_gets_the_country_vat_and_embeds_its_calendar():
    tariff = TariffFactory(organization=OrganizationFactory(country="PT"))
    version = services.tariff_version_create(tariff=tariff, ocpi=eur("0.25", evnet_tou_calendar="erse-btn-daily-bi"),
                                             valid_from_at=JAN)
    assert (version.number, version.currency, version.vat_rate) == (1, "EUR", Decimal("23"))
    assert version.calendar.code == "erse-btn-daily-bi"
    assert version.ocpi["evnet_tou_calendar"]["code"] == "erse-btn-daily-bi"  # a snapshot, not a reference
    assert version.ocpi["evnet_vat_rate"] == 23


def test_invalid_ocpi_is_refused_and_nothing_is_written():
    tariff = TariffFactory()
    with pytest.raises(InvalidTariff, match="not periods of calendar"):
        services.tariff_version_create(tariff=tariff, ocpi={**eur("0.25"), "evnet_tou_calendar": "erse-btn-daily-bi",
                                                            "elements": [{"price_components": [
                                                                {"type": "ENERGY", "price": 1, "step_size": 1}],
                                                                "restrictions": {"evnet_tou_periods": ["Ponta"]}}]},
                                       valid_from_at=JAN)
    assert not TariffVersion.objects.exists()


def test_the_version_in_force_at_session_start_applies():
    site = SiteFactory()
    station = StationFactory(site=site)
    tariff = TariffFactory(organization=site.organization)
    services.tariff_assign(tariff=tariff, site=site)
    v1 = services.tariff_version_create(tariff=tariff, ocpi=eur("0.25"), valid_from_at=JAN)
    v2 = services.tariff_version_create(tariff=tariff, ocpi=eur("0.31"), valid_from_at=JUN)
    may = tariff_spec_for(station=station, user_group="public", at=datetime(2026, 5, 31, 23, tzinfo=timezone.utc))
    july = tariff_spec_for(station=station, user_group="public", at=datetime(2026, 7, 1, tzinfo=timezone.utc))
    assert (may.version_id, may.elements[0].price_components[0].price) == (v1.pk, D("0.25"))
    assert (july.version_id, july.elements[0].price_components[0].price) == (v2.pk, D("0.31"))
    assert tariff_spec_for(station=station, user_group="public", at=datetime(2025, 12, 31, tzinfo=timezone.utc)) is None


def test_used_version_is_immutable_and_a_revision_is_a_new_version():
    tariff = TariffFactory()
    v1 = services.tariff_version_create(tariff=tariff, ocpi=eur("0.25"), valid_from_at=JAN)
    services.tariff_version_update(version=v1, ocpi=eur("0.26"), valid_from_at=JAN, valid_until_at=None,
                                   vat_rate=Decimal("23"))  # not used yet: editable
    services.tariff_version_lock(version_id=v1.pk)
    with pytest.raises(TariffVersionLocked):
        services.tariff_version_update(version=v1, ocpi=eur("0.99"), valid_from_at=JAN, valid_until_at=None,
                                       vat_rate=Decimal("23"))
    v1.refresh_from_db()
    assert v1.ocpi["elements"][0]["price_components"][0]["price"] == 0.26
    v2 = services.tariff_version_revise(version=v1, valid_from_at=JUN)
    assert (v2.number, v2.ocpi["elements"], v2.locked_at) == (2, v1.ocpi["elements"], None)


def test_currency_must_match_the_site():
    site = SiteFactory(currency="BRL", country="BR", time_zone="America/Sao_Paulo")
    tariff = TariffFactory(organization=site.organization)
    services.tariff_version_create(tariff=tariff, ocpi=eur("0.25"), valid_from_at=JAN)
    with pytest.raises(CurrencyMismatch, match="EUR"):
        services.tariff_assign(tariff=tariff, site=site)
    brl = TariffFactory(organization=site.organization)
    services.tariff_assign(tariff=brl, site=site)
    with pytest.raises(CurrencyMismatch):
        services.tariff_version_create(tariff=brl, ocpi=eur("0.25"), valid_from_at=JAN)
    assert not brl.versions.exists()


def test_most_specific_assignment_wins_per_price_group():
    site = SiteFactory()
    station, other = StationFactory(site=site), StationFactory(site=site)
    org = site.organization
    default, site_t, resident_t = (TariffFactory(organization=org, is_organization_default=True),
                                   TariffFactory(organization=org), TariffFactory(organization=org))
    for tariff, price in ((default, "0.40"), (site_t, "0.30"), (resident_t, "0.18")):
        services.tariff_version_create(tariff=tariff, ocpi=eur(price), valid_from_at=JAN)

    def price(st, group):
        return tariff_spec_for(station=st, user_group=group, at=JUN).elements[0].price_components[0].price

    assert price(station, "public") == D("0.40")  # organization default
    services.tariff_assign(tariff=site_t, site=site)
    services.tariff_assign(tariff=resident_t, station=station, user_group="resident")
    assert (price(station, "public"), price(station, "resident"), price(other, "resident")) == (
        D("0.30"), D("0.18"), D("0.30"))


def test_assignment_to_another_organizations_site_is_refused():
    tariff = TariffFactory()
    with pytest.raises(InvalidTariff, match="own organization"):
        services.tariff_assign(tariff=tariff, site=SiteFactory())


def test_quote_for_ten_kwh_from_17h_on_tarifa_branca():
    # São Paulo station, 7.4 kW: 10 kWh from 17:00 takes 81 min 4.9 s. 17:00–18:00 = 7.4 kWh Intermediário ×
    # 0.85 = 6.29; 18:00–18:21:05 = 2.6 kWh Ponta × 1.30 = 3.38. Total R$ 9.67.
    site = SiteFactory(currency="BRL", country="BR", time_zone="America/Sao_Paulo",
                       organization=OrganizationFactory(country="BR"))
    station = StationFactory(site=site, max_power_w=7400)
    tariff = TariffFactory(organization=site.organization)
    services.tariff_assign(tariff=tariff, site=site)
    services.tariff_version_create(tariff=tariff, valid_from_at=JAN, ocpi={
        "id": "branca", "currency": "BRL", "evnet_tou_calendar": "br-branca-enel-sp", "elements": [
            {"price_components": [{"type": "ENERGY", "price": Decimal("1.30"), "step_size": 1}],
             "restrictions": {"evnet_tou_periods": ["Ponta"]}},
            {"price_components": [{"type": "ENERGY", "price": Decimal("0.85"), "step_size": 1}],
             "restrictions": {"evnet_tou_periods": ["Intermediário"]}},
            {"price_components": [{"type": "ENERGY", "price": Decimal("0.60"), "step_size": 1}]}]})
    quote = tariff_quote(station=station, energy_wh=10000, start_at=local(SAO_PAULO, 2026, 3, 4, 17, 0))
    assert [(ln.period, ln.quantity, ln.amount_rounded) for ln in quote.lines] == [
        ("Intermediário", D("7.4"), D("6.29")), ("Ponta", D("2.6"), D("3.38"))]
    assert quote.total_incl_vat == D("9.67") and quote.currency == "BRL"


def test_quote_without_a_tariff_says_so():
    with pytest.raises(NoTariff, match="No tariff applies"):
        tariff_quote(station=StationFactory(), energy_wh=10000, start_at=JUN)


def test_ocpi_import_creates_the_tariff_and_export_returns_it():
    org = OrganizationFactory()
    version = services.tariff_import_ocpi(organization=org, data={**SIMPLE_EUR, "id": "imported-1"},
                                          valid_from_at=JAN)
    assert (version.tariff.code, version.number) == ("imported-1", 1)
    exported = services.tariff_export_ocpi(version=version)
    assert exported["id"] == "imported-1" and exported["elements"] == [
        {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]}]
    again = services.tariff_import_ocpi(organization=org, data=exported, valid_from_at=JUN)
    assert (again.tariff_id, again.number) == (version.tariff_id, 2)
