"""Fleet plans: subscribing a customer (its cards get the plan's price group, so the tariff engine prices their
sessions with the plan's user-group prices), and what a plan costs in a month (fee prorated by active days,
included energy)."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.users.services import id_tag_register

from ..models import Customer, Plan, Subscription
from .settlement import money_round


@transaction.atomic
def subscription_start(*, customer: Customer, plan: Plan, starts_on: date) -> Subscription:
    """Put the customer on `plan` from `starts_on`, ending any open subscription the day before; every card
    billed to the customer moves to the plan's price group. Starting the same plan on the same day twice
    returns the existing subscription."""
    if plan.organization_id != customer.organization_id:
        raise ValidationError({"plan": "The plan belongs to another organization."})
    if plan.currency != customer.currency:
        raise ValidationError({"plan": f"The plan is priced in {plan.currency}; the customer pays in "
                                       f"{customer.currency}."})
    existing = Subscription.objects.filter(customer=customer, plan=plan, starts_on=starts_on).first()
    if existing is not None:
        return existing
    for open_subscription in Subscription.objects.select_for_update().filter(customer=customer,
                                                                             ends_on__isnull=True):
        if open_subscription.starts_on >= starts_on:
            raise ValidationError({"starts_on": f"{customer} already has a plan from {open_subscription.starts_on}."})
        open_subscription.ends_on = date.fromordinal(starts_on.toordinal() - 1)
        open_subscription.save(update_fields=["ends_on"])
    subscription = Subscription.objects.create(customer=customer, plan=plan, starts_on=starts_on)
    for card in customer.cards.select_related("id_tag__organization"):
        id_tag_register(uid=card.id_tag.uid, organization=card.id_tag.organization, user_group=plan.user_group)
    return subscription


@dataclass(frozen=True)
class PlanMonth:
    subscription: Subscription
    active_days: int
    month_days: int
    fee: Decimal  # excl. VAT, rounded to cents
    included_wh: int  # prorated like the fee


def plan_months(*, customer: Customer, month: date) -> list[PlanMonth]:
    """The plan charges of `month` (its first day): each subscription active in it, its fee prorated by the days
    it was active (a plan starting on the 16th of a 30-day month pays 15/30), and its included energy likewise."""
    return plan_months_of(subscriptions=list(customer.subscriptions.select_related("plan")), month=month)


def plan_months_of(*, subscriptions: list[Subscription], month: date) -> list[PlanMonth]:
    """`plan_months` for subscriptions already loaded (with their plan)."""
    month_days = calendar.monthrange(month.year, month.month)[1]
    last = month.replace(day=month_days)
    result = []
    for subscription in sorted(subscriptions, key=lambda s: (s.starts_on, s.pk)):
        end = min(subscription.ends_on or last, last)
        start = max(subscription.starts_on, month)
        if end < start:
            continue
        days = (end - start).days + 1
        plan = subscription.plan
        result.append(PlanMonth(
            subscription=subscription, active_days=days, month_days=month_days,
            fee=money_round(plan.monthly_fee.amount * days / month_days),
            included_wh=plan.included_wh * days // month_days,
        ))
    return result
