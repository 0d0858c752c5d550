"""Cards (list, block a lost one: refused at the next Authorize) and vehicles (list, create, update, delete),
each only the driver's own."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from apps.charging.services.authorization import id_tag_authorize
from apps.users.models import IdTag, Vehicle
from tests.factories import VehicleFactory

pytestmark = pytest.mark.django_db


def test_cards_lists_only_the_drivers_cards(world, ana_api, rui_api):
    [card] = ana_api.get("/api/v1/cards/").json()["results"]

    assert card == {"id": world["card"].pk, "uid": "ANA00001", "label": "Ana's card", "status": "active",
                    "organization_id": world["fleet"].pk, "organization_name": "Frota Azul", "price_group": "public",
                    "expires_at": None, "created_at": card["created_at"]}
    assert card["created_at"].endswith("Z")
    assert [c["uid"] for c in rui_api.get("/api/v1/cards/").json()["results"]] == ["RUI00001"]


def test_blocking_a_lost_card_refuses_it_at_the_next_authorize_and_is_idempotent(world, ana_api):
    for _ in range(2):
        response = ana_api.post(f"/api/v1/cards/{world['card'].pk}/block/")
        assert response.status_code == 200 and response.json()["status"] == "blocked"

    assert IdTag.objects.get(pk=world["card"].pk).status == IdTag.Status.BLOCKED
    verdict = id_tag_authorize(station=world["public"], uid="ANA00001", at=datetime.now(timezone.utc))
    assert verdict.status == "Blocked"


def test_nobody_blocks_anybody_elses_card(world, ana_api):
    response = ana_api.post(f"/api/v1/cards/{world['rui_card'].pk}/block/")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert IdTag.objects.get(pk=world["rui_card"].pk).status == IdTag.Status.ACTIVE


def test_vehicle_life_cycle(world, ana_api):
    created = ana_api.post("/api/v1/vehicles/", {"make": "Renault", "model": "Megane E-Tech",
                                                 "license_plate": "AA-00-ZZ", "battery_capacity_wh": 60000,
                                                 "card_id": world["card"].pk}, format="json")
    assert created.status_code == 201, created.json()
    vehicle = created.json()
    # Ana belongs to one organization (her fleet): the vehicle goes there.
    assert vehicle["organization_id"] == world["fleet"].pk and vehicle["card_id"] == world["card"].pk

    changed = ana_api.patch(f"/api/v1/vehicles/{vehicle['id']}/", {"battery_capacity_wh": 62000, "card_id": None},
                            format="json")
    assert changed.status_code == 200
    assert changed.json()["battery_capacity_wh"] == 62000 and changed.json()["card_id"] is None
    assert [v["id"] for v in ana_api.get("/api/v1/vehicles/").json()["results"]] == [vehicle["id"]]

    assert ana_api.delete(f"/api/v1/vehicles/{vehicle['id']}/").status_code == 204
    assert not Vehicle.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"model": "Zoe"}, "make"),
    ({"make": "R", "model": "Zoe", "battery_capacity_wh": 0}, "battery_capacity_wh"),
    ({"make": "R", "model": "Zoe", "license_plate": "X" * 17}, "license_plate"),
    ({"make": "R", "model": "Zoe", "organization_id": "lisbon"}, "organization_id"),
])
def test_bad_vehicles_are_a_400(world, ana_api, body, field):
    response = ana_api.post("/api/v1/vehicles/", body, format="json")

    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert not Vehicle.objects.exists()


def test_a_vehicle_cannot_use_someone_elses_card_or_organization(world, ana_api):
    response = ana_api.post("/api/v1/vehicles/", {"make": "R", "model": "Zoe", "card_id": world["rui_card"].pk},
                            format="json")
    assert response.status_code == 404
    response = ana_api.post("/api/v1/vehicles/", {"make": "R", "model": "Zoe",
                                                  "organization_id": world["other_org"].pk}, format="json")
    assert response.status_code == 400 and "organization_id" in response.json()["error"]["fields"]
    assert not Vehicle.objects.exists()


def test_another_drivers_vehicle_is_404_everywhere(world, ana_api):
    theirs = VehicleFactory(organization=world["other_org"], owner=world["rui"])

    for method in ("get", "patch", "delete"):
        response = getattr(ana_api, method)(f"/api/v1/vehicles/{theirs.pk}/", {}, format="json")
        assert response.status_code == 404, method
    assert ana_api.get("/api/v1/vehicles/").json()["results"] == []
    assert Vehicle.objects.filter(pk=theirs.pk).exists()
