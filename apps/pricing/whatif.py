"""The what-if simulator (issue 8 §5): run the formula over one day of given curves and coefficients, and a
sensitivity analysis of the daily average price on α, β or γ, the way the paper's authors tuned them (§2.4).
Pure: no database. Curves come as a CSV with one line per hour:

    hour,energy_tariff,f_load,f_occ,f_pv_local,f_pv_global
    0,0.55,0.55,0,0,0
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from .exceptions import PricingImportError
from .formula import Coefficients, HourFactors, HourPriceResult, daily_average, day_prices
from .services.imports import _Sheet

WHATIF_COLUMNS = ["hour", "energy_tariff", "f_load", "f_occ", "f_pv_local", "f_pv_global"]
SENSITIVITY_PARAMETERS = ("alpha", "beta", "gamma")


@dataclass(frozen=True)
class WhatIfResult:
    hours: list[int]
    prices: list[HourPriceResult]
    average: Decimal


@dataclass(frozen=True)
class SensitivityPoint:
    value: Decimal
    average: Decimal
    minimum: Decimal
    maximum: Decimal


def whatif_curves_parse(*, text: str | bytes) -> tuple[list[int], list[HourFactors]]:
    """Hours (in file order; 23–25 lines allowed for DST days) and their factors. Errors name line and column."""
    sheet = _Sheet(text, required=WHATIF_COLUMNS)
    hours, factors = [], []
    for line, row in sheet.rows:
        hour = sheet.hours(line, row)
        tariff = sheet.decimal(line, row, "energy_tariff")
        f_load = sheet.decimal(line, row, "f_load")
        flags = [sheet.decimal(line, row, c, maximum=Decimal("1")) for c in ("f_occ", "f_pv_local", "f_pv_global")]
        for column, flag in zip(("f_occ", "f_pv_local", "f_pv_global"), flags):
            if flag is not None and flag not in (0, 1):
                sheet.fail(line, column, f"{row[column]} is not 0 or 1")
        if hour is not None and len(hour) != 1:
            sheet.fail(line, "hour", "one hour per line")
            continue
        if None in (hour, tariff, f_load) or any(f is None or f not in (0, 1) for f in flags):
            continue
        hours.append(hour[0])
        factors.append(HourFactors(energy_tariff_per_kwh=tariff, f_load=f_load, f_occ=int(flags[0]),
                                   f_pv_local=int(flags[1]), f_pv_global=int(flags[2])))
    if not sheet.errors and not (23 <= len(hours) <= 25):
        sheet.errors.append(f"{len(hours)} hours given: a day has 24 (23 or 25 on DST days)")
    if sheet.errors:
        raise PricingImportError(sheet.errors)
    return hours, factors


def whatif_run(*, coefficients: Coefficients, hours: list[int], factors: list[HourFactors]) -> WhatIfResult:
    prices = day_prices(coefficients=coefficients, hours=factors)
    return WhatIfResult(hours=hours, prices=prices, average=daily_average(prices))


def whatif_sensitivity(*, coefficients: Coefficients, factors: list[HourFactors], parameter: str,
                       values: list[Decimal]) -> list[SensitivityPoint]:
    """The daily average, minimum and maximum variable price for each value of one coefficient."""
    if parameter not in SENSITIVITY_PARAMETERS:
        raise ValueError(f"sensitivity on {parameter!r}: choose one of {', '.join(SENSITIVITY_PARAMETERS)}")
    points = []
    for value in values:
        prices = day_prices(coefficients=replace(coefficients, **{parameter: value}), hours=factors)
        variable = [p.variable_price_per_kwh for p in prices]
        points.append(SensitivityPoint(value=value, average=daily_average(prices), minimum=min(variable),
                                       maximum=max(variable)))
    return points
