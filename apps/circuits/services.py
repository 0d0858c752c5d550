"""Writes for circuits."""
from __future__ import annotations

from django.db import transaction

from apps.sites.models import Site

from .models import Circuit


@transaction.atomic
def circuit_ensure(*, site: Site, name: str, parent: Circuit | None = None, **fields) -> Circuit:
    """Create or update the site's circuit with this name. Refuses loops and limits that are not positive."""
    circuit = Circuit.objects.filter(site=site, name=name).first() or Circuit(site=site, name=name)
    circuit.parent = parent
    for key, value in fields.items():
        setattr(circuit, key, value)
    circuit.full_clean()
    circuit.save()
    return circuit
