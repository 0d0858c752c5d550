"""Golden tests of the ANEEL formula (seed 002, eq. 1–6) as pure functions: every number worked by hand."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from apps.pricing.formula import (
    Coefficients, HourFactors, charge_price, daily_average, dynamic_multiplier, hour_price, occupancy_factor,
    pv_factors,
)

COEF = Coefficients(alpha=D("0.5"), beta=D("0.3"), gamma=D("0.2"), fixed_price=D("2.00"),
                    min_price_per_kwh=D("0.90"), investment_per_kwh=D("0.35"), profit_per_kwh=D("0.15"),
                    idle_fee_per_minute=D("0.25"))


def factors(**kw) -> HourFactors:
    base = dict(energy_tariff_per_kwh=D("0.50"), f_load=D("0.8"), f_occ=0, f_pv_local=0, f_pv_global=0)
    base.update(kw)
    return HourFactors(**base)


def test_all_factors_off_prices_cvar_times_one_plus_alpha_load():
    # C_var = 0.50 + 0.35 + 0.15 = 1.00; DM = 1 + 0.5 × 0.8 = 1.40; price 1.40
    result = hour_price(coefficients=COEF, factors=factors())
    assert result.c_var_per_kwh == D("1.00")
    assert result.dm == D("1.40")
    assert result.variable_price_per_kwh == D("1.4000")
    assert result.clamped is False
    assert result.fixed_price == D("2.00") and result.idle_fee_per_minute == D("0.25")


def test_load_factor_off_when_alpha_zero():
    # DM = 1 + 0 × 0.8 = 1; price = C_var = 1.00
    result = hour_price(coefficients=replace(COEF, alpha=D("0")), factors=factors())
    assert result.dm == D("1") and result.variable_price_per_kwh == D("1.0000")


def test_occupancy_on_adds_beta():
    # DM = 1 + 0.40 + 0.3 = 1.70
    assert hour_price(coefficients=COEF, factors=factors(f_occ=1)).variable_price_per_kwh == D("1.7000")


def test_local_pv_on_subtracts_gamma():
    # DM = 1 + 0.40 − 0.2 = 1.20
    assert hour_price(coefficients=COEF, factors=factors(f_pv_local=1)).variable_price_per_kwh == D("1.2000")


def test_global_pv_on_subtracts_gamma():
    assert hour_price(coefficients=COEF, factors=factors(f_pv_global=1)).variable_price_per_kwh == D("1.2000")


def test_both_pv_subtract_twice_gamma():
    # F_PV = 1 + 1 = 2; DM = 1 + 0.40 − 0.4 = 1.00
    assert hour_price(coefficients=COEF, factors=factors(f_pv_local=1, f_pv_global=1)).dm == D("1.00")


def test_clamp_at_minimum_price():
    # γ = 0.5: DM = 1 + 0.40 − 1.0 = 0.40; C_var × DM = 0.40 < P_min 0.90 → 0.90
    result = hour_price(coefficients=replace(COEF, gamma=D("0.5")), factors=factors(f_pv_local=1, f_pv_global=1))
    assert result.dm == D("0.40")
    assert result.variable_price_per_kwh == D("0.9000")
    assert result.clamped is True


def test_exactly_at_minimum_is_not_clamped():
    # C_var × DM = 1.00 × 0.90 = 0.90 = P_min: the dynamic price itself applies
    result = hour_price(coefficients=replace(COEF, alpha=D("0"), gamma=D("0.05")),
                        factors=factors(f_pv_local=1, f_pv_global=1))
    assert result.variable_price_per_kwh == D("0.9000") and result.clamped is False


def test_negative_multiplier_still_clamped_to_minimum():
    # DM = 1 + 0.40 − 2 × 1 = −0.60 → the price would be negative; P_min holds it at 0.90
    result = hour_price(coefficients=replace(COEF, gamma=D("1")), factors=factors(f_pv_local=1, f_pv_global=1))
    assert result.dm == D("-0.60") and result.variable_price_per_kwh == D("0.9000")


def test_variable_price_rounded_half_up_to_four_decimals():
    # C_var = 0.33333 + 0.35 + 0.15 = 0.83333; DM 1.40 → 1.166662 → 1.1667
    result = hour_price(coefficients=COEF, factors=factors(energy_tariff_per_kwh=D("0.33333")))
    assert result.variable_price_per_kwh == D("1.1667")


def test_charge_price_equation_one_with_idle_fee():
    # P = 2.00 + 1.40 × 12.5 kWh + 0.25 × 18 min = 2.00 + 17.50 + 4.50 = 24.00
    hour = hour_price(coefficients=COEF, factors=factors())
    assert charge_price(hour=hour, energy_wh=12500, idle_s=18 * 60) == D("24.00")


def test_charge_price_without_idle_time_has_no_idle_fee():
    hour = hour_price(coefficients=COEF, factors=factors())
    assert charge_price(hour=hour, energy_wh=12500, idle_s=0) == D("19.50")


def test_charge_price_refuses_negative_energy():
    hour = hour_price(coefficients=COEF, factors=factors())
    with pytest.raises(ValueError, match="negative"):
        charge_price(hour=hour, energy_wh=-1, idle_s=0)


def test_factors_must_be_zero_or_one():
    with pytest.raises(ValueError, match="F_occ is a 0/1 factor"):
        dynamic_multiplier(coefficients=COEF, f_load=D("0.5"), f_occ=2, f_pv_local=0, f_pv_global=0)


def test_pv_factor_local_when_generation_exceeds_station_demand():
    assert pv_factors(local_pv_kw=D("8"), station_demand_kw=D("7.4"), global_pv_kw=D("0"),
                      utility_load_kw=D("800"), stations_demand_kw=D("7.4")) == (1, 0)
    assert pv_factors(local_pv_kw=D("7.4"), station_demand_kw=D("7.4"), global_pv_kw=D("0"),
                      utility_load_kw=D("800"), stations_demand_kw=D("7.4")) == (0, 0)


def test_pv_factor_global_counts_the_stations_demand_on_top_of_the_load():
    # 805 > 800 alone, but not > 800 + 7.4
    assert pv_factors(local_pv_kw=D("0"), station_demand_kw=D("0"), global_pv_kw=D("805"),
                      utility_load_kw=D("800"), stations_demand_kw=D("0")) == (0, 1)
    assert pv_factors(local_pv_kw=D("0"), station_demand_kw=D("0"), global_pv_kw=D("805"),
                      utility_load_kw=D("800"), stations_demand_kw=D("7.4")) == (0, 0)


def test_pv_factor_global_off_without_utility_load_in_kw():
    assert pv_factors(local_pv_kw=D("0"), station_demand_kw=D("0"), global_pv_kw=D("900"),
                      utility_load_kw=None, stations_demand_kw=D("0")) == (0, 0)


def test_occupancy_factor_threshold():
    assert occupancy_factor(share=D("0.5"), threshold=D("0.5")) == 1
    assert occupancy_factor(share=D("0.4999"), threshold=D("0.5")) == 0


def test_daily_average_is_the_mean_of_the_hourly_prices():
    prices = [hour_price(coefficients=COEF, factors=factors(f_occ=h % 2)) for h in range(24)]
    # 12 × 1.40 + 12 × 1.70 = 37.20; / 24 = 1.55
    assert daily_average(prices) == D("1.5500")
    with pytest.raises(ValueError):
        daily_average([])
