"""Writes for stations, connectors and permissions."""
from __future__ import annotations

from django.db import transaction
from django.utils.crypto import salted_hmac

from apps.circuits.models import Circuit
from apps.sites.models import Site
from apps.users.models import IdTag, User

from .models import ChargingStation, Connector, StationPermission


@transaction.atomic
def station_register(
    *,
    ocpp_id: str,
    site: Site,
    circuit: Circuit | None = None,
    password: str | None = None,
    parking_spot: str | None = None,
    current_type: str | None = None,
    max_power_w: int | None = None,
    connectors: list[dict] | None = None,
) -> tuple[ChargingStation, bool]:
    """Register a station, or update the one with this OCPP identity (case-insensitive). Idempotent: registering
    the same station twice changes nothing. Returns (station, created). `connectors` is a list of
    {"connector_id", "connector_type", "max_power_w"}; existing connectors are updated, none are removed."""
    station = ChargingStation.objects.select_for_update().filter(ocpp_id__iexact=ocpp_id).first()
    created = station is None
    if created:
        station = ChargingStation(ocpp_id=ocpp_id, site=site)
    station.site = site
    if circuit is not None:
        station.circuit = circuit
    if parking_spot is not None:
        station.parking_spot = parking_spot
    if current_type is not None:
        station.current_type = current_type
    if max_power_w is not None:
        station.max_power_w = max_power_w
    if password:
        station.set_password(password)
    station.full_clean()
    station.save()
    for spec in connectors or []:
        connector = Connector.objects.filter(station=station, connector_id=spec["connector_id"]).first() or Connector(
            station=station, connector_id=spec["connector_id"]
        )
        connector.connector_type = spec.get("connector_type", connector.connector_type)
        connector.max_power_w = spec.get("max_power_w") or connector.max_power_w or station.max_power_w
        connector.full_clean()
        connector.save()
    return station, created


def station_permission_grant(*, station: ChargingStation, id_tag: IdTag | None = None,
                             user: User | None = None) -> StationPermission:
    """Allow a card (or every card of a person) to charge at a restricted station. Idempotent."""
    if (id_tag is None) == (user is None):
        raise ValueError("grant a permission to a card or to a person")
    permission, _ = StationPermission.objects.get_or_create(station=station, id_tag=id_tag, user=user)
    return permission


def station_password_verifier(*, password_hash: str, password: str) -> str:
    """The keyed digest kept in ChargingStation.password_verifier (see there)."""
    return salted_hmac("evnet.station-password", f"{password_hash}\x00{password}", algorithm="sha256").hexdigest()


def station_password_verifier_store(*, station_id: int, password_hash: str, password: str) -> None:
    """Keep the verifier of a password that passed the slow check against `password_hash`. Password hashing is
    deliberately slow (PBKDF2); a charger reconnecting should not pay it again, on this process or another: the
    station row keeps a keyed digest that later checks compare in constant time (apps/ocpp/services/admission.py).
    Only for the hash that was checked: a password changed meanwhile keeps its own (empty) verifier."""
    ChargingStation.objects.filter(pk=station_id, password_hash=password_hash).update(
        password_verifier=station_password_verifier(password_hash=password_hash, password=password))
