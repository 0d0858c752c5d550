"""Writes for people, cards and vehicles."""
from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from .models import IdTag, User, Vehicle


@transaction.atomic
def id_tags_set_status(*, id_tags: QuerySet[IdTag], status: str) -> int:
    """Block or unblock cards; returns how many changed. A blocked card is answered "Blocked" at the next
    Authorize or StartTransaction."""
    if status not in IdTag.Status.values:
        raise ValueError(f"unknown card status {status!r}")
    return id_tags.exclude(status=status).update(status=status)


@transaction.atomic
def id_tag_register(*, uid: str, organization, owner=None, label: str = "", user_group: str = "public",
                    expires_at=None) -> tuple[IdTag, bool]:
    """Register a card, or update the one with this uid (case-insensitive) in the same organization.
    A uid already used by another organization is refused: a card cannot belong to two tenants."""

    id_tag = IdTag.objects.select_for_update().filter(uid__iexact=uid).first()
    created = id_tag is None
    if created:
        id_tag = IdTag(uid=uid, organization=organization)
    elif id_tag.organization_id != organization.pk:
        raise ValidationError({"uid": f"Card {uid} already belongs to another organization."})
    if owner is not None:
        id_tag.owner = owner
    if label:
        id_tag.label = label
    id_tag.user_group = user_group or id_tag.user_group
    if expires_at is not None:
        id_tag.expires_at = expires_at
    id_tag.full_clean()
    id_tag.save()
    return id_tag, created


@transaction.atomic
def user_profile_update(*, user, **fields):
    """A person edits their own name, e-mail, phone or language; nothing else (roles and staff flags are the
    back-office's)."""
    allowed = {"first_name", "last_name", "email", "phone", "preferred_language"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not editable by the person: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(user, name, value)
    if fields:
        user.full_clean(exclude=["password", "username"])
        user.save(update_fields=list(fields))
    return user


@transaction.atomic
def user_create_with_password(*, email: str, first_name: str = "", last_name: str = "",
                              phone: str = "") -> tuple[User, str]:
    """A new person who logs in with their e-mail. Returns the user and a generated initial password (stored only
    as a hash): the caller hands it over once. The username is the e-mail, suffixed when another account already
    uses it (e-mails are not unique across organizations)."""
    email = User.objects.normalize_email(email).strip()
    base = email.lower()[:140]
    username, n = base, 1
    while User.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    password = secrets.token_urlsafe(12)
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, phone=phone)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user, password


def id_tag_block_by_owner(*, id_tag: IdTag) -> IdTag:
    """The owner reports a lost card: it is refused ("Blocked") from the next Authorize or StartTransaction on.
    Blocking a blocked card changes nothing."""
    id_tags_set_status(id_tags=IdTag.objects.filter(pk=id_tag.pk), status=IdTag.Status.BLOCKED)
    id_tag.refresh_from_db()
    return id_tag


def _vehicle_check(*, owner, organization_id: int | None, id_tag: IdTag | None) -> None:
    from .selectors import organization_ids_of_person

    if organization_id is not None and organization_id not in organization_ids_of_person(user=owner):
        raise ValidationError({"organization_id": "You do not belong to this organization."})
    if id_tag is not None and id_tag.owner_id != owner.pk:
        raise ValidationError({"card_id": "This card is not yours."})


@transaction.atomic
def vehicle_create(*, owner, make: str, model: str, license_plate: str = "", battery_capacity_wh: int | None = None,
                   organization_id: int | None = None, id_tag: IdTag | None = None) -> Vehicle:
    """A driver registers a vehicle of theirs, in one of their organizations (the only one by default)."""
    from .selectors import organization_ids_of_person

    if organization_id is None:
        organizations = organization_ids_of_person(user=owner)
        if len(organizations) != 1:
            raise ValidationError({"organization_id": "Say which of your organizations the vehicle belongs to."
                                   if organizations else "You belong to no organization yet."})
        organization_id = organizations.pop()
    _vehicle_check(owner=owner, organization_id=organization_id, id_tag=id_tag)
    vehicle = Vehicle(owner=owner, organization_id=organization_id, make=make, model=model,
                      license_plate=license_plate, battery_capacity_wh=battery_capacity_wh, id_tag=id_tag)
    vehicle.full_clean()
    vehicle.save()
    return vehicle


@transaction.atomic
def vehicle_update(*, vehicle: Vehicle, **fields) -> Vehicle:
    """The owner edits make, model, plate, battery capacity or usual card."""
    allowed = {"make", "model", "license_plate", "battery_capacity_wh", "id_tag"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not editable by the owner: {sorted(unknown)}")
    if "id_tag" in fields:
        _vehicle_check(owner=vehicle.owner, organization_id=None, id_tag=fields["id_tag"])
    for name, value in fields.items():
        setattr(vehicle, name, value)
    vehicle.full_clean()
    vehicle.save()
    return vehicle


@transaction.atomic
def vehicle_delete(*, vehicle: Vehicle) -> None:
    vehicle.delete()
