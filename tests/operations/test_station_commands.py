"""The per-command services build valid OCPP 1.6 payloads from what a clerk chose, and keep what evnet must
remember of the answer (local list version, reservation status)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone

from apps.charging.models import ChargingSession
from apps.operations.exceptions import InvalidCommand, NoActiveSession
from apps.operations.models import CommandRecord, Reservation, StationLocalList
from apps.operations.services import command_validate
from apps.operations.services import station_commands as sc
from apps.stations.models import ChargingStation
from apps.users.models import IdTag
from tests.factories import (IdTagFactory, OrganizationFactory, SiteFactory, StationFactory,
                             StationPermissionFactory, UserFactory)

from .chargerside import ConsumerSide

pytestmark = pytest.mark.django_db(transaction=True)


def status(value):
    return lambda message: {"ok": True, "payload": {"status": value}, "error": None}


@pytest.fixture
def garage():
    organization = OrganizationFactory(name="Condomínio Tejo", slug="tejo")
    site = SiteFactory(organization=organization)
    station = StationFactory(site=site, ocpp_id="ZCS031974", is_connected=True,
                             access_mode=ChargingStation.AccessMode.RESTRICTED)
    return organization, station


async def test_send_local_list_full_then_differential(garage):
    organization, station = garage

    @database_sync_to_async
    def cards():
        resident = IdTagFactory(uid="AA11", organization=organization, parent_id_tag="TEJO")
        StationPermissionFactory(station=station, id_tag=resident)
        person = UserFactory(username="joana")
        StationPermissionFactory(station=station, id_tag=None, user=person)
        IdTagFactory(uid="BB22", organization=organization, owner=person,
                     expires_at=timezone.now() + timedelta(days=30))
        IdTagFactory(uid="OTHER", organization=organization)  # no permission: not on a restricted station's list
        return resident

    resident = await cards()
    async with ConsumerSide("ZCS031974", status("Accepted")) as consumer:
        answer = await sync_to_async(sc.station_send_local_list)(station=station, update_type="Full")
        assert answer == {"status": "Accepted"}
        full = consumer.commands[-1]["payload"]
        assert full["listVersion"] == 1 and full["updateType"] == "Full"
        assert [e["idTag"] for e in full["localAuthorizationList"]] == ["AA11", "BB22"]
        assert full["localAuthorizationList"][0]["idTagInfo"] == {"status": "Accepted", "parentIdTag": "TEJO"}
        assert full["localAuthorizationList"][1]["idTagInfo"]["expiryDate"].endswith("Z")

        await database_sync_to_async(IdTag.objects.filter(pk=resident.pk).update)(status=IdTag.Status.BLOCKED)
        await database_sync_to_async(IdTag.objects.filter(uid="BB22").delete)()
        await sync_to_async(sc.station_send_local_list)(station=station, update_type="Differential")
        diff = consumer.commands[-1]["payload"]
    assert diff["listVersion"] == 2 and diff["updateType"] == "Differential"
    assert diff["localAuthorizationList"] == [
        {"idTag": "AA11", "idTagInfo": {"status": "Blocked", "parentIdTag": "TEJO"}},
        {"idTag": "BB22"},  # removed: sent without idTagInfo (OCPP 1.6 §5.15)
    ]
    stored = await database_sync_to_async(StationLocalList.objects.get)(station=station)
    assert stored.version == 2 and set(stored.entries) == {"AA11"}


async def test_local_list_refused_by_charger_keeps_the_version(garage):
    organization, station = garage
    await database_sync_to_async(StationPermissionFactory)(
        station=station, id_tag=await database_sync_to_async(IdTagFactory)(uid="CC33", organization=organization))
    async with ConsumerSide("ZCS031974", status("Failed")):
        answer = await sync_to_async(sc.station_send_local_list)(station=station, update_type="Full")
    assert answer == {"status": "Failed"}
    stored = await database_sync_to_async(StationLocalList.objects.get)(station=station)
    assert stored.version == 0 and stored.entries == {}


def test_local_list_of_an_organization_station_lists_the_organization_cards(garage):
    organization, station = garage
    station.access_mode = ChargingStation.AccessMode.ORGANIZATION
    IdTagFactory(uid="ORG1", organization=organization)
    IdTagFactory(uid="FOREIGN", organization=OrganizationFactory())
    StationPermissionFactory(station=station, id_tag=IdTagFactory(uid="GUEST", organization=OrganizationFactory()),
                             valid_until=timezone.now() - timedelta(days=1))  # expired permission
    assert list(sc.station_local_list_entries(station=station)) == ["ORG1"]


def test_bad_update_type_is_refused(garage):
    with pytest.raises(InvalidCommand, match="Full or Differential"):
        sc.station_send_local_list(station=garage[1], update_type="Partial")


async def test_remote_stop_targets_the_active_session(garage):
    _, station = garage
    session = await database_sync_to_async(ChargingSession.objects.create)(
        station=station, connector_number=1, id_tag_uid="AA11", started_at=timezone.now(), meter_start_wh=1000)
    async with ConsumerSide("ZCS031974") as consumer:
        await sync_to_async(sc.station_remote_stop)(station=station)
    assert consumer.commands[0]["action"] == "RemoteStopTransaction"
    assert consumer.commands[0]["payload"] == {"transactionId": session.pk}


def test_remote_stop_without_a_session_is_refused_and_nothing_sent(garage):
    with pytest.raises(NoActiveSession, match="no charging session in progress"):
        sc.station_remote_stop(station=garage[1])
    with pytest.raises(NoActiveSession, match="not in progress"):
        sc.station_remote_stop(station=garage[1], transaction_id=999)
    assert not CommandRecord.objects.exists()


@pytest.mark.parametrize("purpose,tx", [("TxDefaultProfile", None), ("TxProfile", 42)])
@pytest.mark.parametrize("unit,limit", [("A", Decimal("16")), ("W", Decimal("4600"))])
def test_charging_profile_is_a_valid_set_charging_profile(purpose, tx, unit, limit):
    profile = sc.charging_profile_build(profile_id=7, purpose=purpose, limit=limit, unit=unit, transaction_id=tx)
    command_validate(action="SetChargingProfile", payload={"connectorId": 1, "csChargingProfiles": profile})
    assert profile["chargingSchedule"] == {"chargingRateUnit": unit,
                                           "chargingSchedulePeriod": [{"startPeriod": 0, "limit": float(limit)}]}
    assert profile.get("transactionId") == tx


def test_charging_profile_bad_input():
    with pytest.raises(InvalidCommand, match="A or W"):
        sc.charging_profile_build(profile_id=1, purpose="TxDefaultProfile", limit=Decimal(16), unit="kW")
    with pytest.raises(InvalidCommand, match="positive"):
        sc.charging_profile_build(profile_id=1, purpose="TxDefaultProfile", limit=Decimal(0), unit="A")
    with pytest.raises(InvalidCommand, match="transaction in progress"):
        sc.charging_profile_build(profile_id=1, purpose="TxProfile", limit=Decimal(16), unit="A")


async def test_reserve_now_keeps_the_reservation_and_the_answer(garage):
    _, station = garage
    expires = timezone.now() + timedelta(minutes=30)
    async with ConsumerSide("ZCS031974", status("Occupied")) as consumer:
        reservation, answer = await sync_to_async(sc.station_reserve_now)(
            station=station, connector_id=1, id_tag_uid="AA11", expires_at=expires)
    sent = consumer.commands[0]["payload"]
    assert sent["reservationId"] == reservation.pk and sent["idTag"] == "AA11" and sent["connectorId"] == 1
    assert (await database_sync_to_async(Reservation.objects.get)(pk=reservation.pk)).status == "Occupied"


def test_reserve_now_in_the_past_is_refused(garage):
    with pytest.raises(InvalidCommand, match="future"):
        sc.station_reserve_now(station=garage[1], connector_id=1, id_tag_uid="AA11",
                               expires_at=timezone.now() - timedelta(minutes=1))
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("build", [
    lambda s: sc.station_remote_start(station=s, connector_id=1, id_tag_uid="AA11"),
    lambda s: sc.station_reset(station=s, reset_type="Hard"),
    lambda s: sc.station_unlock_connector(station=s, connector_id=2),
    lambda s: sc.station_change_availability(station=s, connector_id=0, availability="Inoperative"),
    lambda s: sc.station_get_configuration(station=s, keys=["HeartbeatInterval"]),
    lambda s: sc.station_change_configuration(station=s, key="HeartbeatInterval", value="120"),
    lambda s: sc.station_trigger_message(station=s, requested_message="StatusNotification", connector_id=1),
    lambda s: sc.station_clear_cache(station=s),
    lambda s: sc.station_clear_charging_profile(station=s, purpose="TxDefaultProfile"),
    lambda s: sc.station_get_composite_schedule(station=s, connector_id=1, duration_s=3600, unit="W"),
    lambda s: sc.station_get_local_list_version(station=s),
    lambda s: sc.station_data_transfer(station=s, vendor_id="com.zaptec", message_id="ping", data="{}"),
])
async def test_every_command_service_sends_a_valid_call(garage, build):
    _, station = garage
    async with ConsumerSide("ZCS031974") as consumer:
        await sync_to_async(build)(station)
    [sent] = consumer.commands
    command_validate(action=sent["action"], payload=sent["payload"])  # what the consumer will send is valid
    record = await database_sync_to_async(CommandRecord.objects.get)(request_id=sent["request_id"])
    assert record.outcome == CommandRecord.Outcome.ANSWERED
