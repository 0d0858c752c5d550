"""Reads about people."""
from __future__ import annotations

from django.db.models import QuerySet

from apps.organizations.models import Membership


def user_memberships(*, user) -> QuerySet[Membership]:
    """The roles a person holds, with their organizations."""
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name", "role")
