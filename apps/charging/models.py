from django.db import models

from apps.stations.models import ChargingStation, Connector
from apps.users.models import IdTag, User


class ChargingSession(models.Model):
    """One OCPP transaction. Its id is the OCPP transactionId. Energy is integer Wh; times are UTC and, for
    messages queued while the charger was offline, the charger's own timestamps (OCPP 1.6 §4.8)."""

    class State(models.TextChoices):
        ACTIVE = "active", "Charging"
        COMPLETED = "completed", "Completed"
        INTERRUPTED = "interrupted", "Interrupted (closed without StopTransaction)"

    class Anomaly(models.TextChoices):
        CLOSED_BY_BOOT = "closed_by_boot", "Closed by a BootNotification (power cut or reboot)"
        UNKNOWN_TRANSACTION_STOP = "unknown_transaction_stop", "StopTransaction for a transaction never issued"
        METER_BACKWARDS = "meter_backwards", "Meter went backwards (meter replaced or reset)"
        METER_JUMP = "meter_jump", "Implausible meter jump"
        STOP_BEFORE_START = "stop_before_start", "Stop time before start time"
        DUPLICATE_STOP = "duplicate_stop", "StopTransaction received twice"
        LATE_MESSAGE = "late_message", "Arrived late after an offline period"
        SUPERSEDED_BY_START = "superseded_by_start", "A new StartTransaction on the connector closed it"
        LATE_STOP_AFTER_BOOT = "late_stop_after_boot", "Real StopTransaction arrived after the boot closed it"

    # Anomalies that only inform (the session is billable as it is); every other code puts the session in the
    # "sessions needing attention" queue.
    INFORMATIONAL_ANOMALIES = frozenset({Anomaly.LATE_MESSAGE})

    station = models.ForeignKey(ChargingStation, on_delete=models.PROTECT, related_name="sessions")
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions")
    connector_number = models.PositiveSmallIntegerField()
    id_tag = models.ForeignKey(IdTag, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions")
    id_tag_uid = models.CharField("idTag as sent", max_length=20, blank=True)
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="charging_sessions")
    reservation_id = models.IntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    charging_ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When energy stopped flowing (the car was full); idle fees count from here.",
    )
    meter_start_wh = models.BigIntegerField()
    meter_stop_wh = models.BigIntegerField(null=True, blank=True)
    energy_wh = models.BigIntegerField("energy (Wh)", default=0,
                                       help_text="Billable energy; never negative, even when the meter was reset.")
    stop_reason = models.CharField(max_length=32, blank=True)
    id_tag_status = models.CharField(
        "idTagInfo status at start", max_length=16, default="Accepted",
        help_text="What evnet answered to StartTransaction (Accepted, Invalid, Blocked, Expired, ConcurrentTx).",
    )
    # Running state of the energy register (Energy.Active.Import.Register), kept by MeterValues.
    meter_last_wh = models.BigIntegerField("last meter reading (Wh)", null=True, blank=True)
    meter_last_at = models.DateTimeField(null=True, blank=True)
    anomalies = models.JSONField(default=list, blank=True)
    needs_attention = models.BooleanField(default=False, db_index=True)
    attention_resolved_at = models.DateTimeField(null=True, blank=True)
    attention_resolved_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                              related_name="+")
    attention_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # A retransmitted StartTransaction (same connector, idTag, meter and time) is the same session.
            models.UniqueConstraint(fields=["station", "connector_number", "id_tag_uid", "started_at", "meter_start_wh"],
                                    name="session_start_idempotent"),
            models.CheckConstraint(condition=models.Q(energy_wh__gte=0), name="session_energy_not_negative"),
        ]
        indexes = [
            models.Index(fields=["station", "state"]),
            models.Index(fields=["started_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.station.ocpp_id}/{self.connector_number}"


class MeterValue(models.Model):
    """One sampled value. Stored as an integer in the unit named by `unit`: Wh/varh for energy, W/var for power,
    % for SoC, mA for current, mV for voltage, m°C for temperature, mHz for frequency, rpm for fan speed.
    Values without a transaction (connector 0, clock-aligned) keep session empty."""

    # No single-column indexes on the two foreign keys: the (session, sampled_at) and (station, sampled_at) indexes
    # below start with them and serve the same lookups; every index costs each of the ~6 rows a MeterValues
    # message writes an insertion on the OCPP hot path.
    session = models.ForeignKey(ChargingSession, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="meter_values", db_index=False)
    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="meter_values",
                                db_index=False)
    connector_number = models.PositiveSmallIntegerField(default=0)
    sampled_at = models.DateTimeField()
    measurand = models.CharField(max_length=48, default="Energy.Active.Import.Register")
    phase = models.CharField(max_length=8, blank=True)
    location = models.CharField(max_length=8, blank=True)
    context = models.CharField(max_length=24, blank=True)
    unit = models.CharField(max_length=8, default="Wh")
    value = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["session", "sampled_at"], name="metervalue_session_time"),
            models.Index(fields=["station", "sampled_at"], name="metervalue_station_time"),
        ]

    def __str__(self) -> str:
        return f"{self.measurand}{'/' + self.phase if self.phase else ''} = {self.value} {self.unit}"


class SessionNeedingAttention(ChargingSession):
    """The clerk's queue: sessions with an anomaly nobody has resolved yet (admin "Sessions needing attention")."""

    class Meta:
        proxy = True
        verbose_name = "session needing attention"
        verbose_name_plural = "sessions needing attention"
