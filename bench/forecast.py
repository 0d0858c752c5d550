"""Benchmark of the day-ahead price forecast (apps/pricing): one site-local day of hourly prices for 10,000 stations
(5,000 in São Paulo, 5,000 in Lisbon, 2 utilities × 50 feeders with weekday/Saturday/Sunday curves, global and
local PV, default occupancy curves), computed and stored in one run, then rerun (the idempotent upsert).

    .venv/bin/python bench/forecast.py [--stations 10000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/evnet_pricing .venv/bin/python bench/forecast.py

Runs in a throw-away test database (Django's test-database creation: test_<name> on PostgreSQL, in memory on
SQLite). The baseline is the same work done one station at a time (one forecast_compute call per station, as an
admin action on a single row does), measured on 200 stations and extrapolated. Ends with one `bench:` line per
figure."""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.test")
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

TARGET_S = 30.0
DAY = date(2026, 12, 2)                                     # a Wednesday
NOW = datetime(2026, 12, 1, 12, tzinfo=dt_timezone.utc)     # the day before, as the daily job would run
LOAD = ["0.60", "0.57", "0.55", "0.55", "0.56", "0.60", "0.70", "0.80", "0.85", "0.82", "0.80", "0.78",
        "0.76", "0.78", "0.80", "0.84", "0.88", "0.93", "1.00", "0.97", "0.92", "0.80", "0.62", "0.61"]
PV_GLOBAL = ["0"] * 8 + ["3000", "6000", "8500", "9000", "9500", "9000", "7900", "5000", "2000", "500"] + ["0"] * 6
PV_LOCAL = ["0"] * 9 + ["3", "8", "10", "11", "10", "9", "8", "5", "1"] + ["0"] * 6
BUSY = {7, 8, 15, 16, 17, 18, 19, 20}


def build(n_stations: int):
    from apps.organizations.models import Organization
    from apps.pricing.models import Feeder, StationPricing, Utility
    from apps.pricing.services.imports import (
        energy_tariff_import, load_curve_import, occupancy_default_import, pv_curve_import,
    )
    from apps.sites.models import Site
    from apps.stations.models import ChargingStation, Connector

    places = [("BR", "America/Sao_Paulo", "BRL"), ("PT", "Europe/Lisbon", "EUR")]
    utilities = []
    for country, _, _ in places:
        utility = Utility.objects.create(name=f"Bench utility {country}", country=country)
        Feeder.objects.bulk_create([Feeder(utility=utility, code=f"F{i:02d}", base_kw=Decimal("10000"))
                                    for i in range(50)])
        load_curve_import(utility=utility, unit="pu", text="feeder,day_type,hour,load\n" + "\n".join(
            f"F{i:02d},{d},{h},{v}" for i in range(50) for d in ("weekday", "saturday", "sunday")
            for h, v in enumerate(LOAD)))
        energy_tariff_import(utility=utility, text="day_type,hour,period,price_per_kwh\n"
                             "weekday,0-17,fora_ponta,0.52\nweekday,18-20,ponta,1.19\nweekday,21-23,fora_ponta,0.52\n"
                             "saturday,0-23,fora_ponta,0.52\nsunday,0-23,fora_ponta,0.52\n")
        pv_curve_import(utility=utility, text="hour,power_kw\n" + "\n".join(f"{h},{v}" for h, v in
                                                                             enumerate(PV_GLOBAL)))
        utilities.append(utility)
    organizations = Organization.objects.bulk_create([
        Organization(name=f"Bench operator {i}", slug=f"bench-{i}", kind=Organization.Kind.CONDOMINIUM,
                     country=places[i % 2][0]) for i in range(100)])
    occupancy = "day_type,hour,share\n" + "\n".join(f"all,{h},{'0.75' if h in BUSY else '0.1'}" for h in range(24))
    for organization in organizations:
        occupancy_default_import(organization=organization, text=occupancy)
    sites = Site.objects.bulk_create([
        Site(organization=organizations[i % 100], name=f"Bench site {i}", address="Rua 1", city="X",
             country=places[i % 2][0], latitude=Decimal("0"), longitude=Decimal("0"),
             time_zone=places[i % 2][1], currency=places[i % 2][2]) for i in range(1000)])
    for site in sites[:200]:
        pv_curve_import(site=site, text="hour,power_kw\n" + "\n".join(f"{h},{v}" for h, v in enumerate(PV_LOCAL)))
    stations = ChargingStation.objects.bulk_create([
        ChargingStation(ocpp_id=f"BENCH{i:05d}", site=sites[i % 1000], max_power_w=7400 if i % 3 else 50000)
        for i in range(n_stations)], batch_size=2000)
    Connector.objects.bulk_create([Connector(station=s, connector_id=c, max_power_w=s.max_power_w)
                                   for s in stations for c in (1, 2)], batch_size=4000)
    feeders = {u.pk: list(u.feeders.all()) for u in utilities}
    StationPricing.objects.bulk_create([
        StationPricing(station=s, feeder=feeders[utilities[i % 1000 % 2].pk][i % 50], alpha=Decimal("1"),
                       beta=Decimal("0.6"), gamma=Decimal("0.35"), fixed_price=Decimal("2"),
                       min_price_per_kwh=Decimal("1"), investment_per_kwh=Decimal("0.40"),
                       idle_fee_per_minute=Decimal("0.5"))
        for i, s in enumerate(stations)], batch_size=2000)
    return stations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--baseline-sample", type=int, default=200)
    args = parser.parse_args()

    from apps.pricing.models import PriceForecast
    from apps.pricing.services.forecast import forecast_compute

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        stations = build(args.stations)
        print(f"{connection.vendor}: built {len(stations)} stations in {time.perf_counter() - started:.1f} s")

        started, cpu = time.perf_counter(), time.process_time()
        run = forecast_compute(now=NOW, day=DAY)
        first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        rows = PriceForecast.objects.count()
        assert run.skipped == {}, run.skipped
        print(f"first run: {run.stations} stations, {run.rows} hourly prices stored in {first_s:.2f} s "
              f"({first_cpu:.2f} s CPU in this process; the rest is the database and other processes)")

        started = time.perf_counter()
        rerun = forecast_compute(now=NOW, day=DAY)
        rerun_s = time.perf_counter() - started
        assert PriceForecast.objects.count() == rows == rerun.rows
        print(f"rerun (upsert, same rows): {rerun.rows} hourly prices in {rerun_s:.2f} s")

        sample = [s.pk for s in stations[: args.baseline_sample]]
        PriceForecast.objects.filter(station_id__in=sample).delete()
        started = time.perf_counter()
        for station_id in sample:
            forecast_compute(now=NOW, day=DAY, station_ids=[station_id])
        baseline_s = (time.perf_counter() - started) / len(sample) * len(stations)
        print(f"baseline, one call per station: {len(sample)} stations measured, {baseline_s:.1f} s extrapolated")

        print(f"bench: forecast_{len(stations)}_stations_24h {first_s:.2f} s (target < {TARGET_S:.0f})")
        print(f"bench: forecast_rerun_{len(stations)}_stations_24h {rerun_s:.2f} s (target < {TARGET_S:.0f})")
        print(f"bench: forecast_rows_per_s {rows / first_s:.0f} rows/s (target > {rows / TARGET_S:.0f})")
        print(f"bench: forecast_baseline_per_station_calls {baseline_s:.1f} s (target none: baseline)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
