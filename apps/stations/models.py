from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from apps.circuits.models import Circuit
from apps.sites.models import Site
from apps.users.models import IdTag, User

# The station id is the last segment of ws://HOST/ocpp/<id>: keep it URL-safe (OCPP 1.6 chargeBoxIdentity ≤ 48).
ocpp_id_validator = RegexValidator(
    r"^[A-Za-z0-9\-_.:]{1,48}$",
    "An OCPP identity is 1 to 48 characters: letters, digits and - _ . : (it is part of the station's URL).",
)


class ChargingStation(models.Model):
    """A charge point as OCPP knows it (chargeBoxIdentity), at a parking spot on a circuit of a site."""

    class CurrentType(models.TextChoices):
        AC = "AC", "AC"
        DC = "DC", "DC"
        HPC = "HPC", "HPC (high-power DC)"

    class RegistrationStatus(models.TextChoices):
        ACCEPTED = "Accepted", "Accepted"
        PENDING = "Pending", "Pending approval"
        REJECTED = "Rejected", "Rejected"

    class AccessMode(models.TextChoices):
        ORGANIZATION = "organization", "Cards of the station's organization"
        RESTRICTED = "restricted", "Only cards and people with a permission for this station"
        PUBLIC = "public", "Any active card of evnet"

    ocpp_id = models.CharField("OCPP identity", max_length=48, validators=[ocpp_id_validator])
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="stations")
    circuit = models.ForeignKey(Circuit, on_delete=models.SET_NULL, null=True, blank=True, related_name="stations")
    parking_spot = models.CharField(max_length=60, blank=True, help_text="e.g. Lugar n°3049")
    current_type = models.CharField(max_length=3, choices=CurrentType.choices, default=CurrentType.AC)
    max_power_w = models.PositiveIntegerField(
        "max power (W)", null=True, blank=True,
        validators=[MinValueValidator(1, "The power must be a positive number of watts.")],
    )
    access_mode = models.CharField(max_length=16, choices=AccessMode.choices, default=AccessMode.ORGANIZATION)
    password_hash = models.CharField(max_length=128, blank=True,
                                     help_text="HTTP Basic password for OCPP security profiles 1 and 2 (hashed).")
    # A keyed digest (HMAC with SECRET_KEY) of this hash and the password, written after the first slow check
    # succeeds: later connections, on any process, are verified in microseconds instead of one PBKDF2 each (a
    # restart herd of 10,000 chargers would otherwise cost every process about an hour of CPU). It is bound to the
    # hash, so a new password voids it; it cannot be checked offline without SECRET_KEY.
    password_verifier = models.CharField(max_length=64, blank=True, editable=False)
    registration_status = models.CharField(max_length=16, choices=RegistrationStatus.choices,
                                           default=RegistrationStatus.ACCEPTED)
    # Reported by the station in BootNotification.
    vendor = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=20, blank=True)
    serial_number = models.CharField(max_length=25, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    iccid = models.CharField(max_length=20, blank=True)
    imsi = models.CharField(max_length=20, blank=True)
    meter_type = models.CharField(max_length=25, blank=True)
    meter_serial_number = models.CharField(max_length=25, blank=True)
    # Live state.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_boot_at = models.DateTimeField(null=True, blank=True)
    is_connected = models.BooleanField(default=False)
    # The channel name of the consumer holding the socket: a replaced connection clears is_connected only if it
    # is still the current one (no ghost "offline" after a reconnect).
    ocpp_channel = models.CharField(max_length=120, blank=True, editable=False)
    firmware_status = models.CharField(max_length=32, blank=True)
    firmware_status_at = models.DateTimeField(null=True, blank=True)
    diagnostics_status = models.CharField(max_length=32, blank=True)
    diagnostics_status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site__name", "parking_spot", "ocpp_id"]
        constraints = [
            models.UniqueConstraint(Lower("ocpp_id"), name="station_ocpp_id_unique_ci",
                                    violation_error_message="A station with this OCPP identity already exists."),
        ]

    def __str__(self) -> str:
        return f"{self.parking_spot} · {self.ocpp_id}" if self.parking_spot else self.ocpp_id

    def set_password(self, raw_password: str | None) -> None:
        self.password_hash = make_password(raw_password) if raw_password else ""
        self.password_verifier = ""

    def check_password(self, raw_password: str) -> bool:
        return bool(self.password_hash) and check_password(raw_password, self.password_hash)

    def clean(self) -> None:
        if self.circuit_id and self.site_id and self.circuit.site_id != self.site_id:
            raise ValidationError({"circuit": "This circuit belongs to another site."})


class Connector(models.Model):
    """A connector (OCPP 1.6 connectorId ≥ 1; connector 0 is the station itself) and its live status."""

    class ConnectorType(models.TextChoices):
        TYPE2 = "Type2", "Type 2 (Mennekes)"
        TYPE1 = "Type1", "Type 1 (J1772)"
        CCS2 = "CCS2", "CCS Combo 2"
        CCS1 = "CCS1", "CCS Combo 1"
        CHADEMO = "CHAdeMO", "CHAdeMO"
        GBT = "GBT", "GB/T"
        SCHUKO = "Schuko", "Schuko (domestic)"

    class Status(models.TextChoices):
        # OCPP 1.6 ChargePointStatus.
        AVAILABLE = "Available"
        PREPARING = "Preparing"
        CHARGING = "Charging"
        SUSPENDED_EVSE = "SuspendedEVSE"
        SUSPENDED_EV = "SuspendedEV"
        FINISHING = "Finishing"
        RESERVED = "Reserved"
        UNAVAILABLE = "Unavailable"
        FAULTED = "Faulted"
        UNKNOWN = "Unknown", "Unknown (never reported)"

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.PositiveSmallIntegerField(validators=[MinValueValidator(1, "Connectors are numbered from 1.")])
    connector_type = models.CharField(max_length=16, choices=ConnectorType.choices, default=ConnectorType.TYPE2)
    max_power_w = models.PositiveIntegerField(
        "max power (W)", validators=[MinValueValidator(1, "The power must be a positive number of watts.")],
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNKNOWN)
    error_code = models.CharField(max_length=32, blank=True)
    status_info = models.CharField(max_length=50, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    power_w = models.PositiveIntegerField("power now (W)", default=0)
    allocated_power_w = models.PositiveIntegerField("power allocated (W)", null=True, blank=True)

    class Meta:
        ordering = ["station", "connector_id"]
        constraints = [
            models.UniqueConstraint(fields=["station", "connector_id"], name="connector_unique_per_station",
                                    violation_error_message="This station already has a connector with this number."),
            models.CheckConstraint(condition=models.Q(connector_id__gte=1), name="connector_id_from_one"),
        ]

    def __str__(self) -> str:
        return f"{self.station.ocpp_id} #{self.connector_id}"


class StationPermission(models.Model):
    """Who may charge at a station (ChaZeMo "Permissões"): one card, or every card of one person."""

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="permissions")
    id_tag = models.ForeignKey(IdTag, on_delete=models.CASCADE, null=True, blank=True, related_name="permissions")
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="station_permissions")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["station", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(id_tag__isnull=False, user__isnull=True)
                           | models.Q(id_tag__isnull=True, user__isnull=False)),
                name="permission_card_xor_user",
                violation_error_message="A permission names either a card or a person, not both or neither.",
            ),
            models.UniqueConstraint(fields=["station", "id_tag"], name="permission_unique_card",
                                    condition=models.Q(id_tag__isnull=False)),
            models.UniqueConstraint(fields=["station", "user"], name="permission_unique_user",
                                    condition=models.Q(user__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.id_tag or self.user} may charge at {self.station.ocpp_id}"

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The permission must end after it starts."})


class StationStatusEvent(models.Model):
    """Status history of a station (connector 0) and its connectors, one row per StatusNotification: the
    evidence for uptime and for "when did it fault". `reported_at` is the charger's timestamp (OCPP 1.6 §4.9),
    `received_at` when evnet stored it."""

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="status_events")
    connector_number = models.PositiveSmallIntegerField(default=0, help_text="0 is the station itself.")
    status = models.CharField(max_length=16)
    error_code = models.CharField(max_length=32, blank=True)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    reported_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [models.Index(fields=["station", "connector_number", "reported_at"], name="status_event_time")]

    def __str__(self) -> str:
        return f"{self.station.ocpp_id}/{self.connector_number} {self.status}"
