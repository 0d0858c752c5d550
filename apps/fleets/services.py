"""Writes for fleet managers: registering a driver (person, role, billing customer and card in one transaction) and
blocking or unblocking the fleet's cards."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from apps.billing.models import Customer
from apps.billing.services.customers import customer_for_user_ensure
from apps.organizations.models import Membership, Organization
from apps.organizations.services import membership_grant
from apps.users.models import IdTag, User
from apps.users.services import id_tag_register, id_tags_set_status, user_create_with_password

from .exceptions import CardInUse

COUNTRY_CURRENCIES = {"PT": "EUR", "BR": "BRL"}


@dataclass(frozen=True)
class DriverRegistration:
    driver: User
    created: bool  # a new account (False: the organization's existing person got the driver role)
    initial_password: str | None  # only for a new account, shown once
    customer: Customer
    card: IdTag | None


def fleet_currency(*, fleet: Organization) -> str:
    """The currency the fleet's customers pay in: its sites' currency, else its country's."""
    currency = fleet.sites.order_by("pk").values_list("currency", flat=True).first()
    return currency or COUNTRY_CURRENCIES.get(fleet.country, "EUR")


def fleet_default_regime(*, fleet: Organization) -> str:
    """A fleet company pays its drivers' charging on its monthly invoice (postpaid); other organizations (a
    condominium, a parking operator) register drivers who pay as they go from a wallet (prepaid)."""
    if fleet.kind == Organization.Kind.FLEET_COMPANY:
        return Customer.Regime.POSTPAID
    return Customer.Regime.PREPAID


@transaction.atomic
def fleet_driver_register(*, fleet: Organization, email: str, first_name: str = "", last_name: str = "",
                          phone: str = "", regime: str | None = None, card_uid: str = "",
                          card_label: str = "") -> DriverRegistration:
    """Register a driver in `fleet`, all or nothing: the person (reused when someone of this organization already
    has this e-mail, else a new account with a generated initial password), the `driver` role, a billing customer
    in the fleet (regime from the request, else `fleet_default_regime`) and optionally a card owned by the driver.
    Idempotent on the e-mail: registering the same driver again changes nothing and creates nothing.

    A person of another organization with the same e-mail is not reused: linking them would show this manager
    another tenant's person. They get a separate account; the back-office can merge accounts."""
    # Registrations in one organization queue on its row, so two simultaneous requests with the same new e-mail
    # cannot both create an account.
    Organization.objects.select_for_update().filter(pk=fleet.pk).first()
    members = Membership.objects.filter(organization=fleet).values("user_id")
    driver = (User.objects.select_for_update().filter(pk__in=members, email__iexact=email.strip())
              .order_by("pk").first())
    password = None
    created = driver is None
    if created:
        driver, password = user_create_with_password(email=email, first_name=first_name, last_name=last_name,
                                                     phone=phone)
    membership_grant(user=driver, organization=fleet, role=Membership.Role.DRIVER)
    customer, _ = customer_for_user_ensure(organization=fleet, user=driver,
                                           regime=regime or fleet_default_regime(fleet=fleet),
                                           currency=fleet_currency(fleet=fleet))
    card = None
    if card_uid:
        existing = IdTag.objects.filter(uid__iexact=card_uid, organization=fleet).first()
        if existing is not None and existing.owner_id not in (None, driver.pk):
            raise CardInUse(f"Card {card_uid} already belongs to another driver of this organization.",
                            extra={"card": {"uid": ["Already belongs to another driver."]}})
        card, _ = id_tag_register(uid=card_uid, organization=fleet, owner=driver, label=card_label,
                                  user_group=existing.user_group if existing else _price_group(customer=customer))
    return DriverRegistration(driver=driver, created=created, initial_password=password, customer=customer,
                              card=card)


def _price_group(*, customer: Customer) -> str:
    # A new card gets the price group of the customer's current plan (as subscription_start would give it), else
    # the fleet group for fleet companies' drivers.
    subscription = customer.subscriptions.select_related("plan").filter(ends_on__isnull=True).first()
    if subscription is not None:
        return subscription.plan.user_group
    return "fleet" if customer.organization.kind == Organization.Kind.FLEET_COMPANY else "public"


def fleet_card_set_status(*, fleet: Organization, card: IdTag, status: str) -> IdTag:
    """Block or unblock one of the fleet's cards; doing it twice changes nothing. A blocked card is answered
    "Blocked" at its next Authorize or StartTransaction (apps/charging/services/authorization.py)."""
    if card.organization_id != fleet.pk:
        raise ValueError("the card belongs to another organization")
    id_tags_set_status(id_tags=IdTag.objects.filter(pk=card.pk), status=status)
    card.refresh_from_db(fields=["status"])
    return card
