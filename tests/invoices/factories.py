"""Helpers for invoice tests: settled session charges from plain values (what rating would give billing)."""
from __future__ import annotations

from datetime import datetime, timezone as dt_timezone
from decimal import Decimal
from itertools import count

from apps.billing.services.settlement import RatedSession, session_charge_settle

_session_ids = count(100_000)


def charge_for(customer, *, net: str, energy_wh: int = 10_000, at: datetime | None = None, lines=None,
               country: str = "PT", session_id: int | None = None):
    return session_charge_settle(rated=RatedSession(
        session_id=session_id or next(_session_ids), organization=customer.organization, customer=customer,
        currency=customer.currency, net=Decimal(net), energy_wh=energy_wh,
        started_at=at or datetime(2026, 10, 10, 21, 0, tzinfo=dt_timezone.utc), time_zone="Europe/Lisbon",
        country=country, id_tag_uid="04A2B3C4", station_label="ZCS031974 Lugar n°3049", lines=lines or [],
    ))
