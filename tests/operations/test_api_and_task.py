"""command_send from a REST API view and from a Celery task, like from the admin and the shell."""
from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from apps.operations.models import CommandRecord
from apps.operations.tasks import command_send_task
from tests.factories import OrganizationFactory, SiteFactory, StationFactory, UserFactory, clerk_for

from .chargerside import ConsumerSide

pytestmark = pytest.mark.django_db(transaction=True)


def _setup():
    tejo = OrganizationFactory(slug="tejo")
    station = StationFactory(site=SiteFactory(organization=tejo), ocpp_id="ZCS031974", is_connected=True)
    foreign = StationFactory(ocpp_id="SP-AC01", is_connected=True)
    client = APIClient()
    client.force_authenticate(clerk_for(tejo, username="ana.bpo"))
    return client, station, foreign


async def test_api_sends_a_command_and_returns_the_answer():
    client, station, _ = await database_sync_to_async(_setup)()
    async with ConsumerSide("ZCS031974") as consumer:
        response = await sync_to_async(client.post)(
            "/ops/api/stations/zcs031974/commands", {"action": "UnlockConnector", "payload": {"connectorId": 1}},
            format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"station": "ZCS031974", "action": "UnlockConnector",
                               "response": {"status": "Accepted"}}
    assert consumer.commands[0]["payload"] == {"connectorId": 1}


async def test_api_errors_are_clear_and_scoped():
    client, station, foreign = await database_sync_to_async(_setup)()
    post = sync_to_async(client.post)
    bad = await post("/ops/api/stations/ZCS031974/commands", {"action": "Reset", "payload": {"type": "Warm"}},
                     format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_command"
    unknown = await post("/ops/api/stations/ZCS031974/commands", {"action": "Boot"}, format="json")
    assert unknown.status_code == 400 and "action" in unknown.json()["error"]["fields"]
    other = await post("/ops/api/stations/SP-AC01/commands", {"action": "ClearCache"}, format="json")
    assert other.status_code == 404
    await database_sync_to_async(type(station).objects.filter(pk=station.pk).update)(is_connected=False)
    offline = await post("/ops/api/stations/ZCS031974/commands", {"action": "ClearCache"}, format="json")
    assert offline.status_code == 409 and offline.json()["error"]["code"] == "station_offline"
    driver = APIClient()
    driver.force_authenticate(await database_sync_to_async(UserFactory)(username="driver"))
    assert (await sync_to_async(driver.post)("/ops/api/stations/ZCS031974/commands", {"action": "ClearCache"},
                                             format="json")).status_code == 403


async def test_celery_task_sends_a_command():
    _, station, _ = await database_sync_to_async(_setup)()
    async with ConsumerSide("ZCS031974"):
        result = await sync_to_async(lambda: command_send_task.apply(
            args=[station.pk, "TriggerMessage", {"requestedMessage": "Heartbeat"}, 5]).get())()
    assert result == {"ok": True, "payload": {"status": "Accepted"}}
    record = await database_sync_to_async(CommandRecord.objects.get)(station=station)
    assert record.action == "TriggerMessage" and record.outcome == "answered"


async def test_celery_task_reports_an_offline_station():
    _, station, _ = await database_sync_to_async(_setup)()
    await database_sync_to_async(type(station).objects.filter(pk=station.pk).update)(is_connected=False)
    result = await sync_to_async(lambda: command_send_task.apply(args=[station.pk, "ClearCache", {}]).get())()
    assert result == {"ok": False, "code": "station_offline",
                      "message": "Station ZCS031974 is offline: ClearCache was not sent."}
