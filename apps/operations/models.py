"""Operations on stations: commands sent to chargers and their answers, firmware images offered to chargers,
diagnostics files uploaded by chargers, reservations, local authorization lists and connectivity history."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.organizations.models import Organization
from apps.stations.models import ChargingStation


class CommandRecord(models.Model):
    """One command evnet sent (or tried to send) to a charger, and what came back. Written by
    services.command_send only; read-only in the admin."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for the answer"
        ANSWERED = "answered", "Answered (CALLRESULT)"
        CALL_ERROR = "call_error", "Refused (CALLERROR)"
        TIMEOUT = "timeout", "No answer in time"
        OFFLINE = "offline", "Station offline, not sent"

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="command_records")
    request_id = models.CharField(max_length=36, unique=True)
    action = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    requested_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    response = models.JSONField(null=True, blank=True,
                                help_text="The CALLRESULT payload, or the error {code, description, details}.")

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["station", "-requested_at"])]

    def __str__(self) -> str:
        return f"{self.action} → {self.station.ocpp_id} ({self.get_outcome_display()})"

    @property
    def answer_status(self) -> str:
        """The `status` field most OCPP 1.6 answers carry (Accepted, Rejected, …), or the outcome."""
        if self.outcome == self.Outcome.ANSWERED and isinstance(self.response, dict):
            return str(self.response.get("status", "answered"))
        if self.outcome == self.Outcome.CALL_ERROR and isinstance(self.response, dict):
            return f"CALLERROR {self.response.get('code', '')}".strip()
        return self.get_outcome_display()


def _firmware_path(instance: "FirmwareImage", filename: str) -> str:
    return f"firmware/{instance.download_token}/{filename}"


class FirmwareImage(models.Model):
    """A firmware file uploaded by staff and offered to chargers by UpdateFirmware at an unguessable URL."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="firmware_images")
    name = models.CharField(max_length=100, help_text="e.g. Zaptec Go 2.3.1")
    version = models.CharField(max_length=50)
    vendor = models.CharField(max_length=20, blank=True, help_text="The chargers' vendor this firmware is for.")
    model = models.CharField(max_length=20, blank=True)
    file = models.FileField(upload_to=_firmware_path, max_length=255)
    download_token = models.CharField(max_length=43, unique=True, editable=False)
    size_bytes = models.BigIntegerField(default=0, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", editable=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.version})"


def _diagnostics_path(instance: "DiagnosticsRequest", filename: str) -> str:
    return f"diagnostics/{instance.station.ocpp_id}/{instance.pk}-{filename}"


class DiagnosticsRequest(models.Model):
    """A GetDiagnostics request: the one-time upload link given to the charger and, once it has uploaded, the file."""

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="diagnostics_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    command = models.ForeignKey(CommandRecord, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    announced_file_name = models.CharField(max_length=255, blank=True,
                                           help_text="The fileName the charger announced in its answer.")
    file = models.FileField(upload_to=_diagnostics_path, max_length=255, null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_from = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "diagnostics file"

    def __str__(self) -> str:
        state = f"{self.size_bytes} bytes" if self.uploaded_at else "waiting for upload"
        return f"Diagnostics of {self.station.ocpp_id} ({state})"


class Reservation(models.Model):
    """A ReserveNow sent to a charger. Its primary key is the OCPP reservationId."""

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="reservations")
    connector_id = models.PositiveSmallIntegerField(help_text="0 reserves any connector of the station.")
    id_tag_uid = models.CharField(max_length=20)
    expires_at = models.DateTimeField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=20, blank=True,
                              help_text="The charger's answer: Accepted, Faulted, Occupied, Rejected, Unavailable.")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Reservation {self.pk} of {self.station.ocpp_id} #{self.connector_id} for {self.id_tag_uid}"


class StationLocalList(models.Model):
    """The local authorization list a station holds, as evnet last sent it (OCPP 1.6 Local Auth List
    Management): its version and its entries, so the next SendLocalList can be differential."""

    station = models.OneToOneField(ChargingStation, on_delete=models.CASCADE, related_name="local_list")
    version = models.PositiveIntegerField(default=0)
    entries = models.JSONField(default=dict, help_text="idTag → idTagInfo as the station has it.")
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Local list v{self.version} of {self.station.ocpp_id} ({len(self.entries)} cards)"


class StationConnectivityEvent(models.Model):
    """A change of a station's connection as seen by the monitoring sweep (online → offline and back)."""

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="connectivity_events")
    is_connected = models.BooleanField()
    at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["station", "at", "id"]
        indexes = [models.Index(fields=["station", "at"])]

    def __str__(self) -> str:
        return f"{self.station.ocpp_id} {'online' if self.is_connected else 'offline'} at {self.at:%Y-%m-%d %H:%M}"
