"""Unit conversion and energy arithmetic of meter values (pure functions, no database)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from apps.charging.services.meter import energy_from_readings, meter_values_parse, sample_convert

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(("raw", "measurand", "unit", "expected"), [
    ("12.3456", "Energy.Active.Import.Register", "kWh", (12346, "Wh")),
    ("1500", "Energy.Active.Import.Register", None, (1500, "Wh")),
    ("7.2", "Power.Active.Import", "kW", (7200, "W")),
    ("16.05", "Current.Import", "A", (16050, "mA")),
    ("229.9", "Voltage", None, (229900, "mV")),
    ("98.6", "Temperature", "Fahrenheit", (37000, "m°C")),
    ("310.15", "Temperature", "K", (37000, "m°C")),
    ("50.01", "Frequency", None, (50010, "mHz")),
    ("55.5", "SoC", "Percent", (56, "%")),
    ("2.5", "Power.Reactive.Import", "kvar", (2500, "var")),
    ("0.95", "Power.Factor", None, (950, "‰")),
])
def test_sampled_values_become_integers_in_evnet_units(raw, measurand, unit, expected):
    assert sample_convert(raw_value=raw, measurand=measurand, unit=unit) == expected


@pytest.mark.parametrize("raw", ["", "abc", "NaN", "Infinity", "1e400"])
def test_values_that_are_not_numbers_are_refused(raw):
    assert sample_convert(raw_value=raw, measurand="Energy.Active.Import.Register", unit="Wh") is None


def test_signed_data_and_garbage_are_skipped_and_counted():
    samples, skipped = meter_values_parse(meter_value=[{"timestamp": "2026-03-29T00:30:00Z", "sampledValue": [
        {"value": "100"}, {"value": "MIIBsig==", "format": "SignedData"}, {"value": "n/a", "measurand": "Voltage"}]}],
        default_at=T0)
    assert [(s.measurand, s.value, s.unit) for s in samples] == [("Energy.Active.Import.Register", 100, "Wh")]
    assert skipped == 2 and samples[0].sampled_at == T0


def test_energy_is_the_sum_of_increments():
    total = energy_from_readings(readings=[(T0, 1000), (T0 + timedelta(minutes=10), 1500),
                                           (T0 + timedelta(minutes=20), 2100)], max_power_w=7400)
    assert total.energy_wh == 1100 and total.anomalies == [] and total.last_increase_at == T0 + timedelta(minutes=20)


def test_a_replaced_meter_counts_zero_for_the_backward_step():
    total = energy_from_readings(readings=[(T0, 900_000), (T0 + timedelta(minutes=10), 500),
                                           (T0 + timedelta(minutes=20), 900)], max_power_w=7400)
    # 500 Wh in 10 minutes is possible at 7.4 kW: a reset to zero, counted; the register then moves on.
    assert total.energy_wh == 500 + 400
    assert [code for code, _ in total.anomalies] == ["meter_backwards"]
    replaced = energy_from_readings(readings=[(T0, 900_000), (T0 + timedelta(minutes=1), 400_000)],
                                    max_power_w=7400)
    assert replaced.energy_wh == 0 and replaced.anomalies[0][0] == "meter_backwards"


def test_a_jump_beyond_the_connector_rating_is_not_billed():
    total = energy_from_readings(readings=[(T0, 0), (T0 + timedelta(minutes=1), 50_000)], max_power_w=22_000)
    assert total.energy_wh == 0 and total.anomalies[0][0] == "meter_jump"
    assert "at most" in total.anomalies[0][1]
