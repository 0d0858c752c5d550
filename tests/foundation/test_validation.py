"""Bad input to the domain model is refused with a clear message and nothing is saved — through the services,
the database constraints and the admin forms."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.circuits.models import Circuit
from apps.circuits.services import circuit_ensure
from apps.sites.models import Site
from apps.sites.services import site_ensure
from apps.stations.models import ChargingStation
from apps.stations.services import station_register
from tests.factories import CircuitFactory, OrganizationFactory, SiteFactory, StationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_duplicate_ocpp_identity_is_refused_case_insensitively(client):
    site = SiteFactory()
    StationFactory(site=site, ocpp_id="ZCS031974")
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    response = client.post(reverse("admin:stations_chargingstation_add"), {
        "ocpp_id": "zcs031974", "site": site.pk, "current_type": "AC", "access_mode": "organization",
        "registration_status": "Accepted",
        "connectors-TOTAL_FORMS": "0", "connectors-INITIAL_FORMS": "0",
        "permissions-TOTAL_FORMS": "0", "permissions-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "A station with this OCPP identity already exists." in response.content.decode()
    assert ChargingStation.objects.count() == 1


def test_duplicate_ocpp_identity_is_refused_by_the_database_too():
    site = SiteFactory()
    StationFactory(site=site, ocpp_id="ZPR150666")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChargingStation.objects.create(site=site, ocpp_id="zpr150666")
    assert ChargingStation.objects.count() == 1


def test_register_station_twice_is_idempotent():
    site = SiteFactory()
    first, created_first = station_register(ocpp_id="ZCS030311", site=site, parking_spot="Lugar n°3028",
                                            connectors=[{"connector_id": 1, "max_power_w": 7400}])
    second, created_second = station_register(ocpp_id="ZCS030311", site=site, parking_spot="Lugar n°3028",
                                              connectors=[{"connector_id": 1, "max_power_w": 7400}])
    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk and second.connectors.count() == 1


def test_ocpp_identity_with_a_slash_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        station_register(ocpp_id="bad/id", site=SiteFactory())
    assert "OCPP identity" in str(excinfo.value)
    assert not ChargingStation.objects.exists()


def test_circuit_cannot_be_its_own_parent():
    circuit = CircuitFactory()
    circuit.parent = circuit
    with pytest.raises(ValidationError) as excinfo:
        circuit.full_clean()
    assert "cannot feed itself" in str(excinfo.value)


def test_circuit_cannot_have_a_descendant_as_parent():
    site = SiteFactory()
    root = circuit_ensure(site=site, name="Quadro geral", max_current_a=250)
    floor = circuit_ensure(site=site, name="Piso -3", parent=root, max_current_a=125)
    branch = circuit_ensure(site=site, name="Piso -3 Circuito 2", parent=floor, max_current_a=32)
    with pytest.raises(ValidationError) as excinfo:
        circuit_ensure(site=site, name="Quadro geral", parent=branch, max_current_a=250)
    assert "descendants" in str(excinfo.value)
    root.refresh_from_db()
    assert root.parent is None


def test_circuit_loop_is_refused_in_the_admin(client):
    site = SiteFactory()
    root = CircuitFactory(site=site, name="Quadro geral")
    child = CircuitFactory(site=site, name="Piso -4", parent=root)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:circuits_circuit_change", args=[root.pk]), {
        "site": site.pk, "parent": child.pk, "name": "Quadro geral", "phases": 3, "voltage_v": 230,
        "max_current_a": 250,
    })
    assert response.status_code == 200
    assert "makes a loop" in response.content.decode()
    root.refresh_from_db()
    assert root.parent is None


def test_circuit_parent_must_be_on_the_same_site():
    other_site_circuit = CircuitFactory()
    with pytest.raises(ValidationError) as excinfo:
        circuit_ensure(site=SiteFactory(), name="Piso -3", parent=other_site_circuit, max_current_a=32)
    assert "another site" in str(excinfo.value)


@pytest.mark.parametrize("field", ["max_power_w", "max_current_a"])
def test_negative_power_limit_is_refused(field):
    site = SiteFactory()
    with pytest.raises(ValidationError) as excinfo:
        circuit_ensure(site=site, name="Piso -3 Circuito 9", **{field: -7400})
    assert "positive" in str(excinfo.value)
    assert not Circuit.objects.filter(name="Piso -3 Circuito 9").exists()


def test_negative_power_limit_is_refused_by_the_database_too():
    site = SiteFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Circuit.objects.create(site=site, name="x", max_power_w=0)


def test_circuit_without_any_limit_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        circuit_ensure(site=SiteFactory(), name="Piso -3 Circuito 1")
    assert "Give the circuit a limit" in str(excinfo.value)


def test_site_without_time_zone_is_refused():
    organization = OrganizationFactory()
    with pytest.raises(ValidationError) as excinfo:
        site_ensure(organization=organization, name="Garagem", address="Rua A 1", city="Lisboa", country="PT",
                    latitude="38.7", longitude="-9.1", time_zone="", currency="EUR")
    assert "time zone" in str(excinfo.value)
    assert not Site.objects.exists()


def test_site_with_unknown_time_zone_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        site_ensure(organization=OrganizationFactory(), name="Garagem", address="Rua A 1", city="Lisboa",
                    country="PT", latitude="38.7", longitude="-9.1", time_zone="Europe/Lisboa", currency="EUR")
    assert "not an IANA time zone" in str(excinfo.value)


def test_site_without_time_zone_is_refused_by_the_database_too():
    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.create(organization=OrganizationFactory(), name="x", address="a", city="c", country="PT",
                            latitude=0, longitude=0, time_zone="", currency="EUR")


def test_station_circuit_must_be_on_the_station_site():
    station = StationFactory()
    station.circuit = CircuitFactory()  # another site
    with pytest.raises(ValidationError) as excinfo:
        station.full_clean()
    assert "another site" in str(excinfo.value)


def test_circuit_limit_is_the_smaller_of_power_and_current():
    circuit = Circuit(phases=3, voltage_v=230, max_current_a=32, max_power_w=20000)
    assert circuit.limit_w == 20000  # 3 × 230 V × 32 A = 22 080 W > 20 000 W
    assert Circuit(phases=1, voltage_v=230, max_current_a=20).limit_w == 4600
