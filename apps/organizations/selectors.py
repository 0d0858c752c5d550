"""Who may see what: the organizations a person serves, and querysets narrowed to them."""
from __future__ import annotations

from django.db.models import QuerySet

from .models import Membership, Organization

# Roles whose holders administer an organization's data in the back-office.
BACK_OFFICE_ROLES = (Membership.Role.BPO_CLERK, Membership.Role.ORG_ADMIN)


def organization_ids_served(*, user, roles=BACK_OFFICE_ROLES) -> set[int] | None:
    """The organizations this user administers; None means every organization (a superuser)."""
    if not user or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return None
    cache_name = f"_evnet_served_{'-'.join(sorted(roles))}"
    cached = getattr(user, cache_name, None)
    if cached is None:
        cached = set(
            Membership.objects.filter(user=user, role__in=roles).values_list("organization_id", flat=True)
        )
        setattr(user, cache_name, cached)
    return cached


def queryset_scope(*, queryset: QuerySet, user, organization_path: str, roles=BACK_OFFICE_ROLES) -> QuerySet:
    """Narrow `queryset` to rows whose organization (reached through `organization_path`, e.g.
    "site__organization"; "pk" for Organization itself) is one the user serves."""
    served = organization_ids_served(user=user, roles=roles)
    if served is None:
        return queryset
    lookup = "pk__in" if organization_path == "pk" else f"{organization_path}__in"
    return queryset.filter(**{lookup: served}).distinct() if "__" in organization_path else queryset.filter(
        **{lookup: served}
    )


def organization_list_served(*, user) -> QuerySet[Organization]:
    return queryset_scope(queryset=Organization.objects.all(), user=user, organization_path="pk")
