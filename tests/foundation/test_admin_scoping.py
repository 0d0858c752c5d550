"""A BPO clerk serving organization A sees and edits only A's data, in every admin view; a superuser sees all."""
from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from apps.charging.models import ChargingSession, MeterValue
from apps.stations.models import ChargingStation
from tests.factories import (
    CircuitFactory,
    ConnectorFactory,
    IdTagFactory,
    OrganizationFactory,
    SiteFactory,
    StationFactory,
    StationPermissionFactory,
    UserFactory,
    VehicleFactory,
    clerk_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two tenants with a full set of rows each, a clerk serving only A and a superuser."""
    rows = {}
    for key in ("a", "b"):
        org = OrganizationFactory(name=f"Tenant {key.upper()}", slug=f"tenant-{key}")
        site = SiteFactory(organization=org, name=f"Garage {key.upper()}")
        circuit = CircuitFactory(site=site, name=f"Piso -3 Circuito {key.upper()}")
        station = StationFactory(site=site, circuit=circuit, ocpp_id=f"STATION-{key.upper()}")
        connector = ConnectorFactory(station=station)
        driver = UserFactory(username=f"driver-{key}")
        from apps.organizations.services import membership_grant

        membership = membership_grant(user=driver, organization=org, role="driver")
        card = IdTagFactory(organization=org, owner=driver, uid=f"CARD{key.upper()}")
        vehicle = VehicleFactory(organization=org, owner=driver, license_plate=f"PLATE-{key.upper()}")
        permission = StationPermissionFactory(station=station, id_tag=card)
        session = ChargingSession.objects.create(
            station=station, connector=connector, connector_number=1, id_tag=card, id_tag_uid=card.uid,
            started_at=timezone.now(), meter_start_wh=1000,
        )
        meter = MeterValue.objects.create(session=session, station=station, connector_number=1,
                                          sampled_at=timezone.now(), value=1500)
        rows[key] = {
            "organization": org, "site": site, "circuit": circuit, "chargingstation": station,
            "connector": connector, "user": driver, "membership": membership, "idtag": card, "vehicle": vehicle,
            "stationpermission": permission, "chargingsession": session, "metervalue": meter,
        }
    clerk = clerk_for(rows["a"]["organization"], username="clerk-a")
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    return {"a": rows["a"], "b": rows["b"], "clerk": clerk, "superuser": superuser}


MODEL_ADMIN_URLS = [
    ("organizations", "organization"), ("organizations", "membership"), ("users", "user"), ("users", "idtag"),
    ("users", "vehicle"), ("sites", "site"), ("circuits", "circuit"), ("stations", "chargingstation"),
    ("stations", "connector"), ("stations", "stationpermission"), ("charging", "chargingsession"),
    ("charging", "metervalue"),
]


@pytest.mark.parametrize("app_label,model", MODEL_ADMIN_URLS)
def test_clerk_change_list_shows_own_rows_only(client, world, app_label, model):
    client.force_login(world["clerk"])
    response = client.get(reverse(f"admin:{app_label}_{model}_changelist"))
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert world["a"][model].pk in shown
    assert world["b"][model].pk not in shown


@pytest.mark.parametrize("app_label,model", MODEL_ADMIN_URLS)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_clerk_gets_404_for_other_tenants_object(client, world, app_label, model, view):
    client.force_login(world["clerk"])
    other = world["b"][model]
    response = client.get(reverse(f"admin:{app_label}_{model}_{view}", args=[other.pk]))
    # 404 says nothing about the object; 403 where the view itself is not allowed to clerks (delete of evidence).
    assert response.status_code in (403, 404)
    assert str(other).encode() not in response.content


@pytest.mark.parametrize("app_label,model", MODEL_ADMIN_URLS)
def test_clerk_can_open_own_object(client, world, app_label, model):
    client.force_login(world["clerk"])
    own = world["a"][model]
    response = client.get(reverse(f"admin:{app_label}_{model}_change", args=[own.pk]))
    assert response.status_code == 200


def test_clerk_cannot_edit_other_tenants_station_by_post(client, world):
    client.force_login(world["clerk"])
    other = world["b"]["chargingstation"]
    response = client.post(reverse("admin:stations_chargingstation_change", args=[other.pk]),
                           {"ocpp_id": "HIJACKED", "site": world["a"]["site"].pk})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.ocpp_id == "STATION-B"


def test_clerk_cannot_move_own_station_to_other_tenants_site(client, world):
    client.force_login(world["clerk"])
    own = world["a"]["chargingstation"]
    response = client.post(reverse("admin:stations_chargingstation_change", args=[own.pk]), {
        "ocpp_id": own.ocpp_id, "site": world["b"]["site"].pk, "current_type": "AC", "access_mode": "organization",
        "registration_status": "Accepted",
        "connectors-TOTAL_FORMS": "0", "connectors-INITIAL_FORMS": "0",
        "permissions-TOTAL_FORMS": "0", "permissions-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200  # the form comes back with an error
    assert "Select a valid choice" in response.content.decode()
    own.refresh_from_db()
    assert own.site == world["a"]["site"]


def test_station_form_offers_only_own_sites_and_circuits(client, world):
    client.force_login(world["clerk"])
    response = client.get(reverse("admin:stations_chargingstation_add"))
    form = response.context["adminform"].form
    assert set(form.fields["site"].queryset) == {world["a"]["site"]}
    assert set(form.fields["circuit"].queryset) == {world["a"]["circuit"]}


@pytest.mark.parametrize("app_label,model,field,term", [
    ("sites", "site", "site", "Garage"),
    ("circuits", "circuit", "circuit", "Piso"),
    ("users", "user", "owner", "driver"),
    ("users", "idtag", "id_tag", "CARD"),
])
def test_autocomplete_returns_own_rows_only(client, world, app_label, model, field, term):
    client.force_login(world["clerk"])
    source = {"site": ("stations", "chargingstation"), "circuit": ("stations", "chargingstation"),
              "owner": ("users", "idtag"), "id_tag": ("stations", "stationpermission")}[field]
    response = client.get(reverse("admin:autocomplete"), {
        "term": term, "app_label": source[0], "model_name": source[1], "field_name": field,
    })
    assert response.status_code == 200
    ids = {int(item["id"]) for item in json.loads(response.content)["results"]}
    assert world["a"][model].pk in ids
    assert world["b"][model].pk not in ids


def test_raw_id_popup_lists_own_rows_only(client, world):
    client.force_login(world["clerk"])
    response = client.get(reverse("admin:stations_chargingstation_changelist"), {"_popup": "1", "_to_field": "id"})
    body = response.content.decode()
    assert "STATION-A" in body and "STATION-B" not in body


def test_list_filter_choices_do_not_reveal_other_tenants(client, world):
    client.force_login(world["clerk"])
    response = client.get(reverse("admin:stations_chargingstation_changelist"))
    body = response.content.decode()
    assert "Piso -3 Circuito A" in body
    assert "Piso -3 Circuito B" not in body and "Garage B" not in body


def test_filtering_by_other_tenants_circuit_shows_nothing(client, world):
    client.force_login(world["clerk"])
    response = client.get(reverse("admin:stations_chargingstation_changelist"),
                          {"circuit__id__exact": world["b"]["circuit"].pk})
    assert list(response.context["cl"].result_list) == []


def test_csv_export_contains_only_own_rows_even_when_other_ids_are_posted(client, world):
    client.force_login(world["clerk"])
    response = client.post(reverse("admin:stations_chargingstation_changelist"), {
        "action": "export_csv",
        "_selected_action": [world["a"]["chargingstation"].pk, world["b"]["chargingstation"].pk],
    })
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["ocpp_id"] for row in rows] == ["STATION-A"]


def test_superuser_sees_every_tenant(client, world):
    client.force_login(world["superuser"])
    response = client.get(reverse("admin:stations_chargingstation_changelist"))
    shown = {obj.ocpp_id for obj in response.context["cl"].result_list}
    assert {"STATION-A", "STATION-B"} <= shown


def test_clerk_serving_two_organizations_sees_both(client, world):
    clerk = clerk_for(world["a"]["organization"], world["b"]["organization"], username="clerk-ab")
    client.force_login(clerk)
    response = client.get(reverse("admin:stations_chargingstation_changelist"))
    assert {obj.ocpp_id for obj in response.context["cl"].result_list} == {"STATION-A", "STATION-B"}


def test_user_without_membership_sees_no_tenant_data(client, world):
    stranger = UserFactory(username="stranger", is_staff=True)
    stranger.groups.add(*world["clerk"].groups.all())
    client.force_login(stranger)
    response = client.get(reverse("admin:stations_chargingstation_changelist"))
    assert list(response.context["cl"].result_list) == []


def test_clerk_creates_driver_who_stays_in_their_organization(client, world):
    client.force_login(world["clerk"])
    response = client.post(reverse("admin:users_user_add"), {
        "username": "new.driver", "email": "new.driver@example.test", "first_name": "New", "last_name": "Driver",
        "organization": world["a"]["organization"].pk, "role": "driver",
        "password1": "a-long-enough-pass-987", "password2": "a-long-enough-pass-987",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    new = world["clerk"].__class__.objects.get(username="new.driver")
    assert new.memberships.get().organization == world["a"]["organization"]
    assert not new.is_superuser and not new.is_staff
    listing = client.get(reverse("admin:users_user_changelist"))
    assert new in listing.context["cl"].result_list


def test_clerk_cannot_create_user_in_other_organization(client, world):
    client.force_login(world["clerk"])
    response = client.post(reverse("admin:users_user_add"), {
        "username": "intruder", "organization": world["b"]["organization"].pk, "role": "driver",
        "password1": "a-long-enough-pass-987", "password2": "a-long-enough-pass-987",
    })
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not world["clerk"].__class__.objects.filter(username="intruder").exists()


def test_clerk_cannot_grant_superuser(client, world):
    client.force_login(world["clerk"])
    own_driver = world["a"]["user"]
    response = client.get(reverse("admin:users_user_change", args=[own_driver.pk]))
    assert "is_superuser" not in response.content.decode()


def test_clerk_cannot_add_organizations(client, world):
    client.force_login(world["clerk"])
    assert client.get(reverse("admin:organizations_organization_add")).status_code == 403


def test_sessions_are_read_only_even_for_superuser(client, world):
    client.force_login(world["superuser"])
    session = world["a"]["chargingsession"]
    response = client.post(reverse("admin:charging_chargingsession_change", args=[session.pk]), {"energy_wh": 999})
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.energy_wh == 0
    assert not LogEntry.objects.exists()


def test_station_list_shows_live_status_text(client, world):
    connector = world["a"]["connector"]
    connector.status, connector.power_w, connector.allocated_power_w = "Charging", 2400, 4600
    connector.save()
    client.force_login(world["clerk"])
    response = client.get(reverse("admin:stations_chargingstation_changelist"))
    assert "Charging at 2.4 kW of 4.6 kW allocated" in response.content.decode()
    assert ChargingStation.objects.count() == 2
