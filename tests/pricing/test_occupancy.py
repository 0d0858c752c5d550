"""Expected occupancy learned from the station's own sessions, and the default curve for new stations."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal as D

import pytest

from apps.charging.models import ChargingSession
from apps.pricing.models import PriceForecast, StationOccupancy
from apps.pricing.services.forecast import forecast_compute
from apps.pricing.services.occupancy import station_occupancy_learn

from .factories import figure2_station

pytestmark = pytest.mark.django_db

# Wednesday 2026-12-02 12:00 UTC; the 28-day window is the local days 2026-11-04 … 2026-12-01 (20 weekdays).
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=dt_timezone.utc)


def _session(station, n, start_utc, hours):
    return ChargingSession.objects.create(
        station=station, connector_number=1, id_tag_uid=f"T{n}", started_at=start_utc,
        stopped_at=start_utc + timedelta(hours=hours), meter_start_wh=0, meter_stop_wh=1000, energy_wh=1000,
        state=ChargingSession.State.COMPLETED)


def test_learned_occupancy_is_the_share_of_connector_time_per_local_hour():
    station = figure2_station()
    # Ten weekdays with a car plugged 13:00–15:00 local (16:00–18:00 UTC), the 1st one only 13:00–13:30.
    weekdays = [d for d in (date(2026, 11, 4) + timedelta(days=i) for i in range(28)) if d.weekday() < 5][:10]
    for n, day in enumerate(weekdays):
        start = datetime(day.year, day.month, day.day, 16, tzinfo=dt_timezone.utc)
        _session(station, n, start, 0.5 if n == 0 else 2)
    assert station_occupancy_learn(now=NOW) == 1
    weekday = StationOccupancy.objects.get(station=station, day_type="weekday")
    # 13h: (0.5 h + 9 × 1 h) / 20 weekdays = 0.475; 14h: 9 / 20 = 0.45
    assert weekday.shares[13] == "0.4750" and weekday.shares[14] == "0.4500" and weekday.shares[12] == "0.0000"
    assert (weekday.days_observed, weekday.sessions_counted) == (20, 10)
    assert StationOccupancy.objects.get(station=station, day_type="sunday").shares == ["0.0000"] * 24


def test_learned_occupancy_replaces_the_default_curve_in_the_forecast():
    station = figure2_station()
    weekdays = [d for d in (date(2026, 11, 4) + timedelta(days=i) for i in range(28)) if d.weekday() < 5]
    for n, day in enumerate(weekdays):       # every weekday 12:00–13:00 local: share 1 at 12h
        _session(station, n, datetime(day.year, day.month, day.day, 15, tzinfo=dt_timezone.utc), 1)
    station_occupancy_learn(now=NOW)
    forecast_compute(now=NOW, day=date(2026, 12, 3))
    noon = PriceForecast.objects.get(station=station, local_hour=12)
    # busy at noon now: demand 7.4 kW < 11 kW local PV, so the discount stays: 1 + 0.76 + 0.6 − 0.70 = 1.66
    assert (noon.f_occ, noon.occupancy_source, noon.variable_price_per_kwh) == (1, "learned", D("1.6600"))
    morning = PriceForecast.objects.get(station=station, local_hour=8)
    # the default said busy at 8h; the station's own history says not: 1 + 0.85 = 1.85
    assert (morning.f_occ, morning.variable_price_per_kwh) == (0, D("1.8500"))


def test_a_new_station_with_few_sessions_keeps_the_default_curve():
    station = figure2_station()
    for n in range(4):
        _session(station, n, datetime(2026, 11, 10 + n, 15, tzinfo=dt_timezone.utc), 1)
    assert station_occupancy_learn(now=NOW) == 0
    assert not StationOccupancy.objects.exists()
    forecast_compute(now=NOW, day=date(2026, 12, 3))
    assert PriceForecast.objects.get(station=station, local_hour=8).occupancy_source == "default"


def test_learning_twice_gives_the_same_profile():
    station = figure2_station()
    for n in range(6):
        _session(station, n, datetime(2026, 11, 10 + n, 15, tzinfo=dt_timezone.utc), 1)
    station_occupancy_learn(now=NOW)
    first = list(StationOccupancy.objects.order_by("day_type").values("day_type", "shares", "sessions_counted"))
    station_occupancy_learn(now=NOW)
    assert list(StationOccupancy.objects.order_by("day_type").values("day_type", "shares",
                                                                     "sessions_counted")) == first
