"""Staff pages: a session's receipt (HTML, PDF), the quote page and report downloads. Thin: scope, call one
service, render. Anything outside the organizations the user serves is a 404, as in the admin."""
from __future__ import annotations

from decimal import Decimal

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render

from apps.tariffs.exceptions import TariffError

from .exceptions import RatingError
from .forms import QuoteForm
from .formatting import kwh, money
from .selectors import report_queryset_for, session_queryset_for
from .services.quotes import quote
from .services.receipts import receipt_html, receipt_line, receipt_pdf


def _session_visible(request, session_id: int) -> int:
    if not request.user.has_perm("rating.view_sessionprice"):
        raise PermissionDenied
    if not session_queryset_for(user=request.user).filter(pk=session_id).exists():
        raise Http404(f"No session #{session_id} among the organizations you serve.")
    return session_id


def _error_page(request, exc: RatingError | TariffError, status: int = 409) -> HttpResponse:
    return render(request, "rating/error.html", {"message": exc.message, "code": exc.code}, status=status)


@staff_member_required
def receipt_view(request, session_id: int):
    _session_visible(request, session_id)
    try:
        return HttpResponse(receipt_html(session_id=session_id))
    except (RatingError, TariffError) as exc:
        return _error_page(request, exc)


@staff_member_required
def receipt_pdf_view(request, session_id: int):
    _session_visible(request, session_id)
    try:
        pdf = receipt_pdf(session_id=session_id)
    except (RatingError, TariffError) as exc:
        return _error_page(request, exc)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{session_id}.pdf"'
    return response


@staff_member_required
def quote_view(request):
    if not request.user.has_perm("rating.view_sessionprice"):
        raise PermissionDenied
    form = QuoteForm(request.GET or None, user=request.user)
    result, error = None, None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        power_kw = data.get("power_kw")
        try:
            rated = quote(station=data["station"], energy_wh=int(data["energy_kwh"] * 1000),
                          start_at_local=data["start_at_local"], user_group=data["user_group"],
                          power_w=int(power_kw * 1000) if power_kw else None)
        except (RatingError, TariffError) as exc:
            error = exc.message
        else:
            currency = rated.currency
            result = {
                "lines": [receipt_line(line=dict(ln.as_dict(), quantity_raw=ln.quantity_raw), currency=currency)
                          for ln in rated.lines],
                "energy_kwh": kwh(rated.total_energy_wh),
                "minutes": (Decimal(rated.total_time_s) / 60).quantize(Decimal("1")),
                "total_excl_vat": money(rated.total_excl_vat, currency),
                "total_vat": money(rated.total_vat, currency),
                "total_incl_vat": money(rated.total_incl_vat, currency),
                "time_zone": data["station"].site.time_zone,
            }
    return render(request, "rating/quote.html", {"form": form, "result": result, "error": error,
                                                 "title": "Quote a charging session"},
                  status=400 if form.is_bound and (not form.is_valid() or error) else 200)


def _report_file(request, report_id: int, kind: str):
    if not request.user.has_perm("rating.view_costrecoveryreport"):
        raise PermissionDenied
    report = report_queryset_for(user=request.user).filter(pk=report_id).first()
    if report is None:
        raise Http404(f"No report #{report_id} among the organizations you serve.")
    field = report.pdf if kind == "pdf" else report.csv
    if not field:
        raise Http404("This report has no file of that kind yet.")
    content_type = "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8"
    return FileResponse(field.open("rb"), content_type=content_type, as_attachment=kind == "csv",
                        filename=field.name.rsplit("/", 1)[-1])


@staff_member_required
def report_pdf_view(request, report_id: int):
    return _report_file(request, report_id, "pdf")


@staff_member_required
def report_csv_view(request, report_id: int):
    return _report_file(request, report_id, "csv")
