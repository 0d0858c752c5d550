"""Benchmark of the driver API's station search (issue 7): GET /api/v1/stations/?near=<lat>,<lon>&radius_km=5 over
10,000 stations, each answer with live connector status and prices now and for the next 24 hours, through Django's
full request path (middleware, token authentication, DRF, JSON) in one process.

    .venv/bin/python bench/api.py [--stations 10000] [--requests 500] [--baseline-requests 40]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/evnet_api_bench  (default; created and migrated if missing)

World: 5,000 sites spread over a 60 × 60 km square around Lisbon, 2 stations of 2 connectors each (bulk-created),
3 time-of-use tariffs (organization default, and two assigned to a third of the sites each), and a tenth of the
sites on a dynamic tariff with stored hourly prices (StationPricing + PriceForecast for the next 26 hours).
A 5 km circle holds about 220 stations; the answer is the first page (50 nearest, `page_size` default).

Measured in the same run, on the same random points (the api phase, then the baseline phase):
- **api**: the real endpoint through `django.test.Client` (what a request costs evnet, minus the socket).
- **baseline**: the naive way to build the same data: the stations in the circle by scanning every site's
  coordinates, then per station `tariff_spec_for` and (dynamic) `price_schedule_for` at each of the 25 moments and
  a rating per hour, connectors loaded per station (N+1) — what the endpoint would cost without the bounding-box
  index, the per-tariff price computation and the bulk loads.
Per request: wall time (p50/p99) and this process's CPU time (the machine is shared: CPU time is not polluted by
other processes, but excludes PostgreSQL's own work). Ends with `bench:` lines."""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import percentile

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evnet_api_bench")
os.environ.setdefault("EVNET_LOG_LEVEL", "WARNING")
# Persistent connections, as evnet.settings.prod runs them (the test settings reconnect on every request).
os.environ.setdefault("EVNET_DB_CONN_MAX_AGE", "60")

CENTER = (38.7369, -9.1427)
HALF_KM = 30.0
TOU = {"currency": "EUR", "evnet_vat_rate": "23", "elements": [
    {"price_components": [{"type": "FLAT", "price": "0.50", "step_size": 1}]},
    {"price_components": [{"type": "ENERGY", "price": "0.30", "step_size": 1}],
     "restrictions": {"start_time": "08:00", "end_time": "22:00"}},
    {"price_components": [{"type": "ENERGY", "price": "0.15", "step_size": 1}]},
    {"price_components": [{"type": "PARKING_TIME", "price": "6.00", "step_size": 60}]},
]}
DYNAMIC = {"currency": "EUR", "evnet_vat_rate": "23", "elements": [
    {"price_components": [{"type": "ENERGY", "price": "0.40", "step_size": 1, "evnet_dynamic": True}]}]}


def ensure_database() -> None:
    import psycopg
    from urllib.parse import urlparse

    url = urlparse(os.environ["DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        return
    name = url.path.lstrip("/")
    with psycopg.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                         dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def km_to_degrees(dy_km: float, dx_km: float) -> tuple[float, float]:
    import math

    return dy_km / 111.195, dx_km / (111.195 * math.cos(math.radians(CENTER[0])))


def seed(stations: int) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.organizations.models import Organization
    from apps.pricing.models import Feeder, PriceForecast, StationPricing, Utility
    from apps.sites.models import Site
    from apps.stations.models import ChargingStation, Connector
    from apps.tariffs.services import tariff_assign, tariff_import_ocpi
    from apps.users.models import IdTag

    if ChargingStation.objects.filter(ocpp_id__startswith="BENCH-").count() >= stations:
        return
    print(f"seeding {stations} stations …", flush=True)
    rng = random.Random(7)
    organization, _ = Organization.objects.get_or_create(slug="bench-cpo", defaults={
        "name": "Bench CPO", "kind": "cpo", "country": "PT"})
    sites_count = stations // 2
    sites = []
    for i in range(sites_count):
        dlat, dlon = km_to_degrees(rng.uniform(-HALF_KM, HALF_KM), rng.uniform(-HALF_KM, HALF_KM))
        sites.append(Site(organization=organization, name=f"Bench site {i:05d}", address=f"Rua {i}", city="Lisboa",
                          country="PT", latitude=Decimal(f"{CENTER[0] + dlat:.6f}"),
                          longitude=Decimal(f"{CENTER[1] + dlon:.6f}"), time_zone="Europe/Lisbon", currency="EUR"))
    sites = Site.objects.bulk_create(sites, batch_size=2000)
    rows = []
    for i, site in enumerate(sites):
        for k in range(2):
            rows.append(ChargingStation(ocpp_id=f"BENCH-{i:05d}-{k}", site=site, access_mode="public",
                                        current_type="DC" if k else "AC", max_power_w=50000 if k else 22000,
                                        is_connected=rng.random() < 0.9))
    rows = ChargingStation.objects.bulk_create(rows, batch_size=2000)
    statuses = ["Available", "Available", "Charging", "Preparing", "Faulted", "SuspendedEV"]
    connectors = []
    for station in rows:
        for n in (1, 2):
            status = rng.choice(statuses)
            connectors.append(Connector(station=station, connector_id=n, max_power_w=station.max_power_w,
                                        connector_type="CCS2" if station.current_type == "DC" else "Type2",
                                        status=status, power_w=rng.randrange(3000, 11000) if status == "Charging"
                                        else 0))
    Connector.objects.bulk_create(connectors, batch_size=5000)
    start = datetime(2026, 1, 1, tzinfo=dt_timezone.utc)
    default = tariff_import_ocpi(organization=organization, data={**TOU, "id": "BENCH-DEFAULT"}, valid_from_at=start)
    default.tariff.is_organization_default = True
    default.tariff.save()
    cheap = tariff_import_ocpi(organization=organization, data={**TOU, "id": "BENCH-CHEAP", "elements": [
        {"price_components": [{"type": "ENERGY", "price": "0.20", "step_size": 1}]}]}, valid_from_at=start)
    fast = tariff_import_ocpi(organization=organization, data={**TOU, "id": "BENCH-TIME", "elements": [
        *TOU["elements"], {"price_components": [{"type": "TIME", "price": "1.20", "step_size": 60}]}]},
        valid_from_at=start)
    dynamic = tariff_import_ocpi(organization=organization, data={**DYNAMIC, "id": "BENCH-DYN"}, valid_from_at=start)
    for i, site in enumerate(sites):
        if i % 10 == 0:
            tariff_assign(tariff=dynamic.tariff, site=site)
        elif i % 3 == 1:
            tariff_assign(tariff=cheap.tariff, site=site)
        elif i % 3 == 2:
            tariff_assign(tariff=fast.tariff, site=site)
    utility, _ = Utility.objects.get_or_create(name="Bench utility", defaults={"country": "PT"})
    feeder = Feeder.objects.create(utility=utility, code="BENCH-F1")
    dynamic_stations = [s for s in rows if (int(s.ocpp_id.split("-")[1]) % 10 == 0)]
    StationPricing.objects.bulk_create([StationPricing(station=s, feeder=feeder, mode="hourly")
                                        for s in dynamic_stations])
    now = timezone.now().astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)
    zone = ZoneInfo("Europe/Lisbon")
    forecasts = []
    for s in dynamic_stations:
        for h in range(-1, 48):
            at = now + timedelta(hours=h)
            local = at.astimezone(zone)
            price = Decimal("0.30") + Decimal("0.02") * (local.hour % 12)
            forecasts.append(PriceForecast(
                station=s, start_at=at, local_date=local.date(), local_hour=local.hour, currency="EUR",
                fixed_price=Decimal("1.00"), variable_price_per_kwh=price, idle_fee_per_minute=Decimal("0.05"),
                energy_tariff_per_kwh=Decimal("0.15"), energy_period="flat", f_load=Decimal("0.8"), f_occ=0,
                f_pv_local=0, f_pv_global=0, dm=Decimal("1.0"), clamped=False, occupancy_expected=Decimal("0"),
                occupancy_source="none", computed_at=now))
    PriceForecast.objects.bulk_create(forecasts, batch_size=5000)
    user, _ = get_user_model().objects.get_or_create(username="bench.driver")
    IdTag.objects.get_or_create(uid="BENCHCARD", defaults={"organization": organization, "owner": user})
    print(f"seeded {len(rows)} stations, {len(connectors)} connectors, {len(dynamic_stations)} dynamic", flush=True)


def baseline_search(*, user, lat: float, lon: float, radius_km: float, now) -> list[dict]:
    """The naive build of the same answer (see the module docstring)."""
    from apps.pricing.exceptions import DynamicPricingNotConfigured, ForecastInputsMissing
    from apps.pricing.selectors import price_schedule_for
    from apps.stations.models import Connector
    from apps.stations.selectors import connector_status_text, distance_km, station_queryset_usable_by
    from apps.tariffs.engine.rating import Reading, rate
    from apps.tariffs.selectors import tariff_spec_for

    found = []
    for station in station_queryset_usable_by(user=user, at=now).select_related("site"):
        km = distance_km(lat1=lat, lon1=lon, lat2=float(station.site.latitude), lon2=float(station.site.longitude))
        if km <= radius_km:
            found.append((km, station.pk, station))
    found.sort(key=lambda item: (item[0], item[1]))
    first_hour = now.replace(minute=0, second=0, microsecond=0)
    out = []
    for km, _, station in found[:50]:
        connectors = [{"id": c.connector_id, "status": c.status, "text": connector_status_text(connector=c)}
                      for c in Connector.objects.filter(station=station)]
        hours = []
        for at in [now] + [first_hour + timedelta(hours=h) for h in range(24)]:
            spec = tariff_spec_for(station=station, user_group="public", at=at)
            schedule = None
            if spec is not None and any(c.evnet_dynamic for e in spec.elements for c in e.price_components):
                try:
                    schedule = price_schedule_for(station=station, start_at=at, end_at=at + timedelta(minutes=10))
                except (DynamicPricingNotConfigured, ForecastInputsMissing):
                    schedule = None
            if spec is None:
                hours.append(None)
                continue
            stop = at + timedelta(seconds=1000 * 3600 / station.max_power_w)
            result = rate(tariff=spec, readings=[Reading(at, 0), Reading(stop, 1000)], started_at=at,
                          stopped_at=stop, time_zone=station.site.time_zone, price_schedule=schedule)
            hours.append([str(line.unit_price) for line in result.lines])
        out.append({"id": station.pk, "km": km, "connectors": connectors, "hours": hours})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--baseline-requests", type=int, default=40)
    parser.add_argument("--radius-km", type=float, default=5.0)
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)
    seed(args.stations)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics after the bulk load, as autovacuum would soon provide
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="bench.driver")
    token, _ = Token.objects.get_or_create(user=user)
    client = Client(headers={"Authorization": f"Token {token.key}"}, SERVER_NAME="localhost")
    rng = random.Random(11)
    points = []
    for _ in range(args.requests):
        dlat, dlon = km_to_degrees(rng.uniform(-HALF_KM + 6, HALF_KM - 6), rng.uniform(-HALF_KM + 6, HALF_KM - 6))
        points.append((CENTER[0] + dlat, CENTER[1] + dlon))

    def api_once(lat, lon):
        w0, c0 = time.perf_counter(), time.process_time()
        response = client.get(f"/api/v1/stations/?near={lat:.6f},{lon:.6f}&radius_km={args.radius_km}")
        w1, c1 = time.perf_counter(), time.process_time()
        assert response.status_code == 200, response.content[:500]
        return (w1 - w0) * 1000, (c1 - c0) * 1000, response.json()

    for lat, lon in points[:5]:  # warm-up: imports, connection, first prices (a running server has these)
        api_once(lat, lon)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # (request_started empties connection.queries: count through a wrapper instead)
    with connection.execute_wrapper(count):
        _, _, body = api_once(*points[0])
    counts = [body["count"]]
    api_wall, api_cpu, base_wall, base_cpu = [], [], [], []
    load_start = os.getloadavg()
    for lat, lon in points:
        wall, cpu, body = api_once(lat, lon)
        api_wall.append(wall)
        api_cpu.append(cpu)
        counts.append(body["count"])
        assert all(s["prices"] is not None and len(s["prices"]["hours"]) == 24 for s in body["results"])
    load_mid = os.getloadavg()
    # The baseline after the api phase (not interleaved: its garbage would be collected during api requests).
    for lat, lon in points[:args.baseline_requests]:
        w0, c0 = time.perf_counter(), time.process_time()
        baseline_search(user=user, lat=lat, lon=lon, radius_km=args.radius_km, now=timezone.now())
        base_wall.append((time.perf_counter() - w0) * 1000)
        base_cpu.append((time.process_time() - c0) * 1000)
    load_end = os.getloadavg()
    print(f"stations in the circle: median {statistics.median(counts):.0f}, max {max(counts)}; answer = 50 nearest "
          f"with 24 hourly prices each; queries per request: {len(queries)}")
    print(f"load average (1 min): api phase {load_start[0]:.2f} → {load_mid[0]:.2f}, baseline phase → "
          f"{load_end[0]:.2f} (2 cores, shared with other engineers' test runs)")
    print(f"api      ({len(api_wall)} requests): wall p50 {percentile(api_wall, 0.5):.1f} ms, p99 "
          f"{percentile(api_wall, 0.99):.1f} ms; cpu p50 {percentile(api_cpu, 0.5):.1f} ms, p99 "
          f"{percentile(api_cpu, 0.99):.1f} ms")
    print(f"baseline ({len(base_wall)} requests): wall p50 {percentile(base_wall, 0.5):.1f} ms, p99 "
          f"{percentile(base_wall, 0.99):.1f} ms; cpu p50 {percentile(base_cpu, 0.5):.1f} ms, p99 "
          f"{percentile(base_cpu, 0.99):.1f} ms")
    print(f"bench: api_station_search_p50 {percentile(api_wall, 0.5):.1f} ms (target p99 < 50)")
    print(f"bench: api_station_search_p99 {percentile(api_wall, 0.99):.1f} ms (target < 50)")
    print(f"bench: api_station_search_cpu_p99 {percentile(api_cpu, 0.99):.1f} ms (target < 50)")
    print(f"bench: baseline_naive_search_p50 {percentile(base_wall, 0.5):.1f} ms (target none, same run)")
    print(f"bench: baseline_naive_search_p99 {percentile(base_wall, 0.99):.1f} ms (target none, same run)")


if __name__ == "__main__":
    main()
