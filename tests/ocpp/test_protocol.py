"""The OCPP-J protocol layer over a real WebSocket: bad input, admission, replaced connections, commands from
any process (contract 1), notifications, and the message log."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator, WebsocketCommunicator

from apps.ocpp.connection import OcppConnection
from apps.ocpp.hub import hub_get
from apps.ocpp.models import OcppMessage
from apps.ocpp.services.admission import station_admit
from apps.ocpp.writer import writer_get
from apps.stations.models import ChargingStation, Connector, StationStatusEvent
from apps.stations.selectors import station_group_name
from evnet.asgi import application
from tests.factories import OrganizationFactory, SiteFactory
from tests.ocpp.conftest import PASSWORD, basic, connected, iso

pytestmark = [pytest.mark.django_db(transaction=True)]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


async def test_bad_frames_get_the_spec_errors_and_the_socket_stays_up(station, ocpp_writer):
    cases = [
        # (frame, expected CALLERROR or None when no message id can be read)
        ('[2, "bad1", "Heartbeat", {]', ["bad1", "FormatViolation"]),
        ("not json at all", None),
        ('{"hello": "world"}', None),
        ('[2, "bad2", "Heartbeat"]', ["bad2", "ProtocolError"]),
        ('[9, "bad3", "Heartbeat", {}]', ["bad3", "PropertyConstraintViolation"]),
        ('[2, "bad4", "FlyToTheMoon", {}]', ["bad4", "NotImplemented"]),
        ('[2, "bad5", "Reset", {"type": "Hard"}]', ["bad5", "NotSupported"]),
        ('[2, "bad6", "BootNotification", {"chargePointVendor": "X"}]', ["bad6", "OccurenceConstraintViolation"]),
        ('[2, "bad7", "BootNotification", {"chargePointVendor": 7, "chargePointModel": "Y"}]',
         ["bad7", "TypeConstraintViolation"]),
        ('[2, "bad8", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}]',
         ["bad8", "PropertyConstraintViolation"]),
        ('[2, "bad9", "Heartbeat", {"extra": 1}]', ["bad9", "FormatViolation"]),
        ('[2, "bad10", "Heartbeat", []]', ["bad10", "TypeConstraintViolation"]),
        ('[2, "bad11", "MeterValues", {"connectorId": "one", "meterValue": []}]', ["bad11", "TypeConstraintViolation"]),
        ('[]', None),
        ('[2, "bad12", "StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": -5, '
         '"timestamp": "2026-11-25T10:00:00Z"}]', ["bad12", "PropertyConstraintViolation"]),
        ('[2, "bad13", "StatusNotification", {"connectorId": 99999, "errorCode": "NoError", "status": "Available"}]',
         ["bad13", "PropertyConstraintViolation"]),
    ]
    async with connected(station.ocpp_id) as cp:
        for frame, expected in cases:
            await cp.send_raw(frame)
            if expected is not None:
                answer = await cp.receive()
                assert answer[0] == 4 and answer[1:3] == expected, (frame, answer)
                assert isinstance(answer[3], str) and isinstance(answer[4], dict)
        await cp.ws.send_to(bytes_data=b"\xff\xfe binary garbage")
        # Every bad frame above was answered or dropped; the connection still serves a valid Heartbeat.
        heartbeat = await cp.call("Heartbeat", {})
        assert heartbeat[0] == 3 and heartbeat[2]["currentTime"].endswith("Z")
        assert await cp.ws.receive_nothing(timeout=0.2)
    logged = await database_sync_to_async(set)(OcppMessage.objects.filter(
        station=station, direction="in").exclude(error_code="").values_list("error_code", flat=True))
    assert {"FormatViolation", "ProtocolError", "NotImplemented", "NotSupported", "TypeConstraintViolation",
            "OccurenceConstraintViolation", "PropertyConstraintViolation"} <= logged


async def _deny_answer(path: str, headers: list, subprotocols=("ocpp1.6",), extension: bool = True) -> list[dict]:
    scope = {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers,
             "subprotocols": list(subprotocols), "client": ["127.0.0.1", 5000], "server": ["127.0.0.1", 8000]}
    if extension:
        scope["extensions"] = {"websocket.http.response": {}}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "websocket.connect"})
    answers = [await communicator.receive_output(timeout=10)]
    if answers[0]["type"] == "websocket.http.response.start":
        answers.append(await communicator.receive_output(timeout=5))
    await communicator.wait(timeout=5)
    return answers


async def test_wrong_password_is_answered_http_401_without_websocket(station, ocpp_writer):
    start, body = await _deny_answer(f"/ocpp/{station.ocpp_id}", [basic(station.ocpp_id, "wrong")])
    assert start["type"] == "websocket.http.response.start" and start["status"] == 401
    assert (b"www-authenticate", b'Basic realm="evnet OCPP", charset="UTF-8"') in start["headers"]
    assert body["body"] == b"Unknown station or wrong credentials.\n"
    refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert not refreshed.is_connected


async def test_without_the_denial_extension_a_refusal_is_a_close(station, ocpp_writer):
    (answer,) = await _deny_answer(f"/ocpp/{station.ocpp_id}", [], extension=False)
    assert answer["type"] == "websocket.close"


async def test_unknown_station_and_missing_subprotocol_are_refused(station, ocpp_writer):
    start, _ = await _deny_answer("/ocpp/NOBODY-1", [basic("NOBODY-1")])
    assert start["status"] == 401
    start, body = await _deny_answer(f"/ocpp/{station.ocpp_id}", [basic(station.ocpp_id)], subprotocols=())
    assert start["status"] == 400 and b"ocpp1.6" in body["body"]
    start, _ = await _deny_answer(f"/ocpp/{station.ocpp_id}", [basic(station.ocpp_id)], subprotocols=("ocpp2.0.1",))
    assert start["status"] == 400


async def test_right_password_on_the_wrong_organization_path_is_refused(station, ocpp_writer):
    await database_sync_to_async(OrganizationFactory)(slug="someone-else", accept_unknown_stations=True)
    start, _ = await _deny_answer(f"/ocpp/someone-else/{station.ocpp_id}", [basic(station.ocpp_id)])
    assert start["status"] == 401


async def test_unknown_station_joins_an_accepting_organization_as_pending(ocpp_writer, db):
    site = await database_sync_to_async(SiteFactory)(organization__slug="tejo",
                                                     organization__accept_unknown_stations=True)
    async with connected("NEWCP-7", path="/ocpp/tejo/NEWCP-7", password="first-password") as cp:
        boot = await cp.result("BootNotification", {"chargePointVendor": "Wallbox", "chargePointModel": "Pulsar"})
        assert boot["status"] == "Pending"
    created = await database_sync_to_async(ChargingStation.objects.get)(ocpp_id="NEWCP-7")
    assert created.site_id == site.pk and created.registration_status == "Pending"
    assert created.vendor == "Wallbox" and await database_sync_to_async(created.check_password)("first-password")
    # Trust on first use: the next connection must present the same password.
    start, _ = await _deny_answer("/ocpp/tejo/NEWCP-7", [basic("NEWCP-7", "another")])
    assert start["status"] == 401


async def test_unknown_station_is_refused_when_the_organization_does_not_accept_them(ocpp_writer, db):
    await database_sync_to_async(SiteFactory)(organization__slug="closed-org",
                                              organization__accept_unknown_stations=False)
    start, _ = await _deny_answer("/ocpp/closed-org/NEWCP-8", [basic("NEWCP-8")])
    assert start["status"] == 401
    assert not await database_sync_to_async(ChargingStation.objects.filter(ocpp_id="NEWCP-8").exists)()


def _handshake_scope(station, gone) -> dict:
    path = f"/ocpp/{station.ocpp_id}"
    return {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [basic(station.ocpp_id)], "subprotocols": ["ocpp1.6"], "client": ["127.0.0.1", 5000],
            "server": ["127.0.0.1", 8000], "extensions": {"websocket.http.response": {}}, "evnet_client_gone": gone}


async def test_a_handshake_whose_charger_hung_up_costs_nothing(station, ocpp_writer):
    """A reconnect herd: chargers that gave up waiting are not admitted (no database read), not opened."""
    communicator = ApplicationCommunicator(application, _handshake_scope(station, lambda: True))
    await communicator.send_input({"type": "websocket.connect"})
    await communicator.wait(timeout=5)
    assert await communicator.receive_nothing(timeout=0.1)
    assert writer_get().stats.ops == 0
    refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert not refreshed.is_connected


async def test_a_charger_that_hangs_up_after_admission_is_not_opened(station, ocpp_writer):
    answers = iter([False])  # still there for admission, gone when its connection would open
    communicator = ApplicationCommunicator(application, _handshake_scope(station, lambda: next(answers, True)))
    await communicator.send_input({"type": "websocket.connect"})
    await communicator.wait(timeout=5)
    assert await communicator.receive_nothing(timeout=0.1)
    await writer_get().flush()
    refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert not refreshed.is_connected and refreshed.ocpp_channel == ""
    assert station.ocpp_id not in hub_get().connections


async def test_a_handshake_cancelled_while_its_connection_is_recorded_leaves_no_ghost(station, ocpp_writer,
                                                                                    settings):
    """daphne cancels a handshake it gave up on; the connection row it had queued must not stay 'connected'."""
    settings.EVNET_OCPP_WRITER_MAX_DELAY_S = 0.5  # the open write waits in the writer's queue: cancel it there
    admission = await database_sync_to_async(station_admit)(
        ocpp_id=station.ocpp_id, organization_slug=None, credentials=(station.ocpp_id, PASSWORD))
    sent = []

    async def send(message):
        sent.append(message)

    connection = OcppConnection({"evnet_station": admission}, send)
    opening = asyncio.create_task(connection.open())
    writer = writer_get()
    while not any(op.kind == "open" for lane in writer._lanes for op in lane.queue):
        await asyncio.sleep(0.01)
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    await writer.flush()
    refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert not refreshed.is_connected and refreshed.ocpp_channel == ""
    assert sent == []  # never accepted
    assert station.ocpp_id not in hub_get().connections


async def test_second_connection_replaces_the_first_without_a_ghost(station, ocpp_writer):
    first = WebsocketCommunicator(application, f"/ocpp/{station.ocpp_id}", subprotocols=["ocpp1.6"],
                                  headers=[basic(station.ocpp_id)])
    assert (await first.connect(timeout=10))[0]
    async with connected(station.ocpp_id) as second:
        closed = await first.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4000}
        await first.disconnect()
        refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
        assert refreshed.is_connected
        assert (await second.call("Heartbeat", {}))[0] == 3
    refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert not refreshed.is_connected and refreshed.ocpp_channel == ""


async def _command(station, action, payload, timeout=3.0) -> str:
    layer = get_channel_layer()
    reply_channel = await layer.new_channel()
    await layer.group_send(station_group_name(ocpp_id=station.ocpp_id), {
        "type": "ocpp.command", "ocpp_id": station.ocpp_id, "request_id": "r-1", "action": action, "payload": payload,
        "reply_channel": reply_channel, "timeout": timeout})
    return reply_channel


async def test_command_reaches_the_charger_and_its_answer_comes_back(station, ocpp_writer):
    layer = get_channel_layer()
    async with connected(station.ocpp_id) as cp:
        reply_channel = await _command(station, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
        call = await cp.receive()
        assert call[0] == 2 and call[2:] == ["ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}]
        await cp.send_raw(json.dumps([3, call[1], {"status": "Scheduled"}]))
        reply = await asyncio.wait_for(layer.receive(reply_channel), 5)
        assert reply == {"type": "ocpp.command.reply", "request_id": "r-1", "ok": True,
                         "payload": {"status": "Scheduled"}, "error": None}
        # A CALLERROR from the charger is relayed with its code.
        reply_channel = await _command(station, "Reset", {"type": "Soft"})
        call = await cp.receive()
        await cp.send_raw(json.dumps([4, call[1], "NotSupported", "no soft reset", {}]))
        reply = await asyncio.wait_for(layer.receive(reply_channel), 5)
        assert reply["ok"] is False and reply["error"] == {"code": "NotSupported", "description": "no soft reset",
                                                           "details": {}}
    log = await database_sync_to_async(list)(OcppMessage.objects.filter(station=station, action="ChangeAvailability")
                                    .order_by("id").values_list("direction", "message_type"))
    assert log == [("out", 2), ("in", 3)]


async def test_command_without_answer_times_out_and_invalid_commands_are_refused(station, ocpp_writer):
    layer = get_channel_layer()
    async with connected(station.ocpp_id) as cp:
        reply_channel = await _command(station, "ClearCache", {}, timeout=0.3)
        assert (await cp.receive())[2] == "ClearCache"
        reply = await asyncio.wait_for(layer.receive(reply_channel), 5)
        assert reply["ok"] is False and reply["error"]["code"] == "timeout"
        reply_channel = await _command(station, "UnlockConnector", {"connectorId": "x"})
        reply = await asyncio.wait_for(layer.receive(reply_channel), 5)
        assert reply["error"]["code"] == "TypeConstraintViolation"
        reply_channel = await _command(station, "Heartbeat", {})
        reply = await asyncio.wait_for(layer.receive(reply_channel), 5)
        assert reply["error"]["code"] == "NotSupported"
        assert await cp.ws.receive_nothing(timeout=0.2)


async def test_commands_queue_one_at_a_time_and_fail_when_the_station_leaves(station, ocpp_writer):
    layer = get_channel_layer()
    async with connected(station.ocpp_id) as cp:
        first = await _command(station, "GetConfiguration", {})
        second = await _command(station, "TriggerMessage", {"requestedMessage": "Heartbeat"})
        call = await cp.receive()
        assert call[2] == "GetConfiguration"
        assert await cp.ws.receive_nothing(timeout=0.2)  # OCPP-J: one outstanding CALL at a time
        await cp.send_raw(json.dumps([3, call[1], {"configurationKey": []}]))
        assert (await asyncio.wait_for(layer.receive(first), 5))["ok"] is True
        assert (await cp.receive())[2] == "TriggerMessage"
    reply = await asyncio.wait_for(layer.receive(second), 5)
    assert reply["ok"] is False and reply["error"]["code"] == "station_offline"


async def test_status_notifications_update_connector_and_history(station, ocpp_writer):
    at = _now()
    async with connected(station.ocpp_id) as cp:
        await cp.result("StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available",
                                               "timestamp": iso(at)})
        await cp.result("StatusNotification", {"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted",
                                               "info": "RCD tripped", "timestamp": iso(at + timedelta(seconds=1))})
        # A late notification from before does not overwrite the live status; it goes to the history.
        await cp.result("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                                               "timestamp": iso(at - timedelta(minutes=5))})
    connector = await database_sync_to_async(Connector.objects.get)(station=station, connector_id=1)
    assert (connector.status, connector.error_code, connector.status_info, connector.power_w) == \
        ("Faulted", "GroundFailure", "RCD tripped", 0)
    history = await database_sync_to_async(list)(StationStatusEvent.objects.filter(station=station).order_by("id")
                                        .values_list("connector_number", "status", "error_code"))
    assert history == [(0, "Available", ""), (1, "Faulted", "GroundFailure"), (1, "Charging", "")]


async def test_firmware_diagnostics_and_security_notifications_are_answered_and_stored(station, ocpp_writer):
    async with connected(station.ocpp_id) as cp:
        assert await cp.result("FirmwareStatusNotification", {"status": "Installing"}) == {}
        assert await cp.result("DiagnosticsStatusNotification", {"status": "Uploaded"}) == {}
        assert await cp.result("SecurityEventNotification", {"type": "TamperDetectionActivated",
                                                             "timestamp": iso(_now())}) == {}
        assert await cp.result("SignedFirmwareStatusNotification", {"status": "SignatureVerified"}) == {}
        assert await cp.result("LogStatusNotification", {"status": "Uploading", "requestId": 3}) == {}
        assert await cp.result("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"}) == \
            {"status": "Rejected"}
        wrapped = await cp.result("DataTransfer", {
            "vendorId": "org.openchargealliance", "messageId": "SecurityEventNotification",
            "data": json.dumps({"type": "FirmwareUpdated", "timestamp": iso(_now())})})
        assert wrapped == {"status": "Accepted", "data": "{}"}
        broken = await cp.result("DataTransfer", {"vendorId": "org.openchargealliance",
                                                  "messageId": "LogStatusNotification", "data": "{oops"})
        assert broken["status"] == "Rejected"
        assert await cp.result("DataTransfer", {"vendorId": "com.acme", "messageId": "x"}) == \
            {"status": "UnknownVendorId"}
    refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert refreshed.firmware_status == "SignatureVerified" and refreshed.firmware_status_at is not None
    assert refreshed.diagnostics_status == "Uploading" and refreshed.diagnostics_status_at is not None


async def test_every_message_in_and_out_is_logged_for_the_station(station, ocpp_writer):
    async with connected(station.ocpp_id) as cp:
        await cp.result("Heartbeat", {})
        await cp.result("Authorize", {"idTag": "NOBODY"})
    rows = await database_sync_to_async(list)(OcppMessage.objects.filter(station=station).order_by("id").values_list(
        "direction", "message_type", "action", "message_id", "payload"))
    assert rows[0] == ("in", 2, "Heartbeat", "m1", {})
    assert rows[1][:4] == ("out", 3, "Heartbeat", "m1") and "currentTime" in rows[1][4]
    assert rows[2] == ("in", 2, "Authorize", "m2", {"idTag": "NOBODY"})
    assert rows[3] == ("out", 3, "Authorize", "m2", {"idTagInfo": {"status": "Invalid"}})
    assert PASSWORD not in json.dumps([r[4] for r in rows])
