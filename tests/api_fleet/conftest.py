"""Two fleets, A and B, each with a manager, drivers, cards, vehicles, a depot station and sessions, for the fleet
managers' API. Sessions go through the charging services (start/stop) and are settled by billing's service, so
the figures the API shows come from the same rows evnet keeps in production."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.billing.services.settlement import RatedSession, session_charge_settle
from apps.charging.services.authorization import id_tag_authorize
from apps.charging.services.sessions import session_start, session_stop
from apps.organizations.models import Membership, Organization
from apps.organizations.services import membership_grant
from tests.billing.factories import CustomerFactory
from tests.factories import (ConnectorFactory, IdTagFactory, OrganizationFactory, SiteFactory, StationFactory,
                             UserFactory, VehicleFactory)


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=dt_timezone.utc)


def charge(*, station, card, start: datetime, stop: datetime | None, energy_wh: int,
           net: str | None = None, customer=None):
    """A session with `card` at `station` through the charging services; settled at `net` (excl. VAT) when given."""
    verdict = id_tag_authorize(station=station, uid=card.uid, at=start)
    session, _ = session_start(station=station, connector_number=1, id_tag_uid=card.uid, meter_start_wh=1_000,
                               started_at=start, verdict=verdict, received_at=start)
    if stop is not None:
        session, _ = session_stop(station=station, transaction_id=session.pk, meter_stop_wh=1_000 + energy_wh,
                                  stopped_at=stop, received_at=stop)
    if net is not None:
        site = station.site
        session_charge_settle(rated=RatedSession(
            session_id=session.pk, organization=site.organization, customer=customer, currency=site.currency,
            net=Decimal(net), energy_wh=session.energy_wh, started_at=session.started_at,
            time_zone=site.time_zone, country=site.country, id_tag_uid=card.uid, station_label=station.ocpp_id))
    return session


@dataclass
class Fleet:
    org: Organization
    manager: object
    drivers: list = field(default_factory=list)
    cards: list = field(default_factory=list)
    vehicles: list = field(default_factory=list)
    station: object = None

    @property
    def client(self) -> APIClient:
        return api_client(self.manager)

    def url(self, tail: str = "") -> str:
        return f"/api/v1/fleets/{self.org.pk}/{tail}"


def make_fleet(name: str, slug: str, *, uid_prefix: str, plate_prefix: str) -> Fleet:
    org = OrganizationFactory(name=name, slug=slug, kind=Organization.Kind.FLEET_COMPANY, country="PT")
    site = SiteFactory(organization=org, name=f"Depot {name}", time_zone="Europe/Lisbon", currency="EUR")
    station = StationFactory(site=site, ocpp_id=f"{uid_prefix}-DEPOT", access_mode="organization")
    ConnectorFactory(station=station, connector_id=1)
    manager = UserFactory(username=f"manager.{slug}", first_name="Manager", last_name=name)
    membership_grant(user=manager, organization=org, role=Membership.Role.FLEET_MANAGER)
    fleet = Fleet(org=org, manager=manager, station=station)
    for n in (1, 2):
        driver = UserFactory(username=f"driver{n}.{slug}", first_name=f"Driver{n}", last_name=name,
                             email=f"driver{n}@{slug}.test")
        membership_grant(user=driver, organization=org, role=Membership.Role.DRIVER)
        CustomerFactory(organization=org, user=driver, name=driver.get_full_name(), regime="postpaid")
        card = IdTagFactory(uid=f"{uid_prefix}{n:04d}", organization=org, owner=driver, label=f"Card {n}",
                            user_group="fleet")
        vehicle = VehicleFactory(organization=org, owner=driver, id_tag=card, make="BYD", model="Dolphin",
                                 license_plate=f"{plate_prefix}-{n:02d}")
        fleet.drivers.append(driver)
        fleet.cards.append(card)
        fleet.vehicles.append(vehicle)
    return fleet


@pytest.fixture
def fleet_a(db) -> Fleet:
    return make_fleet("Frota A", "frota-a", uid_prefix="FA", plate_prefix="AA")


@pytest.fixture
def fleet_b(db) -> Fleet:
    return make_fleet("Frota B", "frota-b", uid_prefix="FB", plate_prefix="BB")
