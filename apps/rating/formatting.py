"""How prices read on receipts and reports: "6.867 kWh x €0.227756 €1.56" (seed 003). Pure functions."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CURRENCY_SYMBOLS = {"EUR": "€", "BRL": "R$"}
CENT = Decimal("0.01")
WH = Decimal("0.001")


def symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, currency + " ")


def money(amount: Decimal | str, currency: str, places: int = 2) -> str:
    """€1.56, R$ 2.45; unit prices keep their 6 decimals (€0.227756)."""
    value = Decimal(amount)
    quantum = Decimal(1).scaleb(-places)
    return f"{symbol(currency)}{value.quantize(quantum, ROUND_HALF_UP)}"


def unit_price(amount: Decimal | str, currency: str) -> str:
    """A unit price as the retailer prints it: 2 decimals when it has no more (R$1.60), else 6 (€0.197780)."""
    value = Decimal(amount)
    exponent = value.normalize().as_tuple().exponent
    places = 2 if isinstance(exponent, int) and exponent >= -2 else 6
    return money(value, currency, places)


def kwh_amount(energy_wh: Decimal | int | str) -> Decimal:
    """Energy in kWh with 3 decimals (Wh precision), as a number: 6867 Wh → Decimal("6.867")."""
    return (Decimal(energy_wh) / 1000).quantize(WH, ROUND_HALF_UP)


def kwh(energy_wh: Decimal | int | str) -> str:
    """Energy with 3 decimals in kWh (Wh precision): 6867 Wh → 6.867."""
    return str(kwh_amount(energy_wh))


def round_cents(amount: Decimal) -> Decimal:
    """ROUND_HALF_UP to the currency's minor unit (EUR and BRL both have cents)."""
    return amount.quantize(CENT, ROUND_HALF_UP)
