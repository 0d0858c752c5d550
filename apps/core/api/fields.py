"""Serializer fields shared by every app's API."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from djmoney.money import Money
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

_CURRENCIES = {code for code, _ in settings.CURRENCY_CHOICES}


@extend_schema_field({
    "type": "object",
    "properties": {
        "amount": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "example": "12.34"},
        "currency": {"type": "string", "enum": sorted(_CURRENCIES), "example": "EUR"},
    },
    "required": ["amount", "currency"],
})
class MoneyField(serializers.Field):
    """Money as {"amount": "12.34", "currency": "EUR"} (STYLE.md): the amount is a decimal string, never a float.
    `decimal_places` fixes the places shown (2 for totals, 4 for unit prices); None shows the amount as stored."""

    default_error_messages = {
        "invalid": 'Give money as {{"amount": "12.34", "currency": "EUR"}}.',
        "amount": "The amount must be a decimal number written as a string, e.g. \"12.34\".",
        "currency": "Unknown currency {currency}: evnet handles {known}.",
        "places": "At most {places} decimal places.",
        "negative": "The amount must be positive.",
    }

    def __init__(self, *, decimal_places: int | None = None, allow_negative: bool = True, **kwargs):
        self.decimal_places = decimal_places
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_representation(self, value: Money) -> dict[str, str]:
        amount = value.amount
        if self.decimal_places is not None:
            amount = amount.quantize(Decimal(1).scaleb(-self.decimal_places), rounding=ROUND_HALF_UP)
        return {"amount": str(amount), "currency": str(value.currency)}

    def to_internal_value(self, data) -> Money:
        if not isinstance(data, dict) or set(data) != {"amount", "currency"}:
            self.fail("invalid")
        raw, currency = data["amount"], data["currency"]
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            self.fail("amount")
        try:
            amount = Decimal(str(raw).strip())
        except InvalidOperation:
            self.fail("amount")
        if not amount.is_finite():
            self.fail("amount")
        if not isinstance(currency, str) or currency not in _CURRENCIES:
            self.fail("currency", currency=str(currency)[:8], known=", ".join(sorted(_CURRENCIES)))
        places = 4 if self.decimal_places is None else self.decimal_places
        if -amount.as_tuple().exponent > places:
            self.fail("places", places=places)
        if not self.allow_negative and amount <= 0:
            self.fail("negative")
        return Money(amount, currency)


@extend_schema_field(OpenApiTypes.INT)
class WattHoursField(serializers.IntegerField):
    """Energy in integer Wh, as stored (STYLE.md: convert to kWh only when pricing)."""
