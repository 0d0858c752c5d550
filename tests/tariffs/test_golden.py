"""Golden sessions priced by hand (the arithmetic is in each test). Pure engine: no database."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from apps.tariffs.engine.rating import Reading, rate
from apps.tariffs.exceptions import InvalidSession

from .helpers import LISBON, SAO_PAULO, D, energy_tariff, lines_by_period, linear, local, ocpi

ERSE_TRI = {"Ponta": "0.2451", "Cheias": "0.2278", "Vazio": "0.1984"}
ERSE_TETRA = {"Ponta": "0.2451", "Cheias": "0.2278", "Super vazio": "0.1978", "Vazio normal": "0.1984"}
BRANCA = {"Ponta": "1.30", "Intermediário": "0.85", "Fora de ponta": "0.60"}


def test_session_crossing_a_tou_boundary_is_split_by_linear_interpolation():
    # ERSE weekly tri-horário, summer weekday (Wed 3 Jun 2026, Lisbon): Cheias 07:00–09:15, Ponta 09:15–12:15.
    # Readings 08:45 → 0 Wh, 09:05 → 2000 Wh, 09:25 → 5000 Wh. The 09:05–09:25 interval (3000 Wh in 20 min)
    # straddles 09:15: 10/20 of it = 1500 Wh is Cheias, 1500 Wh Ponta.
    # Cheias 2000 + 1500 = 3.500 kWh × 0.2278 = 0.7973 → 0.80; Ponta 1.500 kWh × 0.2451 = 0.36765 → 0.37.
    # VAT 23 % per line: 0.80 × 0.23 = 0.184 → 0.18; 0.37 × 0.23 = 0.0851 → 0.09. Total 1.17 + 0.27 = 1.44.
    spec = energy_tariff("erse-btn-weekly-tri", ERSE_TRI, evnet_vat_rate=23)
    readings = [Reading(local(LISBON, 2026, 6, 3, 8, 45), 0), Reading(local(LISBON, 2026, 6, 3, 9, 5), 2000),
                Reading(local(LISBON, 2026, 6, 3, 9, 25), 5000)]
    result = rate(tariff=spec, readings=readings, started_at=readings[0].at, stopped_at=readings[-1].at,
                  time_zone="Europe/Lisbon")
    assert lines_by_period(result) == {"Cheias": (D("3.5"), D("0.80")), "Ponta": (D("1.5"), D("0.37"))}
    assert [ln.amount for ln in result.lines] == [D("0.7973"), D("0.36765")]
    assert (result.total_excl_vat, result.total_vat, result.total_incl_vat) == (D("1.17"), D("0.27"), D("1.44"))
    assert result.cdr_totals()["total_energy"] == D("5")


def test_same_session_in_winter_falls_in_other_periods():
    # Winter weekday (Wed 2 Dec 2026): Cheias 07:00–09:30, so the whole 08:45–09:25 session is Cheias:
    # 5.000 kWh × 0.2278 = 1.139 → 1.14.
    spec = energy_tariff("erse-btn-weekly-tri", ERSE_TRI)
    readings = [Reading(local(LISBON, 2026, 12, 2, 8, 45), 0), Reading(local(LISBON, 2026, 12, 2, 9, 25), 5000)]
    result = rate(tariff=spec, readings=readings, started_at=readings[0].at, stopped_at=readings[-1].at,
                  time_zone="Europe/Lisbon")
    assert lines_by_period(result) == {"Cheias": (D("5"), D("1.14"))}


def test_session_crossing_midnight():
    # Tue 2 → Wed 3 Jun 2026, 23:30–00:30 Lisbon, 4 kW: 2 kWh before midnight (summer weekday Cheias
    # 12:15–24:00), 2 kWh after (Vazio 00:00–07:00). 2 × 0.2278 = 0.4556 → 0.46; 2 × 0.1984 = 0.3968 → 0.40.
    spec = energy_tariff("erse-btn-weekly-tri", ERSE_TRI)
    start, stop = local(LISBON, 2026, 6, 2, 23, 30), local(LISBON, 2026, 6, 3, 0, 30)
    result = rate(tariff=spec, readings=linear(start, stop, 4000, every_s=300), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    assert lines_by_period(result) == {"Cheias": (D("2"), D("0.46")), "Vazio": (D("2"), D("0.40"))}
    assert result.total_excl_vat == D("0.86")


def test_october_dst_night_in_lisbon_is_split_by_real_elapsed_time():
    # Sun 25 Oct 2026: at 02:00 WEST the clocks go back to 01:00 WET, so 01:00–02:00 happens twice.
    # Session 00:30 WEST (23:30 UTC Sat) → 03:00 WET (03:00 UTC): 3.5 real hours at 4 kW = 14 kWh.
    # ERSE tetra (winter Sunday): Vazio normal 00:00–02:00 lasts 23:30→02:00 UTC = 2.5 h = 10 kWh;
    # Super vazio 02:00–06:00 WET: 02:00→03:00 UTC = 1 h = 4 kWh. (A wall-clock split would give 1.5 h / 6 kWh.)
    # 10 × 0.1984 = 1.984 → 1.98; 4 × 0.1978 = 0.7912 → 0.79; total 2.77.
    spec = energy_tariff("erse-btn-weekly-tetra", ERSE_TETRA)
    start = local(LISBON, 2026, 10, 25, 0, 30)
    stop = local(LISBON, 2026, 10, 25, 3, 0)
    assert (stop - start) == timedelta(hours=3, minutes=30)
    result = rate(tariff=spec, readings=linear(start, stop, 14000, every_s=300), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    assert lines_by_period(result) == {"Vazio normal": (D("10"), D("1.98")), "Super vazio": (D("4"), D("0.79"))}
    assert result.total_excl_vat == D("2.77")
    assert result.cdr_totals()["total_time"] == D("3.5")


def test_march_dst_night_in_lisbon_loses_an_hour():
    # Sun 29 Mar 2026: at 01:00 WET the clocks jump to 02:00 WEST. Session 00:00 WET → 03:00 WEST = 2 real hours
    # at 3 kW = 6 kWh. Vazio normal 00:00–02:00 (wall) is one real hour = 3 kWh; Super vazio 02:00–03:00 = 3 kWh.
    spec = energy_tariff("erse-btn-weekly-tetra", ERSE_TETRA)
    start, stop = local(LISBON, 2026, 3, 29, 0, 0), local(LISBON, 2026, 3, 29, 3, 0)
    result = rate(tariff=spec, readings=linear(start, stop, 6000), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    assert {p: q for p, (q, _a) in lines_by_period(result).items()} == {"Vazio normal": D("3"), "Super vazio": D("3")}


def test_tarifa_branca_weekday_crossing_18h():
    # ENEL SP, Wed 4 Mar 2026, 17:30–18:30 São Paulo, 7 kW: 3.5 kWh Intermediário (17–18), 3.5 kWh Ponta (18–21).
    # 3.5 × 0.85 = 2.975 → 2.98 (ROUND_HALF_UP); 3.5 × 1.30 = 4.55. Total R$ 7.53.
    spec = energy_tariff("br-branca-enel-sp", BRANCA, currency="BRL")
    start, stop = local(SAO_PAULO, 2026, 3, 4, 17, 30), local(SAO_PAULO, 2026, 3, 4, 18, 30)
    result = rate(tariff=spec, readings=linear(start, stop, 7000, every_s=300), started_at=start, stopped_at=stop,
                  time_zone="America/Sao_Paulo")
    assert lines_by_period(result) == {"Intermediário": (D("3.5"), D("2.98")), "Ponta": (D("3.5"), D("4.55"))}
    assert result.total_excl_vat == D("7.53") and result.currency == "BRL"


@pytest.mark.parametrize("day, why", [((2026, 3, 7), "Saturday"), ((2026, 4, 21), "Tiradentes, a Tuesday")])
def test_tarifa_branca_saturday_and_national_holiday_are_off_peak(day, why):
    # Same 17:30–18:30, 7 kWh, but on a Saturday / a national holiday: all Fora de ponta, 7 × 0.60 = 4.20.
    spec = energy_tariff("br-branca-enel-sp", BRANCA, currency="BRL")
    start, stop = local(SAO_PAULO, *day, 17, 30), local(SAO_PAULO, *day, 18, 30)
    result = rate(tariff=spec, readings=linear(start, stop, 7000), started_at=start, stopped_at=stop,
                  time_zone="America/Sao_Paulo")
    assert lines_by_period(result) == {"Fora de ponta": (D("7"), D("4.20"))}, why


IDLE = {"id": "idle", "currency": "EUR", "evnet_parking_grace_period_s": 900,
        "elements": [{"price_components": [
            {"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1},
            {"type": "PARKING_TIME", "price": Decimal("6.00"), "step_size": 1}]}]}


def test_idle_fee_after_charging_ended_counts_only_past_the_grace_period():
    # Plugged 10:00–12:00 UTC, charging ended 11:00 with 7 kWh. Parking 60 min, grace 15 min → 45 min billed:
    # 0.75 h × 6.00 €/h (0.10 €/min) = 4.50. Energy 7 × 0.30 = 2.10. Total 6.60; total_parking_time 1 h.
    spec = ocpi(IDLE)
    start = local(LISBON, 2026, 6, 3, 11, 0)
    ended, stop = start + timedelta(hours=1), start + timedelta(hours=2)
    readings = linear(start, ended, 7000, every_s=300) + [Reading(stop, 7000)]
    result = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop, charging_ended_at=ended,
                  time_zone="Europe/Lisbon")
    parking = [ln for ln in result.lines if ln.dimension == "PARKING_TIME"]
    assert [(ln.quantity, ln.quantity_raw, ln.amount_rounded) for ln in parking] == [(D("0.75"), 2700, D("4.50"))]
    assert result.total_excl_vat == D("6.60")
    totals = result.cdr_totals()
    assert totals["total_parking_time"] == D("1") and totals["total_parking_cost"]["excl_vat"] == D("4.50")


def test_no_idle_fee_when_leaving_within_the_grace_period():
    spec = ocpi(IDLE)
    start = local(LISBON, 2026, 6, 3, 11, 0)
    ended, stop = start + timedelta(hours=1), start + timedelta(hours=1, minutes=14)
    readings = linear(start, ended, 7000) + [Reading(stop, 7000)]
    result = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop, charging_ended_at=ended,
                  time_zone="Europe/Lisbon")
    assert [ln.dimension for ln in result.lines] == ["ENERGY"]
    assert result.total_excl_vat == D("2.10")
    assert result.cdr_totals()["total_parking_time"] == (D(14 * 60) / 3600).quantize(D("0.000001"))


MIN_PRICE = {"id": "min", "currency": "EUR", "evnet_vat_rate": 23, "min_price": {"excl_vat": 2.00},
             "max_price": {"excl_vat": 10.00},
             "elements": [{"price_components": [{"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1}]}]}


def test_minimum_price_tops_the_session_up_with_an_adjustment_line():
    # 3 kWh × 0.30 = 0.90 < min_price 2.00 → a FLAT "min_price" line of 1.10. VAT 23 % per line:
    # 0.90 → 0.207 → 0.21; 1.10 → 0.253 → 0.25. Total 2.00 + 0.46 = 2.46.
    spec = ocpi(MIN_PRICE)
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 11, 0)
    result = rate(tariff=spec, readings=linear(start, stop, 3000), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    assert [(ln.dimension, ln.period, ln.amount_rounded) for ln in result.lines] == [
        ("ENERGY", "", D("0.90")), ("FLAT", "min_price", D("1.10"))]
    assert (result.total_excl_vat, result.total_vat, result.total_incl_vat) == (D("2.00"), D("0.46"), D("2.46"))


def test_price_above_the_minimum_and_below_the_maximum_is_left_alone():
    # 10 kWh × 0.30 = 3.00: between min 2.00 and max 10.00, no adjustment.
    spec = ocpi(MIN_PRICE)
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 11, 0)
    result = rate(tariff=spec, readings=linear(start, stop, 10000), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    assert [ln.period for ln in result.lines] == [""] and result.total_excl_vat == D("3.00")


def test_maximum_price_caps_the_session():
    # 40 kWh × 0.30 = 12.00 > max 10.00 → "max_price" line of -2.00; total 10.00.
    spec = ocpi(MIN_PRICE)
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 14, 0)
    result = rate(tariff=spec, readings=linear(start, stop, 40000), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    assert result.lines[-1].period == "max_price" and result.lines[-1].amount_rounded == D("-2.00")
    assert result.total_excl_vat == D("10.00")


FLAT_AND_MIN = {"id": "flat", "currency": "EUR", "min_price": {"excl_vat": 1.00},
                "elements": [{"price_components": [{"type": "FLAT", "price": Decimal("0.50"), "step_size": 1},
                                                   {"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1}]}]}


def test_zero_energy_session_costs_nothing():
    # The car never drew power: no flat fee, no minimum price, total 0, flagged.
    spec = ocpi(FLAT_AND_MIN)
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 10, 20)
    result = rate(tariff=spec, readings=[Reading(start, 5000), Reading(stop, 5000)], started_at=start,
                  stopped_at=stop, time_zone="Europe/Lisbon")
    assert result.lines == () and result.total_incl_vat == D("0") and "zero_energy" in result.anomalies


def test_zero_energy_session_pays_the_flat_fee_when_the_tariff_says_so():
    # evnet_zero_energy_free false → OCPI literal: FLAT 0.50, then the 1.00 minimum: 0.50 + 0.50 adjustment.
    spec = ocpi({**FLAT_AND_MIN, "evnet_zero_energy_free": False})
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 10, 20)
    result = rate(tariff=spec, readings=[Reading(start, 5000), Reading(stop, 5000)], started_at=start,
                  stopped_at=stop, time_zone="Europe/Lisbon")
    assert [(ln.dimension, ln.period, ln.amount_rounded) for ln in result.lines] == [
        ("FLAT", "", D("0.50")), ("FLAT", "min_price", D("0.50"))]


def test_meter_reset_is_skipped_and_flagged_never_negative():
    # 0 → 5000 Wh, then the meter restarts at 200 (replaced), then 1200: energy = 5000 + (1200 − 200) = 6000 Wh.
    # 6 kWh × 0.30 = 1.80 (FLAT 0.50 too) = 2.30.
    spec = ocpi(FLAT_AND_MIN)
    t = local(LISBON, 2026, 6, 3, 10, 0)
    readings = [Reading(t, 0), Reading(t + timedelta(minutes=30), 5000), Reading(t + timedelta(minutes=35), 200),
                Reading(t + timedelta(minutes=60), 1200)]
    result = rate(tariff=spec, readings=readings, started_at=t, stopped_at=readings[-1].at, time_zone="Europe/Lisbon")
    assert result.total_energy_wh == 6000 and "meter_reset" in result.anomalies
    assert all(ln.quantity >= 0 for ln in result.lines)
    assert result.total_excl_vat == D("2.30")


def test_readings_going_back_in_time_are_refused():
    spec = ocpi(FLAT_AND_MIN)
    t = local(LISBON, 2026, 6, 3, 10, 0)
    with pytest.raises(InvalidSession, match="back in time"):
        rate(tariff=spec, readings=[Reading(t, 0), Reading(t - timedelta(minutes=1), 10)], started_at=t,
             stopped_at=t + timedelta(hours=1), time_zone="Europe/Lisbon")


def test_stop_before_start_and_unknown_zone_are_refused():
    spec = ocpi(FLAT_AND_MIN)
    t = local(LISBON, 2026, 6, 3, 10, 0)
    with pytest.raises(InvalidSession, match="before it starts"):
        rate(tariff=spec, readings=[], started_at=t, stopped_at=t - timedelta(seconds=1), time_zone="Europe/Lisbon")
    with pytest.raises(InvalidSession, match="not an IANA time zone"):
        rate(tariff=spec, readings=[], started_at=t, stopped_at=t, time_zone="Mars/Olympus")


STEPS = {"id": "steps", "currency": "EUR", "elements": [{"price_components": [
    {"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1000},
    {"type": "TIME", "price": Decimal("1.20"), "step_size": 300},
    {"type": "PARKING_TIME", "price": Decimal("6.00"), "step_size": 600}]}]}


def test_step_size_rounds_the_session_totals_up():
    # OCPI 2.2.1 step_size example: 6 min of TIME with step 300 s bills 10 min. ENERGY 7.2 kWh with step 1000 Wh
    # bills 8 kWh. 8 × 0.30 = 2.40; 10/60 h × 1.20 = 0.20. No parking, so the time step applies to TIME.
    spec = ocpi(STEPS)
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 10, 6)
    result = rate(tariff=spec, readings=linear(start, stop, 7200), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    by_dim = {ln.dimension: ln for ln in result.lines}
    assert (by_dim["ENERGY"].quantity_raw, by_dim["ENERGY"].amount_rounded) == (8000, D("2.40"))
    assert (by_dim["TIME"].quantity_raw, by_dim["TIME"].amount_rounded) == (600, D("0.20"))
    assert result.total_excl_vat == D("2.60")


def test_step_size_with_parking_applies_to_parking_only():
    # TIME 6 min stays 6 min (0.1 h × 1.20 = 0.12); PARKING 7 min with step 600 s → 10 min: 1/6 h × 6.00 = 1.00.
    spec = ocpi(STEPS)
    start = local(LISBON, 2026, 6, 3, 10, 0)
    ended, stop = start + timedelta(minutes=6), start + timedelta(minutes=13)
    readings = linear(start, ended, 1000) + [Reading(stop, 1000)]
    result = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop, charging_ended_at=ended,
                  time_zone="Europe/Lisbon")
    by_dim = {ln.dimension: ln for ln in result.lines}
    assert (by_dim["TIME"].quantity_raw, by_dim["TIME"].amount_rounded) == (360, D("0.12"))
    assert (by_dim["PARKING_TIME"].quantity_raw, by_dim["PARKING_TIME"].amount_rounded) == (600, D("1.00"))


SELECTION = {"id": "sel", "currency": "EUR", "elements": [
    {"price_components": [{"type": "ENERGY", "price": Decimal("0.20"), "step_size": 1}],
     "restrictions": {"min_kwh": 10}},
    {"price_components": [{"type": "ENERGY", "price": Decimal("0.40"), "step_size": 1}],
     "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"]}},
    {"price_components": [{"type": "ENERGY", "price": Decimal("0.35"), "step_size": 1}],
     "restrictions": {"start_time": "08:00", "end_time": "20:00"}},
    {"price_components": [{"type": "ENERGY", "price": Decimal("0.25"), "step_size": 1}]},
]}


def test_ocpi_restriction_selection_on_a_weekday():
    # Wed 3 Jun 2026 19:00–21:00 Lisbon at 8 kW, 16 kWh. First matching element wins per moment:
    # 19:00–20:00: 8 kWh, < 10 kWh, weekday, inside 08–20 → 0.35: 2.80.
    # 20:00–20:15: 2 kWh, after 20:00 → fallback 0.25: 0.50.
    # 20:15–21:00: session energy ≥ 10 kWh → min_kwh element 0.20: 6 kWh = 1.20. Total 4.50.
    spec = ocpi(SELECTION)
    start, stop = local(LISBON, 2026, 6, 3, 19, 0), local(LISBON, 2026, 6, 3, 21, 0)
    result = rate(tariff=spec, readings=linear(start, stop, 16000, every_s=300), started_at=start,
                  stopped_at=stop, time_zone="Europe/Lisbon")
    assert [(ln.unit_price, ln.quantity, ln.amount_rounded) for ln in result.lines] == [
        (D("0.35"), D("8"), D("2.80")), (D("0.25"), D("2"), D("0.50")), (D("0.20"), D("6"), D("1.20"))]
    assert result.total_excl_vat == D("4.50")


def test_ocpi_restriction_selection_on_a_saturday():
    # Sat 6 Jun 2026, same session: 0.40 (day_of_week) until 10 kWh at 20:15 = 4.00, then 6 kWh × 0.20 = 1.20.
    spec = ocpi(SELECTION)
    start, stop = local(LISBON, 2026, 6, 6, 19, 0), local(LISBON, 2026, 6, 6, 21, 0)
    result = rate(tariff=spec, readings=linear(start, stop, 16000, every_s=300), started_at=start,
                  stopped_at=stop, time_zone="Europe/Lisbon")
    assert [(ln.unit_price, ln.quantity, ln.amount_rounded) for ln in result.lines] == [
        (D("0.40"), D("10"), D("4.00")), (D("0.20"), D("6"), D("1.20"))]


def test_round_half_up_not_bankers_rounding():
    # 3.650 kWh × 0.50 = 1.825 → 1.83 with ROUND_HALF_UP (banker's rounding would give 1.82).
    spec = ocpi({"id": "r", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.50"), "step_size": 1}]}]})
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 11, 0)
    result = rate(tariff=spec, readings=linear(start, stop, 3650), started_at=start, stopped_at=stop,
                  time_zone="Europe/Lisbon")
    assert result.lines[0].amount == D("1.825") and result.total_excl_vat == D("1.83")


def test_price_groups_select_their_elements():
    # evnet_user_groups: residents pay 0.18, everyone else the 0.30 fallback. 10 kWh.
    spec = ocpi({"id": "g", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.18"), "step_size": 1}],
         "restrictions": {"evnet_user_groups": ["resident"]}},
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1}]}]})
    start, stop = local(LISBON, 2026, 6, 3, 10, 0), local(LISBON, 2026, 6, 3, 11, 0)
    readings = linear(start, stop, 10000)
    resident = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop, time_zone="Europe/Lisbon",
                    user_group="resident")
    public = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop, time_zone="Europe/Lisbon")
    assert (resident.total_excl_vat, public.total_excl_vat) == (D("1.80"), D("3.00"))
