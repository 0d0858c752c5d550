"""Contract 3: retailer time-of-use calendars evaluated in the site's time zone (DST-correct)."""
from __future__ import annotations

from datetime import datetime


def period_at(*, calendar, at: datetime, time_zone: str) -> str:
    """The period label (e.g. "Ponta", "fora_ponta") in force at UTC moment `at` in `time_zone`. `calendar` is a
    TouCalendar row or an engine CalendarSpec."""
    raise NotImplementedError("contract-3 signature; implementation lands next")


def energy_split_by_period(*, calendar, readings, time_zone: str) -> dict[tuple[str, str, str], int]:
    """Energy (Wh) between consecutive cumulative readings split into (season, day_type, period) by linear
    interpolation in real elapsed time."""
    raise NotImplementedError("contract-3 signature; implementation lands next")
