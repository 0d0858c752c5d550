"""Shared builders for the tariff tests: calendars from the shipped data, tariffs from OCPI dicts, readings."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from apps.tariffs.engine.ocpi import tariff_spec_from_ocpi
from apps.tariffs.engine.rating import Reading

DATA = Path(__file__).resolve().parents[2] / "apps" / "tariffs" / "data"
CALENDARS = {c["code"]: c for c in json.loads((DATA / "calendars.json").read_text(encoding="utf-8"))["calendars"]}
UTC = timezone.utc
LISBON = ZoneInfo("Europe/Lisbon")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def D(value: str) -> Decimal:
    return Decimal(value)


def local(tz: ZoneInfo, *args, fold: int = 0) -> datetime:
    """A local wall time as an aware UTC datetime."""
    return datetime(*args, tzinfo=tz, fold=fold).astimezone(UTC)


def linear(start: datetime, stop: datetime, energy_wh: int, *, every_s: int | None = None,
           meter_start: int = 0) -> list[Reading]:
    """Readings of a constant-power session: at start, every `every_s` (if given), and at stop."""
    duration = (stop - start).total_seconds()
    readings = [Reading(start, meter_start)]
    if every_s:
        t = every_s
        while t < duration:
            readings.append(Reading(start + timedelta(seconds=t), meter_start + round(energy_wh * t / duration)))
            t += every_s
    readings.append(Reading(stop, meter_start + energy_wh))
    return readings


def energy_tariff(calendar_code: str, prices: dict[str, str], *, currency: str = "EUR", **extra):
    """A TOU energy tariff: one element per period price (the last one unrestricted as the fallback)."""
    items = list(prices.items())
    elements = [{"price_components": [{"type": "ENERGY", "price": Decimal(p), "step_size": 1}],
                 "restrictions": {"evnet_tou_periods": [period]}} for period, p in items[:-1]]
    elements.append({"price_components": [{"type": "ENERGY", "price": Decimal(items[-1][1]), "step_size": 1}]})
    data = {"id": f"t-{calendar_code}", "currency": currency, "evnet_tou_calendar": CALENDARS[calendar_code],
            "elements": elements, **extra}
    return tariff_spec_from_ocpi(data)


def ocpi(data: dict):
    return tariff_spec_from_ocpi(data)


def lines_by_period(result) -> dict[str, tuple[Decimal, Decimal]]:
    """{period: (quantity, amount_rounded)} of the ENERGY lines."""
    return {ln.period: (ln.quantity, ln.amount_rounded) for ln in result.lines if ln.dimension == "ENERGY"}
