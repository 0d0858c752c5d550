from django.db import models
from djmoney.models.fields import MoneyField

from apps.charging.models import ChargingSession
from apps.organizations.models import Organization
from apps.sites.models import Site
from apps.tariffs.models import TariffVersion


class SessionPrice(models.Model):
    """The final price of one charging session (issue 5 §4), frozen when it is rated: a later tariff change never
    re-prices it. `lines` holds the engine's priced lines (dimension, period, quantity, unit price, unrounded and
    rounded amount, as strings so Decimals survive JSON); the totals are the sums of the rounded lines."""

    session = models.OneToOneField(ChargingSession, on_delete=models.PROTECT, related_name="price")
    tariff_version = models.ForeignKey(TariffVersion, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="session_prices",
                                       help_text="The tariff version in force at the session start.")
    tariff_label = models.CharField(max_length=200, blank=True, help_text="Tariff name and version, as priced.")
    user_group = models.CharField("price group", max_length=40, default="public")
    lines = models.JSONField(default=list, blank=True)
    cdr_totals = models.JSONField("OCPI CDR totals", default=dict, blank=True)
    currency = models.CharField(max_length=3)
    total_excl_vat = MoneyField(max_digits=19, decimal_places=4, default_currency=None)
    total_vat = MoneyField(max_digits=19, decimal_places=4, default_currency=None)
    total_incl_vat = MoneyField(max_digits=19, decimal_places=4, default_currency=None)
    energy_wh = models.BigIntegerField("energy (Wh)")
    rated_at = models.DateTimeField()
    is_final = models.BooleanField(default=True)

    class Meta:
        ordering = ["-rated_at"]
        indexes = [models.Index(fields=["is_final", "rated_at"])]

    def __str__(self) -> str:
        return f"session #{self.session_id}: {self.total_incl_vat}"


def report_upload_to(instance: "CostRecoveryReport", filename: str) -> str:
    return f"rating/cost-recovery/{instance.site_id}/{filename}"


class CostRecoveryReport(models.Model):
    """The monthly condominium cost-recovery report of one site (ChaZeMo Report, seed 003): energy per charger and
    per user split into the retailer's periods, priced line by line, as PDF and CSV."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cost_recovery_reports")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cost_recovery_reports")
    month = models.DateField(help_text="First day of the reported month (in the site's time zone).")
    currency = models.CharField(max_length=3)
    total = MoneyField(max_digits=19, decimal_places=4, default_currency=None)
    energy_wh = models.BigIntegerField("energy (Wh)", default=0)
    data = models.JSONField(default=dict, blank=True, help_text="The report's tables, as rendered.")
    pdf = models.FileField(upload_to=report_upload_to, blank=True)
    csv = models.FileField(upload_to=report_upload_to, blank=True)
    generated_at = models.DateTimeField()
    emailed_to = models.EmailField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "site__name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "month"], name="cost_recovery_report_one_per_site_month",
                                    violation_error_message="This site already has a report for this month."),
        ]

    def __str__(self) -> str:
        return f"{self.site} · {self.month:%Y-%m}"
