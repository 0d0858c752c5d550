"""Back-office of dynamic pricing: the utility's data (superusers: it is shared by every operator), each station's
coefficients and forecast (scoped to the organizations a clerk serves), the CSV import page, the price panel
(paper Figure 4) and the what-if simulator."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.organizations.admin_scoping import OrganizationScopedAdmin
from apps.organizations.models import Organization
from apps.organizations.selectors import queryset_scope
from apps.sites.models import Site

from .exceptions import ForecastInputsMissing, PricingImportError
from .formula import Coefficients
from .models import (
    EnergyTariff, Feeder, LoadCurve, OccupancyDefault, PriceForecast, PvCurve, StationOccupancy, StationPricing,
    Utility,
)
from .selectors import forecast_rows, panel_series
from .services.forecast import coefficients_of, forecast_compute, forecast_hours_preview
from .services.imports import (
    energy_tariff_import, load_curve_import, occupancy_default_import, pv_curve_import,
)
from .services.occupancy import station_occupancy_learn
from .whatif import SENSITIVITY_PARAMETERS, whatif_curves_parse, whatif_run, whatif_sensitivity


class FeederInline(admin.TabularInline):
    model = Feeder
    extra = 0
    fields = ["code", "name", "base_kw"]


@admin.register(Utility)
class UtilityAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "summer_months"]
    search_fields = ["name"]
    inlines = [FeederInline]


@admin.register(Feeder)
class FeederAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "utility", "base_kw"]
    list_filter = ["utility"]
    search_fields = ["code", "name", "utility__name"]
    list_select_related = ["utility"]


@admin.register(LoadCurve)
class LoadCurveAdmin(admin.ModelAdmin):
    list_display = ["feeder", "season", "day_type", "peak_pu", "imported_at"]
    list_filter = ["feeder__utility", "season", "day_type"]
    list_select_related = ["feeder__utility"]

    @admin.display(description="peak (p.u.)")
    def peak_pu(self, obj):
        return max(Decimal(str(v)) for v in obj.load_pu)


@admin.register(EnergyTariff)
class EnergyTariffAdmin(admin.ModelAdmin):
    list_display = ["utility", "day_type", "imported_at"]
    list_filter = ["utility", "day_type"]


@admin.register(PvCurve)
class PvCurveAdmin(OrganizationScopedAdmin):
    # Clerks see their sites' local curves; the utilities' global curves are a superuser's.
    organization_path = "site__organization"
    list_display = ["__str__", "source", "peak_kwp", "performance_ratio", "imported_at"]
    list_filter = ["source", "season"]
    autocomplete_fields = ["site"]

    def get_exclude(self, request, obj=None):
        # A clerk keeps local curves of their sites; a utility's global curve is shared by every operator.
        return [] if request.user.is_superuser else ["utility"]


@admin.register(OccupancyDefault)
class OccupancyDefaultAdmin(OrganizationScopedAdmin):
    organization_path = "organization"
    list_display = ["organization", "day_type"]
    list_filter = ["day_type"]


@admin.register(StationOccupancy)
class StationOccupancyAdmin(OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["station", "day_type", "sessions_counted", "days_observed", "learned_at"]
    list_filter = ["day_type"]
    search_fields = ["station__ocpp_id"]
    list_select_related = ["station"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PriceForecast)
class PriceForecastAdmin(OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    list_display = ["station", "local_date", "local_hour", "start_at", "fixed_price", "variable_price_per_kwh",
                    "idle_fee_per_minute", "currency", "f_load", "f_occ", "f_pv_local", "f_pv_global", "dm",
                    "clamped", "occupancy_source"]
    list_filter = ["local_date", "occupancy_source", "clamped"]
    search_fields = ["station__ocpp_id"]
    list_select_related = ["station"]
    date_hierarchy = "start_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StationPricingForm(forms.ModelForm):
    class Meta:
        model = StationPricing
        fields = "__all__"


class ImportForm(forms.Form):
    KINDS = [
        ("load_pu", "Load curve per feeder, in p.u. (utility)"),
        ("load_kw", "Load curve per feeder, in kW (utility)"),
        ("pv_global", "Global PV curve in kW (utility)"),
        ("pv_global_irradiance", "Global PV from irradiance (utility)"),
        ("pv_local", "Local PV curve in kW (site)"),
        ("pv_local_irradiance", "Local PV from irradiance (site)"),
        ("energy_tariff", "Energy tariff by hour (utility)"),
        ("occupancy_default", "Default occupancy curve (organization)"),
    ]
    kind = forms.ChoiceField(choices=KINDS)
    file = forms.FileField()
    utility = forms.ModelChoiceField(queryset=Utility.objects.all(), required=False)
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False)
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), required=False)
    peak_kwp = forms.DecimalField(required=False, min_value=Decimal("0.001"), label="installed kWp (irradiance)")
    performance_ratio = forms.DecimalField(required=False, min_value=Decimal("0.01"), max_value=Decimal("1"),
                                           label="performance ratio (irradiance)")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["site"].queryset = queryset_scope(queryset=Site.objects.all(), user=user,
                                                      organization_path="organization")
        self.fields["organization"].queryset = queryset_scope(queryset=Organization.objects.all(), user=user,
                                                              organization_path="pk")
        if not user.is_superuser:
            self.fields["utility"].queryset = Utility.objects.none()

    def clean(self):
        data = super().clean()
        kind = data.get("kind", "")
        needs = "site" if kind.startswith("pv_local") else "organization" if kind == "occupancy_default" else "utility"
        if not data.get(needs):
            self.add_error(needs, f"This import needs a {needs}.")
        if needs == "utility" and not self.user.is_superuser:
            raise PermissionDenied("Only a superuser imports a utility's data (it is shared by every operator).")
        if kind.endswith("irradiance") and (data.get("peak_kwp") is None or data.get("performance_ratio") is None):
            self.add_error("peak_kwp", "The irradiance model kW = kWp × GHI / 1000 × PR needs kWp and PR.")
        return data

    def run(self):
        data = self.cleaned_data
        kind = data["kind"]
        content = data["file"].read()
        if kind in ("load_pu", "load_kw"):
            return load_curve_import(utility=data["utility"], text=content, unit=kind[5:])
        if kind.startswith("pv_"):
            owner = {"utility": data["utility"]} if kind.startswith("pv_global") else {"site": data["site"]}
            extra = ({"peak_kwp": data["peak_kwp"], "performance_ratio": data["performance_ratio"]}
                     if kind.endswith("irradiance") else {})
            return pv_curve_import(text=content, **owner, **extra)
        if kind == "energy_tariff":
            return energy_tariff_import(utility=data["utility"], text=content)
        return occupancy_default_import(organization=data["organization"], text=content)


class WhatIfForm(forms.Form):
    alpha = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    beta = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    gamma = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    fixed_price = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    min_price_per_kwh = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    investment_per_kwh = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    profit_per_kwh = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    idle_fee_per_minute = forms.DecimalField(initial=Decimal("0"), min_value=0, decimal_places=4)
    curves = forms.CharField(widget=forms.Textarea(attrs={"rows": 14, "cols": 70}),
                             help_text="hour,energy_tariff,f_load,f_occ,f_pv_local,f_pv_global — one line per hour.")
    sensitivity_parameter = forms.ChoiceField(choices=[("", "—")] + [(p, p) for p in SENSITIVITY_PARAMETERS],
                                              required=False)
    sensitivity_values = forms.CharField(required=False, help_text="e.g. 0, 0.25, 0.5, 0.75, 1")

    def clean_sensitivity_values(self):
        raw = self.cleaned_data.get("sensitivity_values", "")
        try:
            return [Decimal(part.strip()) for part in raw.split(",") if part.strip()]
        except ArithmeticError:
            raise forms.ValidationError("Give numbers separated by commas.")

    def coefficients(self) -> Coefficients:
        data = self.cleaned_data
        return Coefficients(**{name: data[name] for name in Coefficients.__dataclass_fields__})


@admin.register(StationPricing)
class StationPricingAdmin(OrganizationScopedAdmin):
    organization_path = "station__site__organization"
    form = StationPricingForm
    list_display = ["station", "feeder", "enabled", "mode", "alpha", "beta", "gamma", "min_price_per_kwh",
                    "fixed_price", "idle_fee_per_minute", "panel_link"]
    list_filter = ["enabled", "mode", "feeder__utility"]
    search_fields = ["station__ocpp_id", "station__site__name"]
    autocomplete_fields = ["station"]
    list_select_related = ["station__site", "feeder__utility"]
    actions = ["export_csv", "compute_forecast"]
    fieldsets = [
        (None, {"fields": ["station", "feeder", "enabled", "mode"]}),
        ("Dynamic multiplier DM = 1 + α·F_load + β·F_occ − γ·F_PV",
         {"fields": ["alpha", "beta", "gamma", "occupancy_threshold"]}),
        ("Prices (site currency)", {"fields": ["fixed_price", "min_price_per_kwh", "investment_per_kwh",
                                               "profit_per_kwh", "idle_fee_per_minute"]}),
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "feeder":
            kwargs["queryset"] = Feeder.objects.select_related("utility")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="price panel")
    def panel_link(self, obj):
        return format_html('<a href="{}">panel</a>', reverse("admin:pricing_stationpricing_panel", args=[obj.pk]))

    @admin.action(description="Compute today's and tomorrow's price forecast")
    def compute_forecast(self, request, queryset):
        ids = list(queryset.values_list("station_id", flat=True))
        now = timezone.now()
        station_occupancy_learn(now=now, station_ids=ids)
        run = forecast_compute(now=now, station_ids=ids)
        self.message_user(request, f"Forecast stored for {run.stations} station(s): {run.rows} hourly prices.")
        for ocpp_id, problem in sorted(run.skipped.items()):
            self.message_user(request, f"{ocpp_id} not priced: {problem}", level=messages.ERROR)

    def get_urls(self):
        extra = [
            path("<int:object_id>/panel/", self.admin_site.admin_view(self.panel_view),
                 name="pricing_stationpricing_panel"),
            path("import/", self.admin_site.admin_view(self.import_view), name="pricing_import"),
            path("what-if/", self.admin_site.admin_view(self.whatif_view), name="pricing_whatif"),
        ]
        return extra + super().get_urls()

    def _pricing_or_404(self, request, object_id) -> StationPricing:
        pricing = self.get_queryset(request).filter(pk=object_id).first()
        if pricing is None:
            raise Http404(f"No station dynamic pricing with id “{object_id}” among the organizations you serve.")
        return pricing

    def panel_view(self, request, object_id):
        """Paper Figure 4: fixed price, variable price and idle fee by hour, the factors beneath."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        pricing = self._pricing_or_404(request, object_id)
        station = pricing.station
        zone = ZoneInfo(station.site.time_zone)
        today = timezone.now().astimezone(zone).date()
        try:
            day = date.fromisoformat(request.GET["date"]) if request.GET.get("date") else today + timedelta(days=1)
        except ValueError:
            messages.error(request, f"“{request.GET['date']}” is not a date (YYYY-MM-DD); showing tomorrow.")
            day = today + timedelta(days=1)
        rows = forecast_rows(station=station, day=day)
        published = bool(rows)
        problem = ""
        if not rows:
            try:
                rows = forecast_hours_preview(pricing=pricing, day=day, now=timezone.now())
            except ForecastInputsMissing as exc:
                problem = exc.message
        context = {
            **self.admin_site.each_context(request),
            "title": f"Price panel · {station.ocpp_id} · {day.isoformat()}",
            "opts": self.model._meta, "pricing": pricing, "station": station, "day": day,
            "previous_day": day - timedelta(days=1), "next_day": day + timedelta(days=1),
            "rows": rows, "published": published, "problem": problem, "series": panel_series(rows=rows),
            "currency": station.site.currency,
        }
        return TemplateResponse(request, "admin/pricing/panel.html", context)

    def import_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
        errors = []
        if request.method == "POST" and form.is_valid():
            try:
                result = form.run()
            except PricingImportError as exc:
                errors = exc.errors
            else:
                messages.success(request, f"{result.summary} ({result.lines} lines).")
                return redirect("admin:pricing_import")
        context = {**self.admin_site.each_context(request), "title": "Import dynamic-pricing data (CSV)",
                   "opts": self.model._meta, "form": form, "errors": errors}
        return TemplateResponse(request, "admin/pricing/import.html", context)

    def whatif_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        initial = {}
        if request.GET.get("station"):
            pricing = self._pricing_or_404(request, request.GET["station"])
            initial = {name: getattr(pricing, name) for name in Coefficients.__dataclass_fields__}
            zone = ZoneInfo(pricing.station.site.time_zone)
            day = timezone.now().astimezone(zone).date() + timedelta(days=1)
            try:
                rows = forecast_rows(station=pricing.station, day=day) or forecast_hours_preview(
                    pricing=pricing, day=day, now=timezone.now())
            except ForecastInputsMissing as exc:
                messages.error(request, exc.message)
                rows = []
            initial["curves"] = "hour,energy_tariff,f_load,f_occ,f_pv_local,f_pv_global\n" + "\n".join(
                f"{r.local_hour},{r.energy_tariff_per_kwh},{r.f_load},{r.f_occ},{r.f_pv_local},{r.f_pv_global}"
                for r in rows)
        form = WhatIfForm(request.POST or None, initial=initial)
        result = sensitivity = None
        errors = []
        if request.method == "POST" and form.is_valid():
            try:
                hours, factors = whatif_curves_parse(text=form.cleaned_data["curves"])
            except PricingImportError as exc:
                errors = exc.errors
            else:
                coefficients = form.coefficients()
                result = whatif_run(coefficients=coefficients, hours=hours, factors=factors)
                if form.cleaned_data["sensitivity_parameter"] and form.cleaned_data["sensitivity_values"]:
                    sensitivity = whatif_sensitivity(coefficients=coefficients, factors=factors,
                                                     parameter=form.cleaned_data["sensitivity_parameter"],
                                                     values=form.cleaned_data["sensitivity_values"])
        series = None
        if result:
            series = {"labels": [f"{h:02d}h" for h in result.hours],
                      "variable_price_per_kwh": [float(p.variable_price_per_kwh) for p in result.prices],
                      "average": float(result.average)}
        context = {**self.admin_site.each_context(request), "title": "What-if: the ANEEL formula over one day",
                   "opts": self.model._meta, "form": form, "result": result, "sensitivity": sensitivity,
                   "errors": errors, "series": series,
                   "rows": list(zip(result.hours, result.prices)) if result else []}
        return TemplateResponse(request, "admin/pricing/whatif.html", context)

