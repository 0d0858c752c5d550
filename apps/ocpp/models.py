from django.db import models

from apps.stations.models import ChargingStation


class OcppMessage(models.Model):
    """The raw OCPP message log of a station: every frame received and sent, written through the group-commit
    writer with the data it carried. Kept EVNET_OCPP_MESSAGE_LOG_DAYS days (`ocpp_message_log_prune`)."""

    class Direction(models.TextChoices):
        IN = "in", "Station → evnet"
        OUT = "out", "evnet → station"

    # Served by the (station, created_at) index below; no single-column index to update on every logged frame.
    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="ocpp_messages",
                                db_index=False)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="2 CALL, 3 CALLRESULT, 4 CALLERROR; empty when the frame was unreadable.",
    )
    action = models.CharField(max_length=48, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True)
    raw = models.TextField(blank=True, help_text="The frame as received when it was not valid OCPP JSON.")
    error_code = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "OCPP message"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["station", "created_at"], name="ocpp_message_station_time"),
            models.Index(fields=["created_at"], name="ocpp_message_time"),
        ]

    def __str__(self) -> str:
        arrow = "→" if self.direction == self.Direction.IN else "←"
        return f"{self.station_id} {arrow} {self.action or self.message_type} {self.message_id}"
