"""Issue 7, end to end: a driver tops up the prepaid wallet, finds a station, starts a charge over the API; the
charger — evnet's real OCPP consumer on a real WebSocket (Channels' communicator on evnet's ASGI application, the
Redis channel layer when REDIS_URL is set) — receives RemoteStartTransaction and starts; the API answers with the
evnet session id; the driver follows the session by polling and on the /ws/sessions/<id> stream, stops it, and
sees the receipt and the wallet debit once rating and billing have run."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.billing.gateways import SimulatedGateway
from apps.billing.services.settlement import session_prices_settle
from apps.rating.services.prices import session_price_sweep
from evnet.asgi import application
from tests.ocpp.conftest import PASSWORD, connected, iso
from tests.ocpp.conftest import ocpp_writer  # noqa: F401 - fixture

from .conftest import api_client, call, concurrent_writers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120), concurrent_writers]


async def expect_call(charger, action: str) -> list:
    frame = await charger.receive(timeout=10)
    assert frame[0] == 2 and frame[2] == action, frame
    return frame


def meter(at: datetime, wh: int, power_w: int, soc: int) -> list:
    return [{"timestamp": iso(at), "sampledValue": [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
        {"value": str(soc), "measurand": "SoC", "unit": "Percent"},
    ]}]


@sync_to_async
def _prepare(world):
    world["public"].set_password(PASSWORD)
    world["public"].is_connected = False
    world["public"].save()
    return Token.objects.get_or_create(user=world["ana"])[0].key


@sync_to_async
def _top_up_paid(payment: dict) -> int:
    """The provider confirms the payment: its signed webhook reaches evnet's real endpoint."""
    gateway = SimulatedGateway()
    body, headers = gateway.payment_succeeded_webhook(intent_id=payment["intent_id"],
                                                      amount=Decimal(payment["amount"]["amount"]),
                                                      currency=payment["amount"]["currency"])
    response = Client().post("/billing/webhooks/simulated/", body, content_type="application/json",
                             headers=headers)
    return response.status_code


@sync_to_async
def _rate_and_settle() -> tuple[dict, dict]:
    # What the Celery worker does after a StopTransaction: final price, then billing settles it.
    return session_price_sweep(), session_prices_settle()


async def test_driver_finds_starts_follows_stops_and_pays(world, ocpp_writer, settings):  # noqa: F811
    settings.EVNET_API_START_WAIT_S = 10
    token = await _prepare(world)
    ana = await sync_to_async(api_client)(world["ana"])

    # The wallet: top up 20 € and pay it.
    status, response = await call(ana, "post", "/api/v1/wallet/top-ups/",
                                  {"amount": {"amount": "20.00", "currency": "EUR"}})
    assert status == 201, response.json()
    payment = response.json()
    assert payment["status"] == "pending" and payment["checkout_url"].endswith(payment["intent_id"])
    assert await _top_up_paid(payment) == 200
    status, response = await call(ana, "get", "/api/v1/wallet/")
    [wallet] = response.json()
    assert wallet["balance"] == {"amount": "20.00", "currency": "EUR"} and wallet["regime"] == "prepaid"

    async with connected("LX-PUB-1") as charger:
        boot = await charger.result("BootNotification", {"chargePointVendor": "Zaptec", "chargePointModel": "Go"})
        assert boot["status"] == "Accepted"
        await charger.result("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                    "status": "Available"})

        # 1. Find the station.
        status, response = await call(ana, "get", "/api/v1/stations/?near=38.7369,-9.1427&radius_km=5")
        assert status == 200
        [station] = response.json()["results"]
        assert station["ocpp_id"] == "LX-PUB-1" and station["online"] is True
        assert station["connectors"][0]["status_text"] == "Car disconnected"

        # 2. Start a charge: the charger gets RemoteStartTransaction, accepts and starts.
        start = asyncio.ensure_future(call(ana, "post", "/api/v1/sessions/",
                                           {"station_id": station["id"], "connector_id": 1}))
        remote_start = await expect_call(charger, "RemoteStartTransaction")
        assert remote_start[3] == {"idTag": "ANA00001", "connectorId": 1}
        await charger.send_raw(json.dumps([3, remote_start[1], {"status": "Accepted"}]))
        # The charger reports times a quarter of an hour back so that every reading is in the past.
        started_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=15)
        answer = await charger.result("StartTransaction", {"connectorId": 1, "idTag": "ANA00001", "meterStart": 1000,
                                                           "timestamp": iso(started_at)})
        assert answer["idTagInfo"]["status"] == "Accepted"
        transaction_id = answer["transactionId"]
        status, response = await start
        assert status == 201, response.json()
        assert response.json()["session_id"] == transaction_id and response.json()["status"] == "started"
        assert response["Location"] == f"/api/v1/sessions/{transaction_id}/"

        # 3. Follow it: polling and the stream.
        await charger.result("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"})
        await charger.result("MeterValues", {"connectorId": 1, "transactionId": transaction_id,
                                             "meterValue": meter(_s(300, started_at), 1600, 7200, 41)})
        status, response = await call(ana, "get", f"/api/v1/sessions/{transaction_id}/")
        live = response.json()
        assert status == 200 and live["state"] == "active"
        assert live["energy_wh"] == 600 and live["energy_kwh"] == "0.600"
        assert live["power_w"] == 7200 and live["soc_percent"] == 41
        # 0.6 kWh at the day or night price plus the 0.50 € session fee, incl. 23 % VAT: the engine's running cost.
        assert live["running_cost"] in ({"amount": f"{(Decimal('0.5') + Decimal('0.6') * p) * Decimal('1.23'):.2f}",
                                         "currency": "EUR"} for p in (Decimal("0.30"), Decimal("0.15")))
        assert live["price"] is None and live["receipt_url"] is None

        stream = WebsocketCommunicator(application, f"/ws/sessions/{transaction_id}?token={token}")
        connected_ok, _ = await stream.connect(timeout=10)
        assert connected_ok
        first = await stream.receive_json_from(timeout=10)
        assert first["type"] == "session" and first["session"]["energy_wh"] == 600
        await charger.result("MeterValues", {"connectorId": 1, "transactionId": transaction_id,
                                             "meterValue": meter(_s(600, started_at), 2200, 7100, 48)})
        update = await stream.receive_json_from(timeout=10)
        assert update["session"]["energy_wh"] == 1200 and update["session"]["soc_percent"] == 48

        # 4. Stop it: RemoteStopTransaction, then the charger's StopTransaction.
        stop = asyncio.ensure_future(call(ana, "post", f"/api/v1/sessions/{transaction_id}/stop/"))
        remote_stop = await expect_call(charger, "RemoteStopTransaction")
        assert remote_stop[3] == {"transactionId": transaction_id}
        await charger.send_raw(json.dumps([3, remote_stop[1], {"status": "Accepted"}]))
        status, response = await stop
        assert status == 202, response.json()
        await charger.result("StopTransaction", {"transactionId": transaction_id, "meterStop": 2800,
                                                 "timestamp": iso(_s(900, started_at)), "reason": "Remote"})
        final = await stream.receive_json_from(timeout=10)
        while final["session"]["state"] == "active":
            final = await stream.receive_json_from(timeout=10)
        assert final["session"]["state"] == "completed" and final["session"]["energy_wh"] == 1800

        # 5. Rating and billing run (the worker's job); the stream sends the priced session and closes.
        rated, settled = await _rate_and_settle()
        assert rated["priced"] == 1 and sum(settled.values()) >= 1
        priced = await stream.receive_json_from(timeout=10)
        assert priced["session"]["price"] is not None
        assert (await stream.receive_output(timeout=10))["type"] == "websocket.close"
        await stream.disconnect()

    status, response = await call(ana, "get", f"/api/v1/sessions/{transaction_id}/")
    done = response.json()
    total = Decimal(done["price"]["total_incl_vat"]["amount"])
    assert done["receipt_url"] == f"/api/v1/sessions/{transaction_id}/receipt.pdf" and total > 0
    status, response = await call(ana, "get", done["receipt_url"])
    assert status == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    status, response = await call(ana, "get", "/api/v1/wallet/")
    [wallet] = response.json()
    assert Decimal(wallet["balance"]["amount"]) == Decimal("20.00") - total
    assert wallet["owed"] == {"amount": "0.00", "currency": "EUR"}
    status, response = await call(ana, "get", "/api/v1/sessions/?state=completed")
    [row] = response.json()["results"]
    assert row["id"] == transaction_id and row["total_incl_vat"] == {"amount": f"{total:.2f}", "currency": "EUR"}


def _s(seconds: int, since: datetime) -> datetime:
    return since + timedelta(seconds=seconds)
