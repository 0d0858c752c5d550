"""The wallet: balances per organization, top-ups that create a payment intent and credit nothing until the
provider confirms, strict amounts, and nobody else's wallet."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from apps.billing.gateways import SimulatedGateway
from apps.billing.models import Customer, JournalEntry, Payment

pytestmark = pytest.mark.django_db


def test_wallet_shows_balance_owed_and_minimum(world, ana_api):
    response = ana_api.get("/api/v1/wallet/")

    assert response.status_code == 200
    assert response.json() == [{
        "organization_id": world["operator"].pk, "organization_name": "Lisboa Carrega", "regime": "prepaid",
        "balance": {"amount": "0.00", "currency": "EUR"}, "owed": {"amount": "0.00", "currency": "EUR"},
        "min_balance_to_start": {"amount": "5.00", "currency": "EUR"}}]


def test_top_up_creates_an_intent_and_credits_only_when_paid(world, ana_api):
    response = ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "25.50", "currency": "EUR"}},
                            format="json")

    assert response.status_code == 201
    payment = response.json()
    assert payment["status"] == "pending" and payment["amount"] == {"amount": "25.50", "currency": "EUR"}
    assert payment["gateway"] == "simulated" and payment["intent_id"].startswith("sim_pi_")
    assert payment["checkout_url"].endswith(f"/billing/simulated-checkout/{payment['intent_id']}")
    assert ana_api.get("/api/v1/wallet/").json()[0]["balance"]["amount"] == "0.00"
    assert JournalEntry.objects.count() == 0

    body, headers = SimulatedGateway().payment_succeeded_webhook(intent_id=payment["intent_id"],
                                                                 amount=Decimal("25.50"), currency="EUR")
    assert Client().post("/billing/webhooks/simulated/", body, content_type="application/json",
                         headers=headers).status_code == 200

    assert ana_api.get("/api/v1/wallet/").json()[0]["balance"] == {"amount": "25.50", "currency": "EUR"}
    [listed] = ana_api.get("/api/v1/wallet/top-ups/").json()["results"]
    assert listed["id"] == payment["id"] and listed["status"] == "succeeded" and listed["succeeded_at"]


@pytest.mark.parametrize("amount, field_text", [
    ({"amount": "0", "currency": "EUR"}, "positive"),
    ({"amount": "-5.00", "currency": "EUR"}, "positive"),
    ({"amount": "10.001", "currency": "EUR"}, "decimal places"),
    ({"amount": "abc", "currency": "EUR"}, "decimal number"),
    ({"amount": "NaN", "currency": "EUR"}, "decimal number"),
    ({"amount": 10.5, "currency": "EUR"}, "decimal number"),
    ({"amount": "10.00", "currency": "USD"}, "Unknown currency"),
    ({"amount": "10.00"}, "amount"),
    ("10.00", "amount"),
])
def test_bad_amounts_are_a_400_and_create_nothing(world, ana_api, amount, field_text):
    response = ana_api.post("/api/v1/wallet/top-ups/", {"amount": amount}, format="json")

    assert response.status_code == 400
    assert field_text in " ".join(response.json()["error"]["fields"]["amount"])
    assert Payment.objects.count() == 0


def test_too_big_or_wrong_currency_top_ups_are_refused(world, ana_api):
    too_big = ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "5000.01", "currency": "EUR"}},
                           format="json")
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "invalid_amount"
    brl = ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "50.00", "currency": "BRL"}},
                       format="json")
    assert brl.status_code == 400 and "is in EUR" in brl.json()["error"]["message"]
    assert Payment.objects.count() == 0


def test_a_postpaid_driver_or_another_organization_has_no_wallet_to_top_up(world, ana_api, rui_api):
    response = rui_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "10.00", "currency": "EUR"}},
                            format="json")
    assert response.status_code == 404
    response = ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "10.00", "currency": "EUR"},
                                                        "organization_id": world["other_org"].pk}, format="json")
    assert response.status_code == 404
    Customer.objects.filter(pk=world["customer"].pk).update(regime=Customer.Regime.POSTPAID)
    response = ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "10.00", "currency": "EUR"}},
                            format="json")
    assert response.status_code == 404


def test_several_wallets_need_the_organization(world, ana_api):
    Customer.objects.create(organization=world["other_org"], name="Ana", user=world["ana"],
                            regime=Customer.Regime.PREPAID, currency="EUR")

    response = ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "10.00", "currency": "EUR"}},
                            format="json")
    assert response.status_code == 400 and "organization_id" in response.json()["error"]["fields"]
    response = ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "10.00", "currency": "EUR"},
                                                        "organization_id": world["other_org"].pk}, format="json")
    assert response.status_code == 201 and response.json()["organization_id"] == world["other_org"].pk


def test_nobody_sees_anybody_elses_wallet_or_top_ups(world, ana_api, rui_api):
    ana_api.post("/api/v1/wallet/top-ups/", {"amount": {"amount": "10.00", "currency": "EUR"}}, format="json")

    assert rui_api.get("/api/v1/wallet/").json() == []
    assert rui_api.get("/api/v1/wallet/top-ups/").json()["results"] == []
    assert len(ana_api.get("/api/v1/wallet/top-ups/").json()["results"]) == 1


def test_payment_methods_come_from_the_gateway(world, ana_api):
    methods = ana_api.get("/api/v1/payment-methods/").json()

    assert {m["type"] for m in methods} == {"card", "mb_way", "pix"}
    assert all(m["gateway"] == "simulated" for m in methods)
