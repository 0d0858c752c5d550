from django.contrib import admin

from apps.organizations.admin_scoping import OrganizationScopedAdmin

from .models import ChargingSession, MeterValue


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


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["id", "station", "connector_number", "id_tag_uid", "user", "state", "started_at", "stopped_at",
                    "energy_kwh", "needs_attention"]
    list_filter = ["state", "needs_attention", "station__site", "station"]
    search_fields = ["id", "id_tag_uid", "station__ocpp_id", "user__username", "user__last_name"]
    list_select_related = ["station", "user"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in ChargingSession._meta.fields]
    inlines = [MeterValueInline]

    @admin.display(description="energy (kWh)", ordering="energy_wh")
    def energy_kwh(self, obj: ChargingSession) -> str:
        return f"{obj.energy_wh / 1000:.3f}"


@admin.register(MeterValue)
class MeterValueAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["sampled_at", "station", "connector_number", "session", "measurand", "phase", "value", "unit"]
    list_filter = ["measurand", "station__site"]
    search_fields = ["station__ocpp_id", "session__id"]
    list_select_related = ["station"]
    date_hierarchy = "sampled_at"
    show_full_result_count = False
