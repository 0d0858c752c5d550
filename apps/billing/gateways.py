"""Payment gateways. evnet talks to a provider through `PaymentGateway`: create an intent for an amount, verify the
provider's signed webhook. `SimulatedGateway` is a complete local provider (used by the demo and the tests): it
creates intents, "pays" them and produces the signed webhook the provider would POST to
/billing/webhooks/simulated/. Real providers (Stripe, Pix PSPs) plug in behind the same interface."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from .exceptions import UnknownGateway, WebhookMalformed, WebhookSignatureInvalid

SIGNATURE_HEADER = "X-Evnet-Signature"
# Reject webhooks signed more than this long ago: a captured request cannot be replayed much later.
SIGNATURE_TOLERANCE_S = 300


@dataclass(frozen=True)
class Intent:
    id: str
    status: str
    checkout_url: str


@dataclass(frozen=True)
class GatewayEvent:
    id: str
    type: str  # payment_intent.succeeded | payment_intent.failed
    intent_id: str
    amount: Decimal
    currency: str
    payload: dict


class PaymentGateway:
    name: str = ""

    def intent_create(self, *, amount: Decimal, currency: str, reference: str) -> Intent:
        raise NotImplementedError

    def webhook_parse(self, *, body: bytes, headers: dict[str, str]) -> GatewayEvent:
        """Verify the signature over the raw body and parse the event; raise WebhookSignatureInvalid or
        WebhookMalformed."""
        raise NotImplementedError

    def checkout_url(self, *, intent_id: str) -> str:
        """Where the payer completes an intent (what the driver app opens)."""
        raise NotImplementedError

    def payment_methods(self) -> list[dict]:
        """What the provider lets the payer use: [{"type", "label"}]."""
        raise NotImplementedError


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>` (the Stripe scheme)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class SimulatedGateway(PaymentGateway):
    name = "simulated"

    def __init__(self, secret: str | None = None):
        self.secret = secret or settings.EVNET_PAYMENT_WEBHOOK_SECRETS["simulated"]

    def intent_create(self, *, amount: Decimal, currency: str, reference: str) -> Intent:
        intent_id = f"sim_pi_{uuid.uuid4().hex}"
        return Intent(id=intent_id, status="requires_payment", checkout_url=self.checkout_url(intent_id=intent_id))

    def checkout_url(self, *, intent_id: str) -> str:
        return f"{settings.EVNET_PUBLIC_URL}/billing/simulated-checkout/{intent_id}"

    def payment_methods(self) -> list[dict]:
        return [{"type": "card", "label": "Card (simulated)"}, {"type": "mb_way", "label": "MB WAY (simulated)"},
                {"type": "pix", "label": "Pix (simulated)"}]

    def payment_succeeded_webhook(self, *, intent_id: str, amount: Decimal, currency: str,
                                  event_id: str | None = None, event_type: str = "payment_intent.succeeded",
                                  timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """The provider's side: the customer paid; return the webhook body and headers it would send."""
        event = {"id": event_id or f"evt_{uuid.uuid4().hex}", "type": event_type,
                 "data": {"intent_id": intent_id, "amount": str(amount), "currency": currency}}
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, {SIGNATURE_HEADER: sign(secret=self.secret, body=body,
                                              timestamp=int(timestamp if timestamp is not None else time.time()))}

    def deliver(self, *, body: bytes, headers: dict[str, str], url: str | None = None) -> int:
        """POST the webhook to evnet like the provider would; returns the HTTP status."""
        request = urllib.request.Request(url or f"{settings.EVNET_PUBLIC_URL}/billing/webhooks/{self.name}/",
                                         data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own URL
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def webhook_parse(self, *, body: bytes, headers: dict[str, str]) -> GatewayEvent:
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise WebhookSignatureInvalid("The webhook has no valid signature header.") from None
        expected = sign(secret=self.secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise WebhookSignatureInvalid("The webhook signature does not match its body.")
        if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE_S:
            raise WebhookSignatureInvalid("The webhook signature is too old (replay?).")
        try:
            event = json.loads(body)
            data = event["data"]
            return GatewayEvent(id=str(event["id"]), type=str(event["type"]), intent_id=str(data["intent_id"]),
                                amount=Decimal(str(data["amount"])), currency=str(data["currency"]), payload=event)
        except (ValueError, KeyError, TypeError, ArithmeticError) as error:
            raise WebhookMalformed(f"The webhook body is not a payment event: {error}") from None


GATEWAYS: dict[str, type[PaymentGateway]] = {"simulated": SimulatedGateway}


def gateway_get(name: str) -> PaymentGateway:
    if name not in GATEWAYS or name not in settings.EVNET_PAYMENT_WEBHOOK_SECRETS:
        raise UnknownGateway(f"No payment gateway named “{name}”.")
    return GATEWAYS[name]()
