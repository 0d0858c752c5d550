from django.conf import settings
from django.db import models

from apps.charging.models import ChargingSession
from apps.stations.models import ChargingStation
from apps.users.models import IdTag


class RemoteStart(models.Model):
    """A driver's request to start charging through the app (RemoteStartTransaction). The charger reports the
    transaction later in its own StartTransaction; until then the app polls this row, which resolves to the
    evnet session once that arrives (OCPP 1.6 §5.11: RemoteStartTransaction's answer carries no transactionId)."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent, waiting for the charger"
        ACCEPTED = "accepted", "Accepted by the charger, waiting for its StartTransaction"
        STARTED = "started", "Charging (session known)"
        REJECTED = "rejected", "Rejected by the charger"
        FAILED = "failed", "Not delivered (offline or no answer)"
        EXPIRED = "expired", "Accepted, but the charger never started (car not plugged in?)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="remote_starts")
    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="remote_starts")
    connector_number = models.PositiveSmallIntegerField()
    id_tag = models.ForeignKey(IdTag, on_delete=models.CASCADE, related_name="remote_starts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENT)
    detail = models.CharField(max_length=255, blank=True)
    session = models.ForeignKey(ChargingSession, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="remote_starts")
    requested_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["user", "requested_at"])]

    def __str__(self) -> str:
        return f"start #{self.pk} {self.station.ocpp_id}/{self.connector_number} ({self.status})"
