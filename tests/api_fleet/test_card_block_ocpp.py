"""A card a fleet manager blocks over the API is refused by the charger at its next Authorize and StartTransaction
(a real OCPP 1.6J WebSocket on evnet's ASGI application); unblocking lets it charge again."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from asgiref.sync import sync_to_async

from tests.ocpp.conftest import connected, iso, ocpp_writer, writer_drained  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_blocked_card_is_refused_at_the_next_authorize_and_start(fleet_a, ocpp_writer):  # noqa: F811
    card = fleet_a.cards[0]
    client = await sync_to_async(lambda: fleet_a.client)()
    post = sync_to_async(lambda action: client.post(fleet_a.url(f"cards/{card.pk}/{action}/")))

    async def block(action: str):
        await writer_drained()  # the log row of the last answer is still being written
        return await post(action)

    async with connected(fleet_a.station.ocpp_id) as cp:
        assert (await cp.result("Authorize", {"idTag": card.uid}))["idTagInfo"]["status"] == "Accepted"
        response = await block("block")
        assert response.status_code == 200 and response.json()["status"] == "blocked"
        assert (await cp.result("Authorize", {"idTag": card.uid}))["idTagInfo"]["status"] == "Blocked"
        start = await cp.result("StartTransaction", {"connectorId": 1, "idTag": card.uid, "meterStart": 0,
                                                     "timestamp": iso(datetime.now(timezone.utc))})
        assert start["idTagInfo"]["status"] == "Blocked"
        # The other card of the fleet is not affected.
        assert (await cp.result("Authorize", {"idTag": fleet_a.cards[1].uid}))["idTagInfo"]["status"] == "Accepted"
        assert (await block("unblock")).json()["status"] == "active"
        assert (await cp.result("Authorize", {"idTag": card.uid}))["idTagInfo"]["status"] == "Accepted"
