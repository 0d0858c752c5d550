"""Writes for people, cards and vehicles."""
from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from .models import IdTag, User


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
