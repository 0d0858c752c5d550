"""Back-office for tariffs (scoped by organization) and time-of-use calendars (shared reference data, edited per
distributor by staff with the tariffs permissions). Saves go through services; a version that priced a session is
read-only and can only be revised into a new version."""
from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone

from apps.organizations.admin_scoping import OrganizationScopedAdmin, ScopedInline

from . import services
from .engine.calendar import CalendarSpec
from .exceptions import TariffError
from .models import Tariff, TariffAssignment, TariffVersion, TouCalendar, TouWindow


class TouWindowFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        windows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            windows.append({"season": data["season"], "day_type": data["day_type"], "start": data["start"],
                            "end": data["end"], "period": data["period"]})
        parent = self.instance
        try:
            CalendarSpec.from_dict({"code": parent.code or "new", "season_rule": parent.season_rule,
                                    "holidays": {"country": parent.holiday_country, "subdiv": parent.holiday_subdiv,
                                                 "day_type": parent.holiday_day_type or None},
                                    "windows": windows})
        except TariffError as exc:
            raise ValidationError(exc.message) from exc


class TouWindowInline(admin.TabularInline):
    model = TouWindow
    formset = TouWindowFormSet
    extra = 0
    fields = ("season", "day_type", "start", "end", "period")


@admin.register(TouCalendar)
class TouCalendarAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "distributor", "country", "season_rule", "holiday_day_type", "updated_at")
    list_filter = ("country", "season_rule")
    search_fields = ("code", "name", "distributor")
    inlines = [TouWindowInline]


class TariffVersionInline(admin.TabularInline):
    model = TariffVersion
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("number", "valid_from_at", "valid_until_at", "currency", "vat_rate", "locked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TariffAssignmentInline(ScopedInline, admin.TabularInline):
    model = TariffAssignment
    extra = 0
    fields = ("site", "station", "user_group")
    autocomplete_fields = ("station",)


@admin.register(Tariff)
class TariffAdmin(OrganizationScopedAdmin):
    organization_path = "organization"
    list_display = ("code", "name", "organization", "is_organization_default", "created_at")
    list_filter = ("organization", "is_organization_default")
    list_select_related = ("organization",)
    search_fields = ("code", "name")
    inlines = [TariffVersionInline, TariffAssignmentInline]


class TariffVersionForm(forms.ModelForm):
    ocpi = forms.JSONField(label="OCPI 2.2.1 tariff", widget=forms.Textarea(attrs={"rows": 24, "cols": 100}),
                           help_text="An OCPI 2.2.1 Tariff object; evnet_tou_calendar may name a calendar by code.")
    vat_rate = forms.DecimalField(max_digits=5, decimal_places=2, required=False,
                                  help_text="Percent; blank = the organization's country rate (PT 23).")

    class Meta:
        model = TariffVersion
        fields = ("tariff", "valid_from_at", "valid_until_at", "vat_rate", "ocpi", "notes")

    def clean(self):
        data = super().clean()
        tariff = data.get("tariff") or getattr(self.instance, "tariff", None)
        if tariff is None or data.get("ocpi") is None:
            return data
        vat = data.get("vat_rate")
        if vat is None:
            vat = services.vat_rate_for_country(country=tariff.organization.country)
            data["vat_rate"] = vat
        try:
            _stored, spec, _cal = services.tariff_ocpi_validate(ocpi=data["ocpi"], vat_rate=vat)
            services.tariff_currency_check(tariff=tariff, currency=spec.currency)
        except TariffError as exc:
            raise ValidationError({"ocpi": exc.message}) from exc
        return data


@admin.register(TariffVersion)
class TariffVersionAdmin(OrganizationScopedAdmin):
    organization_path = "tariff__organization"
    form = TariffVersionForm
    list_display = ("__str__", "tariff", "number", "valid_from_at", "valid_until_at", "currency", "vat_rate",
                    "locked_at")
    list_filter = ("tariff__organization", "currency")
    list_select_related = ("tariff", "tariff__organization")
    search_fields = ("tariff__code", "tariff__name")
    actions = ["export_csv", "revise", "export_ocpi"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return ("tariff", "number", "valid_from_at", "valid_until_at", "currency", "vat_rate", "calendar",
                    "ocpi_pretty", "notes", "locked_at")
        return ("number", "currency", "calendar", "locked_at")

    def get_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return self.get_readonly_fields(request, obj)
        return ("tariff", "number", "valid_from_at", "valid_until_at", "vat_rate", "currency", "calendar", "ocpi",
                "notes", "locked_at")

    @admin.display(description="OCPI 2.2.1 tariff")
    def ocpi_pretty(self, obj):
        from django.utils.html import format_html
        return format_html("<pre>{}</pre>", json.dumps(obj.ocpi, indent=2, ensure_ascii=False))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                saved = services.tariff_version_update(
                    version=obj, ocpi=data["ocpi"], valid_from_at=data["valid_from_at"],
                    valid_until_at=data.get("valid_until_at"), vat_rate=data["vat_rate"], notes=data.get("notes", ""))
            else:
                saved = services.tariff_version_create(
                    tariff=data["tariff"], ocpi=data["ocpi"], valid_from_at=data["valid_from_at"],
                    valid_until_at=data.get("valid_until_at"), vat_rate=data["vat_rate"], notes=data.get("notes", ""))
        except TariffError as exc:
            # Raced with a session that locked it, or a site changed currency: say so; nothing was written.
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        obj.pk, obj.number = saved.pk, saved.number

    @admin.action(description="Publish a new editable version from each selected version")
    def revise(self, request, queryset):
        for version in queryset:
            new = services.tariff_version_revise(version=version, valid_from_at=timezone.now())
            self.message_user(request, f"{new} published (valid from now); edit its prices before sessions use it.")

    @admin.action(description="Download the selected versions as OCPI 2.2.1 JSON")
    def export_ocpi(self, request, queryset):
        body = [services.tariff_export_ocpi(version=v) for v in queryset.select_related("tariff")]
        response = HttpResponse(json.dumps(body if len(body) != 1 else body[0], indent=2, ensure_ascii=False),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="ocpi-tariffs.json"'
        return response


class TariffAssignmentForm(forms.ModelForm):
    class Meta:
        model = TariffAssignment
        fields = ("tariff", "site", "station", "user_group")

    def clean(self):
        data = super().clean()
        tariff, site, station = data.get("tariff"), data.get("site"), data.get("station")
        if tariff is None or (site is None and station is None):
            return data
        target = site or station.site
        try:
            for currency in set(tariff.versions.values_list("currency", flat=True)):
                services.tariff_currency_check(tariff=tariff, currency=currency, sites=[target])
        except TariffError as exc:
            raise ValidationError(exc.message) from exc
        if target.organization_id != tariff.organization_id:
            raise ValidationError("A tariff can only be assigned within its own organization.")
        return data


@admin.register(TariffAssignment)
class TariffAssignmentAdmin(OrganizationScopedAdmin):
    organization_path = "tariff__organization"
    form = TariffAssignmentForm
    list_display = ("tariff", "site", "station", "user_group")
    list_filter = ("tariff__organization", "user_group")
    list_select_related = ("tariff", "site", "station")
    autocomplete_fields = ("station",)
