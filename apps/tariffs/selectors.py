"""Reads of the tariffs app (contract 3)."""
from __future__ import annotations

from datetime import datetime

from .engine.types import TariffSpec


def tariff_spec_for(*, station, user_group: str, at: datetime) -> TariffSpec | None:
    """The TariffVersion in force at `at` for this station (station, then site, then organization default), for
    the price group `user_group` (a group-specific assignment wins over an all-groups one). `spec.version_id` is
    the TariffVersion primary key."""
    raise NotImplementedError("contract-3 signature; implementation lands next")


def tariff_quote(*, station, energy_wh: int, start_at: datetime, power_w: int | None = None,
                 user_group: str = "public"):
    """What would `energy_wh` from `start_at` cost at this station? Returns a RatingResult for a session charging
    at `power_w` (default: the connector's max power, else 7.4 kW) with linear readings."""
    raise NotImplementedError("contract-3 signature; implementation lands next")
