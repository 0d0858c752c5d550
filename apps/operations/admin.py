"""Back-office of station operations: commands and answers, firmware, diagnostics, reservations, local lists,
connectivity; and the command actions and monitoring fields added to the charging-station admin."""
from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.organizations.admin_scoping import OrganizationScopedAdmin
from apps.stations.models import ChargingStation

from .admin_actions import STATION_ACTIONS
from .models import (CommandRecord, DiagnosticsRequest, FirmwareImage, Reservation, StationConnectivityEvent,
                     StationLocalList)
from .selectors import station_command_list, station_diagnostics_list, station_live_status, station_uptime
from .services.files import firmware_image_prepare
from .services.station_commands import firmware_download_url


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    """Records written by services only: viewable (scoped), never added, edited or deleted by hand."""

    organization_path = "station__site__organization"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CommandRecord)
class CommandRecordAdmin(ReadOnlyScopedAdmin):
    list_display = ["requested_at", "station", "action", "outcome", "answer_status", "requested_by", "answered_at"]
    list_filter = ["outcome", "action", "station__site"]
    search_fields = ["station__ocpp_id", "action", "request_id"]
    list_select_related = ["station", "requested_by"]
    date_hierarchy = "requested_at"
    fields = ["station", "action", "payload", "requested_by", "requested_at", "outcome", "answered_at", "response",
              "request_id"]
    readonly_fields = fields


@admin.register(FirmwareImage)
class FirmwareImageAdmin(OrganizationScopedAdmin):
    organization_path = "organization"
    list_display = ["name", "version", "vendor", "model", "organization", "size_bytes", "uploaded_at"]
    list_filter = ["organization", "vendor"]
    search_fields = ["name", "version", "vendor", "model"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["download_url", "size_bytes", "sha256", "uploaded_by", "uploaded_at"]
    fields = ["organization", "name", "version", "vendor", "model", "file", *readonly_fields]

    @admin.display(description="download URL given to chargers")
    def download_url(self, obj: FirmwareImage):
        return firmware_download_url(firmware=obj) if obj.pk and obj.file else "—"

    def save_model(self, request, obj, form, change):
        firmware_image_prepare(firmware=obj, uploaded_by=request.user)
        super().save_model(request, obj, form, change)


@admin.register(DiagnosticsRequest)
class DiagnosticsRequestAdmin(ReadOnlyScopedAdmin):
    list_display = ["requested_at", "station", "state", "charger_reports", "download", "size_bytes", "uploaded_at",
                    "requested_by"]
    list_filter = ["station__site"]
    search_fields = ["station__ocpp_id", "announced_file_name"]
    list_select_related = ["station", "requested_by"]
    fields = ["station", "requested_by", "requested_at", "expires_at", "command", "announced_file_name", "download",
              "size_bytes", "content_type", "uploaded_at", "uploaded_from"]
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, obj: DiagnosticsRequest):
        if obj.uploaded_at:
            return "Received"
        return "Link expired" if obj.expires_at <= timezone.now() else "Waiting for the charger's upload"

    @admin.display(description="charger reports (DiagnosticsStatusNotification)")
    def charger_reports(self, obj: DiagnosticsRequest):
        status = getattr(obj.station, "diagnostics_status", "")
        at = getattr(obj.station, "diagnostics_status_at", None)
        return f"{status} at {at:%Y-%m-%d %H:%M} UTC" if status and at else (status or "—")

    @admin.display(description="file")
    def download(self, obj: DiagnosticsRequest):
        if not obj.file:
            return "—"
        url = reverse("admin:operations_diagnosticsrequest_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.file.name.rsplit("/", 1)[-1])

    def get_urls(self):
        return [path("<int:pk>/download/", self.admin_site.admin_view(self.download_view),
                     name="operations_diagnosticsrequest_download"), *super().get_urls()]

    def download_view(self, request, pk: int):
        # The scoped queryset: another organization's file is a 404, like every other page.
        obj = self.get_queryset(request).filter(pk=pk).first()
        if obj is None or not obj.file or not self.has_view_permission(request, obj):
            raise Http404("No such diagnostics file.")
        return FileResponse(obj.file.open("rb"), as_attachment=True, filename=obj.file.name.rsplit("/", 1)[-1])


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyScopedAdmin):
    list_display = ["id", "station", "connector_id", "id_tag_uid", "expires_at", "status", "cancelled_at"]
    list_filter = ["status", "station__site"]
    search_fields = ["station__ocpp_id", "id_tag_uid"]
    list_select_related = ["station"]


@admin.register(StationLocalList)
class StationLocalListAdmin(ReadOnlyScopedAdmin):
    list_display = ["station", "version", "card_count", "sent_at"]
    search_fields = ["station__ocpp_id"]
    list_select_related = ["station"]

    @admin.display(description="cards")
    def card_count(self, obj: StationLocalList):
        return len(obj.entries or {})


@admin.register(StationConnectivityEvent)
class StationConnectivityEventAdmin(ReadOnlyScopedAdmin):
    list_display = ["at", "station", "is_connected", "reason"]
    list_filter = ["is_connected", "station__site"]
    search_fields = ["station__ocpp_id"]
    list_select_related = ["station"]
    date_hierarchy = "at"


# --- The charging-station admin, with the command actions and the operations fields ---------------------------
# Operations sits above stations in the layering, so it extends whatever admin is registered for stations
# instead of the stations app importing operations.
_StationAdminBase = type(admin.site._registry[ChargingStation])
admin.site.unregister(ChargingStation)

# Fields another app may add to ChargingStation for the charger's own firmware/diagnostics status notifications.
_STATUS_FIELDS = ("firmware_status", "firmware_status_at", "diagnostics_status", "diagnostics_status_at")


@admin.register(ChargingStation)
class StationOperationsAdmin(_StationAdminBase):
    actions = [*_StationAdminBase.actions, *STATION_ACTIONS]

    def get_readonly_fields(self, request, obj=None):
        base = list(super().get_readonly_fields(request, obj))
        return [*base, *(name for name in self._operations_fields() if name not in base)]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            shown = {name for _, options in fieldsets for name in options.get("fields", ())}
            fieldsets.append(("Operations", {"fields": [n for n in self._operations_fields() if n not in shown]}))
        return fieldsets

    def _operations_fields(self) -> list[str]:
        status = [name for name in _STATUS_FIELDS if any(f.name == name for f in ChargingStation._meta.fields)]
        return ["live_now", "uptime_7_days", "uptime_30_days", "local_list_version", *status, "recent_commands",
                "diagnostics_files"]

    @admin.display(description="live status")
    def live_now(self, obj: ChargingStation):
        return station_live_status(station=obj) if obj.pk else "—"

    def _uptime(self, obj, days):
        now = timezone.now()
        return str(station_uptime(station=obj, start_at=now - timedelta(days=days), end_at=now)) if obj.pk else "—"

    @admin.display(description="uptime, last 7 days")
    def uptime_7_days(self, obj):
        return self._uptime(obj, 7)

    @admin.display(description="uptime, last 30 days")
    def uptime_30_days(self, obj):
        return self._uptime(obj, 30)

    @admin.display(description="local list version")
    def local_list_version(self, obj):
        local = StationLocalList.objects.filter(station=obj).first() if obj.pk else None
        return f"v{local.version}, {len(local.entries)} cards, sent {local.sent_at:%Y-%m-%d %H:%M} UTC" if (
            local and local.sent_at) else "never sent"

    @admin.display(description="recent commands")
    def recent_commands(self, obj):
        records = list(station_command_list(station=obj)[:10]) if obj.pk else []
        if not records:
            return "none"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (f"{r.requested_at:%Y-%m-%d %H:%M:%S}", r.action, r.answer_status, r.requested_by or "") for r in records))
        url = reverse("admin:operations_commandrecord_changelist") + f"?station__id__exact={obj.pk}"
        return format_html('<table><tr><th>sent (UTC)</th><th>command</th><th>answer</th><th>by</th></tr>{}</table>'
                           '<a href="{}">all commands</a>', rows, url)

    @admin.display(description="diagnostics files")
    def diagnostics_files(self, obj):
        requests = list(station_diagnostics_list(station=obj)[:5]) if obj.pk else []
        if not requests:
            return "none"
        return format_html_join(format_html("<br>"), "{}: {}", (
            (f"{d.requested_at:%Y-%m-%d %H:%M}", f"{d.size_bytes} bytes received" if d.uploaded_at
             else "waiting for upload") for d in requests))
