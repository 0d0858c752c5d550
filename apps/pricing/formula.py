"""The ANEEL dynamic price (seed 002, §2.3, equations 1–7) as pure functions over Decimals. No database, no clock.

    P = C_fixed_j + max(P_min_j, C_var_j,t × DM_j,t) × e_charge + F_idle × D_idle          (1)
    C_fixed_j = O&M_j                                                                       (2)
    C_var_j,t = T_energy_t + M_j + L_j                                                      (3)
    DM_j,t = 1 + (α·F_load,t + β·F_occ,j,t − γ·F_PV,j,t)                                    (4)
    F_PV = F_PV_local + F_PV_global, each 0 or 1                                            (5)
    F_PV_local = 1 if gd_local,t > d_j,t;  F_PV_global = 1 if gd_global,t > C_utility,t + Σ d_j,t
    F_occ = 1 when the station's connectors are occupied                                    (6)
    F_load,t = the utility's load curve in p.u. at hour t                                   (7)

Hourly steps. The published variable price per kWh is max(P_min, C_var × DM) rounded half-up to 4 decimals; the
charge total of equation 1 is left unrounded (the tariff engine rounds invoice lines)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PRICE_QUANTUM = Decimal("0.0001")
ONE = Decimal("1")
WH_PER_KWH = Decimal("1000")
SECONDS_PER_MINUTE = Decimal("60")


@dataclass(frozen=True, slots=True)
class Coefficients:
    """A station's operator-set parameters (paper Table 2). Prices per unit in the site's currency."""

    alpha: Decimal
    beta: Decimal
    gamma: Decimal
    fixed_price: Decimal            # C_fixed = O&M per session
    min_price_per_kwh: Decimal      # P_min
    investment_per_kwh: Decimal     # M
    profit_per_kwh: Decimal         # L
    idle_fee_per_minute: Decimal    # F_idle


@dataclass(frozen=True, slots=True)
class HourFactors:
    """What the formula needs for one hour t."""

    energy_tariff_per_kwh: Decimal  # T_energy,t
    f_load: Decimal                 # utility load curve, p.u.
    f_occ: int                      # 0 or 1
    f_pv_local: int                 # 0 or 1
    f_pv_global: int                # 0 or 1


@dataclass(frozen=True, slots=True)
class HourPriceResult:
    fixed_price: Decimal
    c_var_per_kwh: Decimal
    dm: Decimal
    variable_price_per_kwh: Decimal  # max(P_min, C_var × DM), rounded to 4 decimals
    idle_fee_per_minute: Decimal
    clamped: bool                    # P_min applied
    factors: HourFactors


def _flag(value: int, name: str) -> int:
    if value not in (0, 1):
        raise ValueError(f"{name} is a 0/1 factor, got {value!r}")
    return value


def dynamic_multiplier(*, coefficients: Coefficients, f_load: Decimal, f_occ: int, f_pv_local: int,
                       f_pv_global: int) -> Decimal:
    """Equation 4 with equation 5 inside: DM = 1 + (α·F_load + β·F_occ − γ·(F_PV_local + F_PV_global))."""
    f_pv = _flag(f_pv_local, "F_PV_local") + _flag(f_pv_global, "F_PV_global")
    return ONE + (coefficients.alpha * f_load + coefficients.beta * _flag(f_occ, "F_occ")
                  - coefficients.gamma * f_pv)


def hour_price(*, coefficients: Coefficients, factors: HourFactors) -> HourPriceResult:
    """The three published prices of one hour: fixed (eq. 2), variable per kWh (the max of eq. 1), idle fee."""
    c_var = factors.energy_tariff_per_kwh + coefficients.investment_per_kwh + coefficients.profit_per_kwh
    dm = dynamic_multiplier(coefficients=coefficients, f_load=factors.f_load, f_occ=factors.f_occ,
                            f_pv_local=factors.f_pv_local, f_pv_global=factors.f_pv_global)
    dynamic = c_var * dm
    clamped = dynamic < coefficients.min_price_per_kwh
    variable = coefficients.min_price_per_kwh if clamped else dynamic
    return HourPriceResult(
        fixed_price=coefficients.fixed_price,
        c_var_per_kwh=c_var,
        dm=dm,
        variable_price_per_kwh=variable.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP),
        idle_fee_per_minute=coefficients.idle_fee_per_minute,
        clamped=clamped,
        factors=factors,
    )


def day_prices(*, coefficients: Coefficients, hours: list[HourFactors]) -> list[HourPriceResult]:
    """One price per hour of a day (23, 24 or 25 hours on DST days: one entry per element of `hours`)."""
    return [hour_price(coefficients=coefficients, factors=factors) for factors in hours]


def daily_average(prices: list[HourPriceResult]) -> Decimal:
    """Plain mean of the hourly variable prices (the paper's "preço médio diário"), 4 decimals half-up."""
    if not prices:
        raise ValueError("no hours to average")
    total = sum((p.variable_price_per_kwh for p in prices), Decimal("0"))
    return (total / len(prices)).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def charge_price(*, hour: HourPriceResult, energy_wh: int, idle_s: int) -> Decimal:
    """Equation 1 for a session priced at one hour's prices: C_fixed + price/kWh × e_charge + F_idle × D_idle.
    Energy in Wh and idle time in seconds (integers, as stored); the result is unrounded."""
    if energy_wh < 0 or idle_s < 0:
        raise ValueError("energy and idle time cannot be negative")
    return (hour.fixed_price + hour.variable_price_per_kwh * Decimal(energy_wh) / WH_PER_KWH
            + hour.idle_fee_per_minute * Decimal(idle_s) / SECONDS_PER_MINUTE)


def pv_factors(*, local_pv_kw: Decimal, station_demand_kw: Decimal, global_pv_kw: Decimal,
               utility_load_kw: Decimal | None, stations_demand_kw: Decimal) -> tuple[int, int]:
    """Equation 5's two tests. Without a utility load in kW the global test cannot be made and gives 0."""
    local = 1 if local_pv_kw > station_demand_kw else 0
    if utility_load_kw is None:
        return local, 0
    return local, 1 if global_pv_kw > utility_load_kw + stations_demand_kw else 0


def occupancy_factor(*, share: Decimal, threshold: Decimal) -> int:
    """Equation 6: 1 when the share of the station's connectors in use reaches the operator's threshold."""
    return 1 if share >= threshold else 0
