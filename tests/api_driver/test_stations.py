"""Station search: near a point (nearest first, with the distance) or in a map box; only stations the driver may
use; live connector status; prices now and for each of the next 24 hours from the tariff engine, in the site's
local hours; bad coordinates are a 400 that says what is wrong."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.stations.models import StationPermission
from tests.factories import ConnectorFactory, IdTagFactory, SiteFactory, StationFactory
from tests.pricing.factories import figure2_station
from tests.rating.conftest import tariff_publish

from .conftest import api_client

pytestmark = pytest.mark.django_db

SALDANHA = "38.7369,-9.1427"


def _ids(body) -> list[str]:
    return [s["ocpp_id"] for s in body["results"]]


def test_near_lists_usable_stations_nearest_first_with_distance(world, ana_api):
    response = ana_api.get(f"/api/v1/stations/?near={SALDANHA}&radius_km=5")

    assert response.status_code == 200
    body = response.json()
    # The public station of the operator only: the restricted one needs a permission, Sol's is Rui's
    # organization's, Ana's fleet garage is 15 km away.
    assert _ids(body) == ["LX-PUB-1"]
    assert body["count"] == 1
    station = body["results"][0]
    assert 0.2 < station["distance_km"] < 0.4
    assert station["online"] is True and station["current_type"] == "AC"
    assert station["site"]["name"] == "Parque Saldanha" and station["site"]["latitude"] == "38.734900"
    assert station["connector_types"] == ["Type2"]
    assert station["connectors"] == [
        {"connector_id": 1, "type": "Type2", "max_power_w": 22000, "status": "Available",
         "status_text": "Car disconnected", "power_w": 0, "status_at": None},
        {"connector_id": 2, "type": "Type2", "max_power_w": 22000, "status": "Charging",
         "status_text": "Charging at 7.2 kW of 11.0 kW allocated", "power_w": 7200, "status_at": None},
    ]


def test_prices_now_and_for_24_local_hours_follow_the_time_of_use_tariff(world, ana_api):
    station = ana_api.get(f"/api/v1/stations/{world['public'].pk}/").json()
    prices = station["prices"]

    assert prices["currency"] == "EUR" and prices["user_group"] == "public"
    assert len(prices["hours"]) == 24
    zone = world["site"].zone
    starts = [datetime.fromisoformat(h["start_at"].replace("Z", "+00:00")) for h in prices["hours"]]
    assert all(b - a == timedelta(hours=1) for a, b in zip(starts, starts[1:]))
    assert starts[0] <= datetime.fromisoformat(prices["now"]["at"].replace("Z", "+00:00")) < starts[1]
    for hour, start in zip(prices["hours"], starts):
        local = start.astimezone(zone)
        assert hour["local_start"] == local.isoformat()
        # 0.30 by day (08-22 Lisbon), 0.15 by night, × 1.23 VAT; the session fee and idle fee never change.
        expected = "0.3690" if 8 <= local.hour < 22 else "0.1845"
        assert hour["energy_per_kwh"] == {"amount": expected, "currency": "EUR"}, local
        assert hour["session_fee"] == {"amount": "0.6150", "currency": "EUR"}
        assert hour["idle_per_hour"] == {"amount": "7.3800", "currency": "EUR"}
        assert hour["time_per_hour"] == {"amount": "0.0000", "currency": "EUR"}


def _residents_tariff(world, *, tariff_id: str) -> None:
    """A 0.10/kWh tariff (0.1230 incl. VAT) for price group "resident" at the public station."""
    from apps.tariffs.services import tariff_assign

    resident = dict(world["version"].ocpi, id=tariff_id,
                    elements=[{"price_components": [{"type": "ENERGY", "price": "0.10", "step_size": 1}]}])
    version = tariff_publish(organization=world["operator"], site=world["site"], ocpi=resident, name="Residents")
    tariff_assign(tariff=version.tariff, station=world["public"], user_group="resident")


def test_prices_use_the_price_group_of_the_drivers_card(world, ana_api):
    _residents_tariff(world, tariff_id="LX-RESIDENT")
    world["card"].user_group = "resident"
    world["card"].save()

    prices = ana_api.get(f"/api/v1/stations/{world['public'].pk}/").json()["prices"]

    assert prices["user_group"] == "resident"
    assert {h["energy_per_kwh"]["amount"] for h in prices["hours"]} == {"0.1230"}


def test_prices_ignore_the_price_group_of_an_expired_card(world, ana_api):
    """The price group shown is that of the card a start would use: an expired card's group is not Ana's price."""
    _residents_tariff(world, tariff_id="LX-RESIDENT-2")
    world["card"].user_group = "resident"
    world["card"].expires_at = timezone.now() - timedelta(hours=1)
    world["card"].save()

    prices = ana_api.get(f"/api/v1/stations/{world['public'].pk}/").json()["prices"]
    assert prices["user_group"] == "public"

    IdTagFactory(organization=world["fleet"], owner=world["ana"], uid="ANA00004", user_group="resident")
    prices = ana_api.get(f"/api/v1/stations/{world['public'].pk}/").json()["prices"]
    assert prices["user_group"] == "resident"
    assert {h["energy_per_kwh"]["amount"] for h in prices["hours"]} == {"0.1230"}


def test_dynamic_prices_come_from_the_published_aneel_schedule(db):
    station = figure2_station(ocpp_id="SP-DYN-API")
    station.access_mode = "public"
    station.save()
    tariff_publish(organization=station.site.organization, site=station.site, ocpi={
        "id": "ANEEL-DYN", "currency": "BRL", "evnet_vat_rate": "0",
        "elements": [{"price_components": [{"type": "ENERGY", "price": "0.70", "step_size": 1,
                                            "evnet_dynamic": True}]}]})
    from apps.pricing.selectors import price_schedule_for
    from django.utils import timezone
    from tests.factories import UserFactory

    driver = UserFactory()
    body = api_client(driver).get(f"/api/v1/stations/{station.pk}/").json()

    first = datetime.fromisoformat(body["prices"]["hours"][0]["start_at"].replace("Z", "+00:00"))
    schedule = price_schedule_for(station=station, start_at=first, end_at=first + timedelta(hours=24))
    published = [h.energy_per_kwh.quantize(Decimal("0.0001")) for h in schedule.hours]
    shown = [Decimal(h["energy_per_kwh"]["amount"]) for h in body["prices"]["hours"]]
    assert shown == published
    assert len(set(shown)) > 1  # the price moves through the day (load curve, PV)
    assert body["prices"]["currency"] == "BRL" and timezone.now()  # BRL site: no conversion


def test_bbox_lists_stations_in_the_box(world, ana_api):
    response = ana_api.get("/api/v1/stations/?bbox=-9.35,38.65,-9.10,38.80")

    assert response.status_code == 200
    assert sorted(_ids(response.json())) == ["AZ-1", "LX-PUB-1"]
    assert all(s["distance_km"] is None for s in response.json()["results"])


def test_a_permission_makes_a_restricted_station_visible(world, ana_api):
    StationPermission.objects.create(station=world["restricted"], id_tag=world["card"])

    ids = _ids(ana_api.get(f"/api/v1/stations/?near={SALDANHA}").json())

    assert ids == ["LX-PUB-1", "LX-RES-1"]


def test_stations_a_driver_may_not_use_are_neither_listed_nor_shown(world, ana_api, rui_api):
    assert "SOL-1" not in _ids(ana_api.get(f"/api/v1/stations/?near={SALDANHA}").json())
    assert "SOL-1" in _ids(rui_api.get(f"/api/v1/stations/?near={SALDANHA}").json())
    for station in ("other_station", "restricted"):
        response = ana_api.get(f"/api/v1/stations/{world[station].pk}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "station_not_found"
    assert ana_api.get("/api/v1/stations/99999999/").status_code == 404
    assert ana_api.get(f"/api/v1/stations/{10**30}/").status_code == 404


def test_pending_stations_are_not_listed(world, ana_api):
    world["public"].registration_status = "Pending"
    world["public"].save()

    assert _ids(ana_api.get(f"/api/v1/stations/?near={SALDANHA}").json()) == []


def test_search_prefilters_a_box_but_keeps_the_exact_circle(world, ana_api):
    # 4.9 km north-east of the point is inside the box of a 5 km circle but outside the circle.
    corner = SiteFactory(organization=world["operator"], latitude=Decimal("38.768100"),
                         longitude=Decimal("-9.097500"))
    StationFactory(site=corner, ocpp_id="LX-CORNER", access_mode="public")

    assert "LX-CORNER" not in _ids(ana_api.get(f"/api/v1/stations/?near={SALDANHA}&radius_km=5").json())
    assert "LX-CORNER" in _ids(ana_api.get(f"/api/v1/stations/?near={SALDANHA}&radius_km=6").json())


def test_search_is_paginated(world, ana_api):
    for i in range(3):
        StationFactory(site=world["site"], ocpp_id=f"LX-MORE-{i}", access_mode="public")

    body = ana_api.get(f"/api/v1/stations/?near={SALDANHA}&page_size=2").json()

    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]


@pytest.mark.parametrize("query, field", [
    ("", "near"),
    ("near=91,0", "near"),
    ("near=38.7,-181", "near"),
    ("near=abc,def", "near"),
    ("near=38.7", "near"),
    ("near=nan,inf", "near"),
    ("near=38.7,-9.1&radius_km=0", "radius_km"),
    ("near=38.7,-9.1&radius_km=-3", "radius_km"),
    ("near=38.7,-9.1&radius_km=51", "radius_km"),
    ("near=38.7,-9.1&radius_km=five", "radius_km"),
    ("near=38.7,-9.1&bbox=-9.2,38.6,-9.0,38.8", "near"),
    ("bbox=-9.2,38.6,-9.0", "bbox"),
    ("bbox=-9.2,38.9,-9.0,38.8", "bbox"),
    ("bbox=-20,30,0,45", "bbox"),
    ("bbox=-9.2,38.6,-9.0,38.8&radius_km=3", "radius_km"),
])
def test_bad_search_parameters_are_a_400_naming_the_parameter(world, ana_api, query, field):
    response = ana_api.get(f"/api/v1/stations/?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"] and error["message"]


def test_station_search_needs_authentication(world):
    from rest_framework.test import APIClient

    response = APIClient().get(f"/api/v1/stations/?near={SALDANHA}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_hourly_prices_follow_local_time_across_the_spring_dst_change(world):
    from datetime import timezone as dt_timezone

    from apps.rating.selectors import station_prices_many

    # Lisbon, 29 March 2026: at 01:00 UTC the clocks go from 01:00 WET to 02:00 WEST.
    now = datetime(2026, 3, 29, 0, 30, tzinfo=dt_timezone.utc)
    prices = station_prices_many(stations=[world["public"]], user_group="public", now=now)[world["public"].pk]

    locals_ = [h["local_start"].strftime("%H:%M%z") for h in prices.hours[:4]]
    assert locals_ == ["00:00+0000", "02:00+0100", "03:00+0100", "04:00+0100"]  # 01:00 local never happens
    day = [h["start_at"].hour for h in prices.hours if h["prices"]["energy_per_kwh"]["amount"] == "0.3690"]
    # The day price (08:00-22:00 local) starts at 07:00 UTC once summer time is on, and ends at 21:00 UTC.
    assert day == list(range(7, 21))
    assert prices.now["prices"]["energy_per_kwh"]["amount"] == "0.1845"
