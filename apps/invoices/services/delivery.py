"""Invoice PDFs (WeasyPrint) and e-mail. Rendering is done after the close (not inside it), by the send sweep or
on first download, so a month of thousands of invoices is issued quickly and mailed in the background."""
from __future__ import annotations

import logging
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import Invoice

logger = logging.getLogger(__name__)


def invoice_html(*, invoice: Invoice) -> str:
    lines = list(invoice.lines.all())
    for line in lines:
        line.vat_percent = (line.vat_rate * 100).quantize(Decimal("0.1")).normalize()
    return render_to_string("invoices/invoice.html", {
        "invoice": invoice, "lines": lines, "issued_local": timezone.localtime(invoice.issued_at)})


def invoice_pdf(*, invoice: Invoice) -> bytes:
    """The document as PDF, rendered once and kept: an issued document never changes."""
    if invoice.pdf:
        with invoice.pdf.open("rb") as handle:
            return handle.read()
    from weasyprint import HTML

    data = HTML(string=invoice_html(invoice=invoice)).write_pdf()
    invoice.pdf.save(f"{invoice.document_number.replace('/', '-')}.pdf", ContentFile(data), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)
    return data


def invoice_send(*, invoice: Invoice) -> bool:
    """E-mail the PDF to the customer once; returns True when sent now. A customer without an e-mail address is
    recorded (email_error) and not retried."""
    invoice = Invoice.objects.select_related("customer", "organization").get(pk=invoice.pk)
    if invoice.emailed_at is not None:
        return False
    if not invoice.customer.email:
        Invoice.objects.filter(pk=invoice.pk).update(email_error="The customer has no e-mail address.")
        return False
    pdf = invoice_pdf(invoice=invoice)
    message = EmailMessage(
        subject=f"{invoice.organization.name}: {invoice.get_kind_display().lower()} {invoice.document_number}",
        body=(f"Dear {invoice.customer_name},\n\nattached is {invoice.get_kind_display().lower()} "
              f"{invoice.document_number} for {invoice.period:%Y-%m}: {invoice.total.amount:.2f} {invoice.currency}"
              + (f", due on {invoice.due_on:%Y-%m-%d}" if invoice.kind == Invoice.Kind.INVOICE else "") + ".\n"),
        to=[invoice.customer.email],
    )
    message.attach(f"{invoice.document_number.replace('/', '-')}.pdf", pdf, "application/pdf")
    message.send()
    with transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now(), email_error="")
    return True


def invoices_send_pending(*, limit: int = 200) -> int:
    """Send every issued document not e-mailed yet (oldest first); returns how many were sent."""
    sent = 0
    for invoice in Invoice.objects.filter(emailed_at__isnull=True, email_error="").order_by("issued_at")[:limit]:
        sent += invoice_send(invoice=invoice)
    return sent
