"""Reads about people."""
from __future__ import annotations

from django.db.models import QuerySet

from apps.organizations.models import Membership
from evnet.exceptions import NotFound

from .models import IdTag, Vehicle


def user_memberships(*, user) -> QuerySet[Membership]:
    """The roles a person holds, with their organizations."""
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name", "role")


def id_tag_list_owned(*, user) -> QuerySet[IdTag]:
    """A person's own cards."""
    return IdTag.objects.filter(owner=user).select_related("organization").order_by("created_at", "pk")


def id_tag_get_owned(*, user, id_tag_id) -> IdTag:
    try:
        return id_tag_list_owned(user=user).get(pk=int(id_tag_id))
    except (IdTag.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(f"There is no card #{id_tag_id} of yours.") from None


def vehicle_list_owned(*, user) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(owner=user).select_related("organization", "id_tag").order_by("created_at", "pk")


def vehicle_get_owned(*, user, vehicle_id) -> Vehicle:
    try:
        return vehicle_list_owned(user=user).get(pk=int(vehicle_id))
    except (Vehicle.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound(f"There is no vehicle #{vehicle_id} of yours.") from None


def organization_ids_of_person(*, user) -> set[int]:
    """The organizations a person belongs to (any role) or holds a card of."""
    ids = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
    return ids | set(IdTag.objects.filter(owner=user).values_list("organization_id", flat=True))
