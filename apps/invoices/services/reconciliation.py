"""Reconciliation of one organization's month: sessions ↔ prices (rating) ↔ settled charges (wallet debits or
invoice lines) ↔ invoices ↔ payments and webhooks. Every mismatch is listed with what to look at; totals per
month let finance tie the ledger to the operations."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.utils import timezone

from apps.billing.models import JournalEntry, Payment, SessionCharge, WebhookEvent
from apps.billing.services.settlement import money_round
from apps.charging.models import ChargingSession
from apps.organizations.models import Organization
from apps.rating.models import SessionPrice

from ..models import Invoice, InvoiceLine

CLOSED = (ChargingSession.State.COMPLETED, ChargingSession.State.INTERRUPTED)


@dataclass(frozen=True)
class Mismatch:
    kind: str
    reference: str
    detail: str


def _month_bounds_utc(period: date, time_zone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(time_zone)
    end = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    return (datetime(period.year, period.month, 1, tzinfo=zone), datetime(end.year, end.month, 1, tzinfo=zone))


def reconciliation_report(*, organization: Organization, period: date, now: datetime | None = None) -> dict:
    """The month's totals and every mismatch (see Mismatch.kind values in the README)."""
    now = now or timezone.now()
    mismatches: list[Mismatch] = []
    sessions = ChargingSession.objects.none()
    for site in organization.sites.all():
        start, end = _month_bounds_utc(period, site.time_zone)
        sessions = sessions | ChargingSession.objects.filter(station__site=site, started_at__gte=start,
                                                             started_at__lt=end)
    session_rows = list(sessions.values("id", "state", "energy_wh", "needs_attention"))
    session_ids = [row["id"] for row in session_rows]
    prices = {p.session_id: p for p in SessionPrice.objects.filter(session_id__in=session_ids)}
    charges = {c.session_id: c for c in SessionCharge.objects.filter(session_id__in=session_ids)}
    invoices = {i.pk: i for i in Invoice.objects.filter(organization=organization)
                .filter(pk__in=[c.invoice_id for c in charges.values() if c.invoice_id])}
    lined = set(InvoiceLine.objects.filter(invoice_id__in=list(invoices), session_id__in=session_ids)
                .values_list("session_id", flat=True))

    for row in session_rows:
        sid = row["id"]
        if row["needs_attention"]:
            mismatches.append(Mismatch("session_in_error", f"session #{sid}",
                                       "flagged for attention (meter anomaly, power cut, late stop)"))
        if row["state"] == ChargingSession.State.ACTIVE:
            continue
        price = prices.get(sid)
        if price is None:
            mismatches.append(Mismatch("unrated_session", f"session #{sid}", "closed but has no price"))
            continue
        charge = charges.get(sid)
        if charge is None:
            mismatches.append(Mismatch("unsettled_price", f"session #{sid}", "priced but not settled"))
            continue
        if charge.net.amount != money_round(price.total_excl_vat.amount):
            mismatches.append(Mismatch("price_charge_differs", f"session #{sid}",
                                       f"price {price.total_excl_vat.amount} ≠ charged {charge.net.amount}"))
        if charge.status == SessionCharge.Status.NO_CUSTOMER:
            mismatches.append(Mismatch("session_without_customer", f"session #{sid}",
                                       f"card {charge.id_tag_uid or '—'} is billed to nobody"))
        elif charge.status in (SessionCharge.Status.WALLET, SessionCharge.Status.RECEIVABLE):
            if charge.total.amount and charge.journal_entry_id is None:
                mismatches.append(Mismatch("wallet_debit_missing", f"session #{sid}", "no journal entry"))
            if charge.status == SessionCharge.Status.RECEIVABLE:
                mismatches.append(Mismatch("session_receivable", f"session #{sid}",
                                           f"{charge.customer}: {charge.receivable.amount} left unpaid by the wallet"))
        elif charge.status == SessionCharge.Status.TO_INVOICE:
            mismatches.append(Mismatch("session_not_invoiced", f"session #{sid}", f"{charge.customer}: waiting for "
                                                                                  "the monthly invoice"))
        elif charge.status == SessionCharge.Status.INVOICED:
            invoice = invoices.get(charge.invoice_id)
            if invoice is None:
                mismatches.append(Mismatch("invoice_missing", f"session #{sid}", "marked invoiced, no invoice"))
            elif invoice.customer.kind != "condominium_unit" and sid not in lined:
                mismatches.append(Mismatch("invoice_line_missing", f"session #{sid}",
                                           f"not on {invoice.document_number}"))

    month_invoices = Invoice.objects.filter(organization=organization, period=period)
    for invoice in month_invoices.annotate(line_net=Sum("lines__net"), line_total=Sum("lines__total")):
        line_net, line_total = (Decimal(value or 0).quantize(Decimal("0.0001"))  # SQLite sums as floats
                                for value in (invoice.line_net, invoice.line_total))
        if line_net != invoice.net.amount or line_total != invoice.total.amount:
            mismatches.append(Mismatch("invoice_total_differs", invoice.document_number,
                                       f"lines sum to {line_total}, document says {invoice.total.amount}"))
        if invoice.journal_entry_id is None and invoice.total.amount:
            mismatches.append(Mismatch("invoice_not_posted", invoice.document_number, "no journal entry"))
        if invoice.kind == Invoice.Kind.INVOICE and invoice.status in (Invoice.Status.ISSUED, Invoice.Status.OVERDUE):
            mismatches.append(Mismatch("unpaid_invoice", invoice.document_number,
                                       f"{invoice.customer_name}: {invoice.total.amount - invoice.paid.amount:.2f} "
                                       f"{invoice.currency} due {invoice.due_on} ({invoice.get_status_display()})"))

    start, end = _month_bounds_utc(period, "UTC")
    payments = Payment.objects.filter(organization=organization, created_at__gte=start, created_at__lt=end)
    posted = set(JournalEntry.objects.filter(organization=organization, reference__startswith="payment:")
                 .values_list("reference", flat=True))
    for payment in payments:
        if payment.status == Payment.Status.SUCCEEDED and f"payment:{payment.pk}" not in posted:
            mismatches.append(Mismatch("payment_not_credited", f"payment {payment.provider_intent_id}",
                                       "paid but not credited to the wallet"))
        if payment.status == Payment.Status.PENDING and payment.created_at < now - timedelta(days=1):
            mismatches.append(Mismatch("payment_without_confirmation", f"payment {payment.provider_intent_id}",
                                       "no webhook from the provider after a day"))
    # A webhook for an intent evnet never created belongs to no organization: the report of the month it arrived in
    # shows it to every organization (only its id and type, nothing of any tenant).
    for event in WebhookEvent.objects.filter(payment__isnull=True, received_at__gte=start, received_at__lt=end):
        mismatches.append(Mismatch("webhook_without_payment", f"event {event.event_id}",
                                   f"{event.event_type} for an intent evnet never created ({event.outcome})"))

    month_charges = SessionCharge.objects.filter(organization=organization, period=period)
    totals_by_status = {row["status"]: row for row in month_charges.values("status").annotate(
        n=Count("id"), total=Sum("total"), wallet=Sum("wallet_debited"), owed=Sum("receivable"))}
    by_kind = {row["kind"]: row for row in month_invoices.values("kind").annotate(
        n=Count("id"), net=Sum("net"), vat=Sum("vat"), total=Sum("total"), paid=Sum("paid"))}

    def _d(value) -> str:
        return f"{(value or Decimal('0')):.2f}"

    totals = {
        "sessions": len(session_rows),
        "sessions_closed": sum(1 for r in session_rows if r["state"] in CLOSED),
        "energy_wh": sum(r["energy_wh"] for r in session_rows),
        "rated_excl_vat": _d(sum((p.total_excl_vat.amount for p in prices.values()), Decimal("0"))),
        "charges": {status: {"count": row["n"], "total": _d(row["total"])} for status, row in
                    totals_by_status.items()},
        "wallet_debits": _d(sum((row["wallet"] or 0 for row in totals_by_status.values()), Decimal("0"))),
        "receivables_left": _d(sum((row["owed"] or 0 for row in totals_by_status.values()), Decimal("0"))),
        "invoices": {kind: {"count": row["n"], "net": _d(row["net"]), "vat": _d(row["vat"]),
                            "total": _d(row["total"]), "paid": _d(row["paid"])} for kind, row in by_kind.items()},
        "top_ups": _d(payments.filter(status=Payment.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"]),
        "refunds": _d(payments.aggregate(s=Sum("refunded"))["s"]),
    }
    return {
        "organization": organization.slug, "period": f"{period:%Y-%m}", "totals": totals,
        "mismatch_counts": dict(Counter(m.kind for m in mismatches)),
        "mismatches": [asdict(m) for m in mismatches],
    }
