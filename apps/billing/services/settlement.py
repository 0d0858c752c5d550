"""Settling rated sessions. Each session is settled once (SessionCharge.session_id is unique): a prepaid
customer's wallet pays as far as it reaches and the rest becomes a receivable (never a negative wallet); a postpaid
customer's charge waits for the monthly invoice. VAT per line is the site country's rate on the rounded net."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from apps.organizations.models import Organization

from ..models import Account, Customer, JournalEntry, SessionCharge
from .ledger import account_get, journal_post

CENT = Decimal("0.01")


def vat_rate_for(country: str) -> Decimal:
    return Decimal(settings.EVNET_VAT_RATES.get(country, "0"))


def money_round(value: Decimal) -> Decimal:
    """Round to the currency's minor unit (both EUR and BRL have cents), half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def period_of(*, at: datetime, time_zone: str) -> date:
    local = at.astimezone(ZoneInfo(time_zone))
    return date(local.year, local.month, 1)


@dataclass(frozen=True)
class RatedSession:
    """What billing needs of a rated session (from rating's SessionPrice, or given directly)."""

    session_id: int
    organization: Organization
    customer: Customer | None
    currency: str
    net: Decimal  # excl. VAT, unrounded allowed
    energy_wh: int
    started_at: datetime
    time_zone: str
    country: str
    id_tag_uid: str = ""
    station_label: str = ""
    lines: list = field(default_factory=list)
    price_id: int | None = None


def session_charge_settle(*, rated: RatedSession) -> SessionCharge:
    """Settle one rated session; settling it again returns the first SessionCharge and changes nothing."""
    existing = SessionCharge.objects.filter(session_id=rated.session_id).first()
    if existing is not None:
        return existing
    try:
        return _settle(rated=rated)
    except IntegrityError:
        return SessionCharge.objects.get(session_id=rated.session_id)


@transaction.atomic
def _settle(*, rated: RatedSession) -> SessionCharge:
    currency = rated.currency
    net = money_round(rated.net)
    rate = vat_rate_for(rated.country)
    vat = money_round(net * rate)
    total = net + vat
    customer = rated.customer
    charge = SessionCharge(
        session_id=rated.session_id, organization=rated.organization, customer=customer,
        id_tag_uid=rated.id_tag_uid, station_label=rated.station_label[:200], started_at=rated.started_at,
        period=period_of(at=rated.started_at, time_zone=rated.time_zone), energy_wh=rated.energy_wh,
        net=Money(net, currency), vat_rate=rate, vat=Money(vat, currency), total=Money(total, currency),
        wallet_debited=Money(0, currency), receivable=Money(0, currency), lines=rated.lines,
        price_id=rated.price_id, settled_at=timezone.now(),
    )
    if customer is None:
        charge.status = SessionCharge.Status.NO_CUSTOMER
    elif customer.regime == Customer.Regime.POSTPAID:
        charge.status = SessionCharge.Status.TO_INVOICE
    else:
        organization = rated.organization
        wallet = Account.objects.select_for_update().get(pk=account_get(
            organization=organization, kind=Account.Kind.WALLET, currency=currency, customer=customer).pk)
        from_wallet = max(Decimal("0"), min(total, -wallet.balance))
        owed = total - from_wallet
        lines = [
            (wallet, from_wallet),
            (account_get(organization=organization, kind=Account.Kind.RECEIVABLE, currency=currency,
                         customer=customer), owed),
            (account_get(organization=organization, kind=Account.Kind.REVENUE, currency=currency), -net),
            (account_get(organization=organization, kind=Account.Kind.VAT, currency=currency), -vat),
        ]
        if total:
            charge.journal_entry = journal_post(
                organization=organization, kind=JournalEntry.Kind.SESSION, currency=currency,
                reference=f"session:{rated.session_id}", posted_at=rated.started_at,
                memo=f"Charging session #{rated.session_id} {rated.station_label}", lines=lines)
        charge.wallet_debited = Money(from_wallet, currency)
        charge.receivable = Money(owed, currency)
        charge.status = SessionCharge.Status.RECEIVABLE if owed else SessionCharge.Status.WALLET
    charge.save()
    return charge
