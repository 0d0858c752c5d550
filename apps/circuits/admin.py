from django.contrib import admin

from apps.organizations.admin_scoping import OrganizationScopedAdmin, ScopedInline
from apps.stations.models import ChargingStation

from .models import Circuit


class StationInline(ScopedInline, admin.TabularInline):
    model = ChargingStation
    extra = 0
    fields = ["parking_spot", "ocpp_id", "current_type", "max_power_w", "registration_status", "is_connected"]
    readonly_fields = ["is_connected"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        # A station needs its site and password: add it from the station page or register_station.
        return False


@admin.register(Circuit)
class CircuitAdmin(OrganizationScopedAdmin):
    organization_path = "site__organization"
    list_display = ["name", "site", "parent", "phases", "max_current_a", "max_power_w", "limit_kw"]
    list_filter = ["site", "phases"]
    search_fields = ["name", "site__name"]
    autocomplete_fields = ["site", "parent"]
    list_select_related = ["site", "parent"]
    inlines = [StationInline]

    @admin.display(description="limit (kW)")
    def limit_kw(self, obj: Circuit):
        return f"{obj.limit_w / 1000:.1f}" if obj.limit_w else "—"
