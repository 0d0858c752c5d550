"""Dynamic prices after the ANEEL R&D paper (seed 002, §2.3 and §2.5):

    P = C_fixed_j + max(P_min_j, C_var_j,t × DM_j,t) × e_charge + F_idle × D_idle
    C_var_j,t = T_energy_t + M_j + L_j
    DM_j,t = 1 + (α·F_load,t + β·F_occ,j,t − γ·(F_PV_local + F_PV_global))

The inputs are data: the utility's load curve per feeder, PV curves (global per utility, local per site), the
energy tariff by hour, and each station's occupancy (learned from its own sessions). Hourly curves hold 24 values
indexed by the local wall-clock hour 0–23 of the site; prices are per unit in the site's currency (Decimal)."""
from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.organizations.models import Organization
from apps.sites.models import Site
from apps.stations.models import ChargingStation

HOURS = 24
ZERO = Decimal("0")


class DayType(models.TextChoices):
    WEEKDAY = "weekday", "Weekday"
    SATURDAY = "saturday", "Saturday"
    SUNDAY = "sunday", "Sunday"


class Season(models.TextChoices):
    ALL = "all", "All year"
    SUMMER = "summer", "Summer"
    WINTER = "winter", "Winter"


def validate_months(value: str) -> None:
    try:
        months = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationError("Write the summer months as numbers 1–12 separated by commas, e.g. 12,1,2,3.")
    if any(m < 1 or m > 12 for m in months):
        raise ValidationError("Months are numbered 1 (January) to 12 (December).")


def validate_hourly(values, *, name: str, minimum: Decimal | None = ZERO) -> None:
    if not isinstance(values, list) or len(values) != HOURS:
        raise ValidationError({name: f"Give exactly {HOURS} hourly values (hour 0 to 23)."})
    for hour, value in enumerate(values):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            raise ValidationError({name: f"Hour {hour}: “{value}” is not a number."})
        if not number.is_finite() or (minimum is not None and number < minimum):
            raise ValidationError({name: f"Hour {hour}: {value} is not allowed (must be ≥ {minimum})."})


class Utility(models.Model):
    """A distribution utility (distribuidora) whose load curve, PV and energy tariff steer the price."""

    name = models.CharField(max_length=120, unique=True)
    country = models.CharField(max_length=2, choices=Organization.Country.choices)
    summer_months = models.CharField(
        max_length=40, blank=True, default="", validators=[validate_months],
        help_text="Months whose curves are the “summer” ones, e.g. 12,1,2,3. Empty: only “all year” curves apply.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "utilities"

    def __str__(self) -> str:
        return self.name

    def season_of(self, month: int) -> str:
        months = {int(part) for part in self.summer_months.split(",") if part.strip()}
        if not months:
            return Season.ALL
        return Season.SUMMER if month in months else Season.WINTER


class Feeder(models.Model):
    """A feeder (alimentador) of a utility; the stations on it follow its load curve."""

    utility = models.ForeignKey(Utility, on_delete=models.CASCADE, related_name="feeders")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=120, blank=True)
    base_kw = models.DecimalField(
        "base power (kW)", max_digits=14, decimal_places=3, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text="Base of the per-unit load curve. Curves imported in kW are divided by it (by the curve's own "
                  "maximum when empty); curves imported in p.u. are multiplied by it to get kW.",
    )

    class Meta:
        ordering = ["utility__name", "code"]
        constraints = [models.UniqueConstraint(fields=["utility", "code"], name="feeder_code_unique_per_utility")]

    def __str__(self) -> str:
        return f"{self.utility} · {self.code}"


class LoadCurve(models.Model):
    """The feeder's daily load curve for one day type and season: 24 values in p.u. (and kW when known)."""

    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="load_curves")
    season = models.CharField(max_length=8, choices=Season.choices, default=Season.ALL)
    day_type = models.CharField(max_length=8, choices=DayType.choices)
    load_pu = models.JSONField(help_text="24 values in p.u. (strings of decimals), hour 0 to 23 local time.")
    load_kw = models.JSONField(null=True, blank=True, help_text="24 values in kW, when the base is known.")
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["feeder", "season", "day_type"]
        constraints = [models.UniqueConstraint(fields=["feeder", "season", "day_type"],
                                               name="load_curve_unique")]

    def __str__(self) -> str:
        return f"{self.feeder} {self.get_season_display()} {self.get_day_type_display()}"

    def clean(self) -> None:
        validate_hourly(self.load_pu, name="load_pu")
        if self.load_kw is not None:
            validate_hourly(self.load_kw, name="load_kw")


class PvCurve(models.Model):
    """Expected PV generation (kW) per local hour: global for a utility's concession area, or local for a site."""

    class Source(models.TextChoices):
        CSV = "csv", "Imported curve (kW)"
        IRRADIANCE = "irradiance", "Computed from irradiance: kW = kWp × GHI / 1000 W/m² × PR"

    utility = models.ForeignKey(Utility, on_delete=models.CASCADE, null=True, blank=True, related_name="pv_curves")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="pv_curves")
    season = models.CharField(max_length=8, choices=Season.choices, default=Season.ALL)
    power_kw = models.JSONField(help_text="24 values in kW, hour 0 to 23 local time.")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.CSV)
    peak_kwp = models.DecimalField("installed peak power (kWp)", max_digits=14, decimal_places=3, null=True,
                                   blank=True)
    performance_ratio = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["utility", "site", "season"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(utility__isnull=False, site__isnull=True)
                           | models.Q(utility__isnull=True, site__isnull=False)),
                name="pv_curve_utility_xor_site",
                violation_error_message="A PV curve is either global (a utility) or local (a site).",
            ),
            models.UniqueConstraint(fields=["utility", "season"], condition=models.Q(utility__isnull=False),
                                    name="pv_curve_unique_global"),
            models.UniqueConstraint(fields=["site", "season"], condition=models.Q(site__isnull=False),
                                    name="pv_curve_unique_local"),
        ]

    def __str__(self) -> str:
        owner = f"global · {self.utility}" if self.utility_id else f"local · {self.site}"
        return f"PV {owner} {self.get_season_display()}"

    def clean(self) -> None:
        validate_hourly(self.power_kw, name="power_kw")


class EnergyTariff(models.Model):
    """The utility's energy price T_energy,t per local hour for one day type (tarifa branca bands or flat)."""

    utility = models.ForeignKey(Utility, on_delete=models.CASCADE, related_name="energy_tariffs")
    day_type = models.CharField(max_length=8, choices=DayType.choices)
    price_per_kwh = models.JSONField(help_text="24 prices per kWh (strings of decimals), hour 0 to 23 local time.")
    periods = models.JSONField(help_text="24 period labels, e.g. fora_ponta / intermediario / ponta.")
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["utility", "day_type"]
        constraints = [models.UniqueConstraint(fields=["utility", "day_type"], name="energy_tariff_unique")]

    def __str__(self) -> str:
        return f"{self.utility} energy tariff {self.get_day_type_display()}"

    def clean(self) -> None:
        validate_hourly(self.price_per_kwh, name="price_per_kwh")


class StationPricing(models.Model):
    """The operator's coefficients for one station (paper eq. 1–4). Prices are in the site's currency."""

    class Mode(models.TextChoices):
        AT_START = "at_start", "Price in force when the session starts"
        HOURLY = "hourly", "Price of each hour the session runs"

    station = models.OneToOneField(ChargingStation, on_delete=models.CASCADE, related_name="dynamic_pricing")
    feeder = models.ForeignKey(Feeder, on_delete=models.PROTECT, related_name="stations")
    enabled = models.BooleanField(default=True, help_text="Off: no forecast is computed for this station.")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.AT_START)
    alpha = models.DecimalField("α (load curve weight)", max_digits=8, decimal_places=4, default=Decimal("0"),
                                validators=[MinValueValidator(Decimal("0"))])
    beta = models.DecimalField("β (occupancy weight)", max_digits=8, decimal_places=4, default=Decimal("0"),
                               validators=[MinValueValidator(Decimal("0"))])
    gamma = models.DecimalField("γ (PV weight)", max_digits=8, decimal_places=4, default=Decimal("0"),
                                validators=[MinValueValidator(Decimal("0"))])
    fixed_price = models.DecimalField("C_fixed = O&M per session", max_digits=19, decimal_places=4,
                                      default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    min_price_per_kwh = models.DecimalField("P_min per kWh", max_digits=19, decimal_places=4, default=Decimal("0"),
                                            validators=[MinValueValidator(Decimal("0"))])
    investment_per_kwh = models.DecimalField("M (investment per kWh)", max_digits=19, decimal_places=4,
                                             default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    profit_per_kwh = models.DecimalField("L (profit per kWh)", max_digits=19, decimal_places=4,
                                         default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    idle_fee_per_minute = models.DecimalField("F_idle per minute", max_digits=19, decimal_places=4,
                                              default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    occupancy_threshold = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.5"),
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("1"))],
        help_text="F_occ = 1 when the share of the station's connectors in use (expected, or live for the current "
                  "hour) reaches this value.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["station__ocpp_id"]
        verbose_name = "station dynamic pricing"
        verbose_name_plural = "station dynamic pricing"

    def __str__(self) -> str:
        return f"Dynamic pricing of {self.station.ocpp_id}"


class OccupancyDefault(models.Model):
    """An organization's expected occupancy per hour for stations without enough history of their own."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="occupancy_defaults")
    day_type = models.CharField(max_length=8, choices=DayType.choices)
    shares = models.JSONField(help_text="24 shares 0–1 of the connectors in use, hour 0 to 23 local time.")

    class Meta:
        ordering = ["organization", "day_type"]
        constraints = [models.UniqueConstraint(fields=["organization", "day_type"], name="occupancy_default_unique")]

    def __str__(self) -> str:
        return f"Default occupancy {self.organization} {self.get_day_type_display()}"

    def clean(self) -> None:
        validate_hourly(self.shares, name="shares")
        if any(Decimal(str(v)) > 1 for v in self.shares):
            raise ValidationError({"shares": "A share of connectors in use is at most 1."})


class StationOccupancy(models.Model):
    """Expected occupancy of a station per local hour, learned from its own sessions (share of connector-time)."""

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="occupancy_profiles")
    day_type = models.CharField(max_length=8, choices=DayType.choices)
    shares = models.JSONField()
    days_observed = models.PositiveIntegerField(default=0)
    sessions_counted = models.PositiveIntegerField(default=0)
    learned_at = models.DateTimeField()

    class Meta:
        ordering = ["station", "day_type"]
        constraints = [models.UniqueConstraint(fields=["station", "day_type"], name="station_occupancy_unique")]
        verbose_name_plural = "station occupancy profiles"

    def __str__(self) -> str:
        return f"Occupancy {self.station.ocpp_id} {self.get_day_type_display()}"


class PriceForecast(models.Model):
    """The price of one hour at one station, published ahead, with the contribution of each factor."""

    class OccupancySource(models.TextChoices):
        LEARNED = "learned", "Learned from the station's sessions"
        DEFAULT = "default", "Organization default curve"
        NONE = "none", "No occupancy data"
        LIVE = "live", "Live connector status"

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="price_forecasts")
    start_at = models.DateTimeField(help_text="Start of the hour (UTC).")
    local_date = models.DateField(help_text="The site-local day this hour belongs to.")
    local_hour = models.PositiveSmallIntegerField(help_text="Wall-clock hour 0–23 in the site's time zone.")
    currency = models.CharField(max_length=3)
    fixed_price = models.DecimalField(max_digits=19, decimal_places=4)
    variable_price_per_kwh = models.DecimalField(max_digits=19, decimal_places=4)
    idle_fee_per_minute = models.DecimalField(max_digits=19, decimal_places=4)
    energy_tariff_per_kwh = models.DecimalField(max_digits=19, decimal_places=4)
    energy_period = models.CharField(max_length=32, blank=True)
    f_load = models.DecimalField(max_digits=10, decimal_places=4)
    f_occ = models.PositiveSmallIntegerField()
    f_pv_local = models.PositiveSmallIntegerField()
    f_pv_global = models.PositiveSmallIntegerField()
    dm = models.DecimalField("dynamic multiplier", max_digits=10, decimal_places=4)
    clamped = models.BooleanField(help_text="The minimum price applied (C_var × DM was below P_min).")
    occupancy_expected = models.DecimalField(max_digits=5, decimal_places=4)
    occupancy_source = models.CharField(max_length=8, choices=OccupancySource.choices)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["station", "start_at"]
        # The unique index also serves every read (a station's hours in a UTC range); no second index to maintain
        # for the 240,000 rows a daily run writes.
        constraints = [models.UniqueConstraint(fields=["station", "start_at"], name="price_forecast_unique_hour")]

    def __str__(self) -> str:
        return f"{self.station.ocpp_id} {self.local_date} {self.local_hour:02d}h {self.variable_price_per_kwh}"
