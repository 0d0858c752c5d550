from django.contrib import admin

from .admin_scoping import OrganizationScopedAdmin, ScopedInline
from .models import Membership, Organization


class MembershipInline(ScopedInline, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_path = "pk"
    list_display = ["name", "kind", "country", "tax_id", "accept_unknown_stations"]
    list_filter = ["kind", "country", "accept_unknown_stations"]
    search_fields = ["name", "slug", "tax_id"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        # New tenants are created by operator staff, not by the clerks who serve existing ones.
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]
