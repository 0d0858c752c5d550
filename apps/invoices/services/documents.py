"""Issuing postpaid invoices and credit notes. Invariants: one monthly invoice per customer and month; each session
charge is invoiced once; numbers are consecutive per organization and series with no gaps (the counter row is
locked in the issuing transaction); every issued document posts its balanced journal entry in the same
transaction; a credit note is a new document and a reversing entry, never an edit. Amounts: each line's net is
rounded to cents half-up and its VAT is the line net × rate rounded the same way; totals are sums of lines."""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from apps.billing.models import Account, BillingSettings, Customer, JournalEntry, SessionCharge, Subscription
from apps.billing.services.ledger import Posting, account_get, customer_accounts_get, journal_post, journal_post_many
from apps.billing.services.plans import plan_months_of
from apps.billing.services.settlement import money_round, session_charges_mark_invoiced, vat_rate_for
from apps.core.bulk import rows_insert

from ..exceptions import AlreadyCredited, InvalidPayment, InvoiceError
from ..models import DocumentCounter, Invoice, InvoiceLine

KWH = Decimal("1000")


def billing_settings_for(organization) -> BillingSettings:
    found = BillingSettings.objects.filter(organization=organization).first()
    return found or BillingSettings(organization=organization)


@dataclass(frozen=True)
class _Charge:
    """What an invoice needs of a session charge still to invoice (columns `_CHARGE_COLUMNS`, in order)."""

    pk: int
    customer_id: int
    session_id: int
    started_at: datetime
    energy_wh: int
    net: Decimal  # excl. VAT, already rounded to cents at settlement
    vat_rate: Decimal
    station_label: str
    id_tag_uid: str
    lines: list | None = None  # the rated lines, read for condominium units only (their invoice groups them)


_CHARGE_COLUMNS = ("pk", "customer_id", "session_id", "started_at", "energy_wh", "net", "vat_rate", "station_label",
                   "id_tag_uid")


@dataclass
class _Line:
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal
    revenue_kind: str
    session_id: int | None = None

    @property
    def vat(self) -> Decimal:
        return money_round(self.net * self.vat_rate)


def _session_lines(*, customer: Customer, charges: list[_Charge]) -> list[_Line]:
    if customer.kind == Customer.Kind.CONDOMINIUM_UNIT:
        return _tou_period_lines(charges=charges)
    lines = []
    zone = timezone.get_current_timezone()
    for charge in charges:
        kwh = (Decimal(charge.energy_wh) / KWH).quantize(Decimal("0.001"))
        unit_price = (charge.net / kwh).quantize(Decimal("0.000001")) if kwh else Decimal("0")
        local = charge.started_at.astimezone(zone)
        lines.append(_Line(
            kind=InvoiceLine.Kind.SESSION, session_id=charge.session_id,
            description=f"Charging #{charge.session_id} {local:%Y-%m-%d %H:%M} {charge.station_label} "
                        f"{charge.id_tag_uid}".strip(),
            quantity=kwh, unit="kWh", unit_price=unit_price, net=charge.net, vat_rate=charge.vat_rate,
            revenue_kind=Account.Kind.REVENUE,
        ))
    return lines


def _tou_period_lines(*, charges: list[_Charge]) -> list[_Line]:
    """Cost recovery (seed 003): the month's energy per tariff period and price, each line kWh × €/kWh rounded to
    cents. Lines the engine priced otherwise (time, parking, flat) are summed per kind."""
    groups: OrderedDict[tuple, dict] = OrderedDict()
    for charge in sorted(charges, key=lambda c: c.started_at):
        for raw in charge.lines or []:
            dimension = raw.get("dimension", "ENERGY")
            label = " ".join(x for x in (raw.get("period", ""), raw.get("season", "").title(),
                                         raw.get("day_type", "").title()) if x and x.upper() != "ALL")
            key = (dimension, label, raw.get("unit_price", "0"), charge.vat_rate)
            group = groups.setdefault(key, {"quantity": Decimal("0"), "amount": Decimal("0")})
            group["quantity"] += Decimal(raw.get("quantity", "0"))
            group["amount"] += Decimal(raw.get("amount", "0"))
    lines = []
    for (dimension, label, unit_price, rate), group in groups.items():
        unit = {"ENERGY": "kWh", "TIME": "h", "PARKING_TIME": "h"}.get(dimension, "un")
        net = money_round(group["quantity"] * Decimal(unit_price)) if dimension == "ENERGY" else money_round(
            group["amount"])
        lines.append(_Line(kind=InvoiceLine.Kind.TOU_PERIOD,
                           description=f"{dimension.replace('_', ' ').title()} {label}".strip(),
                           quantity=group["quantity"], unit=unit, unit_price=Decimal(unit_price), net=net,
                           vat_rate=rate, revenue_kind=Account.Kind.REVENUE))
    return lines


def _plan_lines(*, customer: Customer, period: date, charges: list[_Charge], months) -> list[_Line]:
    lines = []
    rate = vat_rate_for(customer.organization.country)
    energy_wh = sum(c.energy_wh for c in charges)
    energy_net = sum((c.net for c in charges), Decimal("0"))
    for month in months:
        plan = month.subscription.plan
        prorated = "" if month.active_days == month.month_days else f" ({month.active_days}/{month.month_days} days)"
        lines.append(_Line(kind=InvoiceLine.Kind.PLAN_FEE, description=f"Plan {plan.name} {period:%Y-%m}{prorated}",
                           quantity=Decimal(1), unit="month", unit_price=month.fee, net=month.fee, vat_rate=rate,
                           revenue_kind=Account.Kind.PLAN_REVENUE))
        included = min(month.included_wh, energy_wh)
        if included and energy_wh:
            # Included energy is valued at the month's average price per kWh of the sessions it covers.
            average = energy_net / Decimal(energy_wh)
            discount = money_round(average * included)
            if discount:
                energy_rate = charges[0].vat_rate
                lines.append(_Line(
                    kind=InvoiceLine.Kind.INCLUDED_ENERGY,
                    description=f"Included in plan {plan.name}: {Decimal(included) / KWH:.3f} kWh",
                    quantity=(Decimal(included) / KWH).quantize(Decimal("0.001")), unit="kWh",
                    unit_price=-(average * KWH).quantize(Decimal("0.000001")), net=-discount, vat_rate=energy_rate,
                    revenue_kind=Account.Kind.REVENUE))
            energy_wh -= included
    return lines


def invoice_issue_monthly(*, customer: Customer, period: date, issued_at: datetime | None = None,
                          billing_run=None) -> Invoice | None:
    """Issue the customer's postpaid invoice for `period` (first day of a month): every session charge still to
    invoice up to that month (late sessions of earlier months roll in), the plan fees of the month, the included
    energy. Returns the existing invoice when there already is one, None when there is nothing to bill."""
    return invoices_issue_monthly(customers=[customer], period=period, issued_at=issued_at,
                                  billing_run=billing_run)[customer.pk]


def invoices_issue_monthly(*, customers: list[Customer], period: date, issued_at: datetime | None = None,
                           billing_run=None) -> dict[int, Invoice | None]:
    """`invoice_issue_monthly` for many customers of one organization in one transaction (the monthly close's
    batch): {customer id: invoice or None}. Same documents as one by one; a concurrent issue for the same
    customer and month fails on the unique (customer, period) constraint and rolls the batch back."""
    issued_at = issued_at or timezone.now()
    last_day = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    with transaction.atomic():
        result: dict[int, Invoice | None] = {c.pk: None for c in customers}
        for invoice in Invoice.objects.filter(customer__in=customers, period=period, kind=Invoice.Kind.INVOICE):
            result[invoice.customer_id] = invoice
        todo = [c for c in customers if result[c.pk] is None]
        postpaid_ids = [c.pk for c in todo if c.regime == Customer.Regime.POSTPAID]
        charges: dict[int, list[_Charge]] = defaultdict(list)
        # Plain values, not SessionCharge instances: six Money objects per session were a large part of the close.
        # The rated lines (JSON) only matter for condominium units: read only when the batch has one.
        grouped = any(c.kind == Customer.Kind.CONDOMINIUM_UNIT for c in todo)
        columns = (*_CHARGE_COLUMNS, "lines") if grouped else _CHARGE_COLUMNS
        for row in SessionCharge.objects.filter(customer_id__in=postpaid_ids, period__lte=period,
                                                status=SessionCharge.Status.TO_INVOICE).order_by(
                                                    "started_at", "pk").values_list(*columns):
            charge = _Charge(*row)
            charges[charge.customer_id].append(charge)
        subscriptions = defaultdict(list)
        for subscription in Subscription.objects.filter(customer_id__in=[c.pk for c in todo],
                                                        starts_on__lt=last_day).select_related("plan"):
            subscriptions[subscription.customer_id].append(subscription)
        specs = []
        for customer in todo:
            mine = charges.get(customer.pk, [])
            months = plan_months_of(subscriptions=subscriptions.get(customer.pk, []), month=period)
            lines = _session_lines(customer=customer, charges=mine) + _plan_lines(
                customer=customer, period=period, charges=mine, months=months)
            if lines:
                specs.append(_DocumentSpec(customer=customer, period=period, kind=Invoice.Kind.INVOICE, lines=lines,
                                           charges=mine))
        for spec, invoice in zip(specs, _documents_create(specs=specs, issued_at=issued_at,
                                                          billing_run=billing_run)):
            result[spec.customer.pk] = invoice
        return result


_INVOICE_LINE_FIELDS = ["invoice_id", "position", "kind", "description", "session_id", "quantity", "unit", "unit_price",
                        "net", "net_currency", "vat_rate", "vat", "vat_currency", "total", "total_currency"]


@dataclass
class _DocumentSpec:
    customer: Customer
    period: date
    kind: str
    lines: list[_Line]
    charges: list[_Charge] = field(default_factory=list)
    credits: Invoice | None = None
    reason: str = ""


def _documents_create(*, specs: list[_DocumentSpec], issued_at: datetime, billing_run=None) -> list[Invoice]:
    """Number, post and store documents of one organization: numbers drawn from the locked counter in order, one
    balanced journal entry per document, lines, and the invoiced session charges marked — all in the caller's
    transaction."""
    if not specs:
        return []
    organization = specs[0].customer.organization
    settings_ = billing_settings_for(organization)
    local_year = timezone.localtime(issued_at).year
    series_of, drawn = {}, {}
    for kind in sorted({spec.kind for spec in specs}):
        prefix = settings_.invoice_series if kind == Invoice.Kind.INVOICE else settings_.credit_note_series
        series_of[kind] = f"{prefix}{local_year}"
        wanted = sum(1 for spec in specs if spec.kind == kind)
        last = document_numbers_take(organization=organization, series=series_of[kind], count=wanted)
        drawn[kind] = iter(range(last - wanted + 1, last + 1))
    # The receivables of every document that moves money, fetched (or created) in one go rather than one
    # get_or_create per customer.
    posting = [spec for spec in specs if sum(line.net for line in spec.lines) or sum(line.vat for line in spec.lines)]
    receivables = {}
    for currency in sorted({spec.customer.currency for spec in posting}):
        receivables.update(customer_accounts_get(
            organization=organization, kind=Account.Kind.RECEIVABLE, currency=currency,
            customers=list({spec.customer.pk: spec.customer for spec in posting
                            if spec.customer.currency == currency}.values())))
    postings, documents = [], []
    for spec in specs:
        customer, currency = spec.customer, spec.customer.currency
        series, number = series_of[spec.kind], next(drawn[spec.kind])
        document_number = f"{series}/{number:06d}"
        net = sum((line.net for line in spec.lines), Decimal("0"))
        vat = sum((line.vat for line in spec.lines), Decimal("0"))
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        for line in spec.lines:
            revenue[line.revenue_kind] += line.net
        is_invoice = spec.kind == Invoice.Kind.INVOICE
        if net or vat:
            postings.append((len(documents), Posting(
                organization=organization, currency=currency, posted_at=issued_at,
                kind=JournalEntry.Kind.INVOICE if is_invoice else JournalEntry.Kind.CREDIT_NOTE,
                reference=f"document:{document_number}",
                memo=f"{'Invoice' if is_invoice else 'Credit note'} {document_number} {customer}",
                lines=[(receivables[customer.pk], net + vat),
                       (account_get(organization=organization, kind=Account.Kind.VAT, currency=currency), -vat)]
                + [(account_get(organization=organization, kind=k, currency=currency), -amount)
                   for k, amount in revenue.items()],
            )))
        documents.append(Invoice(
            organization=organization, customer=customer, kind=spec.kind, series=series, number=number,
            document_number=document_number, period=spec.period, issued_at=issued_at,
            due_on=timezone.localtime(issued_at).date() + timedelta(days=settings_.payment_terms_days),
            currency=currency, net=Money(net, currency), vat=Money(vat, currency), total=Money(net + vat, currency),
            paid=Money(0, currency), credits=spec.credits, reason=spec.reason[:255], customer_name=customer.name,
            customer_tax_id=customer.tax_id, customer_address=customer.address, billing_run=billing_run,
        ))
    entries = journal_post_many(postings=[posting for _, posting in postings])
    for (index, _), entry in zip(postings, entries):
        documents[index].journal_entry = entry
    documents = Invoice.objects.bulk_create(documents)
    # Plain rows (COPY on PostgreSQL): a month is ~100,000 lines, and InvoiceLine instances with three Money fields
    # each were the largest cost of the close.
    rows = []
    for invoice, spec in zip(documents, specs):
        currency = invoice.currency
        for position, line in enumerate(spec.lines, start=1):
            vat = line.vat
            rows.append((invoice.pk, position, line.kind, line.description[:255], line.session_id, line.quantity,
                         line.unit, line.unit_price, line.net, currency, line.vat_rate, vat, currency, line.net + vat,
                         currency))
    rows_insert(model=InvoiceLine, fields=_INVOICE_LINE_FIELDS, rows=rows)
    invoice_of_charge = {charge.pk: invoice.pk for invoice, spec in zip(documents, specs) for charge in spec.charges}
    if invoice_of_charge:
        moved = session_charges_mark_invoiced(invoice_of_charge=invoice_of_charge)
        if moved != len(invoice_of_charge):
            raise InvoiceError("Some sessions were invoiced meanwhile by another close; run the close again.")
    return documents


def document_numbers_take(*, organization, series: str, count: int) -> int:
    """Consume `count` consecutive numbers of the series; returns the last one. Must run inside the issuing
    transaction: the counter row stays locked until it commits, and a rollback gives the numbers back."""
    counter = DocumentCounter.objects.select_for_update().filter(organization=organization, series=series).first()
    if counter is None:
        DocumentCounter.objects.get_or_create(organization=organization, series=series)
        counter = DocumentCounter.objects.select_for_update().get(organization=organization, series=series)
    counter.last_number += count
    counter.save(update_fields=["last_number"])
    return counter.last_number


@transaction.atomic
def invoice_credit(*, invoice: Invoice, reason: str, issued_at: datetime | None = None) -> Invoice:
    """Cancel an invoice with a credit note: a new document in the credit-note series with every line negated,
    and the reversing journal entry. The invoice becomes "credited"; its sessions are not billed again."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE:
        raise InvoiceError("Only an invoice can be credited, not a credit note.")
    if not reason.strip():
        raise InvoiceError("Say why the invoice is credited; the reason is printed on the credit note.")
    if invoice.credit_notes.exists():
        raise AlreadyCredited(f"{invoice.document_number} already has credit note "
                              f"{invoice.credit_notes.first().document_number}.")
    lines = [_Line(kind=line.kind, description=f"Credit: {line.description}"[:255], quantity=line.quantity,
                   unit=line.unit, unit_price=line.unit_price, net=-line.net.amount, vat_rate=line.vat_rate,
                   revenue_kind=(Account.Kind.PLAN_REVENUE if line.kind == InvoiceLine.Kind.PLAN_FEE
                                 else Account.Kind.REVENUE), session_id=line.session_id)
             for line in invoice.lines.all()]
    note = _documents_create(specs=[_DocumentSpec(customer=invoice.customer, period=invoice.period,
                                                  kind=Invoice.Kind.CREDIT_NOTE, lines=lines, credits=invoice,
                                                  reason=reason.strip())],
                             issued_at=issued_at or timezone.now())[0]
    invoice.status = Invoice.Status.CREDITED
    invoice.save(update_fields=["status"])
    return note


@transaction.atomic
def invoice_payment_record(*, invoice: Invoice, amount: Decimal, reference: str,
                           paid_at: datetime | None = None) -> Invoice:
    """Record a bank payment of an invoice (Dr bank, Cr receivable). The same `reference` twice records once. An
    invoice paid in full becomes "paid"; paying more than is left is refused."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.CREDITED:
        raise InvalidPayment(f"{invoice.document_number} is not open for payment ({invoice.get_status_display()}).")
    if not reference.strip():
        raise InvalidPayment("A payment needs the bank reference it came with.")
    amount = Decimal(amount)
    left = invoice.total.amount - invoice.paid.amount
    journal_reference = f"invoice-payment:{invoice.document_number}:{reference.strip()}"[:120]
    if JournalEntry.objects.filter(organization=invoice.organization, reference=journal_reference).exists():
        return invoice
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidPayment(f"{amount} is not a positive amount in cents.")
    if amount > left:
        raise InvalidPayment(f"Only {left:.2f} {invoice.currency} is left to pay on {invoice.document_number}.")
    organization, currency = invoice.organization, invoice.currency
    journal_post(organization=organization, kind=JournalEntry.Kind.PAYMENT, currency=currency,
                 reference=journal_reference, posted_at=paid_at,
                 memo=f"Payment of {invoice.document_number} ({reference.strip()})",
                 lines=[(account_get(organization=organization, kind=Account.Kind.BANK, currency=currency), amount),
                        (account_get(organization=organization, kind=Account.Kind.RECEIVABLE, currency=currency,
                                     customer=invoice.customer), -amount)])
    invoice.paid = Money(invoice.paid.amount + amount, currency)
    if invoice.paid.amount == invoice.total.amount:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = paid_at or timezone.now()
    invoice.save(update_fields=["paid", "status", "paid_at"])
    return invoice


def invoices_mark_overdue(*, today: date | None = None) -> int:
    """Issued invoices past their due date become overdue; returns how many changed."""
    today = today or timezone.localdate()
    return Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED,
                                  due_on__lt=today).update(status=Invoice.Status.OVERDUE)
