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
import hmac
import logging
from dataclasses import dataclass, field

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from apps.organizations.models import Organization
from apps.stations.models import ChargingStation, ocpp_id_validator
from apps.stations.services import station_password_verifier, station_password_verifier_store

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


@dataclass(frozen=True)
class AdmissionRequest:
    """One connection attempt: the identity in the path, the organization path it came through (if any) and its
    HTTP Basic credentials."""

    ocpp_id: str
    organization_slug: str | None
    credentials: tuple[str, str] | None = field(repr=False)  # never in a log line


@dataclass(frozen=True)
class PasswordCheckNeeded:
    """A known station whose row holds no verifier for the presented password (its first connection, a new
    password, a rotated SECRET_KEY, or a wrong password): the slow hash check decides. `admission` is the answer
    if it passes."""

    admission: Admission
    password_hash: str = field(repr=False)
    password: str = field(repr=False)


_KNOWN_FIELDS = ("pk", "ocpp_id", "registration_status", "max_power_w", "password_hash", "password_verifier",
                 "site__organization__slug")


def _known_station_decide(request: AdmissionRequest, row: dict | None) -> Admission | PasswordCheckNeeded | None:
    ocpp_id, organization_slug = request.ocpp_id, request.organization_slug
    if row is None:
        return None if organization_slug else Admission(False, 401, f"unknown station {ocpp_id}")
    if organization_slug and row["site__organization__slug"] != organization_slug:
        return Admission(False, 401, f"{ocpp_id} does not belong to organization {organization_slug}")
    if not row["password_hash"]:
        return Admission(False, 401, f"{ocpp_id} has no password set: set one in the admin")
    if request.credentials is None:
        return Admission(False, 401, f"{ocpp_id} sent no HTTP Basic credentials")
    user, password = request.credentials
    if user.lower() != ocpp_id.lower():
        return Admission(False, 401, f"wrong credentials for {ocpp_id}")
    admission = Admission(True, station_id=row["pk"], ocpp_id=row["ocpp_id"],
                          registration_status=row["registration_status"], max_power_w=row["max_power_w"])
    digest = station_password_verifier(password_hash=row["password_hash"], password=password)
    if row["password_verifier"] and hmac.compare_digest(row["password_verifier"], digest):
        return admission
    return PasswordCheckNeeded(admission, row["password_hash"], password)


def stations_admit_known(*, requests: list[AdmissionRequest]) -> list[Admission | PasswordCheckNeeded | None]:
    """Decide many connection attempts with ONE query (a reconnect herd: thousands of chargers coming back after a
    restart or a network cut). Per request, in order:
    - an Admission: refused (malformed identity, unknown station on the plain path, wrong organization, no
      password, missing or foreign credentials) or admitted (the password matches the row's verifier);
    - PasswordCheckNeeded: a known station whose password must pass the slow hash check first;
    - None: no such station, on an organization's path: `station_admit` decides (it may create it Pending).
    Reads only; the slow check and the verifier it earns are the caller's (`password_check_slow`)."""
    valid = {request.ocpp_id for request in requests if _valid_identity(request.ocpp_id)}
    lowered = {ocpp_id.lower() for ocpp_id in valid}
    # LOWER(ocpp_id) IN (...) uses the unique index on LOWER(ocpp_id); ocpp_id__iexact (UPPER = UPPER) cannot.
    rows = {row["ocpp_id"].lower(): row for row in ChargingStation.objects.alias(
        ocpp_id_lower=Lower("ocpp_id")).filter(ocpp_id_lower__in=lowered).order_by().values(*_KNOWN_FIELDS)} \
        if lowered else {}
    return [_known_station_decide(request, rows.get(request.ocpp_id.lower()))
            if request.ocpp_id in valid else _malformed(request.ocpp_id) for request in requests]


def _valid_identity(ocpp_id: str) -> bool:
    try:
        ocpp_id_validator(ocpp_id)
    except ValidationError:
        return False
    return True


def _malformed(ocpp_id: str) -> Admission:
    return Admission(False, 400, f"{ocpp_id!r} is not a valid OCPP identity")


def password_check_slow(*, check: PasswordCheckNeeded) -> Admission:
    """The slow hash check of a PasswordCheckNeeded (deliberately slow: PBKDF2). Reads nothing; the caller keeps
    the verifier it earns (`station_password_verifier_store`) so the next connection skips it."""
    if check_password(check.password, check.password_hash):
        return check.admission
    return Admission(False, 401, f"wrong credentials for {check.admission.ocpp_id}")


def station_admit(*, ocpp_id: str, organization_slug: str | None,
                  credentials: tuple[str, str] | None) -> Admission:
    """Decide one connection attempt, slow check and verifier included (the batched path is
    `stations_admit_known`). Refusals carry the HTTP status to answer (401: unknown station or wrong credentials,
    400: malformed identity)."""
    decided = stations_admit_known(requests=[AdmissionRequest(ocpp_id, organization_slug, credentials)])[0]
    if isinstance(decided, PasswordCheckNeeded):
        admission = password_check_slow(check=decided)
        if admission.ok:
            station_password_verifier_store(station_id=admission.station_id, password_hash=decided.password_hash,
                                            password=decided.password)
        return admission
    if decided is not None:
        return decided
    return _unknown_station_admit(ocpp_id=ocpp_id, organization_slug=organization_slug, credentials=credentials)


def _unknown_station_admit(*, ocpp_id: str, organization_slug: str,
                           credentials: tuple[str, str] | None) -> Admission:
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
