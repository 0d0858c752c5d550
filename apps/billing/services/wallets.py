"""Prepaid wallets: top-ups through a payment gateway, signed and idempotent webhooks, refunds. A wallet is a
liability account per customer and currency; its balance is what evnet owes the customer."""
from __future__ import annotations

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from ..exceptions import InsufficientBalance, InvalidAmount, WrongRegime
from ..gateways import GatewayEvent, PaymentGateway, SimulatedGateway, gateway_get
from ..models import Account, Customer, JournalEntry, Payment, WebhookEvent
from .ledger import _amount, account_get, journal_post

logger = logging.getLogger("evnet.billing.webhooks")

MAX_TOP_UP = Decimal("5000")


def _positive(amount) -> Decimal:
    value = _amount(amount)
    if value <= 0:
        raise InvalidAmount(f"The amount must be positive (got {value}).")
    return value


@transaction.atomic
def wallet_top_up_start(*, customer: Customer, amount: Decimal, gateway: PaymentGateway) -> Payment:
    """Create a payment intent for a top-up. Nothing is credited until the provider's webhook confirms it."""
    if customer.regime != Customer.Regime.PREPAID:
        raise WrongRegime(f"{customer} is billed postpaid and has no wallet to top up.")
    value = _positive(amount)
    if value > MAX_TOP_UP:
        raise InvalidAmount(f"A single top-up is at most {MAX_TOP_UP} {customer.currency}.")
    intent = gateway.intent_create(amount=value, currency=customer.currency, reference=f"customer:{customer.pk}")
    return Payment.objects.create(organization=customer.organization, customer=customer, gateway=gateway.name,
                                  provider_intent_id=intent.id, amount=Money(value, customer.currency),
                                  refunded=Money(0, customer.currency))


@transaction.atomic
def payment_succeed(*, payment: Payment, amount: Decimal, currency: str) -> JournalEntry | None:
    """The provider confirmed the payment: credit the wallet (Dr gateway clearing, Cr wallet), then use the
    wallet to pay any receivable the customer owes. Idempotent: a payment is credited once. A confirmation whose
    amount or currency differs from the intent credits nothing and returns None."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if amount != payment.amount.amount or currency != str(payment.amount.currency):
        logger.warning("payment %s confirmed for %s %s but the intent was for %s", payment.pk, amount, currency,
                       payment.amount)
        return None
    customer = payment.customer
    value = payment.amount.amount
    entry = journal_post(
        organization=payment.organization, kind=JournalEntry.Kind.TOP_UP, currency=currency,
        reference=f"payment:{payment.pk}", memo=f"Top-up by {customer} ({payment.gateway})",
        lines=[(account_get(organization=payment.organization, kind=Account.Kind.GATEWAY_CLEARING,
                            currency=currency), value),
               (account_get(organization=payment.organization, kind=Account.Kind.WALLET, currency=currency,
                            customer=customer), -value)],
    )
    if payment.status != Payment.Status.SUCCEEDED:
        payment.status = Payment.Status.SUCCEEDED
        payment.succeeded_at = timezone.now()
        payment.save(update_fields=["status", "succeeded_at"])
    wallet_apply_to_receivable(customer=customer, currency=currency, reference=f"offset:payment:{payment.pk}")
    return entry


@transaction.atomic
def wallet_apply_to_receivable(*, customer: Customer, currency: str, reference: str) -> JournalEntry | None:
    """Pay what the customer owes (receivable) from the wallet, as far as the wallet reaches."""
    wallet = account_get(organization=customer.organization, kind=Account.Kind.WALLET, currency=currency,
                         customer=customer)
    receivable = account_get(organization=customer.organization, kind=Account.Kind.RECEIVABLE, currency=currency,
                             customer=customer)
    wallet, receivable = (Account.objects.select_for_update().get(pk=a.pk) for a in (wallet, receivable))
    amount = min(-wallet.balance, receivable.balance)
    if amount <= 0:
        return None
    return journal_post(organization=customer.organization, kind=JournalEntry.Kind.RECEIVABLE_OFFSET,
                        currency=currency, reference=reference, memo=f"Wallet pays what {customer} owed",
                        lines=[(wallet, amount), (receivable, -amount)])


def payment_webhook_handle(*, gateway_name: str, body: bytes, headers: dict[str, str]) -> WebhookEvent:
    """Verify and apply a provider webhook. Raises WebhookSignatureInvalid / WebhookMalformed (nothing is
    recorded or credited). The same event id delivered twice returns the first record and credits once."""
    gateway = gateway_get(gateway_name)
    event = gateway.webhook_parse(body=body, headers=headers)
    existing = WebhookEvent.objects.filter(gateway=gateway.name, event_id=event.id).first()
    if existing is not None:
        return existing
    try:
        return _webhook_apply(gateway=gateway, event=event)
    except IntegrityError:
        # The same event delivered concurrently: the other delivery recorded (and applied) it.
        return WebhookEvent.objects.get(gateway=gateway.name, event_id=event.id)


@transaction.atomic
def _webhook_apply(*, gateway: PaymentGateway, event: GatewayEvent) -> WebhookEvent:
    record = WebhookEvent.objects.create(gateway=gateway.name, event_id=event.id, event_type=event.type,
                                         payload=event.payload, outcome="received")
    payment = Payment.objects.filter(gateway=gateway.name, provider_intent_id=event.intent_id).first()
    if payment is None:
        record.outcome = "unknown_payment"
    elif event.type == "payment_intent.succeeded":
        entry = payment_succeed(payment=payment, amount=event.amount, currency=event.currency)
        record.outcome = "credited" if entry is not None else "amount_mismatch"
    elif event.type == "payment_intent.failed":
        if payment.status == Payment.Status.PENDING:
            payment.status = Payment.Status.FAILED
            payment.save(update_fields=["status"])
        record.outcome = "failed"
    else:
        record.outcome = "ignored"
    record.payment = payment
    record.save(update_fields=["outcome", "payment"])
    return record


@transaction.atomic
def payment_refund(*, payment: Payment, amount: Decimal) -> JournalEntry:
    """Give back part or all of a top-up to the payment method: Dr wallet, Cr gateway clearing. Never more than
    was paid and not yet refunded, and never more than the wallet holds."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    value = _positive(amount)
    currency = str(payment.amount.currency)
    if payment.status != Payment.Status.SUCCEEDED:
        raise InvalidAmount("Only a paid top-up can be refunded.")
    if value > payment.amount.amount - payment.refunded.amount:
        raise InvalidAmount(f"At most {payment.amount.amount - payment.refunded.amount} {currency} of this "
                            "payment is left to refund.")
    wallet = Account.objects.select_for_update().get(
        pk=account_get(organization=payment.organization, kind=Account.Kind.WALLET, currency=currency,
                       customer=payment.customer).pk)
    if -wallet.balance < value:
        raise InsufficientBalance(f"The wallet holds {-wallet.balance} {currency}; cannot refund {value}.")
    refund_number = payment.refunded.amount.normalize()
    entry = journal_post(
        organization=payment.organization, kind=JournalEntry.Kind.REFUND, currency=currency,
        reference=f"refund:{payment.pk}:{refund_number}", memo=f"Refund to {payment.customer}",
        lines=[(wallet, value), (account_get(organization=payment.organization,
                                             kind=Account.Kind.GATEWAY_CLEARING, currency=currency), -value)],
    )
    payment.refunded = Money(payment.refunded.amount + value, currency)
    payment.save(update_fields=["refunded"])
    return entry


def simulated_checkout_complete(*, payment: Payment, paid: bool) -> WebhookEvent:
    """The payer pressed Pay (or Decline) on the simulated provider's checkout page: the provider then sends its
    signed webhook, and evnet applies it through the same verification as one that arrives over HTTP. Paying a
    payment that is no longer pending changes nothing (the webhook's event is recorded, the wallet not credited
    twice)."""
    gateway = SimulatedGateway()
    body, headers = gateway.payment_succeeded_webhook(
        intent_id=payment.provider_intent_id, amount=payment.amount.amount, currency=str(payment.amount.currency),
        event_type="payment_intent.succeeded" if paid else "payment_intent.failed",
        event_id=f"evt_checkout_{payment.provider_intent_id}",
    )
    return payment_webhook_handle(gateway_name=gateway.name, body=body, headers=headers)
