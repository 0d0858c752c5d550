"""Writes for sites."""
from __future__ import annotations

from apps.organizations.models import Organization

from .models import Site


def site_ensure(*, organization: Organization, name: str, **fields) -> Site:
    """Create or update the organization's site with this name. Validates everything (time zone, coordinates)."""
    site = Site.objects.filter(organization=organization, name=name).first() or Site(
        organization=organization, name=name
    )
    for key, value in fields.items():
        setattr(site, key, value)
    site.full_clean()
    site.save()
    return site
