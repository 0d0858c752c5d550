"""Prepaid wallets: top-up through the simulated gateway's signed webhook, idempotency, refunds, settlement, and the
prepaid check at authorization."""
import logging
import time
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.billing.exceptions import InsufficientBalance, InvalidAmount, WrongRegime
from apps.billing.gateways import SimulatedGateway
from apps.billing.models import Account, BillingSettings, Customer, Payment, SessionCharge, WebhookEvent
from apps.billing.selectors import account_balance, prepaid_funds_problem, receivable_balance, wallet_balance
from apps.billing.services.settlement import RatedSession, session_charge_settle
from apps.billing.services.wallets import payment_refund, wallet_top_up_start
from apps.charging.models import ChargingSession
from tests.billing.factories import BillingSettingsFactory, CustomerCardFactory, CustomerFactory, PlanFactory
from tests.factories import IdTagFactory, SiteFactory, StationFactory

pytestmark = pytest.mark.django_db
URL = "/billing/webhooks/simulated/"


def top_up(client, customer, amount: str, *, event_id=None):
    gateway = SimulatedGateway()
    payment = wallet_top_up_start(customer=customer, amount=Decimal(amount), gateway=gateway)
    body, headers = gateway.payment_succeeded_webhook(intent_id=payment.provider_intent_id,
                                                      amount=payment.amount.amount, currency="EUR",
                                                      event_id=event_id)
    return payment, body, headers, client.post(URL, data=body, content_type="application/json", headers=headers)


def rated(customer, session_id: int, net: str) -> RatedSession:
    return RatedSession(session_id=session_id, organization=customer.organization, customer=customer,
                        currency="EUR", net=Decimal(net), energy_wh=10_000,
                        started_at=datetime(2026, 10, 5, 8, tzinfo=dt_timezone.utc), time_zone="Europe/Lisbon",
                        country="PT", station_label="Lugar n°3049")


def test_signed_webhook_credits_the_wallet(client):
    customer = CustomerFactory()
    payment, _, _, response = top_up(client, customer, "20.00")
    assert response.status_code == 200
    assert response.json()["outcome"] == "credited"
    assert wallet_balance(customer=customer) == Decimal("20.00")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_same_webhook_twice_credits_once(client):
    customer = CustomerFactory()
    _, body, headers, first = top_up(client, customer, "20.00", event_id="evt_1")
    second = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert WebhookEvent.objects.filter(event_id="evt_1").count() == 1
    assert wallet_balance(customer=customer) == Decimal("20.00")


def test_bad_signature_is_refused_with_400_logged_and_nothing_credited(client, caplog):
    customer = CustomerFactory()
    gateway = SimulatedGateway()
    payment = wallet_top_up_start(customer=customer, amount=Decimal("50"), gateway=gateway)
    body, headers = SimulatedGateway(secret="attacker").payment_succeeded_webhook(
        intent_id=payment.provider_intent_id, amount=Decimal("50"), currency="EUR")
    with caplog.at_level(logging.WARNING, logger="evnet.billing.webhooks"):
        response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_signature_invalid"
    assert "webhook rejected" in caplog.text
    assert wallet_balance(customer=customer) == 0
    assert not WebhookEvent.objects.exists()


def test_tampered_body_old_signature_and_missing_header_are_refused(client):
    customer = CustomerFactory()
    gateway = SimulatedGateway()
    payment = wallet_top_up_start(customer=customer, amount=Decimal("50"), gateway=gateway)
    body, headers = gateway.payment_succeeded_webhook(intent_id=payment.provider_intent_id, amount=Decimal("50"),
                                                      currency="EUR")
    tampered = body.replace(b'"50"', b'"500"')
    assert client.post(URL, data=tampered, content_type="application/json", headers=headers).status_code == 400
    old_body, old_headers = gateway.payment_succeeded_webhook(intent_id=payment.provider_intent_id,
                                                              amount=Decimal("50"), currency="EUR",
                                                              timestamp=int(time.time()) - 3600)
    assert client.post(URL, data=old_body, content_type="application/json", headers=old_headers).status_code == 400
    assert client.post(URL, data=body, content_type="application/json").status_code == 400
    assert client.post("/billing/webhooks/stripe/", data=body, content_type="application/json",
                       headers=headers).status_code == 404
    assert wallet_balance(customer=customer) == 0


def test_webhook_for_a_different_amount_credits_nothing(client):
    customer = CustomerFactory()
    gateway = SimulatedGateway()
    payment = wallet_top_up_start(customer=customer, amount=Decimal("10"), gateway=gateway)
    body, headers = gateway.payment_succeeded_webhook(intent_id=payment.provider_intent_id, amount=Decimal("99"),
                                                      currency="EUR")
    response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.json()["outcome"] == "amount_mismatch"
    assert wallet_balance(customer=customer) == 0


def test_top_up_input_is_checked():
    with pytest.raises(InvalidAmount, match="positive"):
        wallet_top_up_start(customer=CustomerFactory(), amount=Decimal("-5"), gateway=SimulatedGateway())
    with pytest.raises(WrongRegime, match="postpaid"):
        wallet_top_up_start(customer=CustomerFactory(regime=Customer.Regime.POSTPAID), amount=Decimal("5"),
                            gateway=SimulatedGateway())
    assert not Payment.objects.exists()


def test_refund_gives_money_back_but_never_more_than_the_wallet_holds(client):
    customer = CustomerFactory()
    payment, *_ = top_up(client, customer, "30.00")
    payment_refund(payment=payment, amount=Decimal("10"))
    assert wallet_balance(customer=customer) == Decimal("20.00")
    session_charge_settle(rated=rated(customer, 1, "15.00"))  # 18.45 incl. VAT
    with pytest.raises(InsufficientBalance, match="holds 1.5500"):
        payment_refund(payment=payment, amount=Decimal("5"))
    with pytest.raises(InvalidAmount, match="left to refund"):
        payment_refund(payment=payment, amount=Decimal("25"))
    assert wallet_balance(customer=customer) == Decimal("1.55")


def test_prepaid_session_is_paid_from_the_wallet_with_vat(client):
    customer = CustomerFactory()
    top_up(client, customer, "20.00")
    charge = session_charge_settle(rated=rated(customer, 7, "4.12345"))
    assert (charge.net.amount, charge.vat.amount, charge.total.amount) == (
        Decimal("4.12"), Decimal("0.95"), Decimal("5.07"))
    assert charge.status == SessionCharge.Status.WALLET
    assert wallet_balance(customer=customer) == Decimal("14.93")
    revenue = Account.objects.get(organization=customer.organization, kind=Account.Kind.REVENUE)
    assert account_balance(account=revenue) == Decimal("-4.12")


def test_session_above_the_balance_leaves_a_receivable_not_a_negative_wallet(client):
    customer = CustomerFactory()
    top_up(client, customer, "10.00")
    charge = session_charge_settle(rated=rated(customer, 8, "20.00"))  # 24.60 incl. VAT
    assert charge.status == SessionCharge.Status.RECEIVABLE
    assert (charge.wallet_debited.amount, charge.receivable.amount) == (Decimal("10.00"), Decimal("14.60"))
    assert wallet_balance(customer=customer) == 0
    assert receivable_balance(customer=customer) == Decimal("14.60")
    # The next top-up pays the debt first.
    top_up(client, customer, "20.00")
    assert receivable_balance(customer=customer) == 0
    assert wallet_balance(customer=customer) == Decimal("5.40")


def test_settling_a_session_twice_debits_once(client):
    customer = CustomerFactory()
    top_up(client, customer, "20.00")
    first = session_charge_settle(rated=rated(customer, 9, "5.00"))
    second = session_charge_settle(rated=rated(customer, 9, "5.00"))
    assert first.pk == second.pk
    assert wallet_balance(customer=customer) == Decimal("13.85")


def test_postpaid_session_waits_for_the_invoice():
    customer = CustomerFactory(regime=Customer.Regime.POSTPAID)
    charge = session_charge_settle(rated=rated(customer, 10, "5.00"))
    assert charge.status == SessionCharge.Status.TO_INVOICE
    assert charge.journal_entry is None


@pytest.fixture
def station():
    return StationFactory(site=SiteFactory())


def test_prepaid_driver_below_the_minimum_is_refused_with_the_reason(client, station):
    customer = CustomerFactory(organization=station.site.organization)
    BillingSettingsFactory(organization=station.site.organization, min_balance_to_start=Decimal("5.00"))
    id_tag = IdTagFactory(organization=station.site.organization, owner=customer.user)
    assert prepaid_funds_problem(id_tag=id_tag, user=customer.user, station=station) == (
        "Prepaid wallet holds 0.00 EUR, below the 5.00 EUR needed to start charging.")
    top_up(client, customer, "5.00")
    assert prepaid_funds_problem(id_tag=id_tag, user=customer.user, station=station) is None


def test_prepaid_driver_who_owes_money_is_refused(client, station):
    customer = CustomerFactory(organization=station.site.organization)
    BillingSettings.objects.create(organization=station.site.organization, min_balance_to_start=Decimal("0"))
    session_charge_settle(rated=rated(customer, 11, "1.00"))
    problem = prepaid_funds_problem(id_tag=None, user=customer.user, station=station)
    assert problem.endswith("owes 1.23 EUR from earlier sessions; top up the wallet first.")


def test_postpaid_and_unknown_drivers_pass(station):
    customer = CustomerFactory(organization=station.site.organization, regime=Customer.Regime.POSTPAID)
    assert prepaid_funds_problem(id_tag=None, user=customer.user, station=station) is None
    stranger = IdTagFactory(organization=station.site.organization)
    assert prepaid_funds_problem(id_tag=stranger, user=stranger.owner, station=station) is None


def test_card_over_its_monthly_cap_is_refused(station):
    org = station.site.organization
    card = CustomerCardFactory(customer=CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID),
                               monthly_cap_wh=20_000)
    ChargingSession.objects.create(station=station, connector_number=1, id_tag=card.id_tag,
                                   id_tag_uid=card.id_tag.uid, started_at=timezone.now(), meter_start_wh=0,
                                   meter_stop_wh=19_000, energy_wh=19_000, state="completed")
    assert prepaid_funds_problem(id_tag=card.id_tag, user=None, station=station) is None
    ChargingSession.objects.create(station=station, connector_number=1, id_tag=card.id_tag,
                                   id_tag_uid=card.id_tag.uid, started_at=timezone.now(), meter_start_wh=19_000,
                                   meter_stop_wh=21_000, energy_wh=2_000, state="completed")
    assert prepaid_funds_problem(id_tag=card.id_tag, user=None, station=station) == (
        f"Card {card.id_tag.uid} reached its monthly cap of 20 kWh (21 kWh used).")


def test_plan_cap_applies_to_cards_without_their_own_cap(station):
    from apps.billing.models import Subscription

    org = station.site.organization
    customer = CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID, kind=Customer.Kind.FLEET_COMPANY)
    Subscription.objects.create(customer=customer, plan=PlanFactory(organization=org, card_monthly_cap_wh=1_000),
                                starts_on=timezone.localdate().replace(day=1))
    card = CustomerCardFactory(customer=customer)
    ChargingSession.objects.create(station=station, connector_number=1, id_tag=card.id_tag,
                                   id_tag_uid=card.id_tag.uid, started_at=timezone.now(), meter_start_wh=0,
                                   meter_stop_wh=1_000, energy_wh=1_000, state="completed")
    assert "reached its monthly cap of 1 kWh" in prepaid_funds_problem(id_tag=card.id_tag, user=None,
                                                                         station=station)
