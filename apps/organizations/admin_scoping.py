"""Organization scoping for the back-office. Every ModelAdmin of tenant data inherits OrganizationScopedAdmin and
names the lookup path from its model to Organization; a BPO clerk then sees and edits only the organizations they
serve, in every admin view: change lists, change/history/delete pages (404 for anything else), foreign-key choices,
autocomplete and raw-id popups (both go through the target admin's get_queryset), list filters and CSV exports."""
from __future__ import annotations

import csv

from django.contrib import admin
from django.contrib.admin.filters import RelatedOnlyFieldListFilter
from django.http import Http404, HttpResponse
from django.utils import timezone

from .selectors import queryset_scope


class ScopedFormFieldsMixin:
    """Foreign-key and many-to-many choices limited to what the scoped admin of the target model shows."""

    def _scoped_target_queryset(self, request, model):
        target_admin = self.admin_site._registry.get(model)
        if isinstance(target_admin, OrganizationScopedAdmin):
            return target_admin.get_queryset(request)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = self._scoped_target_queryset(request, db_field.remote_field.model)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        queryset = self._scoped_target_queryset(request, db_field.remote_field.model)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OrganizationScopedAdmin(ScopedFormFieldsMixin, admin.ModelAdmin):
    """Base class for tenant data in the admin. Set `organization_path` ("organization", "site__organization",
    "pk" for Organization itself)."""

    organization_path: str = "organization"
    actions = ["export_csv"]

    def get_queryset(self, request):
        return queryset_scope(queryset=super().get_queryset(request), user=request.user,
                              organization_path=self.organization_path)

    def get_list_filter(self, request):
        # A plain related-field filter lists every row of the target table, other tenants' included; narrow
        # each to the values present in the (scoped) change list.
        filters = []
        for spec in super().get_list_filter(request):
            if isinstance(spec, str) and self._is_relation(spec):
                filters.append((spec, RelatedOnlyFieldListFilter))
            else:
                filters.append(spec)
        return filters

    def _is_relation(self, path: str) -> bool:
        model = self.model
        field = None
        for part in path.split("__"):
            try:
                field = model._meta.get_field(part)
            except Exception:  # noqa: BLE001 - not a model field path (e.g. a custom filter name)
                return False
            if not field.is_relation:
                return False
            model = field.related_model
        return field is not None and field.is_relation

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index for a missing object; for another tenant's object that would still confirm
        # that the id exists elsewhere. Answer 404 for both, saying nothing about the object.
        raise Http404(f"No {opts.verbose_name} with id “{object_id}” among the organizations you serve.")

    @admin.action(description="Export selected rows as CSV")
    def export_csv(self, request, queryset):
        # `queryset` is already scoped: the action runs on get_queryset's rows only.
        field_names = [f.name for f in self.model._meta.concrete_fields]
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="{self.model._meta.model_name}-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(field_names)
        for obj in queryset.iterator(chunk_size=2000):
            writer.writerow([_csv_cell(getattr(obj, f.attname)) for f in self.model._meta.concrete_fields])
        return response


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class ScopedInline(ScopedFormFieldsMixin):
    """Mixin for inlines: their own rows hang off a scoped parent; their foreign-key choices must be scoped too."""
