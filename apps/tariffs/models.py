"""Tariffs and retailer time-of-use calendars.

A Tariff belongs to an organization and has immutable-once-used TariffVersions (the OCPI 2.2.1 Tariff JSON, the
currency, the VAT rate and the validity dates); TariffAssignments attach it to sites or stations, per price group;
one tariff per organization can be its default. TouCalendars (with their TouWindows) are shared reference data per
distributor/retailer, referenced by code from a version's `evnet_tou_calendar`."""
from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.organizations.models import Organization
from apps.sites.models import Site
from apps.stations.models import ChargingStation

from .engine.calendar import CalendarSpec, Window, hhmm_to_minute

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def validate_hhmm(value: str) -> None:
    if not _HHMM.match(value or ""):
        raise ValidationError(f"“{value}” is not a local time HH:MM (00:00–24:00).")


class TouCalendar(models.Model):
    """A retailer's / distributor's time-of-use periods (ERSE cycles, tarifa branca…), editable in the admin."""

    class SeasonRule(models.TextChoices):
        NONE = "none", "One season all year"
        EU_LEGAL_TIME = "eu_legal_time", "Summer/winter with the EU legal-time change (last Sundays of Mar/Oct)"

    class DayType(models.TextChoices):
        WEEKDAY = "WEEKDAY", "Weekday"
        SATURDAY = "SATURDAY", "Saturday"
        SUNDAY = "SUNDAY", "Sunday"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    distributor = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2, choices=Organization.Country.choices)
    season_rule = models.CharField(max_length=16, choices=SeasonRule.choices, default=SeasonRule.NONE)
    holiday_country = models.CharField(max_length=2, blank=True,
                                       help_text="National holidays of this country (holidays package)…")
    holiday_subdiv = models.CharField(max_length=10, blank=True, help_text="…and optionally this subdivision.")
    holiday_day_type = models.CharField(max_length=8, choices=DayType.choices, blank=True,
                                        help_text="A holiday is priced as this day type (blank: as its weekday).")
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "code"]
        verbose_name = "time-of-use calendar"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def spec(self) -> CalendarSpec:
        """The validated engine calendar (raises InvalidCalendar on gaps/overlaps)."""
        windows = [Window(w.season, w.day_type, hhmm_to_minute(w.start), hhmm_to_minute(w.end, allow_24=True),
                          w.period) for w in self.windows.all()]
        return CalendarSpec(code=self.code, name=self.name, distributor=self.distributor, country=self.country,
                            season_rule=self.season_rule, holiday_country=self.holiday_country or None,
                            holiday_subdiv=self.holiday_subdiv or None,
                            holiday_day_type=self.holiday_day_type or None, windows=windows)


class TouWindow(models.Model):
    """One local-time window of a calendar: [start, end) on a season and day type is `period`."""

    class Season(models.TextChoices):
        ALL = "ALL", "All year"
        SUMMER = "SUMMER", "Summer"
        WINTER = "WINTER", "Winter"

    class DayType(models.TextChoices):
        ALL = "ALL", "Every day"
        WEEKDAY = "WEEKDAY", "Weekday"
        SATURDAY = "SATURDAY", "Saturday"
        SUNDAY = "SUNDAY", "Sunday"

    calendar = models.ForeignKey(TouCalendar, on_delete=models.CASCADE, related_name="windows")
    season = models.CharField(max_length=6, choices=Season.choices, default=Season.ALL)
    day_type = models.CharField(max_length=8, choices=DayType.choices, default=DayType.ALL)
    start = models.CharField(max_length=5, validators=[validate_hhmm], help_text="HH:MM local")
    end = models.CharField(max_length=5, validators=[validate_hhmm], help_text="HH:MM local, 24:00 = midnight")
    period = models.CharField(max_length=40)

    class Meta:
        ordering = ["calendar", "season", "day_type", "start"]
        verbose_name = "time-of-use window"

    def __str__(self) -> str:
        return f"{self.season}/{self.day_type} {self.start}–{self.end} {self.period}"


class Tariff(models.Model):
    """A named price list of an organization; its prices live in versions."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="tariffs")
    code = models.SlugField(max_length=36, help_text="OCPI tariff id.")
    name = models.CharField(max_length=200)
    is_organization_default = models.BooleanField(
        default=False, help_text="Applies to every station of the organization that has no assignment.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="tariff_code_unique_per_organization"),
            models.UniqueConstraint(fields=["organization"], condition=Q(is_organization_default=True),
                                    name="tariff_one_default_per_organization",
                                    violation_error_message="The organization already has a default tariff."),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TariffVersion(models.Model):
    """One immutable-once-used edition of a tariff. `ocpi` is the OCPI 2.2.1 Tariff object (with evnet_*
    extensions; `evnet_tou_calendar` names `calendar` by code). The version in force at a session's start prices
    it: the highest `number` with valid_from_at ≤ start < valid_until_at."""

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    valid_from_at = models.DateTimeField()
    valid_until_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=Site.Currency.choices)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2,
                                   validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
                                   help_text="Percent; PT 23, BR per the operator's tax regime.")
    calendar = models.ForeignKey(TouCalendar, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="tariff_versions")
    ocpi = models.JSONField("OCPI 2.2.1 tariff")
    notes = models.CharField(max_length=255, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True, editable=False,
                                     help_text="Set when a session was priced with this version.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tariff", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tariff", "number"], name="tariff_version_number_unique"),
            models.CheckConstraint(condition=Q(valid_until_at__isnull=True) | Q(valid_until_at__gt=models.F(
                "valid_from_at")), name="tariff_version_valid_range",
                violation_error_message="A version must end after it starts."),
        ]

    def __str__(self) -> str:
        return f"{self.tariff.code} v{self.number}"

    @property
    def is_locked(self) -> bool:
        """True once any session priced with it (locked_at, or any row of a higher app pointing at it)."""
        if self.locked_at is not None:
            return True
        if self.pk is None:
            return False
        for rel in self._meta.related_objects:
            if rel.one_to_many or rel.one_to_one:
                if rel.related_model._default_manager.filter(**{rel.field.name: self.pk}).exists():
                    return True
        return False


class TariffAssignment(models.Model):
    """Attaches a tariff to a site or a station, for one price group (blank = every group)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="assignments")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="tariff_assignments")
    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="tariff_assignments")
    user_group = models.SlugField("price group", max_length=40, blank=True,
                                  help_text="IdTag price group (public, resident, fleet…); blank = every group.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tariff", "site", "station", "user_group"]
        constraints = [
            models.CheckConstraint(condition=(Q(site__isnull=False) & Q(station__isnull=True))
                                   | (Q(site__isnull=True) & Q(station__isnull=False)),
                                   name="tariff_assignment_site_xor_station",
                                   violation_error_message="Assign the tariff to a site or to a station."),
            models.UniqueConstraint(fields=["site", "user_group"], condition=Q(site__isnull=False),
                                    name="tariff_assignment_one_per_site_group",
                                    violation_error_message="The site already has a tariff for this price group."),
            models.UniqueConstraint(fields=["station", "user_group"], condition=Q(station__isnull=False),
                                    name="tariff_assignment_one_per_station_group",
                                    violation_error_message="The station already has a tariff for this price "
                                                            "group."),
        ]

    def __str__(self) -> str:
        target = self.station or self.site
        return f"{self.tariff.code} → {target} ({self.user_group or 'every group'})"
