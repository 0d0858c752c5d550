"""Invoice documents for the back-office (staff of the invoice's organization) and the invoice's customer."""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from apps.organizations.selectors import queryset_scope

from .models import Invoice
from .services.delivery import invoice_pdf


@login_required
def invoice_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice, pk=pk)
    staff_ok = request.user.is_staff and queryset_scope(queryset=Invoice.objects.filter(pk=pk), user=request.user,
                                                        organization_path="organization").exists()
    if not staff_ok and invoice.customer.user_id != request.user.pk:
        raise Http404("No such invoice.")
    response = HttpResponse(invoice_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.document_number.replace("/", "-")}.pdf"'
    return response
