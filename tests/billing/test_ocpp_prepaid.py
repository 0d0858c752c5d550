"""Contract 2 end to end: over a real OCPP WebSocket, a prepaid driver whose wallet is below the minimum is answered
Blocked at Authorize and at StartTransaction; after a top-up the same card is Accepted."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from apps.billing.gateways import SimulatedGateway
from apps.billing.services.wallets import payment_succeed, wallet_top_up_start
from tests.billing.factories import BillingSettingsFactory, CustomerFactory
from tests.factories import IdTagFactory
from tests.ocpp.conftest import connected, iso, ocpp_writer, station  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def prepaid_card(station):
    org = station.site.organization
    BillingSettingsFactory(organization=org, min_balance_to_start=Decimal("5.00"))
    customer = CustomerFactory(organization=org)
    IdTagFactory(uid="PREPAID-1", organization=org, owner=customer.user)
    return customer


@sync_to_async
def top_up(customer, amount: str):
    payment = wallet_top_up_start(customer=customer, amount=Decimal(amount), gateway=SimulatedGateway())
    payment_succeed(payment=payment, amount=Decimal(amount), currency="EUR")


async def test_prepaid_driver_below_minimum_is_blocked_then_accepted_after_top_up(station, ocpp_writer):  # noqa: F811
    customer = await prepaid_card(station)
    start = {"connectorId": 1, "idTag": "PREPAID-1", "meterStart": 1000,
             "timestamp": iso(datetime.now(timezone.utc).replace(microsecond=0))}
    async with connected(station.ocpp_id) as cp:
        assert (await cp.result("Authorize", {"idTag": "PREPAID-1"}))["idTagInfo"]["status"] == "Blocked"
        assert (await cp.result("StartTransaction", start))["idTagInfo"]["status"] == "Blocked"
        await top_up(customer, "4.99")
        assert (await cp.result("Authorize", {"idTag": "PREPAID-1"}))["idTagInfo"]["status"] == "Blocked"
        await top_up(customer, "0.01")
        assert (await cp.result("Authorize", {"idTag": "PREPAID-1"}))["idTagInfo"]["status"] == "Accepted"
        answer = await cp.result("StartTransaction", {**start, "meterStart": 2000})
        assert answer["idTagInfo"]["status"] == "Accepted"
