"""Contract 3: the pure rating function. See README "Tariffs: rating rules"."""
from __future__ import annotations

from datetime import datetime

from .types import (  # noqa: F401 - re-exported: the contract names live here
    ENERGY, FLAT, PARKING_TIME, TIME, HourPrice, Price, PriceComponent, PriceSchedule, RatedLine, RatingResult,
    Reading, Restrictions, TariffElement, TariffSpec,
)


def rate(*, tariff: TariffSpec, readings: list[Reading], started_at: datetime, stopped_at: datetime,
         charging_ended_at: datetime | None = None, time_zone: str, user_group: str = "public",
         price_schedule: PriceSchedule | None = None) -> RatingResult:
    """Price one session. `readings` are cumulative Wh, sorted by time, UTC."""
    raise NotImplementedError("contract-3 signature; implementation lands next")
