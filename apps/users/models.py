from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper

from apps.organizations.models import Organization


class User(AbstractUser):
    """A person: driver, fleet manager, BPO clerk or operator staff. Roles live in organizations.Membership."""

    phone = models.CharField(max_length=32, blank=True)
    preferred_language = models.CharField(max_length=8, default="pt", choices=[("pt", "Português"), ("en", "English")])

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username


# OCPP 1.6 idToken: CiString20Type, case-insensitive. We keep the uid as printed and compare upper-cased.
id_tag_uid_validator = RegexValidator(
    r"^[0-9A-Za-z\-_.:*#]{1,20}$",
    "An RFID uid is 1 to 20 characters: letters, digits and - _ . : * # (OCPP 1.6 idToken).",
)


class IdTag(models.Model):
    """An RFID card or other idTag a driver presents at a charger."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked (lost or withdrawn)"

    uid = models.CharField("uid", max_length=20, validators=[id_tag_uid_validator])
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="id_tags")
    owner = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="id_tags")
    label = models.CharField(max_length=100, blank=True, help_text="Printed number or a name for the card.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(
        "group (OCPP parentIdTag)", max_length=20, blank=True,
        help_text="Cards sharing a group may stop each other's transactions (OCPP 1.6 §3.5.3).",
    )
    user_group = models.SlugField(
        "price group", max_length=40, default="public",
        help_text="Which tariff prices apply: e.g. public, resident, fleet.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "RFID card / idTag"
        verbose_name_plural = "RFID cards / idTags"
        ordering = ["uid"]
        constraints = [
            models.UniqueConstraint(Upper("uid"), name="idtag_uid_unique_ci",
                                    violation_error_message="A card with this uid already exists."),
        ]

    def __str__(self) -> str:
        return f"{self.uid} ({self.label})" if self.label else self.uid


class Vehicle(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="vehicles")
    owner = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="vehicles")
    make = models.CharField(max_length=60)
    model = models.CharField(max_length=60)
    license_plate = models.CharField(max_length=16, blank=True)
    battery_capacity_wh = models.PositiveIntegerField(null=True, blank=True)
    id_tag = models.ForeignKey(IdTag, on_delete=models.SET_NULL, null=True, blank=True, related_name="vehicles",
                               help_text="The card usually used with this vehicle.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["make", "model", "license_plate"]

    def __str__(self) -> str:
        return f"{self.make} {self.model} {self.license_plate}".strip()
