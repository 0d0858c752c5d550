"""The people and objects the API-wide tests act with: a condominium station with a tariff, a driver with a card,
a vehicle and a prepaid wallet, and a fleet company with a manager, a driver and a card."""
from __future__ import annotations

from apps.organizations.models import Membership
from tests.factories import (ConnectorFactory, IdTagFactory, OrganizationFactory, SiteFactory, StationFactory,
                             UserFactory, VehicleFactory)


def api_population() -> dict:
    condo = OrganizationFactory(name="Condomínio Tejo", kind="condominium", country="PT")
    site = SiteFactory(organization=condo, name="Edifício Tejo", time_zone="Europe/Lisbon", currency="EUR")
    station = StationFactory(site=site, ocpp_id="API0001", access_mode="public")
    ConnectorFactory(station=station, connector_id=1)
    driver = UserFactory(username="api.driver")
    Membership.objects.create(user=driver, organization=condo, role=Membership.Role.DRIVER)
    IdTagFactory(uid="APIDRV01", organization=condo, owner=driver)
    VehicleFactory(organization=condo, owner=driver)

    fleet = OrganizationFactory(name="Frota API", kind="fleet_company", country="PT")
    manager = UserFactory(username="api.manager")
    Membership.objects.create(user=manager, organization=fleet, role=Membership.Role.FLEET_MANAGER)
    fleet_driver = UserFactory(username="api.fleet.driver")
    Membership.objects.create(user=fleet_driver, organization=fleet, role=Membership.Role.DRIVER)
    IdTagFactory(uid="APIFLT01", organization=fleet, owner=fleet_driver)
    return {"driver": driver, "fleet_manager": manager}
