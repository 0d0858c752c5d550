"""OCPI 2.2.1 Tariff objects <-> TariffSpec. Import validates everything the engine relies on and keeps OCPI
semantics; evnet extensions are `evnet_*` fields (README "Tariffs: OCPI extensions"). Export writes an OCPI 2.2.1
Tariff (plus the extensions actually used) that imports back to an equal spec."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Callable

import moneyed

from ..exceptions import InvalidCalendar, InvalidTariff, OverlappingRestrictions, UnknownCurrency
from .calendar import CalendarSpec
from .types import (
    DAYS_OF_WEEK, DIMENSIONS, Price, PriceComponent, Restrictions, TariffElement, TariffSpec,
)

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PASSTHROUGH = ("country_code", "party_id", "id", "type", "tariff_alt_text", "tariff_alt_url", "energy_mix",
                "start_date_time", "end_date_time", "last_updated")

CalendarResolver = Callable[[str], CalendarSpec]


def currency_minor_unit(code: str) -> Decimal:
    """The currency's minor unit as a Decimal quantum (EUR → 0.01). Unknown codes raise UnknownCurrency."""
    try:
        currency = moneyed.get_currency(code)
    except (moneyed.CurrencyDoesNotExist, TypeError, AttributeError) as exc:
        raise UnknownCurrency(f"“{code}” is not an ISO 4217 currency code.") from exc
    digits = len(str(currency.sub_unit)) - 1 if currency.sub_unit else 0
    return Decimal(1).scaleb(-digits)


def _decimal(value, where: str, *, minimum: Decimal | None = Decimal("0")) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise InvalidTariff(f"{where} must be a number, not {value!r}.")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidTariff(f"{where} must be a number, not {value!r}.") from exc
    if not number.is_finite():
        raise InvalidTariff(f"{where} must be a finite number.")
    if minimum is not None and number < minimum:
        raise InvalidTariff(f"{where} must be ≥ {minimum}, not {number}.")
    return number


def _int(value, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)) or int(value) != value:
        raise InvalidTariff(f"{where} must be a whole number, not {value!r}.")
    if int(value) < minimum:
        raise InvalidTariff(f"{where} must be ≥ {minimum}, not {value}.")
    return int(value)


def _time(value, where: str) -> str:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise InvalidTariff(f"{where} must be a local time HH:MM, not {value!r}.")
    return value


def _date(value, where: str) -> date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise InvalidTariff(f"{where} must be a date YYYY-MM-DD, not {value!r}.")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidTariff(f"{where}: {value} is not a calendar date.") from exc


def _str_list(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise InvalidTariff(f"{where} must be a non-empty list of strings.")
    return tuple(value)


def _price(value, where: str) -> Price:
    if isinstance(value, dict):
        if "excl_vat" not in value:
            raise InvalidTariff(f"{where} needs excl_vat.")
        incl = value.get("incl_vat")
        return Price(_decimal(value["excl_vat"], f"{where}.excl_vat"),
                     None if incl is None else _decimal(incl, f"{where}.incl_vat"))
    raise InvalidTariff(f"{where} must be an OCPI Price object {{excl_vat, incl_vat}}.")


def _restrictions(raw, where: str) -> Restrictions | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidTariff(f"{where} must be an object.")
    known = {"start_time", "end_time", "start_date", "end_date", "min_kwh", "max_kwh", "min_current", "max_current",
             "min_power", "max_power", "min_duration", "max_duration", "day_of_week", "reservation",
             "evnet_holiday", "evnet_tou_periods", "evnet_user_groups"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidTariff(f"{where}: unknown restriction(s) {', '.join(unknown)}.")
    kw: dict = {}
    for key in ("start_time", "end_time"):
        if raw.get(key) is not None:
            kw[key] = _time(raw[key], f"{where}.{key}")
    for key in ("start_date", "end_date"):
        if raw.get(key) is not None:
            kw[key] = _date(raw[key], f"{where}.{key}")
    for key in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power"):
        if raw.get(key) is not None:
            kw[key] = _decimal(raw[key], f"{where}.{key}")
    for key in ("min_duration", "max_duration"):
        if raw.get(key) is not None:
            kw[key] = _int(raw[key], f"{where}.{key}")
    if raw.get("day_of_week") is not None:
        days = _str_list(raw["day_of_week"], f"{where}.day_of_week")
        bad = [d for d in days if d not in DAYS_OF_WEEK]
        if bad:
            raise InvalidTariff(f"{where}.day_of_week: {', '.join(bad)} is not one of {', '.join(DAYS_OF_WEEK)}.")
        kw["day_of_week"] = tuple(d for d in DAYS_OF_WEEK if d in days)
    if raw.get("reservation") is not None:
        if raw["reservation"] not in ("RESERVATION", "RESERVATION_EXPIRES"):
            raise InvalidTariff(f"{where}.reservation must be RESERVATION or RESERVATION_EXPIRES.")
        kw["reservation"] = raw["reservation"]
    if raw.get("evnet_holiday") is not None:
        if not isinstance(raw["evnet_holiday"], bool):
            raise InvalidTariff(f"{where}.evnet_holiday must be true or false.")
        kw["evnet_holiday"] = raw["evnet_holiday"]
    for key in ("evnet_tou_periods", "evnet_user_groups"):
        if raw.get(key) is not None:
            kw[key] = _str_list(raw[key], f"{where}.{key}")
    for low, high in (("min_kwh", "max_kwh"), ("min_current", "max_current"), ("min_power", "max_power"),
                      ("min_duration", "max_duration"), ("start_date", "end_date")):
        if low in kw and high in kw and kw[low] >= kw[high]:
            raise InvalidTariff(f"{where}: {low} must be below {high}.")
    if "start_time" in kw and kw.get("end_time") == kw["start_time"]:
        raise InvalidTariff(f"{where}: start_time equals end_time (an empty window).")
    return Restrictions(**kw) if kw else None


def _component(raw, where: str) -> PriceComponent:
    if not isinstance(raw, dict):
        raise InvalidTariff(f"{where} must be an object.")
    for key in ("type", "price", "step_size"):
        if key not in raw:
            raise InvalidTariff(f"{where} has no “{key}”.")
    if raw["type"] not in DIMENSIONS:
        raise InvalidTariff(f"{where}.type “{raw['type']}” is not one of {', '.join(DIMENSIONS)}.")
    dynamic = raw.get("evnet_dynamic", False)
    if not isinstance(dynamic, bool):
        raise InvalidTariff(f"{where}.evnet_dynamic must be true or false.")
    step = _int(raw["step_size"], f"{where}.step_size")
    return PriceComponent(
        type=raw["type"], price=_decimal(raw["price"], f"{where}.price"),
        vat=None if raw.get("vat") is None else _decimal(raw["vat"], f"{where}.vat"),
        step_size=max(step, 1), evnet_dynamic=dynamic)


def _time_windows(r: Restrictions | None) -> list[tuple[int, int]]:
    """The element's time-of-day window(s) in minutes; whole day when unrestricted."""
    def minute(value: str) -> int:
        return int(value[:2]) * 60 + int(value[3:])
    start = minute(r.start_time) if r and r.start_time else 0
    end = minute(r.end_time) if r and r.end_time else 1440
    if end > start:
        return [(start, end)]
    return [(start, 1440), (0, end)]


def _check_overlaps(elements: tuple[TariffElement, ...]) -> None:
    """Two elements pricing the same dimension, with time windows that intersect on a common day and otherwise
    identical restrictions, make the tariff ambiguous (OCPI would silently use the first): refuse it. A later
    element that is a broader fallback (no time window, or different other restrictions) is allowed."""
    for i, a in enumerate(elements):
        for j in range(i + 1, len(elements)):
            b = elements[j]
            dims = {c.type for c in a.price_components} & {c.type for c in b.price_components}
            if not dims:
                continue
            ra, rb = a.restrictions or Restrictions(), b.restrictions or Restrictions()
            if ra == rb:
                raise OverlappingRestrictions(
                    f"elements[{i}] and elements[{j}] both price {', '.join(sorted(dims))} under identical "
                    f"restrictions: elements[{j}] could never apply.")
            timed = (ra.start_time or ra.end_time) and (rb.start_time or rb.end_time)
            if not timed:
                continue
            days_a, days_b = set(ra.day_of_week or DAYS_OF_WEEK), set(rb.day_of_week or DAYS_OF_WEEK)
            others_equal = all(getattr(ra, f) == getattr(rb, f) for f in Restrictions.__slots__
                               if f not in ("start_time", "end_time", "day_of_week"))
            if not (others_equal and days_a & days_b):
                continue
            for s1, e1 in _time_windows(ra):
                for s2, e2 in _time_windows(rb):
                    if s1 < e2 and s2 < e1:
                        raise OverlappingRestrictions(
                            f"elements[{i}] ({ra.start_time or '00:00'}–{ra.end_time or '24:00'}) and elements[{j}] "
                            f"({rb.start_time or '00:00'}–{rb.end_time or '24:00'}) both price "
                            f"{', '.join(sorted(dims))} at overlapping times on "
                            f"{', '.join(d for d in DAYS_OF_WEEK if d in days_a & days_b)}.")


def tariff_spec_from_ocpi(data, *, calendar_resolver: CalendarResolver | None = None,
                          version_id: int | None = None) -> TariffSpec:
    """Validate an OCPI 2.2.1 Tariff (dict, as parsed from JSON with Decimal floats) and build its TariffSpec.
    `evnet_tou_calendar` may embed a calendar object or name one by code (resolved by `calendar_resolver`)."""
    if not isinstance(data, dict):
        raise InvalidTariff("The tariff must be a JSON object (an OCPI 2.2.1 Tariff).")
    for key in ("currency", "elements"):
        if key not in data:
            raise InvalidTariff(f"The tariff has no “{key}”.")
    currency = data["currency"]
    if not isinstance(currency, str):
        raise UnknownCurrency(f"currency must be an ISO 4217 code, not {currency!r}.")
    currency_minor_unit(currency)
    raw_elements = data["elements"]
    if not isinstance(raw_elements, list) or not raw_elements:
        raise InvalidTariff("elements must be a non-empty list of tariff elements.")
    elements = []
    for i, raw in enumerate(raw_elements):
        where = f"elements[{i}]"
        if not isinstance(raw, dict):
            raise InvalidTariff(f"{where} must be an object.")
        comps = raw.get("price_components")
        if not isinstance(comps, list) or not comps:
            raise InvalidTariff(f"{where}.price_components must be a non-empty list.")
        components = tuple(_component(c, f"{where}.price_components[{k}]") for k, c in enumerate(comps))
        types = [c.type for c in components]
        if len(set(types)) != len(types):
            raise InvalidTariff(f"{where} has two price components of the same type (OCPI allows one per "
                                "dimension per element).")
        elements.append(TariffElement(components, _restrictions(raw.get("restrictions"), f"{where}.restrictions")))
    elements_t = tuple(elements)
    _check_overlaps(elements_t)

    calendar = None
    raw_cal = data.get("evnet_tou_calendar")
    try:
        if isinstance(raw_cal, dict):
            calendar = CalendarSpec.from_dict(raw_cal)
        elif isinstance(raw_cal, str) and raw_cal:
            if calendar_resolver is None:
                raise InvalidTariff(f"evnet_tou_calendar names calendar “{raw_cal}”, which cannot be looked up "
                                    "here: embed the calendar object instead.")
            calendar = calendar_resolver(raw_cal)
        elif raw_cal is not None:
            raise InvalidTariff("evnet_tou_calendar must be a calendar object or a calendar code.")
    except InvalidCalendar as exc:
        raise InvalidTariff(f"evnet_tou_calendar: {exc.message}") from exc
    used_periods = {p for e in elements_t if e.restrictions and e.restrictions.evnet_tou_periods
                    for p in e.restrictions.evnet_tou_periods}
    if used_periods and calendar is None:
        raise InvalidTariff("Elements restrict on evnet_tou_periods but the tariff has no evnet_tou_calendar.")
    if calendar is not None:
        unknown = sorted(used_periods - set(calendar.periods))
        if unknown:
            raise InvalidTariff(f"evnet_tou_periods {', '.join(unknown)} are not periods of calendar "
                                f"{calendar.code} ({', '.join(calendar.periods)}).")

    holidays_cfg = data.get("evnet_holidays")
    holiday_country = holiday_subdiv = None
    if holidays_cfg is not None:
        if not isinstance(holidays_cfg, dict) or not isinstance(holidays_cfg.get("country"), str):
            raise InvalidTariff("evnet_holidays must be {\"country\": \"BR\", \"subdiv\": null}.")
        holiday_country, holiday_subdiv = holidays_cfg["country"], holidays_cfg.get("subdiv")
    if any(e.restrictions and e.restrictions.evnet_holiday is not None for e in elements_t) and not holiday_country:
        raise InvalidTariff("Elements restrict on evnet_holiday but the tariff has no evnet_holidays country.")

    min_price = _price(data["min_price"], "min_price") if data.get("min_price") is not None else None
    max_price = _price(data["max_price"], "max_price") if data.get("max_price") is not None else None
    if min_price and max_price and min_price.excl_vat > max_price.excl_vat:
        raise InvalidTariff("min_price is above max_price.")
    vat_rate = None if data.get("evnet_vat_rate") is None else _decimal(data["evnet_vat_rate"], "evnet_vat_rate")
    grace = 0 if data.get("evnet_parking_grace_period_s") is None else _int(
        data["evnet_parking_grace_period_s"], "evnet_parking_grace_period_s")
    zero_free = data.get("evnet_zero_energy_free", True)
    if not isinstance(zero_free, bool):
        raise InvalidTariff("evnet_zero_energy_free must be true or false.")
    labels = []
    for i, raw in enumerate(raw_elements):
        label = raw.get("evnet_label", "")
        if not isinstance(label, str):
            raise InvalidTariff(f"elements[{i}].evnet_label must be a string.")
        labels.append(label)
    passthrough = {k: data[k] for k in _PASSTHROUGH if k in data}
    return TariffSpec(
        currency=currency, elements=elements_t, min_price=min_price, max_price=max_price,
        tariff_id=str(data.get("id", "")), version_id=version_id, vat_rate=vat_rate, parking_grace_s=grace,
        calendar=calendar, holiday_country=holiday_country, holiday_subdiv=holiday_subdiv,
        ocpi={"passthrough": passthrough, "labels": tuple(labels), "zero_energy_free": zero_free})


def _num(value: Decimal):
    """A Decimal as a JSON number without binary noise: int when whole, else the shortest float that reads back
    to the same Decimal (OCPI prices have ≤ 6 decimals)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def tariff_spec_to_ocpi(spec: TariffSpec) -> dict:
    """The OCPI 2.2.1 Tariff of a spec, with the evnet_* extensions it uses."""
    out: dict = dict(spec.ocpi.get("passthrough", {}))
    out["currency"] = spec.currency
    labels = spec.ocpi.get("labels", ())
    elements = []
    for i, element in enumerate(spec.elements):
        comps = []
        for c in element.price_components:
            comp = {"type": c.type, "price": _num(c.price), "step_size": c.step_size}
            if c.vat is not None:
                comp["vat"] = _num(c.vat)
            if c.evnet_dynamic:
                comp["evnet_dynamic"] = True
            comps.append(comp)
        raw: dict = {"price_components": comps}
        r = element.restrictions
        if r is not None:
            restr: dict = {}
            for key in Restrictions.__slots__:
                value = getattr(r, key)
                if value is None:
                    continue
                if isinstance(value, date):
                    value = value.isoformat()
                elif isinstance(value, Decimal):
                    value = _num(value)
                elif isinstance(value, tuple):
                    value = list(value)
                restr[key] = value
            raw["restrictions"] = restr
        if i < len(labels) and labels[i]:
            raw["evnet_label"] = labels[i]
        elements.append(raw)
    out["elements"] = elements
    for key, price in (("min_price", spec.min_price), ("max_price", spec.max_price)):
        if price is not None:
            out[key] = {"excl_vat": _num(price.excl_vat)}
            if price.incl_vat is not None:
                out[key]["incl_vat"] = _num(price.incl_vat)
    if spec.vat_rate is not None:
        out["evnet_vat_rate"] = _num(spec.vat_rate)
    if spec.parking_grace_s:
        out["evnet_parking_grace_period_s"] = spec.parking_grace_s
    if spec.calendar is not None:
        out["evnet_tou_calendar"] = spec.calendar.to_dict()
    if spec.holiday_country:
        out["evnet_holidays"] = {"country": spec.holiday_country, "subdiv": spec.holiday_subdiv}
    if not spec.ocpi.get("zero_energy_free", True):
        out["evnet_zero_energy_free"] = False
    return out
