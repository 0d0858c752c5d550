"""Who may open an OCPP socket: known stations with their HTTP Basic password (security profiles 1 and 2), and —
when an organization opts in with `accept_unknown_stations` — unknown stations that connect through that
organization's path `/ocpp/<organization-slug>/<station_id>`, created Pending for a clerk to approve.

An unknown station is tied to an organization by the path it connects to: the operator configures the charger's
central-system URL as `ws://HOST/ocpp/<organization-slug>/` (the charger appends its identity). It is created in
the organization's onboarding site (its oldest site; the clerk moves it to the right site and circuit when
approving) with the password it presented (trust on first use). Unknown identities on the plain path, or on the
path of an organization that does not accept them, are refused like a wrong password (401, nothing revealed)."""
from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from apps.organizations.models import Organization
from apps.stations.models import ChargingStation, ocpp_id_validator
from apps.stations.services import station_password_check

logger = logging.getLogger("apps.ocpp")

@dataclass(frozen=True)
class Admission:
    ok: bool
    status: int = 200
    reason: str = ""
    station_id: int | None = None
    ocpp_id: str = ""
    registration_status: str = ""
    max_power_w: int | None = None
    created: bool = False


def basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic` header, or None."""
    for name, value in headers:
        if name.lower() != b"authorization":
            continue
        scheme, _, encoded = value.decode("latin1").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None
    return None


def _admitted(station: ChargingStation, created: bool = False) -> Admission:
    return Admission(True, station_id=station.pk, ocpp_id=station.ocpp_id,
                     registration_status=station.registration_status, max_power_w=station.max_power_w,
                     created=created)


def station_admit(*, ocpp_id: str, organization_slug: str | None,
                  credentials: tuple[str, str] | None) -> Admission:
    """Decide on a connection attempt. Refusals carry the HTTP status to answer (401: unknown station or wrong
    credentials, 400: malformed identity)."""
    try:
        ocpp_id_validator(ocpp_id)
    except ValidationError:
        return Admission(False, 400, f"{ocpp_id!r} is not a valid OCPP identity")
    # LOWER(ocpp_id) = lower(id) uses the unique index on LOWER(ocpp_id); ocpp_id__iexact (UPPER = UPPER) cannot.
    station = ChargingStation.objects.select_related("site__organization").alias(
        ocpp_id_lower=Lower("ocpp_id")).filter(ocpp_id_lower=ocpp_id.lower()).order_by().first()
    if station is not None:
        if organization_slug and station.site.organization.slug != organization_slug:
            return Admission(False, 401, f"{ocpp_id} does not belong to organization {organization_slug}")
        if not station.password_hash:
            return Admission(False, 401, f"{ocpp_id} has no password set: set one in the admin")
        if credentials is None:
            return Admission(False, 401, f"{ocpp_id} sent no HTTP Basic credentials")
        user, password = credentials
        if user.lower() != ocpp_id.lower() or not station_password_check(station=station, password=password):
            return Admission(False, 401, f"wrong credentials for {ocpp_id}")
        return _admitted(station)
    if not organization_slug:
        return Admission(False, 401, f"unknown station {ocpp_id}")
    organization = Organization.objects.filter(slug=organization_slug).first()
    if organization is None or not organization.accept_unknown_stations:
        return Admission(False, 401, f"unknown station {ocpp_id} (organization {organization_slug} does not accept "
                                     "unknown stations)")
    site = organization.sites.order_by("created_at", "pk").first()
    if site is None:
        return Admission(False, 401, f"organization {organization_slug} has no site to put {ocpp_id} in")
    if credentials is None or credentials[0].lower() != ocpp_id.lower() or not credentials[1]:
        return Admission(False, 401, f"unknown station {ocpp_id} must present HTTP Basic credentials")
    try:
        with transaction.atomic():
            station = ChargingStation(ocpp_id=ocpp_id, site=site,
                                      registration_status=ChargingStation.RegistrationStatus.PENDING)
            station.set_password(credentials[1])
            station.save()
    except IntegrityError:
        # Created by a concurrent attempt: check it like a known station.
        return station_admit(ocpp_id=ocpp_id, organization_slug=organization_slug, credentials=credentials)
    logger.warning("unknown station %s admitted as Pending in %s (%s)", ocpp_id, site, organization_slug)
    return _admitted(station, created=True)
