"""The day-ahead forecast on the database: the paper's Figure 2 result, DST days, idempotency, frozen past hours,
live occupancy, the tariff engine's PriceSchedule and the periodic jobs."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.pricing.exceptions import DynamicPricingNotConfigured
from apps.pricing.models import PriceForecast, StationPricing
from apps.pricing.schedules import periodic_tasks_ensure
from apps.pricing.selectors import price_schedule_for
from apps.pricing.services.forecast import forecast_compute, forecast_live_hour
from apps.stations.models import Connector
from tests.factories import StationFactory

from .factories import figure2_station, load_csv

pytestmark = pytest.mark.django_db

WEDNESDAY = date(2026, 12, 2)
# 2026-12-01 12:00 UTC = 09:00 in São Paulo (UTC−3, no DST since 2019): the day before WEDNESDAY.
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=dt_timezone.utc)

# Figure 2 by hand. C_var = T_energy 0.60 + M 0.40 + L 0 = 1.00, so price = DM = 1 + 1·F_load + 0.6·F_occ
# − 0.35·(F_PV_local + F_PV_global):
#   00h 1 + 0.60                        = 1.60   (night ~flat, paper: "próximo de 1,60 R$/kWh")
#   08h 1 + 0.85 + 0.6                  = 2.45   (morning peak, busy; paper: 2.45)
#   09h 1 + 0.82 − 0.35 (local PV 3 kW > 0 kW demand)              = 1.47
#   12h 1 + 0.76 − 0.70 (local 11 kW > 0; global 950 kW > 760 + 0) = 1.06   (lowest, noon)
#   14h 1 + 0.80 − 0.35 (global 790 kW < 800 kW load: only local)  = 1.45
#   15h 1 + 0.84 + 0.6 − 0.35 (local 8 kW > 7.4 kW of a busy station) = 2.09  (rising again at 15h)
#   16h 1 + 0.88 + 0.6 (local 5 kW < 7.4 kW demand: no discount)   = 2.48
#   18h 1 + 1.00 + 0.6                  = 2.60   (maximum, utility peak)
#   22h 1 + 0.62                        = 1.62   (back to the night level after 21h)
FIGURE2 = ["1.60", "1.57", "1.55", "1.55", "1.56", "1.60", "1.70", "2.40", "2.45", "1.47", "1.10", "1.08",
           "1.06", "1.08", "1.45", "2.09", "2.48", "2.53", "2.60", "2.57", "2.52", "1.80", "1.62", "1.61"]


def _prices(station, day):
    return [str(r.variable_price_per_kwh.quantize(D("0.01")))
            for r in PriceForecast.objects.filter(station=station, local_date=day).order_by("start_at")]


def test_figure2_shape_night_flat_morning_peak_noon_low_evening_max():
    station = figure2_station()
    run = forecast_compute(now=NOW, day=WEDNESDAY)
    assert run.stations == 1 and run.rows == 24 and run.skipped == {}
    prices = _prices(station, WEDNESDAY)
    assert prices == FIGURE2
    values = [D(p) for p in prices]
    assert values.index(max(values)) == 18                 # the 18 h utility peak
    assert values.index(min(values)) == 12                 # noon, from PV
    assert max(values[6:10]) == D("2.45")                  # the morning peak
    assert all(abs(v - D("1.60")) <= D("0.05") for v in values[0:6] + values[22:24])
    # Σ = 43.04 → daily average 43.04 / 24 = 1.7933…, inside the 1.50–3.00 R$/kWh of Brazilian stations (§2.4)
    assert sum(values) == D("43.04")
    noon = PriceForecast.objects.get(station=station, local_date=WEDNESDAY, local_hour=12)
    assert (noon.f_load, noon.f_occ, noon.f_pv_local, noon.f_pv_global, noon.dm) == (D("0.76"), 0, 1, 1, D("1.06"))
    assert noon.fixed_price == D("2.00") and noon.idle_fee_per_minute == D("0.50") and noon.currency == "BRL"
    assert noon.start_at == datetime(2026, 12, 2, 15, 0, tzinfo=dt_timezone.utc)   # 12:00 in São Paulo
    assert noon.occupancy_source == "default"


def test_without_pv_the_noon_discount_disappears():
    station = figure2_station(with_pv=False)
    forecast_compute(now=NOW, day=WEDNESDAY)
    # 12h: 1 + 0.76 = 1.76 instead of 1.06
    assert _prices(station, WEDNESDAY)[12] == "1.76"


def test_minimum_price_clamps_the_noon_hours():
    station = figure2_station(min_price_per_kwh=D("1.09"))
    forecast_compute(now=NOW, day=WEDNESDAY)
    rows = PriceForecast.objects.filter(station=station, local_date=WEDNESDAY, local_hour__in=[11, 12, 13])
    assert {(r.local_hour, r.variable_price_per_kwh, r.clamped) for r in rows} == {
        (11, D("1.0900"), True), (12, D("1.0900"), True), (13, D("1.0900"), True)}


def test_forecast_twice_for_the_same_day_gives_the_same_rows():
    station = figure2_station()
    forecast_compute(now=NOW, day=WEDNESDAY)
    first = list(PriceForecast.objects.filter(station=station).order_by("start_at").values())
    forecast_compute(now=NOW + timedelta(minutes=5), day=WEDNESDAY)
    second = list(PriceForecast.objects.filter(station=station).order_by("start_at").values())
    # Nothing changed, so nothing was rewritten: same ids, same prices and factors, even the same computed_at.
    assert len(first) == 24
    assert second == first


def test_hours_already_begun_keep_their_published_price():
    station = figure2_station()
    forecast_compute(now=NOW, day=WEDNESDAY)
    StationPricing.objects.filter(station=station).update(investment_per_kwh=D("0.90"))
    # 10:30 local on Wednesday: hours 00–10 have begun, 11–23 have not.
    during = datetime(2026, 12, 2, 13, 30, tzinfo=dt_timezone.utc)
    run = forecast_compute(now=during, day=WEDNESDAY)
    assert run.rows == 13
    prices = _prices(station, WEDNESDAY)
    assert prices[:11] == FIGURE2[:11]
    # 11h now: C_var = 0.60 + 0.90 = 1.50; DM 1.08 → 1.62
    assert prices[11] == "1.62"


def test_default_run_publishes_local_today_and_tomorrow():
    station = figure2_station()
    run = forecast_compute(now=NOW)
    assert run.rows == 48
    days = set(PriceForecast.objects.filter(station=station).values_list("local_date", flat=True))
    assert days == {date(2026, 12, 1), date(2026, 12, 2)}


def test_station_without_energy_tariff_is_skipped_and_named():
    station = figure2_station()
    station.dynamic_pricing.feeder.utility.energy_tariffs.all().delete()
    run = forecast_compute(now=NOW, day=WEDNESDAY)
    assert run.rows == 0
    assert run.skipped == {station.ocpp_id: f"no energy tariff of {station.dynamic_pricing.feeder.utility} for "
                                            "weekday"}
    assert not PriceForecast.objects.exists()


def test_dst_fall_back_day_has_25_hours_in_lisbon():
    station = figure2_station(ocpp_id="PT-AC01", time_zone="Europe/Lisbon", currency="EUR")
    run = forecast_compute(now=datetime(2026, 10, 24, 12, tzinfo=dt_timezone.utc), day=date(2026, 10, 25))
    assert run.rows == 25
    rows = list(PriceForecast.objects.filter(station=station).order_by("start_at"))
    assert [r.local_hour for r in rows] == [0, 1, 1] + list(range(2, 24))
    # 00:00 WEST = 23:00 UTC the day before; the repeated 01h are 00:00 and 01:00 UTC, priced alike (Sunday curve)
    assert rows[0].start_at == datetime(2026, 10, 24, 23, tzinfo=dt_timezone.utc)
    assert (rows[1].start_at.hour, rows[2].start_at.hour) == (0, 1)
    assert rows[1].variable_price_per_kwh == rows[2].variable_price_per_kwh == D("1.5700")
    assert rows[0].currency == "EUR"


def test_dst_spring_forward_day_has_23_hours_in_lisbon():
    station = figure2_station(ocpp_id="PT-AC02", time_zone="Europe/Lisbon", currency="EUR")
    run = forecast_compute(now=datetime(2026, 3, 28, 12, tzinfo=dt_timezone.utc), day=date(2026, 3, 29))
    assert run.rows == 23
    hours = list(PriceForecast.objects.filter(station=station).order_by("start_at")
                 .values_list("local_hour", flat=True))
    assert hours == [0] + list(range(2, 24))
    # 18h local (WEST) = 17:00 UTC and still the evening maximum
    peak = PriceForecast.objects.get(station=station, local_hour=18)
    assert peak.start_at == datetime(2026, 3, 29, 17, tzinfo=dt_timezone.utc)
    assert peak.variable_price_per_kwh == D("2.6000")


def test_live_occupancy_reprices_the_current_hour_once():
    station = figure2_station()
    forecast_compute(now=NOW, day=WEDNESDAY)
    # 10:05 in São Paulo: expected idle (1.10), but the only connector is charging → F_occ = 1: 1.10 + 0.6 = 1.70
    Connector.objects.filter(station=station).update(status=Connector.Status.CHARGING)
    at = datetime(2026, 12, 2, 13, 5, tzinfo=dt_timezone.utc)
    run = forecast_live_hour(now=at)
    assert run.rows == 1
    row = PriceForecast.objects.get(station=station, local_date=WEDNESDAY, local_hour=10)
    assert (row.variable_price_per_kwh, row.f_occ, row.occupancy_source) == (D("1.7000"), 1, "live")
    # Later in the hour the car leaves: the hour keeps the price drivers were shown at its start.
    Connector.objects.filter(station=station).update(status=Connector.Status.AVAILABLE)
    assert forecast_live_hour(now=at + timedelta(minutes=30)).rows == 0
    forecast_compute(now=at + timedelta(minutes=31), day=WEDNESDAY)
    row.refresh_from_db()
    assert row.variable_price_per_kwh == D("1.7000")


def test_price_schedule_for_the_tariff_engine_uses_the_stored_hours():
    station = figure2_station(mode="hourly")
    forecast_compute(now=NOW, day=WEDNESDAY)
    start = datetime(2026, 12, 2, 20, 40, tzinfo=dt_timezone.utc)       # 17:40 local
    schedule = price_schedule_for(station=station, start_at=start, end_at=start + timedelta(hours=1, minutes=5))
    assert schedule.mode == "hourly"
    assert [(h.start_at.hour, h.energy_per_kwh, h.idle_per_minute, h.fixed) for h in schedule.hours] == [
        (20, D("2.5300"), D("0.5000"), D("2.0000")), (21, D("2.6000"), D("0.5000"), D("2.0000"))]


def test_price_schedule_computes_hours_never_published_without_storing_them():
    station = figure2_station()
    start = datetime(2026, 12, 2, 11, 0, tzinfo=dt_timezone.utc)        # 08:00 local
    schedule = price_schedule_for(station=station, start_at=start, end_at=start + timedelta(minutes=30))
    assert [h.energy_per_kwh for h in schedule.hours] == [D("2.4500")]
    assert schedule.mode == "at_start"
    assert not PriceForecast.objects.exists()


def test_price_schedule_refuses_a_station_without_dynamic_pricing():
    station = StationFactory()
    with pytest.raises(DynamicPricingNotConfigured):
        price_schedule_for(station=station, start_at=NOW, end_at=NOW + timedelta(hours=1))


def test_saturday_uses_the_saturday_curve():
    station = figure2_station()
    from apps.pricing.services.imports import load_curve_import

    feeder = station.dynamic_pricing.feeder
    load_curve_import(utility=feeder.utility, text=load_csv(feeder.code, ["0.50"] * 24, ("saturday",)), unit="pu")
    forecast_compute(now=NOW, day=date(2026, 12, 5))
    row = PriceForecast.objects.get(station=station, local_hour=2)
    # 1 + 0.50 = 1.50 (the weekday curve would give 1.55)
    assert row.variable_price_per_kwh == D("1.5000") and row.f_load == D("0.5")


def test_periodic_jobs_registered_once_by_name():
    periodic_tasks_ensure()
    periodic_tasks_ensure()
    tasks = PeriodicTask.objects.filter(task__startswith="apps.pricing.tasks.")
    assert sorted(tasks.values_list("task", flat=True)) == ["apps.pricing.tasks.forecast_daily",
                                                             "apps.pricing.tasks.forecast_live_hour"]
    daily = tasks.get(task="apps.pricing.tasks.forecast_daily")
    assert (daily.crontab.minute, daily.crontab.hour) == ("15", "2")


def test_forecast_command_names_unknown_stations(capsys):
    figure2_station()
    call_command("pricing_forecast", "--date", "2026-12-02")
    assert "forecast stored for 1 station(s): 24 hourly prices" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown station"):
        call_command("pricing_forecast", "--station", "NOPE")
    with pytest.raises(CommandError, match="not a date"):
        call_command("pricing_forecast", "--date", "2026-13-40")


def test_identical_stations_of_a_garage_each_get_their_own_rows_and_a_differing_one_differs():
    station = figure2_station()
    twin = StationFactory(site=station.site, ocpp_id="SP-DC02", max_power_w=7400)
    StationPricing.objects.create(station=twin, feeder=station.dynamic_pricing.feeder, alpha=D("1"), beta=D("0.6"),
                                  gamma=D("0.35"), fixed_price=D("2.00"), min_price_per_kwh=D("1.00"),
                                  investment_per_kwh=D("0.40"), idle_fee_per_minute=D("0.50"))
    other = StationFactory(site=station.site, ocpp_id="SP-DC03", max_power_w=7400)
    StationPricing.objects.create(station=other, feeder=station.dynamic_pricing.feeder, alpha=D("0.5"),
                                  beta=D("0.6"), gamma=D("0.35"), fixed_price=D("2.00"), min_price_per_kwh=D("1.00"),
                                  investment_per_kwh=D("0.40"), idle_fee_per_minute=D("0.50"))
    run = forecast_compute(now=NOW, day=WEDNESDAY)
    assert (run.stations, run.rows) == (3, 72)
    assert _prices(station, WEDNESDAY) == _prices(twin, WEDNESDAY) == FIGURE2
    # α = 0.5 at 18h: 1 + 0.5 × 1.00 + 0.6 = 2.10
    assert _prices(other, WEDNESDAY)[18] == "2.10"
