"""The Lisbon condominium of the ChaZeMo seed with its retailer tariff (a real TariffVersion on the
chazemo-tejo-weekly calendar loaded by the tariffs migrations)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from apps.organizations.models import Organization
from apps.tariffs.models import TariffVersion
from apps.tariffs.services import tariff_assign, tariff_import_ocpi
from tests.factories import IdTagFactory, OrganizationFactory, SiteFactory, StationFactory, UserFactory

from .seed_chazemo import ocpi_tariff


def tariff_publish(*, organization, site, ocpi: dict, valid_from_at=None, valid_until_at=None,
                   name: str = "Tarifário do comercializador") -> TariffVersion:
    """Publish the tariff through the tariffs app's own services (validated, calendar embedded) and attach it to
    the site for every price group."""
    version = tariff_import_ocpi(organization=organization, data=json.loads(json.dumps(ocpi)), name=name,
                                 valid_from_at=valid_from_at or datetime(2026, 1, 1, tzinfo=timezone.utc),
                                 vat_rate=Decimal(str(ocpi.get("evnet_vat_rate", "23"))))
    if valid_until_at is not None:
        TariffVersion.objects.filter(pk=version.pk).update(valid_until_at=valid_until_at)
    tariff_assign(tariff=version.tariff, site=site)
    return version


@pytest.fixture
def condo(db):
    organization = OrganizationFactory(name="Condomínio Edifício Tejo", slug="tejo",
                                       kind=Organization.Kind.CONDOMINIUM, email="gestao@tejo.example")
    site = SiteFactory(organization=organization, name="Garagem Edifício Tejo", time_zone="Europe/Lisbon",
                       currency="EUR")
    station = StationFactory(site=site, ocpp_id="zcs031903", parking_spot="Lugar n°3012", max_power_w=7400)
    other = StationFactory(site=site, ocpp_id="ZCS031974", parking_spot="Lugar n°3049", max_power_w=7400)
    ana = UserFactory(username="ana.tejo", first_name="Ana", last_name="Lopes")
    rui = UserFactory(username="rui.tejo", first_name="Rui", last_name="Matos")
    version = tariff_publish(organization=organization, site=site,
                             ocpi=ocpi_tariff(calendar="chazemo-tejo-weekly"))
    return {
        "organization": organization, "site": site, "station": station, "other": other, "version": version,
        "tags": {"ana": IdTagFactory(organization=organization, owner=ana, uid="TEJO0001", user_group="resident"),
                 "rui": IdTagFactory(organization=organization, owner=rui, uid="TEJO0002", user_group="resident")},
    }
