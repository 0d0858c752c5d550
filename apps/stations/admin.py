from django import forms
from django.contrib import admin

from apps.organizations.admin_scoping import OrganizationScopedAdmin, ScopedInline

from .models import ChargingStation, Connector, StationPermission
from .selectors import connector_status_text


class ConnectorInline(ScopedInline, admin.TabularInline):
    model = Connector
    extra = 0
    fields = ["connector_id", "connector_type", "max_power_w", "status", "live", "error_code", "status_at"]
    readonly_fields = ["status", "live", "error_code", "status_at"]

    @admin.display(description="live")
    def live(self, obj: Connector):
        return connector_status_text(connector=obj) if obj.pk else "—"


class PermissionInline(ScopedInline, admin.TabularInline):
    model = StationPermission
    extra = 0
    autocomplete_fields = ["id_tag", "user"]
    fields = ["id_tag", "user", "valid_from", "valid_until"]


class StationForm(forms.ModelForm):
    new_password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text="Sets the HTTP Basic password the station presents (security profiles 1 and 2). "
                  "Leave empty to keep the current one.",
    )

    class Meta:
        model = ChargingStation
        exclude = ["password_hash"]

    def save(self, commit=True):
        station = super().save(commit=False)
        if self.cleaned_data.get("new_password"):
            station.set_password(self.cleaned_data["new_password"])
        if commit:
            station.save()
            self.save_m2m()
        return station


@admin.register(ChargingStation)
class ChargingStationAdmin(OrganizationScopedAdmin):
    organization_path = "site__organization"
    form = StationForm
    list_display = ["ocpp_id", "parking_spot", "site", "circuit", "current_type", "registration_status",
                    "is_connected", "live_status", "last_seen_at", "firmware_version"]
    list_filter = ["site", "circuit", "current_type", "registration_status", "is_connected", "site__organization"]
    search_fields = ["ocpp_id", "parking_spot", "serial_number", "vendor", "model", "site__name", "circuit__name"]
    autocomplete_fields = ["site", "circuit"]
    list_select_related = ["site", "circuit"]
    readonly_fields = ["vendor", "model", "serial_number", "firmware_version", "iccid", "imsi", "meter_type",
                       "meter_serial_number", "last_seen_at", "last_heartbeat_at", "last_boot_at", "is_connected",
                       "created_at", "firmware_status", "firmware_status_at", "diagnostics_status",
                       "diagnostics_status_at"]
    fieldsets = [
        (None, {"fields": ["ocpp_id", "site", "circuit", "parking_spot", "current_type", "max_power_w",
                           "access_mode", "registration_status", "new_password"]}),
        ("Reported by the station", {"fields": ["vendor", "model", "serial_number", "firmware_version", "iccid",
                                                "imsi", "meter_type", "meter_serial_number", "firmware_status",
                                                "firmware_status_at", "diagnostics_status",
                                                "diagnostics_status_at"]}),
        ("Connection", {"fields": ["is_connected", "last_seen_at", "last_heartbeat_at", "last_boot_at",
                                   "created_at"]}),
    ]
    inlines = [ConnectorInline, PermissionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("connectors")

    @admin.display(description="status")
    def live_status(self, obj: ChargingStation):
        connectors = list(obj.connectors.all())
        if not connectors:
            return "—"
        return "; ".join(connector_status_text(connector=c) for c in connectors)


@admin.register(Connector)
class ConnectorAdmin(OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["__str__", "connector_type", "max_power_w", "status", "power_w", "allocated_power_w", "status_at"]
    list_filter = ["status", "connector_type", "station__site"]
    search_fields = ["station__ocpp_id", "station__parking_spot"]
    autocomplete_fields = ["station"]
    list_select_related = ["station"]


@admin.register(StationPermission)
class StationPermissionAdmin(OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["station", "id_tag", "user", "valid_from", "valid_until"]
    list_filter = ["station__site"]
    search_fields = ["station__ocpp_id", "id_tag__uid", "user__username", "user__last_name"]
    autocomplete_fields = ["station", "id_tag", "user"]
    list_select_related = ["station", "id_tag", "user"]
