"""The demo network: the Lisbon condominium garage of the ChaZeMo seed, a São Paulo parking operator and a fleet
company, with clerks, drivers, cards and vehicles. Loading is idempotent: run it as often as you like."""
from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.circuits.services import circuit_ensure
from apps.organizations.services import membership_grant, organization_ensure
from apps.sites.services import site_ensure
from apps.stations.models import ChargingStation
from apps.stations.services import station_permission_grant, station_register
from apps.users.models import Vehicle
from apps.users.services import id_tag_register

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"


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
    return counts


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
