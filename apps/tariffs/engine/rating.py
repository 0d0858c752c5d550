"""Contract 3: the pure rating function (no Django, no database). Rules (README "Tariffs: rating rules"):

* The session [started_at, stopped_at] is cut into slices at every meter reading, every local-time edge that can
  change an element's restrictions or the TOU period (precomputed per local day, DST-correct: edges are real UTC
  instants), the end of charging, the end of the parking grace period, min/max_duration thresholds, the instants
  the session energy crosses min/max_kwh thresholds and, for an hourly price schedule, every schedule hour.
* Energy between two readings is spread linearly over real elapsed time; the cumulative session energy at each cut
  is rounded to whole Wh, so slice energies are integers that telescope to exactly the session energy.
* A reading below its predecessor (meter reset/replacement) contributes no energy: the interval is skipped and the
  result carries the anomaly "meter_reset" (never negative energy).
* OCPI 2.2.1: per slice and per dimension, the first element (in tariff order) that has a price component of that
  dimension and whose restrictions all hold is active. ENERGY is billed for energy in any slice; TIME for the
  slices before charging ended; PARKING_TIME for the slices after charging ended plus the grace period; FLAT once,
  from the element active at the session start.
* step_size (OCPI 2.2.1): applied once per session to the total of ENERGY, and once to PARKING_TIME if parking was
  billed, else to TIME, using the step_size of the last component used; the rounded-up surplus is added to the
  last line of that dimension.
* Lines group equal (dimension, element, component, TOU period, season, day type, unit price); each line's amount
  is rounded ROUND_HALF_UP to the currency's minor unit; VAT per line (rounded the same way); totals are sums of
  rounded lines. min_price/max_price (excl. VAT) add a FLAT adjustment line "min_price"/"max_price".
"""
from __future__ import annotations

import math
from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..exceptions import InvalidSession
from .calendar import is_holiday, local_epoch, monotonic_edges
from .ocpi import currency_minor_unit
from .types import (  # noqa: F401 - re-exported: the contract names live here
    ENERGY, FLAT, PARKING_TIME, TIME, HourPrice, Price, PriceComponent, PriceSchedule, RatedLine, RatingResult,
    Reading, Restrictions, TariffElement, TariffSpec,
)

_ZERO = Decimal("0")
_HUNDRED = Decimal("100")
_HOURS_Q = Decimal("0.000001")
_DAY_S = 86400
_AT = attrgetter("at")
_ENERGY_WH = attrgetter("energy_wh")
_TZINFO = attrgetter("tzinfo")
_INT_ONLY = {int}
_NOMINAL_VOLTAGE = 230  # V: current restrictions are evaluated as I = P / 230 V (README)


def _minute(value: str) -> int:
    return int(value[:2]) * 60 + int(value[3:])


class _Element:
    """One tariff element with its restrictions pre-parsed into numbers."""

    __slots__ = ("index", "components", "label", "dows", "start_min", "end_min", "start_date", "end_date",
                 "holiday", "periods", "groups", "never", "min_wh", "max_wh", "min_w", "max_w", "min_s", "max_s",
                 "dynamic")

    def __init__(self, index: int, element: TariffElement, label: str):
        r = element.restrictions or Restrictions()
        self.index = index
        self.components = {c.type: (k, c) for k, c in enumerate(element.price_components)}
        self.dows = None if r.day_of_week is None else frozenset(
            ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY").index(d)
            for d in r.day_of_week)
        self.start_min = None if r.start_time is None else _minute(r.start_time)
        self.end_min = None if r.end_time is None else _minute(r.end_time)
        self.start_date, self.end_date = r.start_date, r.end_date
        self.holiday = r.evnet_holiday
        self.periods = None if r.evnet_tou_periods is None else frozenset(r.evnet_tou_periods)
        self.groups = None if r.evnet_user_groups is None else frozenset(r.evnet_user_groups)
        self.never = r.reservation is not None  # evnet has no reservation sessions to price
        self.min_wh = None if r.min_kwh is None else float(r.min_kwh * 1000)
        self.max_wh = None if r.max_kwh is None else float(r.max_kwh * 1000)
        powers = []
        for low, high, factor in ((r.min_power, r.max_power, 1000), (r.min_current, r.max_current, _NOMINAL_VOLTAGE)):
            if low is not None or high is not None:
                powers.append((None if low is None else float(low * factor),
                               None if high is None else float(high * factor)))
        self.min_w = max((lo for lo, _ in powers if lo is not None), default=None)
        self.max_w = min((hi for _, hi in powers if hi is not None), default=None)
        self.min_s, self.max_s = r.min_duration, r.max_duration
        self.dynamic = any(v is not None for v in (self.min_wh, self.max_wh, self.min_w, self.max_w, self.min_s,
                                                   self.max_s))
        if label:
            self.label = label
        elif r.start_time or r.end_time:
            self.label = f"{r.start_time or '00:00'}–{r.end_time or '24:00'}"
        else:
            self.label = ""

    def time_ok(self, day: date, weekday: int, minute: int, holiday: bool, period: str) -> bool:
        if self.never:
            return False
        if self.dows is not None and weekday not in self.dows:
            return False
        if self.start_date is not None and day < self.start_date:
            return False
        if self.end_date is not None and day >= self.end_date:
            return False
        s, e = self.start_min, self.end_min
        if s is not None or e is not None:
            s = 0 if s is None else s
            e = 1440 if e is None else e
            if s < e:
                if not s <= minute < e:
                    return False
            elif not (minute >= s or minute < e):
                return False
        if self.holiday is not None and holiday != self.holiday:
            return False
        if self.periods is not None and period not in self.periods:
            return False
        return True

    def dyn_ok(self, energy_wh: float, elapsed_s: float, power_w: float) -> bool:
        if self.min_wh is not None and energy_wh < self.min_wh - 1e-6:
            return False
        if self.max_wh is not None and energy_wh >= self.max_wh - 1e-6:
            return False
        if self.min_s is not None and elapsed_s < self.min_s:
            return False
        if self.max_s is not None and elapsed_s >= self.max_s:
            return False
        if self.min_w is not None and power_w < self.min_w:
            return False
        if self.max_w is not None and power_w >= self.max_w:
            return False
        return True


class _Context:
    """A stretch of local time over which every time-based restriction and the TOU period are constant."""

    __slots__ = ("start", "day", "weekday", "minute", "holiday", "period", "season", "day_type", "time_ok",
                 "static")

    def __init__(self, start, day, weekday, minute, holiday, period, season, day_type):
        self.start = start
        self.day, self.weekday, self.minute = day, weekday, minute
        self.holiday, self.period, self.season, self.day_type = holiday, period, season, day_type
        self.time_ok = None
        self.static = None


class _Compiled:
    """A TariffSpec prepared for fast rating: parsed elements, local-time edges, per-day contexts (cached)."""

    def __init__(self, spec: TariffSpec):
        self.spec = spec
        self.minor = currency_minor_unit(spec.currency)
        labels = spec.ocpi.get("labels", ()) if spec.ocpi else ()
        self.elements = [_Element(i, e, labels[i] if i < len(labels) else "") for i, e in enumerate(spec.elements)]
        self.zero_energy_free = spec.ocpi.get("zero_energy_free", True) if spec.ocpi else True
        minutes = {0}
        for e in self.elements:
            for m in (e.start_min, e.end_min):
                if m is not None and 0 < m < 1440:
                    minutes.add(m)
        if spec.calendar is not None:
            minutes |= spec.calendar.boundary_minutes()
        self.minutes = sorted(minutes)
        self.kwh_thresholds = sorted({v for e in self.elements for v in (e.min_wh, e.max_wh) if v is not None})
        self.duration_thresholds = sorted({v for e in self.elements for v in (e.min_s, e.max_s) if v is not None})
        self.days: dict[tuple[date, str], list[_Context]] = {}
        self.fallback_vat = spec.vat_rate if spec.vat_rate is not None else next(
            (c.vat for e in spec.elements for c in e.price_components if c.vat is not None), None)

    def day_contexts(self, day: date, time_zone: str, tz: ZoneInfo) -> list[_Context]:
        key = (day, time_zone)
        contexts = self.days.get(key)
        if contexts is not None:
            return contexts
        spec = self.spec
        cal = spec.calendar
        if cal is not None:
            season, day_type, table = cal.table_for(day)
        else:
            season = day_type = ""
            table = ()
        holiday = is_holiday(country=spec.holiday_country, subdiv=spec.holiday_subdiv, day=day)
        edges = monotonic_edges([local_epoch(day, m, tz) for m in self.minutes])
        weekday = day.weekday()
        contexts = []
        row = 0
        for m, edge in zip(self.minutes, edges):
            period = ""
            if table:
                while table[row][1] <= m:
                    row += 1
                period = table[row][2]
            contexts.append(_Context(edge, day, weekday, m, holiday, period, season, day_type))
        if len(self.days) > 2048:
            self.days.clear()
        self.days[key] = contexts
        return contexts


_COMPILED: dict[int, tuple[TariffSpec, _Compiled]] = {}


def _compile(spec: TariffSpec) -> _Compiled:
    hit = _COMPILED.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    compiled = _Compiled(spec)
    if len(_COMPILED) > 512:
        _COMPILED.clear()
    _COMPILED[id(spec)] = (spec, compiled)
    return compiled


def _round(amount: Decimal, minor: Decimal) -> Decimal:
    return amount.quantize(minor, rounding=ROUND_HALF_UP)


def _aware_epoch(value: datetime, name: str) -> float:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidSession(f"{name} must be a timezone-aware datetime (UTC), not {value!r}.")
    return value.timestamp()


def _hour_price(schedule: PriceSchedule, at: float) -> HourPrice | None:
    starts = [h.start_at.timestamp() for h in schedule.hours]
    i = bisect_right(starts, at) - 1
    if i < 0 or at >= starts[i] + 3600:
        return None
    return schedule.hours[i]


def _session_energy(readings, t0: float, t1: float, anomalies: list[str]) -> tuple[list, list, bool]:
    """Times and cumulative session energy of unusual readings: validates each one, skips meter resets (flagged),
    clamps readings outside [t0, t1] and merges equal timestamps (the later value wins)."""
    times: list[float] = []
    cum: list[int] = []
    prev_t = prev_e = None
    total = 0
    outside = False
    for r in readings:
        at = r.at
        if at.tzinfo is None:
            _aware_epoch(at, "reading time")
        t = at.timestamp()
        e = r.energy_wh
        if e.__class__ is not int:
            raise InvalidSession(f"Meter reading {e!r} at {at.isoformat()} is not a whole number of Wh.")
        if prev_t is not None:
            if t < prev_t:
                raise InvalidSession(f"Meter readings go back in time at {at.isoformat()}.")
            delta = e - prev_e
            if delta < 0:
                if "meter_reset" not in anomalies:
                    anomalies.append("meter_reset")
                delta = 0
            total += delta
        prev_t, prev_e = t, e
        if t < t0 or t > t1:
            outside = True
            t = t0 if t < t0 else t1
        if times and t == times[-1]:
            cum[-1] = total
        else:
            times.append(t)
            cum.append(total)
    return times, cum, outside


def rate(*, tariff: TariffSpec, readings: list[Reading], started_at: datetime, stopped_at: datetime,
         charging_ended_at: datetime | None = None, time_zone: str, user_group: str = "public",
         price_schedule: PriceSchedule | None = None) -> RatingResult:
    """Price one session. `readings`: cumulative Wh, in time order, UTC (usually meter start, the MeterValues and
    meter stop). Raises InvalidSession for unusable input; never returns negative energy or amounts below the
    tariff's own (non-negative) prices."""
    compiled = _compile(tariff)
    t0 = _aware_epoch(started_at, "started_at")
    t1 = _aware_epoch(stopped_at, "stopped_at")
    if t1 < t0:
        raise InvalidSession(f"The session stops ({stopped_at.isoformat()}) before it starts "
                             f"({started_at.isoformat()}).")
    try:
        tz = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise InvalidSession(f"“{time_zone}” is not an IANA time zone.") from exc
    if price_schedule is not None and price_schedule.mode not in ("at_start", "hourly"):
        raise InvalidSession(f"Price schedule mode “{price_schedule.mode}” is not at_start or hourly.")
    anomalies: list[str] = []

    # -- cumulative session energy S(t) at the readings, resets skipped --------------------------------------
    outside = False
    ats = list(map(_AT, readings))
    energies = list(map(_ENERGY_WH, readings))
    if ({*map(type, energies)} <= _INT_ONLY and None not in map(_TZINFO, ats)
            and (stamps := list(map(datetime.timestamp, ats))) == sorted(stamps)
            and energies == sorted(energies) and len(set(stamps)) == len(stamps)
            and (not stamps or (stamps[0] >= t0 and stamps[-1] <= t1))):
        # Common case, checked at C speed: aware, strictly increasing times inside the session, meter never
        # going back. S(t) is the register minus its first value.
        times = stamps
        first = energies[0] if energies else 0
        cum = [e - first for e in energies]
    else:
        times, cum, outside = _session_energy(readings, t0, t1, anomalies)
    if outside:
        anomalies.append("reading_outside_session")
    n = len(times)

    # -- cut points -------------------------------------------------------------------------------------------
    elements = [e for e in compiled.elements if e.groups is None or user_group in e.groups]
    points = set(times)
    points.add(t0)
    points.add(t1)
    tce = None
    grace_end = None
    if charging_ended_at is not None:
        tce = min(max(_aware_epoch(charging_ended_at, "charging_ended_at"), t0), t1)
        grace_end = min(tce + tariff.parking_grace_s, t1)
        points.add(tce)
        points.add(grace_end)
    for d in compiled.duration_thresholds:
        if t0 + d < t1:
            points.add(t0 + d)
    if compiled.kwh_thresholds and n > 1:
        for thr in compiled.kwh_thresholds:
            for k in range(n - 1):
                if cum[k] < thr <= cum[k + 1]:
                    points.add(times[k] + (thr - cum[k]) * (times[k + 1] - times[k]) / (cum[k + 1] - cum[k]))
                    break
    hourly = price_schedule is not None and price_schedule.mode == "hourly"
    if hourly:
        for h in price_schedule.hours:
            hs = h.start_at.timestamp()
            if t0 < hs < t1:
                points.add(hs)
    # local-day contexts covering the session
    local_start = datetime.fromtimestamp(t0, tz).date()
    local_end = datetime.fromtimestamp(t1, tz).date()
    contexts: list[_Context] = []
    day = local_start
    while day <= local_end:
        contexts.extend(compiled.day_contexts(day, time_zone, tz))
        day += timedelta(days=1)
    for c in contexts:
        if t0 < c.start < t1:
            points.add(c.start)
    cuts = sorted(points)

    # -- walk the slices ----------------------------------------------------------------------------------------
    by_dim = {dim: [(e, e.components[dim]) for e in elements if dim in e.components]
              for dim in (ENERGY, TIME, PARKING_TIME, FLAT)}
    any_dynamic = any(e.dynamic for e in elements)
    at_start_hour = _hour_price(price_schedule, t0) if price_schedule is not None else None
    buckets: dict[tuple, list] = {}
    last_key = {ENERGY: None, TIME: None, PARKING_TIME: None}
    last_step = {ENERGY: 1, TIME: 1, PARKING_TIME: 1}
    total_parking = 0.0
    use_calendar = tariff.calendar is not None

    def select(ctx: _Context, energy: float, elapsed: float, power: float) -> dict:
        if ctx.time_ok is None:
            ctx.time_ok = {e.index: e.time_ok(ctx.day, ctx.weekday, ctx.minute, ctx.holiday, ctx.period)
                           for e in compiled.elements}
        if not any_dynamic and ctx.static is not None and ctx.static[0] == user_group:
            return ctx.static[1]
        ok = ctx.time_ok
        chosen = {}
        for dim, cands in by_dim.items():
            for e, comp in cands:
                if ok[e.index] and (not e.dynamic or e.dyn_ok(energy, elapsed, power)):
                    chosen[dim] = (e, comp)
                    break
        if not any_dynamic:
            ctx.static = (user_group, chosen)
        return chosen

    def unit_price(comp: PriceComponent, dim: str, at: float) -> Decimal:
        if not comp.evnet_dynamic or price_schedule is None:
            return comp.price
        hour = _hour_price(price_schedule, at) if hourly else at_start_hour
        if hour is None:
            if "dynamic_price_missing" not in anomalies:
                anomalies.append("dynamic_price_missing")
            return comp.price
        if dim == ENERGY:
            return hour.energy_per_kwh
        if dim == PARKING_TIME:
            return hour.idle_per_minute * 60
        if dim == FLAT:
            return hour.fixed
        return comp.price

    def add(dim: str, chosen: tuple, ctx: _Context, qty, at: float) -> None:
        e, (k, comp) = chosen
        price = unit_price(comp, dim, at)
        if use_calendar:
            key = (dim, e.index, k, ctx.period, ctx.season, ctx.day_type, price)
        else:
            key = (dim, e.index, k, e.label, "", "", price)
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = [qty, comp]
        else:
            bucket[0] += qty
        if dim in last_key:
            last_key[dim] = key
            last_step[dim] = comp.step_size

    ci = 0
    nctx = len(contexts)
    ri = 0  # reading interval index: times[ri] <= a < times[ri + 1]
    prev_energy = 0
    # Fast path (the common case): no energy/duration/power restrictions and no dynamic prices, so the lines a
    # slice feeds depend only on its local-time context: resolve the bucket keys once per context.
    fast = not any_dynamic and not (price_schedule is not None and any(
        c.evnet_dynamic for e in elements for _k, c in e.components.values()))
    ctx = contexts[0]
    keys = None
    e_key = t_key = p_key = e_b = t_b = p_b = None
    last_e = last_t = last_p = None
    grace_at = grace_end if grace_end is not None else float("inf")
    charge_until = tce if tce is not None else float("inf")
    for a, b in zip(cuts, cuts[1:]):
        if ci + 1 < nctx and contexts[ci + 1].start <= a:
            while ci + 1 < nctx and contexts[ci + 1].start <= a:
                ci += 1
            ctx = contexts[ci]
            keys = None
        # cumulative energy at b (integer Wh), and the power of the reading interval holding the slice
        while ri + 1 < n and times[ri + 1] <= a:
            ri += 1
        if ri + 1 < n and times[ri] <= a:
            ta, tb = times[ri], times[ri + 1]
            ea, eb = cum[ri], cum[ri + 1]
            if b >= tb:
                energy_b = eb
            else:
                energy_b = ea + math.floor((eb - ea) * (b - ta) / (tb - ta) + 0.5)
        else:
            ta = tb = ea = eb = 0
            energy_b = cum[-1] if n and b >= times[-1] else (cum[0] if n else 0)
        slice_energy = energy_b - prev_energy
        prev_energy = energy_b
        charging = a < charge_until
        if fast:
            if keys is None:
                keys = _static_keys(select(ctx, 0.0, 0.0, 0.0), ctx, use_calendar, buckets)
                e_key, e_b, t_key, t_b, p_key, p_b = keys
            if slice_energy > 0 and e_b is not None:
                e_b[0] += slice_energy
                last_e = e_key
            if charging:
                if t_b is not None:
                    t_b[0] += b - a
                    last_t = t_key
            else:
                total_parking += b - a
                if a >= grace_at and p_b is not None:
                    p_b[0] += b - a
                    last_p = p_key
            continue
        if tb > ta:
            power = (eb - ea) * 3600.0 / (tb - ta)
            energy_a = ea + (eb - ea) * (a - ta) / (tb - ta)
        else:
            power = 0.0
            energy_a = float(energy_b - slice_energy)
        chosen = select(ctx, energy_a, a - t0, power)
        if slice_energy > 0 and ENERGY in chosen:
            add(ENERGY, chosen[ENERGY], ctx, slice_energy, a)
        if charging:
            if TIME in chosen:
                add(TIME, chosen[TIME], ctx, b - a, a)
        else:
            total_parking += b - a
            if a >= grace_at and PARKING_TIME in chosen:
                add(PARKING_TIME, chosen[PARKING_TIME], ctx, b - a, a)
    if fast:
        for dim, key in ((ENERGY, last_e), (TIME, last_t), (PARKING_TIME, last_p)):
            if key is not None:
                last_key[dim], last_step[dim] = key, buckets[key][1].step_size
    # drop buckets the fast path opened but never filled
    for key in [k for k, v in buckets.items() if v[0] == 0 and k[0] != FLAT]:
        del buckets[key]

    total_energy = cum[-1] if n else 0
    result_lines: list[RatedLine] = []
    minor = compiled.minor
    zero_free = compiled.zero_energy_free and total_energy == 0
    if zero_free:
        anomalies.append("zero_energy")
        buckets = {}
    else:
        # FLAT: once per session, from the element active at the start
        first_ctx = contexts[0]
        for c in contexts:
            if c.start <= t0:
                first_ctx = c
        first_power = (cum[1] - cum[0]) * 3600.0 / (times[1] - times[0]) if n > 1 and times[1] > times[0] else 0.0
        chosen0 = select(first_ctx, 0.0, 0.0, first_power)
        if FLAT in chosen0:
            add(FLAT, chosen0[FLAT], first_ctx, 1, t0)
        # step_size: ENERGY once; PARKING_TIME if parking was billed, else TIME
        _apply_step(buckets, ENERGY, last_key, last_step, anomalies)
        if last_key[PARKING_TIME] is not None:
            _apply_step(buckets, PARKING_TIME, last_key, last_step, anomalies)
        else:
            _apply_step(buckets, TIME, last_key, last_step, anomalies)

    # -- lines ----------------------------------------------------------------------------------------------------
    for key, (qty, comp) in buckets.items():
        dim, eidx, _k, period, season, day_type, price = key
        if dim == ENERGY:
            raw = int(qty)
            quantity = Decimal(raw) / 1000
            amount = price * raw / 1000
        elif dim == FLAT:
            raw = 1
            quantity = Decimal(1)
            amount = price
        else:
            raw = int(round(qty))
            quantity = (Decimal(raw) / 3600).quantize(_HOURS_Q)
            amount = price * raw / 3600
        vat = comp.vat if comp.vat is not None else tariff.vat_rate
        rounded = _round(amount, minor)
        vat_amount = _round(rounded * vat / _HUNDRED, minor) if vat is not None else _ZERO
        result_lines.append(RatedLine(dim, period, quantity, raw, price, amount, rounded, vat, vat_amount,
                                      season, day_type, eidx))
    excl = sum((ln.amount_rounded for ln in result_lines), _ZERO)
    if not zero_free:
        adjust = None
        if tariff.min_price is not None and excl < tariff.min_price.excl_vat:
            adjust = ("min_price", tariff.min_price.excl_vat - excl)
        elif tariff.max_price is not None and excl > tariff.max_price.excl_vat:
            adjust = ("max_price", tariff.max_price.excl_vat - excl)
        if adjust is not None:
            vat = compiled.fallback_vat
            amount = _round(adjust[1], minor)
            vat_amount = _round(amount * vat / _HUNDRED, minor) if vat is not None else _ZERO
            result_lines.append(RatedLine(FLAT, adjust[0], Decimal(1), 1, amount, adjust[1], amount, vat,
                                          vat_amount, flags=(adjust[0],)))
            anomalies.append(adjust[0] + "_applied")
            excl = sum((ln.amount_rounded for ln in result_lines), _ZERO)
    total_vat = sum((ln.vat_amount for ln in result_lines), _ZERO)
    return RatingResult(
        currency=tariff.currency, lines=tuple(result_lines), total_excl_vat=excl, total_vat=total_vat,
        total_incl_vat=excl + total_vat, total_energy_wh=total_energy, total_time_s=int(round(t1 - t0)),
        total_parking_time_s=int(round(total_parking)), anomalies=tuple(anomalies), tariff_id=tariff.tariff_id,
        version_id=tariff.version_id)


def _static_keys(chosen: dict, ctx: _Context, use_calendar: bool, buckets: dict) -> tuple:
    """(key, bucket) pairs for ENERGY, TIME, PARKING_TIME of a context whose selection is static; opens empty
    buckets in chronological order so lines keep the order in which their period was first reached."""
    out: list = []
    for dim in (ENERGY, TIME, PARKING_TIME):
        pick = chosen.get(dim)
        if pick is None:
            out += (None, None)
            continue
        e, (k, comp) = pick
        if use_calendar:
            key = (dim, e.index, k, ctx.period, ctx.season, ctx.day_type, comp.price)
        else:
            key = (dim, e.index, k, e.label, "", "", comp.price)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = [0, comp]
        out += (key, bucket)
    return tuple(out)


def _apply_step(buckets: dict, dim: str, last_key: dict, last_step: dict, anomalies: list[str]) -> None:
    key = last_key[dim]
    step = last_step[dim]
    if key is None or step <= 1:
        return
    total = sum(q for k, (q, _c) in buckets.items() if k[0] == dim)
    total_int = math.ceil(total - 1e-9)
    billed = -(-total_int // step) * step
    if billed > total:
        buckets[key][0] += billed - total
        anomalies.append(f"step_size_{dim.lower()}")
