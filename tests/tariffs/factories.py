"""Factories for tariff tests (the shared ones come from tests/factories.py)."""
from __future__ import annotations

from decimal import Decimal

import factory

from apps.tariffs.models import Tariff
from tests.factories import OrganizationFactory

SIMPLE_EUR = {"id": "simple", "currency": "EUR", "elements": [
    {"price_components": [{"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1}]}]}


class TariffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tariff

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"tariff-{n}")
    name = factory.Sequence(lambda n: f"Tariff {n}")
