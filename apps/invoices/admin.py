"""Back-office for invoices and monthly closes, scoped by organization. Issued documents are read-only; clerks
credit them (a new document), record bank payments, download the PDF, and start or resume a month's close."""
from datetime import date

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from apps.organizations.admin_scoping import OrganizationScopedAdmin
from apps.organizations.selectors import organization_list_served
from evnet.exceptions import DomainError

from .models import BillingRun, BillingRunStep, Invoice, InvoiceLine
from .services.closing import month_parse, previous_month
from .services.documents import invoice_credit
from .services.exports import erp_export, saft_pt_export
from .services.reconciliation import reconciliation_report


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceLineInline(ReadOnlyMixin, admin.TabularInline):
    model = InvoiceLine
    fields = ["position", "kind", "description", "quantity", "unit", "unit_price", "net", "vat_rate", "vat", "total"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    list_display = ["document_number", "kind", "customer_name", "period", "issued_at", "due_on", "total", "paid",
                    "status", "emailed_at", "pdf_link"]
    list_filter = ["kind", "status", "period", "organization"]
    search_fields = ["document_number", "customer_name", "customer_tax_id"]
    date_hierarchy = "issued_at"
    list_select_related = ["customer"]
    inlines = [InvoiceLineInline]
    readonly_fields = [f.name for f in Invoice._meta.fields]
    actions = ["export_csv", "credit_selected"]

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        return format_html('<a href="{}">PDF</a>', reverse("invoices:pdf", args=[obj.pk]))

    @admin.action(description="Credit selected invoices (issue credit notes)")
    def credit_selected(self, request, queryset):
        done = []
        for invoice in queryset.filter(kind=Invoice.Kind.INVOICE):
            try:
                done.append(invoice_credit(invoice=invoice, reason=f"Credited by {request.user.username}"
                                                                    " in the back-office").document_number)
            except DomainError as error:
                self.message_user(request, f"{invoice}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Credit notes issued: {', '.join(done)}", messages.SUCCESS)


class BillingRunStepInline(ReadOnlyMixin, admin.TabularInline):
    model = BillingRunStep
    fields = ["customer", "outcome", "invoice", "done_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class CloseMonthForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None)
    month = forms.CharField(help_text="YYYY-MM")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organization_list_served(user=user)

    def clean_month(self):
        try:
            return month_parse(self.cleaned_data["month"])
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    list_display = ["organization", "period", "status", "phase", "progress", "invoices_issued", "attempts",
                    "started_at", "heartbeat_at", "finished_at", "last_error"]
    list_filter = ["status", "period", "organization"]
    readonly_fields = [f.name for f in BillingRun._meta.fields]
    inlines = [BillingRunStepInline]
    actions = ["export_csv", "resume_runs"]
    change_list_template = "invoices/billingrun_change_list.html"

    def get_urls(self):
        return [path("close-month/", self.admin_site.admin_view(self.close_month_view),
                     name="invoices_billingrun_close"),
                path("reconciliation/", self.admin_site.admin_view(self.reconciliation_view),
                     name="invoices_billingrun_reconciliation"),
                path("export/<int:organization_id>/<str:month>/<str:name>/",
                     self.admin_site.admin_view(self.export_view), name="invoices_billingrun_export"),
                ] + super().get_urls()

    def reconciliation_view(self, request):
        form = CloseMonthForm(request.GET or None, user=request.user,
                              initial={"month": f"{previous_month(date.today()):%Y-%m}"})
        report = None
        if request.GET and form.is_valid():
            organization, period = form.cleaned_data["organization"], form.cleaned_data["month"]
            report = reconciliation_report(organization=organization, period=period)
            report["exports"] = [(name, reverse("admin:invoices_billingrun_export",
                                                args=[organization.pk, f"{period:%Y-%m}", name]))
                                 for name in ("json", "journal.csv", "invoices.csv", "invoice-lines.csv", "saft")]
        return render(request, "invoices/reconciliation.html",
                      {**self.admin_site.each_context(request), "form": form, "report": report,
                       "title": "Reconciliation and ERP export"})

    def export_view(self, request, organization_id: int, month: str, name: str):
        organization = organization_list_served(user=request.user).filter(pk=organization_id).first()
        if organization is None:
            raise Http404("No such organization among those you serve.")
        try:
            period = month_parse(month)
            if name == "saft":
                filename = f"{organization.slug}-{period:%Y-%m}-saft-pt.xml"
                content, content_type = saft_pt_export(organization=organization, period=period), "application/xml"
            else:
                files = erp_export(organization=organization, period=period, fmt="json" if name == "json" else "csv")
                filename = next((f for f in files if f.endswith(name)), None)
                if filename is None:
                    raise Http404(f"No export named “{name}”.")
                content = files[filename]
                content_type = "application/json" if name == "json" else "text/csv"
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return redirect("admin:invoices_billingrun_reconciliation")
        response = HttpResponse(content, content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def _enqueue(self, organization_id: int, period: date) -> None:
        from celery import current_app

        current_app.send_task("apps.invoices.tasks.month_close", args=[organization_id, f"{period:%Y-%m}"])

    def close_month_view(self, request):
        form = CloseMonthForm(request.POST or None, user=request.user,
                              initial={"month": f"{previous_month(date.today()):%Y-%m}"})
        if request.method == "POST" and form.is_valid():
            organization, period = form.cleaned_data["organization"], form.cleaned_data["month"]
            self._enqueue(organization.pk, period)
            self.message_user(request, f"Closing {period:%Y-%m} for {organization} in the background; the run "
                                       "below shows its progress.", messages.SUCCESS)
            return redirect("admin:invoices_billingrun_changelist")
        return render(request, "invoices/close_month.html",
                      {**self.admin_site.each_context(request), "form": form, "title": "Close a month"})

    @admin.action(description="Resume / rerun the selected closes (nothing is issued twice)")
    def resume_runs(self, request, queryset):
        for run in queryset:
            self._enqueue(run.organization_id, run.period)
        self.message_user(request, f"{queryset.count()} close(s) queued.", messages.SUCCESS)
