from django.contrib import admin

from apps.organizations.admin_scoping import OrganizationScopedAdmin
from apps.stations.models import StationStatusEvent

from .models import OcppMessage


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OcppMessage)
class OcppMessageAdmin(ReadOnly, OrganizationScopedAdmin):
    """The raw OCPP log per station (kept EVNET_OCPP_MESSAGE_LOG_DAYS days)."""

    organization_path = "station__site__organization"
    list_display = ["created_at", "station", "direction", "message_type", "action", "message_id", "error_code",
                    "payload_short"]
    list_filter = ["direction", "message_type", "action", "error_code", "station__site"]
    search_fields = ["station__ocpp_id", "message_id", "action"]
    list_select_related = ["station"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in OcppMessage._meta.fields]

    @admin.display(description="payload")
    def payload_short(self, obj: OcppMessage) -> str:
        text = str(obj.payload) if obj.payload is not None else obj.raw
        return text if len(text) <= 160 else text[:157] + "…"


@admin.register(StationStatusEvent)
class StationStatusEventAdmin(ReadOnly, OrganizationScopedAdmin):
    """Status history reported by StatusNotification (uptime evidence)."""

    organization_path = "station__site__organization"
    list_display = ["reported_at", "station", "connector_number", "status", "error_code", "info", "received_at"]
    list_filter = ["status", "error_code", "station__site"]
    search_fields = ["station__ocpp_id"]
    list_select_related = ["station"]
    date_hierarchy = "reported_at"
    show_full_result_count = False
