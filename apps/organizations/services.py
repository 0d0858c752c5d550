"""Writes for organizations and memberships."""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Membership, Organization

BPO_CLERK_GROUP = "BPO clerk"

# Models a BPO clerk administers, with the actions allowed on each. Deleting sessions or meter values is never
# allowed: they are the evidence behind every invoice.
_CLERK_PERMISSIONS = {
    ("organizations", "organization"): ("view", "change"),
    ("organizations", "membership"): ("view", "add", "change", "delete"),
    ("users", "user"): ("view", "add", "change"),
    ("users", "idtag"): ("view", "add", "change", "delete"),
    ("users", "vehicle"): ("view", "add", "change", "delete"),
    ("sites", "site"): ("view", "add", "change"),
    ("circuits", "circuit"): ("view", "add", "change", "delete"),
    ("stations", "chargingstation"): ("view", "add", "change"),
    ("stations", "connector"): ("view", "add", "change", "delete"),
    ("stations", "stationpermission"): ("view", "add", "change", "delete"),
    ("charging", "chargingsession"): ("view", "change"),
    ("charging", "metervalue"): ("view",),
    # The attention queue: viewing it; resolving needs change_chargingsession (above).
    ("charging", "sessionneedingattention"): ("view",),
    ("ocpp", "ocppmessage"): ("view",),
    ("stations", "stationstatusevent"): ("view",),
    ("pricing", "stationpricing"): ("view", "add", "change"),
    ("pricing", "priceforecast"): ("view",),
    ("pricing", "pvcurve"): ("view", "add", "change"),
    ("pricing", "occupancydefault"): ("view", "add", "change"),
    ("pricing", "stationoccupancy"): ("view",),
    # Station operations: commands and their answers are evidence, never edited; firmware is managed by clerks.
    ("operations", "commandrecord"): ("view",),
    ("operations", "firmwareimage"): ("view", "add", "change", "delete"),
    ("operations", "diagnosticsrequest"): ("view",),
    ("operations", "reservation"): ("view",),
    ("operations", "stationlocallist"): ("view",),
    ("operations", "stationconnectivityevent"): ("view",),
    ("rating", "sessionprice"): ("view",),
    # Tariffs of the organizations they serve; retailer calendars are shared reference data (superusers edit).
    ("tariffs", "tariff"): ("view", "add", "change"),
    ("tariffs", "tariffversion"): ("view", "add", "change"),
    ("tariffs", "tariffassignment"): ("view", "add", "change", "delete"),
    ("tariffs", "toucalendar"): ("view",),
    ("tariffs", "touwindow"): ("view",),
    ("rating", "costrecoveryreport"): ("view", "add", "change"),
    # Billing: customers, cards, plans and settings are edited; the journal, payments and documents are evidence.
    ("billing", "billingsettings"): ("view", "add", "change"),
    ("billing", "customer"): ("view", "add", "change"),
    ("billing", "customercard"): ("view", "add", "change", "delete"),
    ("billing", "plan"): ("view", "add", "change"),
    ("billing", "subscription"): ("view", "add", "change"),
    ("billing", "account"): ("view",),
    ("billing", "journalentry"): ("view",),
    ("billing", "journalline"): ("view",),
    ("billing", "payment"): ("view",),
    ("billing", "webhookevent"): ("view",),
    ("billing", "sessioncharge"): ("view",),
    ("invoices", "invoice"): ("view",),
    ("invoices", "invoiceline"): ("view",),
    ("invoices", "billingrun"): ("view",),
    ("invoices", "billingrunstep"): ("view",),
}


def role_groups_ensure(*, extra_permissions: dict | None = None) -> Group:
    """Create or update the "BPO clerk" permission group. Idempotent; run after every migrate."""
    group, _ = Group.objects.get_or_create(name=BPO_CLERK_GROUP)
    wanted = dict(_CLERK_PERMISSIONS)
    wanted.update(extra_permissions or {})
    codenames = []
    for (app_label, model), actions in wanted.items():
        codenames += [(app_label, f"{action}_{model}") for action in actions]
    perms = [
        p for p in Permission.objects.select_related("content_type").filter(
            codename__in=[c for _, c in codenames]
        )
        if (p.content_type.app_label, p.codename) in set(codenames)
    ]
    group.permissions.set(perms)
    return group


@transaction.atomic
def membership_grant(*, user, organization: Organization, role: str) -> Membership:
    """Give `user` a role in `organization`. Back-office roles make the user staff and a member of the clerk group.
    Granting the same role twice changes nothing."""
    membership, _ = Membership.objects.get_or_create(user=user, organization=organization, role=role)
    if role in (Membership.Role.BPO_CLERK, Membership.Role.ORG_ADMIN):
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        user.groups.add(role_groups_ensure())
    return membership


def organization_ensure(*, slug: str, name: str, kind: str, country: str, **fields) -> Organization:
    """Create the organization with this slug, or update its fields. Idempotent (demo data, provisioning)."""
    organization = Organization.objects.filter(slug=slug).first() or Organization(slug=slug)
    organization.name, organization.kind, organization.country = name, kind, country
    for key, value in fields.items():
        setattr(organization, key, value)
    organization.full_clean()
    organization.save()
    return organization
