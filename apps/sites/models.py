import zoneinfo
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.organizations.models import Organization


def validate_time_zone(value: str) -> None:
    if not value:
        raise ValidationError("A site needs a time zone (IANA name such as Europe/Lisbon): tariff periods "
                              "are evaluated in it.")
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. Europe/Lisbon, America/Sao_Paulo).")


class Site(models.Model):
    """A place with chargers: a condominium garage, a car park, a depot. Tariff periods run in its time zone."""

    class Currency(models.TextChoices):
        EUR = "EUR", "Euro"
        BRL = "BRL", "Brazilian real"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=255)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, choices=Organization.Country.choices)
    latitude = models.DecimalField(max_digits=9, decimal_places=6,
                                   validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))])
    longitude = models.DecimalField(max_digits=9, decimal_places=6,
                                    validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))])
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone],
        help_text="IANA time zone, e.g. Europe/Lisbon or America/Sao_Paulo.",
        error_messages={"blank": "A site needs a time zone (IANA name such as Europe/Lisbon): tariff periods are "
                                 "evaluated in it."},
    )
    currency = models.CharField(max_length=3, choices=Currency.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # The driver API's station search prefilters on a bounding box of these before the exact distance.
        indexes = [models.Index(fields=["latitude", "longitude"], name="site_coordinates")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(time_zone=""), name="site_time_zone_required",
                                   violation_error_message="A site needs a time zone."),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)
