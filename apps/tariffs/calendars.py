"""Contract 3: retailer time-of-use calendars evaluated in the site's time zone (DST-correct). `calendar` is a
TouCalendar row (apps.tariffs.models) or an engine CalendarSpec."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .engine.calendar import CalendarSpec
from .exceptions import InvalidSession


def _spec(calendar) -> CalendarSpec:
    if isinstance(calendar, CalendarSpec):
        return calendar
    return calendar.spec()


def period_at(*, calendar, at: datetime, time_zone: str) -> str:
    """The period label (e.g. "Ponta", "Fora de ponta") in force at the UTC moment `at` in `time_zone`."""
    return _spec(calendar).slot_at(at, time_zone).period


def slot_at(*, calendar, at: datetime, time_zone: str) -> tuple[str, str, str]:
    """(season, day type, period) in force at `at` — the three labels of a condominium report line."""
    slot = _spec(calendar).slot_at(at, time_zone)
    return slot.season, slot.day_type, slot.period


def energy_split_by_period(*, calendar, readings, time_zone: str) -> dict[tuple[str, str, str], int]:
    """Energy (Wh) between consecutive cumulative readings (objects with `.at` UTC and `.energy_wh`, in time order)
    split into (season, day_type, period) by linear interpolation in real elapsed time. Cumulative energy at each
    period edge is rounded to whole Wh, so the parts add up exactly to the metered total; a reading below its
    predecessor (meter reset) contributes nothing."""
    spec = _spec(calendar)
    tz = ZoneInfo(time_zone)
    out: dict[tuple[str, str, str], int] = {}
    previous = None
    for reading in readings:
        if previous is not None:
            ta, tb = previous.at.timestamp(), reading.at.timestamp()
            if tb < ta:
                raise InvalidSession(f"Meter readings go back in time at {reading.at.isoformat()}.")
            delta = reading.energy_wh - previous.energy_wh
            if delta > 0 and tb == ta:
                slot = spec.slot_at(reading.at, time_zone)
                key = (slot.season, slot.day_type, slot.period)
                out[key] = out.get(key, 0) + delta
            elif delta > 0:
                done = 0
                day = datetime.fromtimestamp(ta, tz).date()
                last_day = datetime.fromtimestamp(tb, tz).date()
                while day <= last_day:
                    for slot in spec.day_slots(day, time_zone):
                        lo, hi = max(slot.start_at, ta), min(slot.end_at, tb)
                        if hi <= lo:
                            continue
                        upto = delta if hi >= tb else math.floor(delta * (hi - ta) / (tb - ta) + 0.5)
                        key = (slot.season, slot.day_type, slot.period)
                        out[key] = out.get(key, 0) + upto - done
                        done = upto
                    day += timedelta(days=1)
        previous = reading
    return out
