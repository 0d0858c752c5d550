"""factory_boy factories for the whole suite: one per model, building valid rows by default."""
from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from apps.circuits.models import Circuit
from apps.organizations.models import Membership, Organization
from apps.organizations.services import membership_grant
from apps.sites.models import Site
from apps.stations.models import ChargingStation, Connector, StationPermission
from apps.users.models import IdTag, Vehicle


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = Organization.Kind.CONDOMINIUM
    country = Organization.Country.PORTUGAL


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    password = factory.django.Password("secret-pass-123")


def clerk_for(*organizations: Organization, username: str = "clerk") -> "get_user_model()":
    """A BPO clerk serving exactly these organizations, with the clerk group's permissions."""
    user = UserFactory(username=username)
    for organization in organizations:
        membership_grant(user=user, organization=organization, role=Membership.Role.BPO_CLERK)
    return user


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Garage {n}")
    address = "Avenida da República 50"
    city = "Lisboa"
    country = "PT"
    latitude = Decimal("38.740520")
    longitude = Decimal("-9.145180")
    time_zone = "Europe/Lisbon"
    currency = "EUR"


class CircuitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Circuit

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Piso -3 Circuito {n}")
    phases = 3
    max_current_a = 32


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargingStation
        skip_postgeneration_save = True

    ocpp_id = factory.Sequence(lambda n: f"CP{n:05d}")
    site = factory.SubFactory(SiteFactory)
    circuit = factory.LazyAttribute(lambda o: CircuitFactory(site=o.site))
    parking_spot = factory.Sequence(lambda n: f"Lugar n°{3000 + n}")
    max_power_w = 7400

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or "station-secret")
        if create:
            obj.save(update_fields=["password_hash"])


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    station = factory.SubFactory(StationFactory)
    connector_id = 1
    max_power_w = 7400


class IdTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdTag

    uid = factory.Sequence(lambda n: f"TAG{n:06d}")
    organization = factory.SubFactory(OrganizationFactory)
    owner = factory.SubFactory(UserFactory)


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    organization = factory.SubFactory(OrganizationFactory)
    make = "Renault"
    model = "Zoe"
    license_plate = factory.Sequence(lambda n: f"AA-{n:02d}-BB")


class StationPermissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StationPermission

    station = factory.SubFactory(StationFactory)
    id_tag = factory.SubFactory(IdTagFactory)
