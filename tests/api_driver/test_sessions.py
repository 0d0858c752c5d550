"""Starting, stopping, following and listing charges: every refusal is a clear 4xx/5xx of the one error format
and sends nothing to the charger; a charger that accepts but has not started yet gives a 202 with a start
request that resolves to the session; a driver never sees another driver's session (404)."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from apps.billing.models import Account
from apps.billing.services.ledger import account_get
from apps.charging.models import ChargingSession
from apps.driving.models import RemoteStart
from apps.operations.models import CommandRecord
from apps.rating.services.prices import session_price_final
from evnet.asgi import application
from tests.factories import IdTagFactory
from tests.ocpp.conftest import PASSWORD, connected, iso
from tests.ocpp.conftest import ocpp_writer  # noqa: F401 - fixture

from .conftest import api_client, call, concurrent_writers


def _session(world, *, user="ana", card="card", state=ChargingSession.State.COMPLETED, energy_wh=3000,
             station="public", started_at=None) -> ChargingSession:
    started_at = started_at or datetime(2026, 11, 3, 20, 0, tzinfo=timezone.utc)
    stopped = state != ChargingSession.State.ACTIVE
    return ChargingSession.objects.create(
        station=world[station], connector_number=1, id_tag=world[card], id_tag_uid=world[card].uid,
        user=world[user], state=state, started_at=started_at, meter_start_wh=0,
        meter_stop_wh=energy_wh if stopped else None, energy_wh=energy_wh,
        stopped_at=started_at + timedelta(minutes=30) if stopped else None)


def _fund(world, amount="50.00"):
    """Put money in Ana's prepaid wallet the way a settled top-up does (Dr clearing, Cr wallet)."""
    from decimal import Decimal

    from apps.billing.models import JournalEntry
    from apps.billing.services.ledger import journal_post

    operator, customer = world["operator"], world["customer"]
    journal_post(organization=operator, kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference=f"test:{amount}",
                 lines=[(account_get(organization=operator, kind=Account.Kind.GATEWAY_CLEARING, currency="EUR"),
                         Decimal(amount)),
                        (account_get(organization=operator, kind=Account.Kind.WALLET, currency="EUR",
                                     customer=customer), -Decimal(amount))])


# --- refusals before anything is sent ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_start_refusals_say_why_and_send_nothing(world, ana_api):
    post = lambda **data: ana_api.post("/api/v1/sessions/", {"station_id": world["public"].pk,  # noqa: E731
                                                             "connector_id": 1, **data}, format="json")
    # Funds: the wallet is empty, the operator wants 5 € to start.
    response = post()
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert "below the 5.00 EUR needed" in response.json()["error"]["message"]
    _fund(world)
    # Somebody else's card, an unknown card: 404, never which.
    for card_id in (world["rui_card"].pk, 99999999):
        response = post(card_id=card_id)
        assert response.status_code == 404 and response.json()["error"]["code"] == "card_not_found"
    # A blocked card of hers: refused with the OCPP status.
    lost = IdTagFactory(organization=world["fleet"], owner=world["ana"], uid="ANA00002", status="blocked")
    response = post(card_id=lost.pk)
    assert response.status_code == 409 and response.json()["error"]["code"] == "charge_refused"
    assert response.json()["error"]["fields"] == {"status": "Blocked"}
    # A connector that does not exist, a station she may not use.
    assert post(connector_id=9).json()["error"]["code"] == "connector_not_found"
    response = ana_api.post("/api/v1/sessions/", {"station_id": world["other_station"].pk, "connector_id": 1},
                            format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "station_not_found"
    # Offline.
    world["public"].is_connected = False
    world["public"].save()
    response = post()
    assert response.status_code == 409 and response.json()["error"]["code"] == "station_offline"
    assert CommandRecord.objects.count() == 0 and RemoteStart.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({}, "station_id"),
    ({"station_id": "x", "connector_id": 1}, "station_id"),
    ({"station_id": 1, "connector_id": 0}, "connector_id"),
    ({"station_id": 1, "connector_id": 1, "card_id": -4}, "card_id"),
    ({"station_id": 10**20, "connector_id": 1}, "station_id"),
])
def test_malformed_start_is_a_400_naming_the_field(world, ana_api, body, field):
    response = ana_api.post("/api/v1/sessions/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_busy_connector_is_refused(world, ana_api):
    _fund(world)
    _session(world, user="rui", card="rui_card", state=ChargingSession.State.ACTIVE)

    response = ana_api.post("/api/v1/sessions/", {"station_id": world["public"].pk, "connector_id": 1},
                            format="json")

    assert response.status_code == 409 and response.json()["error"]["code"] == "connector_busy"


@pytest.mark.django_db
def test_a_faulted_connector_is_refused_with_its_status(world, ana_api):
    _fund(world)
    world["public"].connectors.filter(connector_id=1).update(status="Faulted")

    response = ana_api.post("/api/v1/sessions/", {"station_id": world["public"].pk, "connector_id": 1},
                            format="json")

    assert response.status_code == 409 and response.json()["error"]["fields"] == {"status": "Faulted"}
    assert CommandRecord.objects.count() == 0


# --- the charger's answers (real OCPP consumer on a WebSocket) -----------------------------------------------------

@sync_to_async
def _online_with_funds(world):
    _fund(world)
    world["public"].set_password(PASSWORD)
    world["public"].save()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
@concurrent_writers
async def test_charger_rejecting_the_remote_start_is_a_502(world, ana_api, ocpp_writer):  # noqa: F811
    await _online_with_funds(world)
    async with connected("LX-PUB-1") as charger:
        request = call(ana_api, "post", "/api/v1/sessions/", {"station_id": world["public"].pk, "connector_id": 1})
        task = asyncio.ensure_future(request)
        frame = await charger.receive(timeout=10)
        assert frame[2] == "RemoteStartTransaction"
        await charger.send_raw(json.dumps([3, frame[1], {"status": "Rejected"}]))
        status, response = await task
    assert status == 502 and response.json()["error"]["code"] == "charger_rejected"
    start = await sync_to_async(RemoteStart.objects.get)()
    assert start.status == RemoteStart.Status.REJECTED


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
@concurrent_writers
async def test_charger_not_answering_is_a_504(world, ana_api, ocpp_writer, settings):  # noqa: F811
    settings.EVNET_API_COMMAND_TIMEOUT_S = 1
    await _online_with_funds(world)
    async with connected("LX-PUB-1") as charger:
        status, response = await call(ana_api, "post", "/api/v1/sessions/",
                                      {"station_id": world["public"].pk, "connector_id": 1})
        frame = await charger.receive(timeout=5)
        assert frame[2] == "RemoteStartTransaction"  # it got there; the charger stayed silent
    assert status == 504 and response.json()["error"]["code"] == "command_timeout"
    start = await sync_to_async(RemoteStart.objects.get)()
    assert start.status == RemoteStart.Status.FAILED


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
@concurrent_writers
async def test_a_start_the_charger_reports_late_is_a_202_that_resolves_to_the_session(world, ana_api,
                                                                                     ocpp_writer, settings):  # noqa: F811
    settings.EVNET_API_START_WAIT_S = 0.3
    await _online_with_funds(world)
    async with connected("LX-PUB-1") as charger:
        task = asyncio.ensure_future(call(ana_api, "post", "/api/v1/sessions/",
                                          {"station_id": world["public"].pk, "connector_id": 1}))
        frame = await charger.receive(timeout=10)
        await charger.send_raw(json.dumps([3, frame[1], {"status": "Accepted"}]))
        status, response = await task
        assert status == 202, response.json()
        pending = response.json()
        assert pending["status"] == "accepted" and pending["session_id"] is None
        assert response["Location"] == f"/api/v1/sessions/starts/{pending['id']}/"
        status, response = await call(ana_api, "get", f"/api/v1/sessions/starts/{pending['id']}/")
        assert status == 200 and response.json()["session_id"] is None

        # The driver plugs in a little later: the charger's StartTransaction arrives.
        answer = await charger.result("StartTransaction", {"connectorId": 1, "idTag": "ANA00001", "meterStart": 0,
                                                           "timestamp": iso(datetime.now(timezone.utc))})
        status, response = await call(ana_api, "get", f"/api/v1/sessions/starts/{pending['id']}/")
        assert response.json()["session_id"] == answer["transactionId"]
        assert response.json()["status"] == "started"
        rui = await sync_to_async(api_client)(world["rui"])
        status, _ = await call(rui, "get", f"/api/v1/sessions/starts/{pending['id']}/")
        assert status == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
@concurrent_writers
async def test_stop_sends_remote_stop_and_refuses_others(world, ana_api, ocpp_writer):  # noqa: F811
    session = await sync_to_async(_session)(world, state=ChargingSession.State.ACTIVE)
    await _online_with_funds(world)
    rui = await sync_to_async(api_client)(world["rui"])
    status, response = await call(rui, "post", f"/api/v1/sessions/{session.pk}/stop/")
    assert status == 404 and response.json()["error"]["code"] == "session_not_found"
    async with connected("LX-PUB-1") as charger:
        task = asyncio.ensure_future(call(ana_api, "post", f"/api/v1/sessions/{session.pk}/stop/"))
        frame = await charger.receive(timeout=10)
        assert frame[2:] == ["RemoteStopTransaction", {"transactionId": session.pk}]
        await charger.send_raw(json.dumps([3, frame[1], {"status": "Accepted"}]))
        status, response = await task
    assert status == 202 and response.json()["id"] == session.pk


@pytest.mark.django_db
def test_stopping_a_closed_session_is_a_409(world, ana_api):
    session = _session(world)

    response = ana_api.post(f"/api/v1/sessions/{session.pk}/stop/")

    assert response.status_code == 409 and response.json()["error"]["code"] == "session_not_active"


# --- following, history, receipts -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_history_dates_with_any_offset_compare_in_utc(world, ana_api):
    session = _session(world, started_at=datetime(2026, 11, 3, 20, 0, tzinfo=timezone.utc))

    # 21:00 in Lisbon's winter is 21:00 UTC; 17:30-03:00 is 20:30 UTC.
    assert ana_api.get("/api/v1/sessions/", {"from": "2026-11-03T17:30:00-03:00"}).json()["count"] == 0
    assert ana_api.get("/api/v1/sessions/", {"to": "2026-11-03T17:30:00-03:00"}).json()["results"][0]["id"] == \
        session.pk


@pytest.mark.django_db
def test_history_is_the_drivers_own_filtered_and_paginated(world, ana_api, rui_api):
    day = datetime(2026, 11, 3, 20, 0, tzinfo=timezone.utc)
    mine = [_session(world, started_at=day + timedelta(days=i)) for i in range(3)]
    active = _session(world, state=ChargingSession.State.ACTIVE, started_at=day + timedelta(days=5))
    theirs = _session(world, user="rui", card="rui_card", station="other_station")

    body = ana_api.get("/api/v1/sessions/").json()
    assert [s["id"] for s in body["results"]] == [active.pk, *reversed([s.pk for s in mine])]
    assert theirs.pk not in [s["id"] for s in body["results"]]
    assert [s["id"] for s in rui_api.get("/api/v1/sessions/").json()["results"]] == [theirs.pk]

    window = ana_api.get("/api/v1/sessions/", {"from": "2026-11-04T00:00:00Z", "to": "2026-11-05T00:00:00Z"})
    assert [s["id"] for s in window.json()["results"]] == [mine[1].pk]
    assert [s["id"] for s in ana_api.get("/api/v1/sessions/?state=active").json()["results"]] == [active.pk]
    by_station = ana_api.get(f"/api/v1/sessions/?station={world['public'].pk}&page_size=2").json()
    assert by_station["count"] == 4 and len(by_station["results"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("query, field", [("from=yesterday", "from"), ("to=2026-13-01", "to"),
                                          ("from=0001-01-01T00:00:00-23:59", "from"),
                                          ("to=9999-12-31T23:59:59-23:00", "to"),
                                          ("state=charging", "state"), ("station=abc", "station"),
                                          (f"station={10**20}", "station"), ("station=-1", "station")])
def test_bad_history_filters_are_a_400(world, ana_api, query, field):
    response = ana_api.get(f"/api/v1/sessions/?{query}")

    assert response.status_code == 400 and field in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_another_drivers_session_and_receipt_are_404(world, ana_api):
    theirs = _session(world, user="rui", card="rui_card", station="other_station")

    for path in (f"/api/v1/sessions/{theirs.pk}/", f"/api/v1/sessions/{theirs.pk}/receipt.pdf",
                 "/api/v1/sessions/999999/", f"/api/v1/sessions/{10**30}/"):
        response = ana_api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "session_not_found"


@pytest.mark.django_db
def test_receipt_is_404_while_charging_and_a_pdf_once_priced(world, ana_api):
    active = _session(world, state=ChargingSession.State.ACTIVE)
    response = ana_api.get(f"/api/v1/sessions/{active.pk}/receipt.pdf")
    assert response.status_code == 404 and response.json()["error"]["code"] == "receipt_not_ready"

    closed = _session(world, started_at=datetime(2026, 11, 10, 23, 0, tzinfo=timezone.utc))
    price = session_price_final(session_id=closed.pk)
    body = ana_api.get(f"/api/v1/sessions/{closed.pk}/").json()
    # 3 kWh at night (0.15) + 0.50 fee = 0.95 + 23 % VAT.
    assert body["price"]["total_incl_vat"] == {"amount": "1.17", "currency": "EUR"}
    assert f"{price.total_incl_vat.amount:.2f}" == "1.17"  # the stored final price, not a recomputation
    response = ana_api.get(body["receipt_url"])
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


# --- the stream: who may follow ------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
async def test_stream_refuses_strangers_and_other_drivers(world, ocpp_writer):  # noqa: F811 - closes connections
    session = await sync_to_async(_session)(world, state=ChargingSession.State.ACTIVE)
    rui_token = await sync_to_async(lambda: Token.objects.get_or_create(user=world["rui"])[0].key)()
    ana_token = await sync_to_async(lambda: Token.objects.get_or_create(user=world["ana"])[0].key)()
    for path, code in ((f"/ws/sessions/{session.pk}", 4401), (f"/ws/sessions/{session.pk}?token=nope", 4401),
                       (f"/ws/sessions/{session.pk}?token={rui_token}", 4404),
                       (f"/ws/sessions/987654?token={ana_token}", 4404)):
        stream = WebsocketCommunicator(application, path)
        ok, close_code = await stream.connect(timeout=10)
        assert not ok and close_code == code, path
    stream = WebsocketCommunicator(application, f"/ws/sessions/{session.pk}?token={ana_token}")
    ok, _ = await stream.connect(timeout=10)
    assert ok
    first = await stream.receive_json_from(timeout=10)
    assert first["session"]["id"] == session.pk and first["session"]["state"] == "active"
    await stream.disconnect()


@pytest.mark.django_db
def test_a_start_without_a_card_choice_uses_a_card_that_can_charge_now(world, ana_api):
    """Ana's oldest card has expired: a start without card_id must not pick it (the charger would answer Expired)
    while a newer card of hers is valid; with only expired cards she is told she has none that can charge."""
    _fund(world)
    world["card"].expires_at = datetime.now(timezone.utc) - timedelta(days=1)
    world["card"].save()
    world["public"].is_connected = False  # the checks run, then the start stops at "offline": nothing is sent
    world["public"].save()
    post = lambda: ana_api.post("/api/v1/sessions/", {"station_id": world["public"].pk,  # noqa: E731
                                                      "connector_id": 1}, format="json")
    response = post()
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_card"
    assert "active and not expired" in response.json()["error"]["message"]
    IdTagFactory(organization=world["fleet"], owner=world["ana"], uid="ANA00003")
    response = post()
    # The newer card passed authorization and the funds check: only the offline station stopped the start.
    assert response.status_code == 409 and response.json()["error"]["code"] == "station_offline"
    assert CommandRecord.objects.count() == 0 and RemoteStart.objects.count() == 0
