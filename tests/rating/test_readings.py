"""The energy curve the engine rates, and the seed's hour labels: pure helpers, no database."""
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from apps.rating.formatting import kwh, money, unit_price
from apps.rating.readings import curve_clip, energy_curve
from apps.rating.services.reports import group_label, month_bounds, month_parse, period_hours
from apps.rating.exceptions import ReportInvalid
from apps.tariffs.engine.calendar import CalendarSpec

import pytest

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_curve_starts_at_zero_and_ends_at_the_billable_energy():
    points = energy_curve(started_at=at(0), meter_start_wh=1_000_000,
                          samples=[(at(30), 1_003_000), (at(60), 1_006_000)],
                          stopped_at=at(90), meter_stop_wh=1_009_000, energy_wh=9000, max_power_w=7400)
    assert points == [(at(0), 0), (at(30), 3000), (at(60), 6000), (at(90), 9000)]


def test_curve_drops_samples_outside_the_session_and_merges_equal_times():
    points = energy_curve(started_at=at(0), meter_start_wh=0,
                          samples=[(at(-5), 50), (at(30), 3000), (at(30), 3100), (at(200), 99_000)],
                          stopped_at=at(60), meter_stop_wh=6000, energy_wh=6000, max_power_w=7400)
    assert points == [(at(0), 0), (at(30), 3100), (at(60), 6000)]


def test_curve_after_a_meter_reset_never_goes_down():
    # Register 5000 → reset to 200 (counts 200 Wh: energy since the reset) → 1200: 5000 + 200 + 1000.
    points = energy_curve(started_at=at(0), meter_start_wh=0, samples=[(at(40), 5000), (at(50), 200)],
                          stopped_at=at(60), meter_stop_wh=1200, energy_wh=6200, max_power_w=7400)
    assert [wh for _, wh in points] == [0, 5000, 5200, 6200]
    assert all(b[1] >= a[1] for a, b in zip(points, points[1:]))


def test_curve_of_a_running_session_has_no_stop_point():
    points = energy_curve(started_at=at(0), meter_start_wh=10, samples=[(at(5), 510)], max_power_w=7400)
    assert points == [(at(0), 0), (at(5), 500)]


def test_clip_interpolates_at_the_window_edges():
    points = [(at(0), 0), (at(60), 6000), (at(120), 12000)]
    assert curve_clip(points=points, start=at(30), end=at(90)) == [(at(30), 0), (at(60), 3000), (at(90), 6000)]
    assert curve_clip(points=points, start=at(200), end=at(300)) == []


def _chazemo() -> CalendarSpec:
    data = json.loads((Path(__file__).resolve().parents[2] / "apps/tariffs/data/calendars.json").read_text())
    return CalendarSpec.from_dict(next(c for c in data["calendars"] if c["code"] == "chazemo-tejo-weekly"))


def test_period_hours_read_like_the_seed():
    calendar = _chazemo()
    assert period_hours(calendar=calendar, season="SUMMER", day_type="WEEKDAY", period="Cheia 1") == "07.00-09.15"
    assert period_hours(calendar=calendar, season="SUMMER", day_type="WEEKDAY", period="Cheia 2") == "12.15-23.59"
    assert period_hours(calendar=calendar, season="SUMMER", day_type="SATURDAY", period="Cheia 1") == "09.00-14.00"
    assert period_hours(calendar=calendar, season="SUMMER", day_type="SUNDAY", period="Vazio 2") == "06.00-23.59"
    assert period_hours(calendar=calendar, season="SUMMER", day_type="SUNDAY", period="Ponta") == ""
    assert group_label(season="SUMMER", day_type="WEEKDAY") == "Verão/Semana"
    assert group_label(season="ALL", day_type="ALL") == "Todos os dias"


def test_amounts_read_like_the_seed():
    assert f"{kwh(6867)} kWh x {unit_price(Decimal('0.227756'), 'EUR')} {money(Decimal('1.564'), 'EUR')}" == \
        "6.867 kWh x €0.227756 €1.56"
    assert unit_price(Decimal("0.19778"), "EUR") == "€0.197780"
    assert unit_price(Decimal("1.6"), "BRL") == "R$1.60"
    assert money(Decimal("0.005"), "EUR") == "€0.01"  # half up, not banker's rounding


def test_month_is_the_sites_local_month():
    assert month_parse(value="2026-06") == month_parse(value="2026-06-17")
    start, end = month_bounds(month=month_parse(value="2026-06"), time_zone="Europe/Lisbon")
    assert start == datetime(2026, 5, 31, 23, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 6, 30, 23, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("bad", ["June", "2026-13", "", "2026/06"])
def test_a_month_that_is_not_a_month_is_refused(bad):
    with pytest.raises(ReportInvalid, match="YYYY-MM"):
        month_parse(value=bad)
