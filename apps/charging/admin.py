from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from apps.organizations.admin_scoping import OrganizationScopedAdmin
from evnet.exceptions import DomainError

from .models import ChargingSession, MeterValue, SessionNeedingAttention
from .services.sessions import session_attention_resolve


class ReadOnlyAdminMixin:
    """Sessions and meter values are evidence for invoices: the admin shows them, never edits them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MeterValueInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MeterValue
    extra = 0
    fields = ["sampled_at", "connector_number", "measurand", "phase", "value", "unit", "context"]
    readonly_fields = fields
    ordering = ["sampled_at"]
    max_num = 0
    can_delete = False


def _anomaly_codes(obj: ChargingSession) -> str:
    return ", ".join(dict.fromkeys(a.get("code", "?") for a in obj.anomalies)) or "—"


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["id", "station", "connector_number", "id_tag_uid", "user", "state", "started_at", "stopped_at",
                    "energy_kwh", "anomaly_codes", "needs_attention"]
    list_filter = ["state", "needs_attention", "station__site", "station"]
    search_fields = ["id", "id_tag_uid", "station__ocpp_id", "user__username", "user__last_name"]
    list_select_related = ["station", "user"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in ChargingSession._meta.fields]
    inlines = [MeterValueInline]

    @admin.display(description="energy (kWh)", ordering="energy_wh")
    def energy_kwh(self, obj: ChargingSession) -> str:
        return f"{obj.energy_wh / 1000:.3f}"

    @admin.display(description="anomalies")
    def anomaly_codes(self, obj: ChargingSession) -> str:
        return _anomaly_codes(obj)


class ResolveAttentionForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), required=True,
                           help_text="What you checked or decided. Kept with your name and the time.")


@admin.register(SessionNeedingAttention)
class SessionNeedingAttentionAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """Every anomaly of a session (closed by a boot, unknown or duplicate StopTransaction, meter backwards or
    jumping, stop before start, superseded) lands here until a clerk resolves it with a note."""

    organization_path = "station__site__organization"
    list_display = ["id", "station", "connector_number", "id_tag_uid", "state", "started_at", "stopped_at",
                    "energy_wh", "anomaly_codes", "anomaly_details"]
    list_filter = ["state", "station__site"]
    search_fields = ["id", "id_tag_uid", "station__ocpp_id"]
    list_select_related = ["station"]
    readonly_fields = [f.name for f in ChargingSession._meta.fields]
    actions = ["resolve_attention", "export_csv"]
    ordering = ["-started_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(needs_attention=True)

    def has_change_permission(self, request, obj=None):
        # The action resolves; the page itself stays read-only. Clerks with "change session" may resolve.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("charging.change_chargingsession") and "resolve_attention" in actions:
            del actions["resolve_attention"]
        return actions

    @admin.display(description="anomalies")
    def anomaly_codes(self, obj: ChargingSession) -> str:
        return _anomaly_codes(obj)

    @admin.display(description="details")
    def anomaly_details(self, obj: ChargingSession) -> str:
        return " · ".join(a.get("detail", "") for a in obj.anomalies)[:300]

    @admin.action(description="Resolve selected sessions (with a note)")
    def resolve_attention(self, request, queryset):
        form = ResolveAttentionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            resolved, refused = 0, []
            for session in queryset:
                try:
                    session_attention_resolve(session=session, user=request.user, note=form.cleaned_data["note"])
                    resolved += 1
                except DomainError as exc:
                    refused.append(f"#{session.pk}: {exc.message}")
            if resolved:
                self.message_user(request, f"Resolved {resolved} session(s).", messages.SUCCESS)
            for text in refused:
                self.message_user(request, text, messages.ERROR)
            return None
        return TemplateResponse(request, "admin/charging/resolve_attention.html", {
            **self.admin_site.each_context(request), "title": "Resolve sessions needing attention",
            "sessions": list(queryset.select_related("station")), "form": form, "opts": self.model._meta,
        })


@admin.register(MeterValue)
class MeterValueAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["sampled_at", "station", "connector_number", "session", "measurand", "phase", "value", "unit"]
    list_filter = ["measurand", "station__site"]
    search_fields = ["station__ocpp_id", "session__id"]
    list_select_related = ["station"]
    date_hierarchy = "sampled_at"
    show_full_result_count = False
