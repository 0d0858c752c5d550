"""ERP export of one organization's month, in a stable format (version "evnet-erp/1", documented in README.md):
journal lines and invoices as CSV, or everything as JSON; and the Portuguese SAF-T (PT) 1.04_01 XML of the month's
sales documents (SourceDocuments/SalesInvoices with the customers and tax table they use).

Columns never change meaning within a format version; new columns are only appended."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from xml.etree import ElementTree as ET

from django.utils import timezone

from apps.billing.models import JournalLine
from apps.organizations.models import Organization

from ..exceptions import ExportError
from ..models import Invoice

FORMAT_VERSION = "evnet-erp/1"
JOURNAL_COLUMNS = ["entry_id", "posted_at", "kind", "reference", "memo", "account_code", "account_kind",
                   "customer_id", "debit", "credit", "currency"]
INVOICE_COLUMNS = ["document_number", "kind", "series", "number", "issued_at", "due_on", "period", "customer_id",
                   "customer_name", "customer_tax_id", "net", "vat", "total", "paid", "currency", "status",
                   "credits_document"]
INVOICE_LINE_COLUMNS = ["document_number", "position", "kind", "description", "session_id", "quantity", "unit",
                        "unit_price", "net", "vat_rate", "vat", "total"]


def _bounds(period: date) -> tuple[datetime, datetime]:
    end = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    zone = timezone.get_current_timezone()
    return datetime(period.year, period.month, 1, tzinfo=zone), datetime(end.year, end.month, 1, tzinfo=zone)


def _money(value: Decimal) -> str:
    return f"{value:.4f}"


def journal_rows(*, organization: Organization, period: date) -> list[dict]:
    """Every journal line posted in the month (UTC), ordered by entry then account."""
    start, end = _bounds(period)
    lines = (JournalLine.objects.filter(entry__organization=organization, entry__posted_at__gte=start,
                                        entry__posted_at__lt=end)
             .select_related("entry", "account").order_by("entry__posted_at", "entry_id", "account__code"))
    return [{
        "entry_id": line.entry_id, "posted_at": line.entry.posted_at.isoformat(), "kind": line.entry.kind,
        "reference": line.entry.reference, "memo": line.entry.memo, "account_code": line.account.code,
        "account_kind": line.account.kind, "customer_id": line.account.customer_id or "",
        "debit": _money(line.debit), "credit": _money(line.credit), "currency": line.entry.currency,
    } for line in lines]


def _invoices(organization: Organization, period: date):
    start, end = _bounds(period)
    return (Invoice.objects.filter(organization=organization, issued_at__gte=start, issued_at__lt=end)
            .select_related("credits").prefetch_related("lines").order_by("series", "number"))


def invoice_rows(*, organization: Organization, period: date) -> list[dict]:
    return [{
        "document_number": i.document_number, "kind": i.kind, "series": i.series, "number": i.number,
        "issued_at": i.issued_at.isoformat(), "due_on": i.due_on.isoformat(), "period": f"{i.period:%Y-%m}",
        "customer_id": i.customer_id, "customer_name": i.customer_name, "customer_tax_id": i.customer_tax_id,
        "net": _money(i.net.amount), "vat": _money(i.vat.amount), "total": _money(i.total.amount),
        "paid": _money(i.paid.amount), "currency": i.currency, "status": i.status,
        "credits_document": i.credits.document_number if i.credits else "",
        "lines": [{
            "document_number": i.document_number, "position": line.position, "kind": line.kind,
            "description": line.description, "session_id": line.session_id or "",
            "quantity": f"{line.quantity:.4f}", "unit": line.unit, "unit_price": f"{line.unit_price:.6f}",
            "net": _money(line.net.amount), "vat_rate": f"{line.vat_rate:.4f}", "vat": _money(line.vat.amount),
            "total": _money(line.total.amount),
        } for line in i.lines.all()],
    } for i in _invoices(organization, period)]


def _csv(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def erp_export(*, organization: Organization, period: date, fmt: str) -> dict[str, str]:
    """{file name: content} for `fmt` "csv" (three files) or "json" (one file)."""
    journal = journal_rows(organization=organization, period=period)
    invoices = invoice_rows(organization=organization, period=period)
    stem = f"{organization.slug}-{period:%Y-%m}"
    if fmt == "json":
        return {f"{stem}.json": json.dumps({
            "format": FORMAT_VERSION, "organization": {"slug": organization.slug, "name": organization.name,
                                                       "tax_id": organization.tax_id},
            "period": f"{period:%Y-%m}", "journal_lines": journal, "invoices": invoices,
        }, ensure_ascii=False, indent=1)}
    if fmt == "csv":
        return {
            f"{stem}-journal.csv": _csv(journal, JOURNAL_COLUMNS),
            f"{stem}-invoices.csv": _csv(invoices, INVOICE_COLUMNS),
            f"{stem}-invoice-lines.csv": _csv([line for i in invoices for line in i["lines"]],
                                              INVOICE_LINE_COLUMNS),
        }
    raise ExportError(f"Unknown export format “{fmt}”: use csv, json or saft.")


SAFT_NS = "urn:OECD:StandardAuditFile-Tax:PT_1.04_01"


def saft_pt_export(*, organization: Organization, period: date, software_certificate: str = "0") -> str:
    """SAF-T (PT) 1.04_01 XML with the month's invoices (FT) and credit notes (NC). Only for Portuguese
    organizations. Hash is "0" and the certificate number is "0": evnet is not an AT-certified invoicing program,
    so this file is for the accountant's import, not for the monthly communication to the AT."""
    if organization.country != "PT":
        raise ExportError("SAF-T (PT) applies to Portuguese organizations only.")
    start, end = _bounds(period)
    invoices = list(_invoices(organization, period).select_related("customer"))
    ET.register_namespace("", SAFT_NS)

    def sub(parent, tag, text=None):
        element = ET.SubElement(parent, f"{{{SAFT_NS}}}{tag}")
        if text is not None:
            element.text = str(text)
        return element

    root = ET.Element(f"{{{SAFT_NS}}}AuditFile")
    header = sub(root, "Header")
    tax_id = organization.tax_id or "999999990"
    for tag, text in [("AuditFileVersion", "1.04_01"), ("CompanyID", tax_id), ("TaxRegistrationNumber", tax_id),
                      ("TaxAccountingBasis", "F"), ("CompanyName", organization.name)]:
        sub(header, tag, text)
    address = sub(header, "CompanyAddress")
    site = organization.sites.first()
    for tag, text in [("AddressDetail", site.address if site else "Desconhecido"),
                      ("City", site.city if site else "Desconhecido"),
                      ("PostalCode", (site.postal_code if site else "") or "0000-000"), ("Country", "PT")]:
        sub(address, tag, text)
    last_day = date.fromordinal(end.date().toordinal() - 1)
    for tag, text in [("FiscalYear", period.year), ("StartDate", period.isoformat()), ("EndDate", last_day.isoformat()),
                      ("CurrencyCode", "EUR"), ("DateCreated", timezone.localdate().isoformat()),
                      ("TaxEntity", "Global"), ("ProductCompanyTaxID", tax_id),
                      ("SoftwareCertificateNumber", software_certificate), ("ProductID", "evnet/evnet"),
                      ("ProductVersion", "1.0")]:
        sub(header, tag, text)

    master = sub(root, "MasterFiles")
    for customer in {i.customer_id: i.customer for i in invoices}.values():
        element = sub(master, "Customer")
        for tag, text in [("CustomerID", customer.pk), ("AccountID", "Desconhecido"),
                          ("CustomerTaxID", customer.tax_id or "999999990"), ("CompanyName", customer.name)]:
            sub(element, tag, text)
        billing = sub(element, "BillingAddress")
        for tag, text in [("AddressDetail", customer.address or "Desconhecido"), ("City", "Desconhecido"),
                          ("PostalCode", "Desconhecido"), ("Country", customer.country)]:
            sub(billing, tag, text)
        sub(element, "SelfBillingIndicator", 0)
    product_codes = {"session": "EV-CHARGE", "tou_period": "EV-ENERGY", "plan_fee": "EV-PLAN",
                     "included_energy": "EV-INCLUDED"}
    product_names = {"EV-CHARGE": "Carregamento de veículo elétrico", "EV-ENERGY": "Energia por período tarifário",
                     "EV-PLAN": "Mensalidade de plano", "EV-INCLUDED": "Energia incluída no plano"}
    for code, description in product_names.items():
        product = sub(master, "Product")
        for tag, text in [("ProductType", "S"), ("ProductCode", code), ("ProductDescription", description),
                          ("ProductNumberCode", code)]:
            sub(product, tag, text)
    rates = sorted({line.vat_rate for i in invoices for line in i.lines.all()})
    tax_table = sub(master, "TaxTable")
    for rate in rates:
        entry = sub(tax_table, "TaxTableEntry")
        for tag, text in [("TaxType", "IVA"), ("TaxCountryRegion", "PT"), ("TaxCode", _tax_code(rate)),
                          ("Description", f"IVA {rate * 100:.0f}%"), ("TaxPercentage", f"{rate * 100:.2f}")]:
            sub(entry, tag, text)

    sales = sub(sub(root, "SourceDocuments"), "SalesInvoices")
    debit = sum((-i.net.amount for i in invoices if i.kind == Invoice.Kind.CREDIT_NOTE), Decimal("0"))
    credit = sum((i.net.amount for i in invoices if i.kind == Invoice.Kind.INVOICE), Decimal("0"))
    sub(sales, "NumberOfEntries", len(invoices))
    sub(sales, "TotalDebit", f"{debit:.2f}")
    sub(sales, "TotalCredit", f"{credit:.2f}")
    for invoice in invoices:
        doc_type = "FT" if invoice.kind == Invoice.Kind.INVOICE else "NC"
        element = sub(sales, "Invoice")
        sub(element, "InvoiceNo", f"{doc_type} {invoice.series}/{invoice.number}")
        status = sub(element, "DocumentStatus")
        # A credited invoice stays "N" (normal): it is cancelled by its credit note, not voided ("A").
        sub(status, "InvoiceStatus", "N")
        sub(status, "InvoiceStatusDate", timezone.localtime(invoice.issued_at).strftime("%Y-%m-%dT%H:%M:%S"))
        sub(status, "SourceID", "evnet")
        sub(status, "SourceBilling", "P")
        sub(element, "Hash", "0")
        sub(element, "InvoiceDate", timezone.localtime(invoice.issued_at).date().isoformat())
        sub(element, "InvoiceType", doc_type)
        special = sub(element, "SpecialRegimes")
        for tag in ("SelfBillingIndicator", "CashVATSchemeIndicator", "ThirdPartiesBillingIndicator"):
            sub(special, tag, 0)
        sub(element, "SourceID", "evnet")
        sub(element, "SystemEntryDate", timezone.localtime(invoice.issued_at).strftime("%Y-%m-%dT%H:%M:%S"))
        sub(element, "CustomerID", invoice.customer_id)
        for line in invoice.lines.all():
            row = sub(element, "Line")
            code = product_codes.get(line.kind, "EV-CHARGE")
            sub(row, "LineNumber", line.position)
            if invoice.credits:
                reference = sub(row, "References")
                sub(reference, "Reference", f"FT {invoice.credits.series}/{invoice.credits.number}")
                sub(reference, "Reason", invoice.reason or "Anulação")
            for tag, text in [("ProductCode", code), ("ProductDescription", product_names[code]),
                              ("Quantity", f"{abs(line.quantity):.4f}"), ("UnitOfMeasure", line.unit),
                              ("UnitPrice", f"{abs(line.unit_price):.6f}"),
                              ("TaxPointDate", timezone.localtime(invoice.issued_at).date().isoformat()),
                              ("Description", line.description)]:
                sub(row, tag, text)
            amount = line.net.amount
            # On an invoice, sales are credits (a discount line is a debit); a credit note reverses them.
            sub(row, "CreditAmount" if amount >= 0 else "DebitAmount", f"{abs(amount):.2f}")
            tax = sub(row, "Tax")
            for tag, text in [("TaxType", "IVA"), ("TaxCountryRegion", "PT"), ("TaxCode", _tax_code(line.vat_rate)),
                              ("TaxPercentage", f"{line.vat_rate * 100:.2f}")]:
                sub(tax, tag, text)
        totals = sub(element, "DocumentTotals")
        sub(totals, "TaxPayable", f"{abs(invoice.vat.amount):.2f}")
        sub(totals, "NetTotal", f"{abs(invoice.net.amount):.2f}")
        sub(totals, "GrossTotal", f"{abs(invoice.total.amount):.2f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _tax_code(rate: Decimal) -> str:
    """SAF-T PT tax codes: NOR normal (23 %), INT intermediate (13 %), RED reduced (6 %), ISE exempt."""
    if not rate:
        return "ISE"
    return {Decimal("0.23"): "NOR", Decimal("0.13"): "INT", Decimal("0.06"): "RED"}.get(rate, "OUT")
