"""The driver API's world: a Lisbon operator with a public station (AC, two connectors, a time-of-use tariff),
a restricted station and another organization's station; the driver Ana with a card, a prepaid wallet and an API
token; Rui, another driver of another organization, to prove nobody sees anybody else's things."""
from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.billing.models import BillingSettings, Customer
from apps.organizations.models import Membership
from apps.stations.models import ChargingStation
from tests.factories import (ConnectorFactory, IdTagFactory, OrganizationFactory, SiteFactory, StationFactory,
                             UserFactory)
from tests.rating.conftest import tariff_publish

# Day 08:00-22:00 Lisbon: 0.30 €/kWh; night 0.15 €/kWh; 0.50 € per session; 6 €/h idle after 10 grace minutes.
# VAT 23 %: the API shows prices incl. VAT.
LISBON_TOU = {
    "id": "LX-TOU", "currency": "EUR", "evnet_vat_rate": "23", "evnet_parking_grace_s": 600,
    "elements": [
        {"price_components": [{"type": "FLAT", "price": "0.50", "step_size": 1}]},
        {"price_components": [{"type": "ENERGY", "price": "0.30", "step_size": 1}],
         "restrictions": {"start_time": "08:00", "end_time": "22:00"}},
        {"price_components": [{"type": "ENERGY", "price": "0.15", "step_size": 1}]},
        {"price_components": [{"type": "PARKING_TIME", "price": "6.00", "step_size": 60}]},
    ],
}


# The tests where an API request (on a worker thread, as daphne runs sync views) and the OCPP consumer's writer
# thread write at the same moment. The suite's SQLite database is in-memory with a shared cache, where a second
# writer gets "table is locked" at once instead of waiting (no busy timeout): those run on PostgreSQL (CI).
concurrent_writers = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
    reason="two threads writing at once: SQLite's in-memory shared-cache test database cannot; CI runs PostgreSQL")


def api_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def call(client, method: str, path: str, data=None):
    """An API request on a worker thread, as daphne runs a sync view; the event loop stays free for the
    charger's socket."""
    def run():
        try:
            response = getattr(client, method)(path, data, format="json") if data is not None else getattr(
                client, method)(path)
        finally:
            connections.close_all()  # this worker thread's own connection: PostgreSQL can drop the test database
        return response.status_code, response
    return sync_to_async(run, thread_sensitive=False)()


@pytest.fixture
def world(db):
    operator = OrganizationFactory(name="Lisboa Carrega", slug="lx-carrega")
    site = SiteFactory(organization=operator, name="Parque Saldanha", latitude=Decimal("38.734900"),
                       longitude=Decimal("-9.145000"), time_zone="Europe/Lisbon", currency="EUR")
    public = StationFactory(site=site, ocpp_id="LX-PUB-1", access_mode=ChargingStation.AccessMode.PUBLIC,
                            max_power_w=22000, is_connected=True)
    ConnectorFactory(station=public, connector_id=1, max_power_w=22000, connector_type="Type2", status="Available")
    ConnectorFactory(station=public, connector_id=2, max_power_w=22000, connector_type="Type2", status="Charging",
                     power_w=7200, allocated_power_w=11000)
    restricted = StationFactory(site=site, ocpp_id="LX-RES-1", access_mode=ChargingStation.AccessMode.RESTRICTED,
                                is_connected=True)
    ConnectorFactory(station=restricted, connector_id=1)
    version = tariff_publish(organization=operator, site=site, ocpi=LISBON_TOU, name="Lisboa TOU")

    # Ana's organization (a fleet) and its own garage, 12 km away in Oeiras.
    fleet = OrganizationFactory(name="Frota Azul", slug="frota-azul", kind="fleet_company")
    garage = SiteFactory(organization=fleet, name="Garagem Oeiras", latitude=Decimal("38.691000"),
                         longitude=Decimal("-9.310000"))
    fleet_station = StationFactory(site=garage, ocpp_id="AZ-1", is_connected=True)
    ConnectorFactory(station=fleet_station, connector_id=1, connector_type="CCS2", max_power_w=50000)
    ana = UserFactory(username="ana", first_name="Ana", last_name="Lopes")
    Membership.objects.create(user=ana, organization=fleet, role=Membership.Role.DRIVER)
    card = IdTagFactory(organization=fleet, owner=ana, uid="ANA00001", label="Ana's card")
    customer = Customer.objects.create(organization=operator, name="Ana Lopes", user=ana,
                                       regime=Customer.Regime.PREPAID, currency="EUR")
    BillingSettings.objects.create(organization=operator, min_balance_to_start=Decimal("5.00"))

    # Rui: another organization, another card, a station of his own organization near Saldanha.
    other_org = OrganizationFactory(name="Condomínio Sol", slug="sol")
    other_site = SiteFactory(organization=other_org, name="Garagem Sol", latitude=Decimal("38.736000"),
                             longitude=Decimal("-9.146000"))
    other_station = StationFactory(site=other_site, ocpp_id="SOL-1", is_connected=True)
    ConnectorFactory(station=other_station, connector_id=1)
    rui = UserFactory(username="rui")
    Membership.objects.create(user=rui, organization=other_org, role=Membership.Role.DRIVER)
    rui_card = IdTagFactory(organization=other_org, owner=rui, uid="RUI00001")
    return {
        "operator": operator, "site": site, "public": public, "restricted": restricted, "version": version,
        "fleet": fleet, "fleet_station": fleet_station, "ana": ana, "card": card, "customer": customer,
        "other_org": other_org, "other_station": other_station, "rui": rui, "rui_card": rui_card,
    }


@pytest.fixture
def ana_api(world) -> APIClient:
    return api_client(world["ana"])


@pytest.fixture
def rui_api(world) -> APIClient:
    return api_client(world["rui"])
