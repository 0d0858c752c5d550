"""Factories for billing tests, on top of the shared ones."""
from __future__ import annotations

from decimal import Decimal

import factory
from djmoney.money import Money

from apps.billing.models import BillingSettings, Customer, CustomerCard, Plan, Subscription
from tests.factories import IdTagFactory, OrganizationFactory, UserFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    kind = Customer.Kind.DRIVER
    regime = Customer.Regime.PREPAID
    name = factory.Sequence(lambda n: f"Driver {n}")
    email = factory.Sequence(lambda n: f"driver{n}@example.test")
    user = factory.SubFactory(UserFactory)
    country = "PT"
    currency = "EUR"


class CustomerCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerCard

    customer = factory.SubFactory(CustomerFactory)
    id_tag = factory.LazyAttribute(lambda o: IdTagFactory(organization=o.customer.organization))


class BillingSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingSettings
        django_get_or_create = ("organization",)

    organization = factory.SubFactory(OrganizationFactory)
    min_balance_to_start = Decimal("5.00")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Fleet plan {n}")
    currency = "EUR"
    monthly_fee = Money(Decimal("30.00"), "EUR")
    included_wh = 100_000
    user_group = "fleet"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory, regime=Customer.Regime.POSTPAID,
                                  kind=Customer.Kind.FLEET_COMPANY)
    plan = factory.LazyAttribute(lambda o: PlanFactory(organization=o.customer.organization))
    starts_on = factory.Faker("date_this_year")
