from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.organizations.admin_scoping import OrganizationScopedAdmin
from apps.organizations.selectors import queryset_scope
from apps.sites.models import Site

from .exceptions import ReportInvalid
from .forms import ReportGenerateForm
from .models import CostRecoveryReport, SessionPrice
from .services.receipts import receipt_line
from .services.reports import cost_recovery_report_generate, cost_recovery_report_send


@admin.register(SessionPrice)
class SessionPriceAdmin(OrganizationScopedAdmin):
    """Final prices are evidence for invoices: shown, never edited (a closed session is never re-priced)."""

    organization_path = "session__station__site__organization"
    list_display = ["session", "station", "started_at", "energy_kwh", "total_incl_vat", "tariff_label", "rated_at"]
    list_filter = ["session__station__site", "currency", "user_group"]
    search_fields = ["session__id", "session__station__ocpp_id", "session__id_tag_uid", "tariff_label"]
    list_select_related = ["session__station"]
    date_hierarchy = "rated_at"
    fields = ["session", "receipt_links", "tariff_label", "tariff_version", "user_group", "energy_wh",
              "price_lines", "total_excl_vat", "total_vat", "total_incl_vat", "rated_at", "is_final"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="station", ordering="session__station__ocpp_id")
    def station(self, obj: SessionPrice) -> str:
        return str(obj.session.station)

    @admin.display(description="started", ordering="session__started_at")
    def started_at(self, obj: SessionPrice):
        return obj.session.started_at

    @admin.display(description="energy (kWh)", ordering="energy_wh")
    def energy_kwh(self, obj: SessionPrice) -> str:
        return f"{obj.energy_wh / 1000:.3f}"

    @admin.display(description="receipt")
    def receipt_links(self, obj: SessionPrice) -> str:
        return format_html('<a href="{}">HTML</a> · <a href="{}">PDF</a>',
                           reverse("rating:receipt", args=[obj.session_id]),
                           reverse("rating:receipt-pdf", args=[obj.session_id]))

    @admin.display(description="price lines")
    def price_lines(self, obj: SessionPrice) -> str:
        rows = [receipt_line(line=line, currency=obj.currency) for line in obj.lines]
        if not rows:
            return "—"
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                                ((r["label"], r["period"], r["calculation"], r["amount"]) for r in rows))
        return format_html("<table><tr><th>item</th><th>period</th><th>calculation</th><th>amount</th></tr>{}"
                           "</table>", body)


@admin.register(CostRecoveryReport)
class CostRecoveryReportAdmin(OrganizationScopedAdmin):
    """Monthly condominium reports. "Add" makes one on demand (site + month); the actions rebuild or re-send."""

    organization_path = "organization"
    list_display = ["site", "month", "total", "energy_kwh", "generated_at", "emailed_to", "emailed_at", "files"]
    list_filter = ["site", "month"]
    search_fields = ["site__name", "organization__name"]
    list_select_related = ["site", "organization"]
    actions = ["export_csv", "regenerate_and_send", "send_again"]
    fields = ["organization", "site", "month", "total", "energy_wh", "files", "generated_at", "emailed_to",
              "emailed_at"]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        # The change page is read-only; the actions below need the permission on the change list.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="energy (kWh)", ordering="energy_wh")
    def energy_kwh(self, obj: CostRecoveryReport) -> str:
        return f"{obj.energy_wh / 1000:.3f}"

    @admin.display(description="files")
    def files(self, obj: CostRecoveryReport) -> str:
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">PDF</a> · <a href="{}">CSV</a>', reverse("rating:report-pdf", args=[obj.pk]),
                           reverse("rating:report-csv", args=[obj.pk]))

    def _sites(self, request):
        return queryset_scope(queryset=Site.objects.select_related("organization"), user=request.user,
                              organization_path="organization")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)
        form = ReportGenerateForm(request.POST or None, site_queryset=self._sites(request))
        if request.method == "POST" and form.is_valid():
            try:
                report = cost_recovery_report_generate(site_id=form.cleaned_data["site"].pk,
                                                       month=form.cleaned_data["month"],
                                                       send=form.cleaned_data["send"], now=timezone.now())
            except ReportInvalid as exc:
                form.add_error("month", exc.message)
            else:
                sent = f", e-mailed to {report.emailed_to}" if form.cleaned_data["send"] and report.emailed_to else ""
                self.message_user(request, f"Report {report} made: {report.total} for "
                                           f"{report.energy_wh / 1000:.3f} kWh{sent}.", messages.SUCCESS)
                return redirect(reverse("admin:rating_costrecoveryreport_change", args=[report.pk]))
        context = dict(self.admin_site.each_context(request), title="Make a cost-recovery report", form=form,
                       opts=self.model._meta)
        return TemplateResponse(request, "rating/admin/report_generate.html", context,
                                status=400 if request.method == "POST" else 200)

    @admin.action(description="Rebuild the selected reports and e-mail them again")
    def regenerate_and_send(self, request, queryset):
        for report in queryset:
            try:
                cost_recovery_report_generate(site_id=report.site_id, month=report.month, send=True)
            except ReportInvalid as exc:
                self.message_user(request, f"{report}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{report}: rebuilt.", messages.SUCCESS)

    @admin.action(description="E-mail the selected reports again")
    def send_again(self, request, queryset):
        for report in queryset:
            if cost_recovery_report_send(report=report):
                self.message_user(request, f"{report}: sent to {report.emailed_to}.", messages.SUCCESS)
            else:
                self.message_user(request, f"{report}: {report.organization} has no e-mail address.",
                                  messages.WARNING)
