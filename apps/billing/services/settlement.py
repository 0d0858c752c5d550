"""Settling rated sessions. Each session is settled once (SessionCharge.session_id is unique): a prepaid
customer's wallet pays as far as it reaches and the rest becomes a receivable (never a negative wallet); a postpaid
customer's charge waits for the monthly invoice. VAT per line is the site country's rate on the rounded net."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from djmoney.money import Money

from apps.core.bulk import rows_insert
from apps.organizations.models import Organization

from ..models import Account, Customer, CustomerCard, JournalEntry, SessionCharge
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
    charge = _charge_unposted(rated=rated)
    if customer is not None and customer.regime == Customer.Regime.PREPAID:
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


def _customer_resolver():
    """Memoized customer lookup for a sweep: cards first, then the driver's own customer record."""
    cards = {}
    by_user = {}

    def preload(*, id_tag_ids: set[int]) -> None:
        """Load the cards of a whole chunk in one query."""
        wanted = id_tag_ids - cards.keys()
        found = {card.id_tag_id: card for card in CustomerCard.objects.select_related("customer", "id_tag")
                 .filter(id_tag_id__in=wanted)}
        for id_tag_id in wanted:
            cards[id_tag_id] = found.get(id_tag_id)

    def resolve(*, organization_id: int, id_tag_id: int | None, user_id: int | None) -> Customer | None:
        if id_tag_id is not None:
            if id_tag_id not in cards:
                card = CustomerCard.objects.select_related("customer", "id_tag").filter(id_tag_id=id_tag_id).first()
                cards[id_tag_id] = card
            card = cards[id_tag_id]
            if card is not None and card.customer.organization_id == organization_id:
                return card.customer
            if user_id is None and card is not None:
                user_id = card.id_tag.owner_id
        if user_id is None:
            return None
        key = (organization_id, user_id)
        if key not in by_user:
            by_user[key] = Customer.objects.filter(organization_id=organization_id, user_id=user_id).first()
        return by_user[key]

    resolve.preload = preload
    return resolve


def session_prices_settle(*, limit: int | None = None, chunk: int = 2000) -> dict:
    """Settle every final SessionPrice (from apps.rating) that has no SessionCharge yet; returns counts per status.
    Postpaid and customer-less charges are written in bulk (no money moves until the invoice); prepaid ones go
    through the wallet one by one. Safe to run concurrently or twice (session_id is unique)."""
    from apps.rating.models import SessionPrice

    resolve = _customer_resolver()
    organizations: dict[int, Organization] = {}
    counts: dict[str, int] = defaultdict(int)
    rates: dict[str, Decimal] = {}
    done, after = 0, 0
    while limit is None or done < limit:
        size = chunk if limit is None else min(chunk, limit - done)
        # Plain values, in session order with a cursor: a month of prices is read without building six model
        # instances per row.
        rows = list(
            SessionPrice.objects.filter(is_final=True, session_id__gt=after)
            # NOT EXISTS bounded by the cursor, not NOT IN: PostgreSQL then merges both unique session_id indexes
            # from the cursor on, instead of hashing every charge ever settled for each chunk (quadratic over a
            # month of 50 chunks).
            .exclude(Exists(SessionCharge.objects.filter(session_id=OuterRef("session_id"), session_id__gt=after)))
            .order_by("session_id")
            .values("pk", "session_id", "currency", "total_excl_vat", "energy_wh", "lines", "session__started_at",
                    "session__id_tag_id", "session__user_id", "session__id_tag__owner_id", "session__id_tag_uid",
                    "session__station__ocpp_id", "session__station__parking_spot",
                    "session__station__site__organization_id", "session__station__site__time_zone",
                    "session__station__site__country")[:size]
        )
        if not rows:
            break
        after = rows[-1]["session_id"]
        missing = {r["session__station__site__organization_id"] for r in rows} - organizations.keys()
        organizations.update(Organization.objects.in_bulk(missing))
        resolve.preload(id_tag_ids={r["session__id_tag_id"] for r in rows if r["session__id_tag_id"]})
        bulk = []
        settled_at = timezone.now()
        for row in rows:
            organization_id = row["session__station__site__organization_id"]
            customer = resolve(organization_id=organization_id, id_tag_id=row["session__id_tag_id"],
                               user_id=row["session__user_id"] or row["session__id_tag__owner_id"])
            rated = RatedSession(
                session_id=row["session_id"], organization=organizations[organization_id], customer=customer,
                currency=row["currency"], net=row["total_excl_vat"], energy_wh=row["energy_wh"],
                started_at=row["session__started_at"], time_zone=row["session__station__site__time_zone"],
                country=row["session__station__site__country"], id_tag_uid=row["session__id_tag_uid"],
                station_label=f"{row['session__station__ocpp_id']} {row['session__station__parking_spot']}".strip(),
                lines=row["lines"], price_id=row["pk"],
            )
            if customer is not None and customer.regime == Customer.Regime.PREPAID:
                charge = session_charge_settle(rated=rated)
                counts[charge.status] += 1
            else:
                bulk.append(_charge_row(rated=rated, settled_at=settled_at, rates=rates))
        # Plain rows (COPY on PostgreSQL): no SessionCharge or Money instances for a month of postpaid sessions. A
        # session another sweep settled meanwhile conflicts on session_id and is skipped, as before.
        with transaction.atomic():
            rows_insert(model=SessionCharge, fields=CHARGE_FIELDS, rows=bulk, ignore_conflicts=True)
        for charge in bulk:
            counts[charge[STATUS_AT]] += 1
        done += len(rows)
    return dict(counts)


def _charge_amounts(*, rated: RatedSession,
                    rates: dict[str, Decimal] | None = None) -> tuple[Decimal, Decimal, Decimal]:
    """(net rounded to cents, VAT rate of the site's country, VAT on the rounded net rounded to cents). `rates`
    remembers the rates of a sweep (reading settings per session was a tenth of the bulk path)."""
    net = money_round(rated.net)
    if rates is None:
        rate = vat_rate_for(rated.country)
    else:
        rate = rates.get(rated.country)
        if rate is None:
            rate = rates[rated.country] = vat_rate_for(rated.country)
    return net, rate, money_round(net * rate)


def _charge_unposted(*, rated: RatedSession) -> SessionCharge:
    currency = rated.currency
    net, rate, vat = _charge_amounts(rated=rated)
    zero = Money(0, currency)
    return SessionCharge(
        session_id=rated.session_id, organization=rated.organization, customer=rated.customer,
        id_tag_uid=rated.id_tag_uid, station_label=rated.station_label[:200], started_at=rated.started_at,
        period=period_of(at=rated.started_at, time_zone=rated.time_zone), energy_wh=rated.energy_wh,
        net=Money(net, currency), vat_rate=rate, vat=Money(vat, currency), total=Money(net + vat, currency),
        wallet_debited=zero, receivable=zero, lines=rated.lines, price_id=rated.price_id, settled_at=timezone.now(),
        status=(SessionCharge.Status.NO_CUSTOMER if rated.customer is None else SessionCharge.Status.TO_INVOICE),
    )


# The columns of a charge that moves no money yet (postpaid or customer-less), as `_charge_row` fills them.
CHARGE_FIELDS = ["session_id", "organization_id", "customer_id", "id_tag_uid", "station_label", "started_at", "period",
                 "energy_wh", "net", "net_currency", "vat_rate", "vat", "vat_currency", "total", "total_currency",
                 "wallet_debited", "wallet_debited_currency", "receivable", "receivable_currency", "lines",
                 "price_id", "status", "settled_at"]
STATUS_AT = CHARGE_FIELDS.index("status")


def _charge_row(*, rated: RatedSession, settled_at: datetime, rates: dict[str, Decimal]) -> tuple:
    """`_charge_unposted` as a plain row in CHARGE_FIELDS order (same amounts, same rounding)."""
    currency = rated.currency
    net, rate, vat = _charge_amounts(rated=rated, rates=rates)
    zero = Decimal("0")
    status = SessionCharge.Status.NO_CUSTOMER if rated.customer is None else SessionCharge.Status.TO_INVOICE
    return (rated.session_id, rated.organization.pk, rated.customer.pk if rated.customer else None, rated.id_tag_uid,
            rated.station_label[:200], rated.started_at, period_of(at=rated.started_at, time_zone=rated.time_zone),
            rated.energy_wh, net, currency, rate, vat, currency, net + vat, currency, zero, currency, zero, currency,
            rated.lines if rated.lines is not None else [], rated.price_id, status.value, settled_at)


@transaction.atomic(savepoint=False)
def session_charges_mark_invoiced(*, invoice_of_charge: dict[int, int]) -> int:
    """Called by apps.invoices inside the transaction that issues the invoices: each charge (id → invoice id)
    moves from "to invoice" to "invoiced" exactly once. Returns how many moved; fewer than given means another
    invoice took some, and the caller must roll back."""
    moved = 0
    items = sorted(invoice_of_charge.items())
    table = SessionCharge._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(items), 1000):
            chunk = items[start:start + 1000]
            # One UPDATE … FROM a list of (charge, invoice) pairs (PostgreSQL and SQLite ≥ 3.33 alike).
            # (Both name the VALUES columns column1, column2; a statement that starts with UPDATE gets a rowcount.)
            cursor.execute(
                f"UPDATE {table} SET status = %s, invoice_id = v.invoice_id "
                f"FROM (SELECT column1 AS charge_id, column2 AS invoice_id "
                f"FROM (VALUES {', '.join(['(%s, %s)'] * len(chunk))}) AS pairs) AS v "
                f"WHERE {table}.id = v.charge_id AND {table}.status = %s",
                [SessionCharge.Status.INVOICED.value] + [value for pair in chunk for value in pair]
                + [SessionCharge.Status.TO_INVOICE.value])
            moved += cursor.rowcount
    return moved
