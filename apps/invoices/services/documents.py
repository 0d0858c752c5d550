"""Issuing postpaid invoices and credit notes. Invariants: one monthly invoice per customer and month; each session
charge is invoiced once; numbers are consecutive per organization and series with no gaps (the counter row is
locked in the issuing transaction); every issued document posts its balanced journal entry in the same
transaction; a credit note is a new document and a reversing entry, never an edit. Amounts: each line's net is
rounded to cents half-up and its VAT is the line net × rate rounded the same way; totals are sums of lines."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from apps.billing.models import Account, BillingSettings, Customer, JournalEntry, SessionCharge
from apps.billing.services.ledger import account_get, journal_post
from apps.billing.services.plans import plan_months
from apps.billing.services.settlement import money_round, session_charges_mark_invoiced, vat_rate_for

from ..exceptions import AlreadyCredited, InvalidPayment, InvoiceError
from ..models import DocumentCounter, Invoice, InvoiceLine

KWH = Decimal("1000")


def billing_settings_for(organization) -> BillingSettings:
    found = BillingSettings.objects.filter(organization=organization).first()
    return found or BillingSettings(organization=organization)


def document_number_next(*, organization, series: str) -> int:
    """The next number of the series, consuming it. Must run inside the issuing transaction."""
    counter = DocumentCounter.objects.select_for_update().filter(organization=organization, series=series).first()
    if counter is None:
        DocumentCounter.objects.get_or_create(organization=organization, series=series)
        counter = DocumentCounter.objects.select_for_update().get(organization=organization, series=series)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


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


def _session_lines(*, customer: Customer, charges: list[SessionCharge]) -> list[_Line]:
    if customer.kind == Customer.Kind.CONDOMINIUM_UNIT:
        return _tou_period_lines(charges=charges)
    lines = []
    for charge in charges:
        kwh = (Decimal(charge.energy_wh) / KWH).quantize(Decimal("0.001"))
        unit_price = (charge.net.amount / kwh).quantize(Decimal("0.000001")) if kwh else Decimal("0")
        local = timezone.localtime(charge.started_at)
        lines.append(_Line(
            kind=InvoiceLine.Kind.SESSION, session_id=charge.session_id,
            description=f"Charging #{charge.session_id} {local:%Y-%m-%d %H:%M} {charge.station_label} "
                        f"{charge.id_tag_uid}".strip(),
            quantity=kwh, unit="kWh", unit_price=unit_price, net=charge.net.amount, vat_rate=charge.vat_rate,
            revenue_kind=Account.Kind.REVENUE,
        ))
    return lines


def _tou_period_lines(*, charges: list[SessionCharge]) -> list[_Line]:
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


def _plan_lines(*, customer: Customer, period: date, charges: list[SessionCharge]) -> list[_Line]:
    lines = []
    rate = vat_rate_for(customer.organization.country)
    energy_wh = sum(c.energy_wh for c in charges)
    energy_net = sum((c.net.amount for c in charges), Decimal("0"))
    for month in plan_months(customer=customer, month=period):
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
    # A concurrent issue for the same customer and month fails on the unique (customer, period) constraint.
    with transaction.atomic():
        existing = Invoice.objects.filter(customer=customer, period=period, kind=Invoice.Kind.INVOICE).first()
        if existing is not None:
            return existing
        charges = list(SessionCharge.objects.filter(customer=customer, period__lte=period,
                                                    status=SessionCharge.Status.TO_INVOICE).order_by("started_at"))
        if customer.regime != Customer.Regime.POSTPAID:
            charges = []
        lines = _session_lines(customer=customer, charges=charges) + _plan_lines(customer=customer, period=period,
                                                                                charges=charges)
        if not lines:
            return None
        return _document_create(customer=customer, period=period, kind=Invoice.Kind.INVOICE, lines=lines,
                                issued_at=issued_at or timezone.now(), billing_run=billing_run, charges=charges)


def _document_create(*, customer: Customer, period: date, kind: str, lines: list[_Line], issued_at: datetime,
                     billing_run=None, charges=(), credits: Invoice | None = None, reason: str = "") -> Invoice:
    organization = customer.organization
    settings_ = billing_settings_for(organization)
    currency = customer.currency
    local_year = timezone.localtime(issued_at).year
    prefix = settings_.invoice_series if kind == Invoice.Kind.INVOICE else settings_.credit_note_series
    series = f"{prefix}{local_year}"
    number = document_number_next(organization=organization, series=series)
    net = sum((line.net for line in lines), Decimal("0"))
    vat = sum((line.vat for line in lines), Decimal("0"))
    document_number = f"{series}/{number:06d}"
    revenue: dict[str, Decimal] = {}
    for line in lines:
        revenue[line.revenue_kind] = revenue.get(line.revenue_kind, Decimal("0")) + line.net
    journal_lines = [(account_get(organization=organization, kind=Account.Kind.RECEIVABLE, currency=currency,
                                  customer=customer), net + vat),
                     (account_get(organization=organization, kind=Account.Kind.VAT, currency=currency), -vat)]
    journal_lines += [(account_get(organization=organization, kind=k, currency=currency), -amount)
                      for k, amount in revenue.items()]
    kind_label = "Invoice" if kind == Invoice.Kind.INVOICE else "Credit note"
    entry = journal_post(
        organization=organization, currency=currency, posted_at=issued_at,
        kind=JournalEntry.Kind.INVOICE if kind == Invoice.Kind.INVOICE else JournalEntry.Kind.CREDIT_NOTE,
        reference=f"document:{document_number}", memo=f"{kind_label} {document_number} {customer}",
        lines=journal_lines,
    ) if (net or vat) else None
    zero = Money(0, currency)
    invoice = Invoice.objects.create(
        organization=organization, customer=customer, kind=kind, series=series, number=number,
        document_number=document_number, period=period, issued_at=issued_at,
        due_on=timezone.localtime(issued_at).date() + timedelta(days=settings_.payment_terms_days),
        currency=currency, net=Money(net, currency), vat=Money(vat, currency), total=Money(net + vat, currency),
        paid=zero, credits=credits, reason=reason[:255], customer_name=customer.name,
        customer_tax_id=customer.tax_id, customer_address=customer.address, billing_run=billing_run,
        journal_entry=entry,
    )
    InvoiceLine.objects.bulk_create([
        InvoiceLine(invoice=invoice, position=i, kind=line.kind, description=line.description[:255],
                    session_id=line.session_id, quantity=line.quantity, unit=line.unit,
                    unit_price=line.unit_price, net=Money(line.net, currency), vat_rate=line.vat_rate,
                    vat=Money(line.vat, currency), total=Money(line.net + line.vat, currency))
        for i, line in enumerate(lines, start=1)
    ])
    if charges:
        moved = session_charges_mark_invoiced(charge_ids=[c.pk for c in charges], invoice_id=invoice.pk)
        if moved != len(charges):
            raise InvoiceError(f"Some sessions of {customer} were invoiced meanwhile; run the close again.")
    return invoice


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
    note = _document_create(customer=invoice.customer, period=invoice.period, kind=Invoice.Kind.CREDIT_NOTE,
                            lines=lines, issued_at=issued_at or timezone.now(), credits=invoice,
                            reason=reason.strip())
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
