"""Billing reads: who pays for a card, wallet and receivable balances, and the prepaid check at authorization."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.utils import timezone

from apps.charging.models import ChargingSession
from apps.organizations.models import Organization

from .models import Account, BillingSettings, Customer, CustomerCard, JournalLine, Payment

FOUR_PLACES = Decimal("0.0001")
DEFAULT_MIN_BALANCE = BillingSettings._meta.get_field("min_balance_to_start").default


def customer_for(*, organization: Organization, id_tag=None, user=None) -> Customer | None:
    """The customer `organization` bills for a session: the card's customer first (a fleet card), else the
    driver's own customer record in that organization."""
    if id_tag is not None:
        card = CustomerCard.objects.select_related("customer").filter(
            id_tag=id_tag, customer__organization=organization).first()
        if card is not None:
            return card.customer
        user = user or id_tag.owner
    if user is not None:
        return Customer.objects.filter(organization=organization, user=user).first()
    return None


def account_balance(*, account: Account) -> Decimal:
    """The balance recomputed from the journal lines (debit positive); equals `account.balance`."""
    total = account.lines.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    # SQLite sums decimals as floats; the lines have 4 places, so the exact sum does too.
    return Decimal(total).quantize(FOUR_PLACES)


def _customer_account_balance(*, customer: Customer, kind: str, currency: str | None) -> Decimal:
    account = Account.objects.filter(organization=customer.organization, customer=customer, kind=kind,
                                     currency=currency or customer.currency).first()
    return account.balance if account else Decimal("0")


def wallet_balance(*, customer: Customer, currency: str | None = None) -> Decimal:
    """What the wallet holds (what evnet owes the customer)."""
    return -_customer_account_balance(customer=customer, kind=Account.Kind.WALLET, currency=currency)


def receivable_balance(*, customer: Customer, currency: str | None = None) -> Decimal:
    """What the customer owes."""
    return _customer_account_balance(customer=customer, kind=Account.Kind.RECEIVABLE, currency=currency)


def journal_unbalanced_entries() -> list[tuple[int, Decimal]]:
    """Entries whose lines do not sum to zero (should always be empty)."""
    half = Decimal("0.00005")  # below the 4th decimal: float noise of SQLite's SUM, never a real difference
    rows = JournalLine.objects.values("entry_id").annotate(total=Sum("amount")).filter(
        Q(total__gt=half) | Q(total__lt=-half))
    return [(row["entry_id"], Decimal(row["total"]).quantize(FOUR_PLACES)) for row in rows]


def card_energy_this_month_wh(*, id_tag, time_zone: str, at: datetime | None = None) -> int:
    local = (at or timezone.now()).astimezone(ZoneInfo(time_zone))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return ChargingSession.objects.filter(id_tag=id_tag, started_at__gte=month_start).aggregate(
        total=Sum("energy_wh"))["total"] or 0


def prepaid_funds_problem(*, id_tag, user, station) -> str | None:
    """Contract 2: why this driver may not start charging at `station` for money reasons, or None.
    Refused: a card past its monthly energy cap; a prepaid customer who owes money, or whose wallet holds less
    than the organization's minimum to start. Drivers without a customer record here are not billed by evnet
    (e.g. free charging for residents) and pass."""
    site = station.site
    organization = site.organization
    customer = customer_for(organization=organization, id_tag=id_tag, user=user)
    if customer is None:
        return None
    if id_tag is not None:
        card = CustomerCard.objects.filter(id_tag=id_tag, customer=customer).first()
        cap = card.monthly_cap_wh if card else None
        if cap is None:
            plan_caps = [s.plan.card_monthly_cap_wh for s in customer.subscriptions.select_related("plan")
                         if s.starts_on <= timezone.localdate() and (s.ends_on is None
                                                                     or s.ends_on >= timezone.localdate())]
            cap = min((c for c in plan_caps if c), default=None)
        if cap is not None:
            used = card_energy_this_month_wh(id_tag=id_tag, time_zone=site.time_zone)
            if used >= cap:
                return f"Card {id_tag.uid} reached its monthly cap of {cap / 1000:g} kWh ({used / 1000:g} kWh used)."
    if customer.regime != Customer.Regime.PREPAID:
        return None
    owed = receivable_balance(customer=customer)
    if owed > 0:
        return f"{customer} owes {owed:.2f} {customer.currency} from earlier sessions; top up the wallet first."
    minimum = BillingSettings.objects.filter(organization=organization).values_list(
        "min_balance_to_start", flat=True).first()
    minimum = DEFAULT_MIN_BALANCE if minimum is None else minimum
    balance = wallet_balance(customer=customer)
    if balance < minimum:
        return (f"Prepaid wallet holds {balance:.2f} {customer.currency}, below the {minimum:.2f} "
                f"{customer.currency} needed to start charging.")
    return None


# The provider every organization's top-ups go through until organizations choose their own.
DEFAULT_GATEWAY = "simulated"


def customer_list_for_user(*, user):
    """The customer records of one person (one per organization that bills them), with their organization."""
    return Customer.objects.filter(user=user).select_related("organization").order_by("organization__name", "pk")


def wallet_summaries(*, user) -> list[dict]:
    """Per organization billing the person: regime, currency, wallet balance, what they owe and the minimum
    balance to start charging (prepaid)."""
    out = []
    minimums = dict(BillingSettings.objects.filter(
        organization__customers__user=user).values_list("organization_id", "min_balance_to_start"))
    for customer in customer_list_for_user(user=user):
        out.append({
            "customer": customer,
            "organization": customer.organization,
            "regime": customer.regime,
            "currency": customer.currency,
            "balance": wallet_balance(customer=customer),
            "owed": receivable_balance(customer=customer),
            "min_balance_to_start": minimums.get(customer.organization_id, DEFAULT_MIN_BALANCE),
        })
    return out


def payment_list_for_user(*, user):
    return Payment.objects.filter(customer__user=user).select_related("organization").order_by("-created_at", "-pk")
