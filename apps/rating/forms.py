from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import forms

from apps.organizations.selectors import queryset_scope
from apps.stations.models import ChargingStation

from .exceptions import ReportInvalid
from .services.reports import month_parse


class QuoteForm(forms.Form):
    """What would X kWh from HH:MM cost at this station? Times are wall-clock in the station's site."""

    station = forms.ModelChoiceField(queryset=ChargingStation.objects.none())
    energy_kwh = forms.DecimalField(label="energy (kWh)", min_value=Decimal("0.001"), max_value=Decimal("1000"),
                                    decimal_places=3, initial=Decimal("20"))
    start_at_local = forms.CharField(label="start (local time at the site)", initial="",
                                     help_text="YYYY-MM-DD HH:MM, wall-clock time where the station is.",
                                     widget=forms.TextInput(attrs={"placeholder": "2026-06-03 18:30"}))
    user_group = forms.SlugField(label="price group", max_length=40, initial="public")
    power_kw = forms.DecimalField(label="power (kW)", required=False, min_value=Decimal("0.1"),
                                  max_value=Decimal("1000"), decimal_places=1,
                                  help_text="Leave empty for the connector's maximum.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = queryset_scope(
            queryset=ChargingStation.objects.select_related("site"), user=user,
            organization_path="site__organization")

    def clean_start_at_local(self) -> datetime:
        value = self.cleaned_data["start_at_local"].strip().replace("T", " ")
        for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                continue
        raise forms.ValidationError("Write the start as YYYY-MM-DD HH:MM (e.g. 2026-06-03 18:30).")


class ReportGenerateForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None)
    month = forms.CharField(help_text="YYYY-MM, a month that has ended in the site's time zone.",
                            widget=forms.TextInput(attrs={"placeholder": "2026-06"}))
    send = forms.BooleanField(label="e-mail it to the condominium manager", required=False, initial=True)

    def __init__(self, *args, site_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = site_queryset

    def clean_month(self):
        try:
            return month_parse(value=self.cleaned_data["month"])
        except ReportInvalid as exc:
            raise forms.ValidationError(exc.message) from None
