"""The demo network: the Lisbon condominium garage of the ChaZeMo seed, a São Paulo parking operator and a fleet
company, with clerks, drivers, cards and vehicles. Loading is idempotent: run it as often as you like."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.billing.gateways import SimulatedGateway
from apps.billing.models import Customer, Payment
from apps.billing.services.customers import customer_for_user_ensure
from apps.billing.services.wallets import simulated_checkout_complete, wallet_top_up_start
from apps.circuits.services import circuit_ensure
from apps.organizations.models import Membership, Organization
from apps.organizations.services import membership_grant, organization_ensure
from apps.sites.services import site_ensure
from apps.stations.models import ChargingStation
from apps.stations.services import station_permission_grant, station_register
from apps.tariffs.models import Tariff
from apps.tariffs.services import tariff_assign, tariff_import_ocpi
from apps.users.models import Vehicle
from apps.users.services import id_tag_register

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
# The retailer's tariff of the ChaZeMo seed (cost recovery at the retailer's exact TOU prices): the condominium's
# price for its residents in the demo, so sessions are priced and the API shows prices.
DEMO_TARIFF_FROM = datetime(2026, 1, 1, tzinfo=dt_timezone.utc)
CONDOMINIUM_TARIFF_FILE = Path(settings.BASE_DIR) / "apps" / "tariffs" / "data" / "chazemo-tejo-tariff.json"


@transaction.atomic
def demo_load(*, people_password: str, path: Path = DEMO_FILE) -> dict[str, int]:
    """Create or refresh the demo network from fixtures/demo.json. Returns counts of what it holds."""
    data = json.loads(path.read_text(encoding="utf-8"))
    organizations, counts = {}, {"organizations": 0, "sites": 0, "circuits": 0, "stations": 0, "people": 0, "cards": 0}
    station_password = settings.EVNET_DEMO_STATION_PASSWORD
    for org_spec in data["organizations"]:
        sites = org_spec.pop("sites")
        organization = organization_ensure(**org_spec)
        organizations[organization.slug] = organization
        counts["organizations"] += 1
        for site_spec in sites:
            circuits_spec, stations_spec = site_spec.pop("circuits"), site_spec.pop("stations")
            site = site_ensure(organization=organization, **site_spec)
            counts["sites"] += 1
            circuits = {}
            for circuit_spec in circuits_spec:
                parent_name = circuit_spec.pop("parent", None)
                circuits[circuit_spec["name"]] = circuit_ensure(
                    site=site, parent=circuits[parent_name] if parent_name else None, **circuit_spec
                )
                counts["circuits"] += 1
            for station_spec in stations_spec:
                station_register(site=site, circuit=circuits[station_spec.pop("circuit")],
                                 password=station_password, **station_spec)
                counts["stations"] += 1
    User = get_user_model()
    for person in data["people"]:
        user = User.objects.filter(username=person["username"]).first() or User(username=person["username"])
        user.first_name, user.last_name, user.email = person["first_name"], person["last_name"], person["email"]
        user.set_password(people_password)
        user.save()
        counts["people"] += 1
        for slug, role in person.get("memberships", []):
            membership_grant(user=user, organization=organizations[slug], role=role)
        home = organizations[person["memberships"][0][0]]
        cards = []
        for card in person.get("cards", []):
            id_tag, _ = id_tag_register(organization=home, owner=user, **card)
            cards.append(id_tag)
            counts["cards"] += 1
        for vehicle in person.get("vehicles", []):
            Vehicle.objects.update_or_create(
                organization=home, license_plate=vehicle["license_plate"],
                defaults={**vehicle, "owner": user, "id_tag": cards[0] if cards else None},
            )
        for ocpp_id in person.get("permissions", []):
            station = ChargingStation.objects.get(ocpp_id__iexact=ocpp_id)
            for id_tag in cards:
                station_permission_grant(station=station, id_tag=id_tag)
    counts["priced sites"] = _demo_tariffs_ensure(organizations=organizations)
    counts["billing customers"] = _demo_customers_ensure(organizations=organizations)
    counts["wallets funded"] = _demo_wallets_fund(organizations=organizations)
    return counts


def _demo_tariffs_ensure(*, organizations: dict[str, Organization]) -> int:
    """The condominium's sites charge the seed's retailer tariff (imported once: a reload adds no new version)."""
    data = json.loads(CONDOMINIUM_TARIFF_FILE.read_text(encoding="utf-8"))
    assigned = 0
    for organization in organizations.values():
        if organization.kind != Organization.Kind.CONDOMINIUM:
            continue
        tariff = Tariff.objects.filter(organization=organization, code=data["id"]).first()
        if tariff is None:
            # In force from the start of the seed's year, so the demo's past sessions are priced too.
            tariff = tariff_import_ocpi(organization=organization, data=data, valid_from_at=DEMO_TARIFF_FROM,
                                        name="Retailer TOU tariff (ChaZeMo seed)").tariff
        for site in organization.sites.filter(currency=data["currency"]):
            tariff_assign(tariff=tariff, site=site)
            assigned += 1
    return assigned


def _demo_customers_ensure(*, organizations: dict[str, Organization]) -> int:
    """Every demo driver is a customer of the organization they drive for: the fleet company's drivers postpaid
    (the company is invoiced monthly), the condominium's residents and the car park's clients prepaid (they top
    up their wallet from the app; the simulated payment provider's checkout page pays it)."""
    made = 0
    for membership in Membership.objects.filter(organization__in=organizations.values(),
                                                role=Membership.Role.DRIVER).select_related("organization", "user"):
        organization = membership.organization
        site = organization.sites.order_by("pk").first()
        regime = (Customer.Regime.POSTPAID if organization.kind == Organization.Kind.FLEET_COMPANY
                  else Customer.Regime.PREPAID)
        customer_for_user_ensure(organization=organization, user=membership.user, regime=regime,
                                 currency=site.currency if site else "EUR")
        made += 1
    return made


# What a prepaid demo driver has topped up before the demo starts: enough to start a charge (a wallet must hold
# the organization's minimum) without first going through the checkout page.
DEMO_OPENING_TOP_UP = {"EUR": Decimal("20.00"), "BRL": Decimal("100.00")}


def _demo_wallets_fund(*, organizations: dict[str, Organization]) -> int:
    """Each prepaid demo driver who never topped up gets one top-up, paid on the simulated provider's checkout
    page: the signed webhook and the ledger entries are the real ones. A reload pays nothing twice."""
    funded = 0
    for customer in Customer.objects.filter(organization__in=organizations.values(), regime=Customer.Regime.PREPAID,
                                            kind=Customer.Kind.DRIVER).select_related("organization"):
        amount = DEMO_OPENING_TOP_UP.get(customer.currency)
        if amount is None or Payment.objects.filter(customer=customer).exists():
            continue
        payment = wallet_top_up_start(customer=customer, amount=amount, gateway=SimulatedGateway())
        simulated_checkout_complete(payment=payment, paid=True)
        funded += 1
    return funded


def demo_admin_ensure(*, username: str = "admin") -> tuple[str, str]:
    """A superuser for the demo, with a password generated once and kept in var/ (so it stays the same between
    runs on this machine). Returns (username, password)."""
    secret_file = Path(settings.VAR_DIR) / "admin-login.txt"
    if secret_file.exists():
        password = secret_file.read_text(encoding="utf-8").strip()
    else:
        password = secrets.token_urlsafe(12)
        secret_file.write_text(password + "\n", encoding="utf-8")
        secret_file.chmod(0o600)
    User = get_user_model()
    user = User.objects.filter(username=username).first() or User(username=username, email="admin@evnet.local")
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return username, password
