from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm

from apps.organizations.admin_scoping import OrganizationScopedAdmin
from apps.organizations.models import Membership, Organization
from apps.organizations.selectors import organization_list_served
from apps.organizations.services import membership_grant

from .models import IdTag, User, Vehicle
from .services import id_tags_set_status


class ClerkUserCreationForm(UserCreationForm):
    """A user created by a clerk must belong to one of the clerk's organizations, or the clerk would lose sight
    of them the moment they are saved."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.DRIVER)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email", "first_name", "last_name")


@admin.register(User)
class UserAdmin(OrganizationScopedAdmin, DjangoUserAdmin):
    organization_path = "memberships__organization"
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_active", "memberships__role", "memberships__organization"]
    search_fields = ["username", "email", "first_name", "last_name", "phone"]
    fieldsets = DjangoUserAdmin.fieldsets + (("evnet", {"fields": ("phone", "preferred_language")}),)
    clerk_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "phone", "preferred_language")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    clerk_add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "first_name", "last_name", "organization",
                                                 "role", "password1", "password2")}),
    )

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.clerk_fieldsets if obj else self.clerk_add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ["last_login", "date_joined"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None and not request.user.is_superuser:
            kwargs["form"] = ClerkUserCreationForm
            kwargs["fields"] = None
            form = super().get_form(request, obj, **kwargs)
            form.base_fields["organization"].queryset = organization_list_served(user=request.user)
            return form
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and "organization" in form.cleaned_data:
            membership_grant(user=obj, organization=form.cleaned_data["organization"], role=form.cleaned_data["role"])


@admin.register(IdTag)
class IdTagAdmin(OrganizationScopedAdmin):
    list_display = ["uid", "label", "organization", "owner", "status", "expires_at", "user_group", "parent_id_tag"]
    list_filter = ["status", "organization", "user_group"]
    search_fields = ["uid", "label", "owner__username", "owner__email", "owner__last_name"]
    autocomplete_fields = ["organization", "owner"]
    list_select_related = ["organization", "owner"]
    actions = ["export_csv", "block_cards", "unblock_cards"]

    @admin.action(description="Block selected cards (lost or withdrawn)")
    def block_cards(self, request, queryset):
        updated = id_tags_set_status(id_tags=queryset, status=IdTag.Status.BLOCKED)
        self.message_user(request, f"{updated} card(s) blocked.")

    @admin.action(description="Unblock selected cards")
    def unblock_cards(self, request, queryset):
        updated = id_tags_set_status(id_tags=queryset, status=IdTag.Status.ACTIVE)
        self.message_user(request, f"{updated} card(s) unblocked.")


@admin.register(Vehicle)
class VehicleAdmin(OrganizationScopedAdmin):
    list_display = ["license_plate", "make", "model", "organization", "owner", "battery_capacity_wh"]
    list_filter = ["organization", "make"]
    search_fields = ["license_plate", "make", "model", "owner__username", "owner__last_name"]
    autocomplete_fields = ["organization", "owner", "id_tag"]
    list_select_related = ["organization", "owner"]
