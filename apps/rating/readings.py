"""A session's meter readings as the cumulative energy curve the tariff engine rates.

Pure helpers (no ORM): the selectors load the rows, these turn them into `(at, energy_wh)` points that start at 0 Wh
at the session start and never go down."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

ENERGY_REGISTER = "Energy.Active.Import.Register"


def energy_curve(*, started_at: datetime, meter_start_wh: int, samples: Iterable[tuple[datetime, int]],
                 stopped_at: datetime | None = None, meter_stop_wh: int | None = None,
                 energy_wh: int | None = None, max_power_w: int | None = None) -> list[tuple[datetime, int]]:
    """Cumulative billable energy since the start, one point per distinct time, starting with (started_at, 0).

    - Samples are (sampled_at, Wh) of the whole Energy.Active.Import.Register; samples before the start or after
      the stop are dropped (a charger's clock can be off by a few seconds).
    - Each step between consecutive readings counts what the charging app bills for it (`energy_step`): a register
      reset to zero counts the new value, a replaced meter or an implausible jump counts nothing, so the curve
      never goes down and ends where the session's billable energy does.
    - For a closed session the last point is (stopped_at, energy_wh), the billable energy the charging app settled
      on; earlier points are capped at it.
    """
    from apps.charging.services.meter import energy_step

    points: list[tuple[datetime, int]] = [(started_at, 0)]
    previous = (started_at, meter_start_wh)
    total = 0
    readings = sorted((at, wh) for at, wh in samples
                      if at >= started_at and (stopped_at is None or at <= stopped_at))
    if stopped_at is not None and meter_stop_wh is not None:
        readings.append((max(stopped_at, readings[-1][0] if readings else started_at), meter_stop_wh))
    for at, wh in readings:
        total += energy_step(previous_wh=previous[1], previous_at=previous[0], reading_wh=wh, reading_at=at,
                             max_power_w=max_power_w).increment_wh
        previous = (at, wh)
        if points[-1][0] == at:
            points[-1] = (at, total)
        else:
            points.append((at, total))
    if stopped_at is not None:
        final = energy_wh if energy_wh is not None else total
        points = [(at, min(wh, final)) for at, wh in points if at < stopped_at] or [(started_at, 0)]
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
