from django.contrib import admin

from apps.circuits.models import Circuit
from apps.organizations.admin_scoping import OrganizationScopedAdmin, ScopedInline

from .models import Site


class CircuitInline(ScopedInline, admin.TabularInline):
    model = Circuit
    extra = 0
    fields = ["name", "parent", "phases", "voltage_v", "max_current_a", "max_power_w"]
    show_change_link = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        site_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if db_field.name == "parent" and site_id:
            formfield.queryset = formfield.queryset.filter(site_id=site_id)
        return formfield


@admin.register(Site)
class SiteAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "city", "country", "time_zone", "currency"]
    list_filter = ["organization", "country", "currency", "time_zone"]
    search_fields = ["name", "address", "city", "postal_code", "organization__name"]
    autocomplete_fields = ["organization"]
    list_select_related = ["organization"]
    inlines = [CircuitInline]
