"""A session's meter readings as the cumulative energy curve the tariff engine rates.

Pure helpers (no ORM): the selectors load the rows, these turn them into `(at, energy_wh)` points that start at 0 Wh
at the session start and never go down."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

ENERGY_REGISTER = "Energy.Active.Import.Register"

# OCPP 1.6 UnitOfMeasure for energy; evnet stores integers (MeterValue docstring), kWh ones are scaled.
_WH_PER_UNIT = {"Wh": 1, "kWh": 1000}


def energy_curve(*, started_at: datetime, meter_start_wh: int, samples: Iterable[tuple[datetime, int, str]],
                 stopped_at: datetime | None = None, energy_wh: int | None = None) -> list[tuple[datetime, int]]:
    """Cumulative energy since the start, one point per distinct time, starting with (started_at, 0).

    - Samples are (sampled_at, value, unit) of the Energy.Active.Import.Register; other units are ignored.
    - Samples before the start or after the stop are dropped (a charger's clock can be off by a few seconds).
    - A register that goes down (meter replaced or reset, charging anomaly `meter_backwards`) starts a new baseline:
      the drop itself counts as no energy, so a reset never produces negative or invented energy.
    - For a closed session, the last point is (stopped_at, energy_wh): the billable energy the charging app settled
      on is what gets priced, and earlier points are capped at it so the curve never goes down.
    """
    points: list[tuple[datetime, int]] = [(started_at, 0)]
    previous_raw = meter_start_wh
    total = 0
    for sampled_at, value, unit in sorted(samples, key=lambda s: s[0]):
        factor = _WH_PER_UNIT.get(unit or "Wh")
        if factor is None or sampled_at < started_at or (stopped_at is not None and sampled_at > stopped_at):
            continue
        raw = value * factor
        if raw >= previous_raw:
            total += raw - previous_raw
        previous_raw = raw
        if points[-1][0] == sampled_at:
            points[-1] = (sampled_at, total)
        else:
            points.append((sampled_at, total))
    if stopped_at is not None:
        final = energy_wh if energy_wh is not None else total
        points = [(at, min(wh, final)) for at, wh in points if at < stopped_at]
        if not points:
            points = [(started_at, 0)]
        if stopped_at > points[-1][0]:
            points.append((stopped_at, final))
        else:
            # A session that stops the instant it starts has a single point.
            points[-1] = (points[-1][0], final)
    return points


def curve_clip(*, points: list[tuple[datetime, int]], start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The part of a cumulative curve inside [start, end), re-based to 0 at its first point. Energy between two
    points that straddle `start` or `end` is split by linear interpolation in time, like the tariff periods; the
    interpolated values are rounded to whole Wh (ROUND_HALF_UP), the engine's unit."""
    if len(points) < 2 or points[-1][0] <= start or points[0][0] >= end:
        return []

    def value_at(at: datetime) -> Decimal:
        for (t0, e0), (t1, e1) in zip(points, points[1:]):
            if t0 <= at <= t1:
                if t1 == t0:
                    return Decimal(e1)
                return Decimal(e0) + (Decimal(e1 - e0) * Decimal((at - t0).total_seconds())
                                      / Decimal((t1 - t0).total_seconds()))
        return Decimal(points[-1][1]) if at > points[-1][0] else Decimal(points[0][1])

    lo, hi = max(start, points[0][0]), min(end, points[-1][0])
    inside = [(lo, value_at(lo))] + [(t, Decimal(e)) for t, e in points if lo < t < hi] + [(hi, value_at(hi))]
    base = inside[0][1]
    return [(t, int((e - base).to_integral_value(ROUND_HALF_UP))) for t, e in inside]
