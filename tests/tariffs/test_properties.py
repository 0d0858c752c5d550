"""Properties of the rating engine over random sessions (hypothesis): total = Σ rounded lines; energy lines add
up to the session energy; nothing is negative; dynamic prices follow the schedule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from apps.tariffs.engine.rating import HourPrice, PriceSchedule, Reading, rate

from .helpers import D, energy_tariff, linear, local, ocpi, LISBON

TARIFFS = [
    energy_tariff("erse-btn-weekly-tri", {"Ponta": "0.2451", "Cheias": "0.2278", "Vazio": "0.1984"},
                  evnet_vat_rate=23),
    energy_tariff("br-branca-enel-sp", {"Ponta": "1.30", "Intermediário": "0.85", "Fora de ponta": "0.60"},
                  currency="BRL"),
    ocpi({"id": "mixed", "currency": "EUR", "evnet_parking_grace_period_s": 600, "elements": [
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.20"), "step_size": 1}],
         "restrictions": {"min_kwh": 10}},
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.35"), "step_size": 1},
                              {"type": "TIME", "price": Decimal("0.90"), "step_size": 1}],
         "restrictions": {"start_time": "08:00", "end_time": "20:00", "min_power": 3}},
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.25"), "step_size": 1},
                              {"type": "PARKING_TIME", "price": Decimal("4.80"), "step_size": 1},
                              {"type": "FLAT", "price": Decimal("0.35"), "step_size": 1}]}]}),
]
BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)


@st.composite
def sessions(draw):
    start = BASE + timedelta(seconds=draw(st.integers(0, 365 * 86400)))
    gaps = draw(st.lists(st.integers(1, 3600), min_size=0, max_size=40))
    deltas = draw(st.lists(st.integers(-20000, 8000), min_size=len(gaps), max_size=len(gaps)))
    meter = draw(st.integers(0, 10**7))
    readings = [Reading(start, meter)]
    t = start
    for gap, delta in zip(gaps, deltas):
        t += timedelta(seconds=gap)
        meter = max(0, meter + delta)
        readings.append(Reading(t, meter))
    stop = t + timedelta(seconds=draw(st.integers(0, 7200)))
    ended = None
    if draw(st.booleans()):
        ended = start + (stop - start) * draw(st.floats(0, 1))
    return readings, start, stop, ended


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session=sessions(), which=st.integers(0, len(TARIFFS) - 1),
       zone=st.sampled_from(["Europe/Lisbon", "America/Sao_Paulo"]))
def test_rating_invariants(session, which, zone):
    readings, start, stop, ended = session
    result = rate(tariff=TARIFFS[which], readings=readings, started_at=start, stopped_at=stop,
                  charging_ended_at=ended, time_zone=zone)
    expected_energy = sum(max(0, b.energy_wh - a.energy_wh) for a, b in zip(readings, readings[1:]))
    assert result.total_energy_wh == expected_energy
    assert result.total_excl_vat == sum((ln.amount_rounded for ln in result.lines), Decimal(0))
    assert result.total_incl_vat == result.total_excl_vat + sum((ln.vat_amount for ln in result.lines), Decimal(0))
    energy_lines = sum(ln.quantity_raw for ln in result.lines if ln.dimension == "ENERGY")
    assert energy_lines == (0 if "zero_energy" in result.anomalies else expected_energy)
    for line in result.lines:
        assert line.quantity >= 0 and line.amount >= 0 and line.amount_rounded >= 0
        assert line.amount_rounded == line.amount.quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert 0 <= result.total_parking_time_s <= result.total_time_s


def test_dynamic_energy_price_hourly_follows_the_schedule():
    # ANEEL-style schedule: 18:00 UTC hour 0.90/kWh, 19:00 hour 1.50/kWh. 18:30–19:30 UTC at 6 kW: 3 kWh in each.
    # 3 × 0.90 = 2.70; 3 × 1.50 = 4.50. With mode at_start, all 6 kWh at 0.90 = 5.40.
    spec = ocpi({"id": "dyn", "currency": "BRL", "elements": [{"price_components": [
        {"type": "ENERGY", "price": Decimal("0.70"), "step_size": 1, "evnet_dynamic": True}]}]})
    hours = [HourPrice(datetime(2026, 3, 4, 18, tzinfo=timezone.utc), D("0.90")),
             HourPrice(datetime(2026, 3, 4, 19, tzinfo=timezone.utc), D("1.50"))]
    start, stop = datetime(2026, 3, 4, 18, 30, tzinfo=timezone.utc), datetime(2026, 3, 4, 19, 30, tzinfo=timezone.utc)
    readings = linear(start, stop, 6000, every_s=300)
    hourly = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop, time_zone="America/Sao_Paulo",
                  price_schedule=PriceSchedule(hours=hours, mode="hourly"))
    assert [(ln.unit_price, ln.quantity, ln.amount_rounded) for ln in hourly.lines] == [
        (D("0.90"), D("3"), D("2.70")), (D("1.50"), D("3"), D("4.50"))]
    at_start = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop,
                    time_zone="America/Sao_Paulo", price_schedule=PriceSchedule(hours=hours, mode="at_start"))
    assert at_start.total_excl_vat == D("5.40")


def test_dynamic_price_without_a_schedule_hour_falls_back_to_the_tariff_price_and_says_so():
    spec = ocpi({"id": "dyn", "currency": "BRL", "elements": [{"price_components": [
        {"type": "ENERGY", "price": Decimal("0.70"), "step_size": 1, "evnet_dynamic": True}]}]})
    start = local(LISBON, 2026, 3, 4, 10, 0)
    stop = start + timedelta(hours=1)
    result = rate(tariff=spec, readings=linear(start, stop, 1000), started_at=start, stopped_at=stop,
                  time_zone="America/Sao_Paulo", price_schedule=PriceSchedule(hours=[], mode="hourly"))
    assert result.total_excl_vat == D("0.70") and "dynamic_price_missing" in result.anomalies
