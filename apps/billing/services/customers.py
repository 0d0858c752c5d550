"""Customer records: who an organization bills."""
from __future__ import annotations

from django.db import transaction

from apps.organizations.models import Organization

from ..models import Customer


@transaction.atomic
def customer_for_user_ensure(*, organization: Organization, user, regime: str, currency: str,
                             kind: str = Customer.Kind.DRIVER) -> tuple[Customer, bool]:
    """The person's customer record in `organization` (one per person and organization, a DB constraint),
    created with `regime` and `currency` when missing. An existing record keeps its regime and currency: they
    decide how sessions already settled were paid, so changing them is the back-office's decision."""
    if regime not in Customer.Regime.values:
        raise ValueError(f"unknown billing regime {regime!r}")
    customer = Customer.objects.select_for_update().filter(organization=organization, user=user).first()
    if customer is not None:
        return customer, False
    customer = Customer.objects.create(
        organization=organization, user=user, kind=kind, regime=regime, currency=currency,
        name=(user.get_full_name() or user.get_username())[:200], email=user.email,
        country=organization.country,
    )
    return customer, True
