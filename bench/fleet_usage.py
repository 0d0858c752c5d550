"""Benchmark of the fleet managers' usage report (GET /api/v1/fleets/{id}/usage/, apps/fleets/selectors.py) on
PostgreSQL: a month of 100,000 sessions of one fleet (500 drivers, each with a card and a vehicle, at 40 stations),
70 % of them settled, next to a second fleet of the same size that must not count. Each `group_by` is requested
through the whole HTTP stack (token auth, view, serializer, JSON) by Django's test client in this process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/evnet_bench_fleets .venv/bin/python bench/fleet_usage.py \
        [--sessions 100000] [--requests 15]

The database named in DATABASE_URL is DROPPED and recreated. Baseline, measured in the same run on the same rows:
the same report aggregated in Python (every session row of the period loaded with its cost and summed in a loop),
which is what the report would cost without GROUP BY in the database. Wall times are polluted when the shared
machine is busy: the CPU time of this process (Python side only; PostgreSQL works in its own processes) and the
load average are printed too. Ends with one `bench:` line per figure."""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import percentile, recreate_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.dev")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evnet_bench_fleets")

GROUPS = ("driver", "vehicle", "card", "station", "month")
TARGET_P99_S = 0.5


def populate(*, slug: str, sessions: int, drivers: int, stations: int, rng: random.Random):
    from djmoney.money import Money

    from apps.billing.models import SessionCharge
    from apps.charging.models import ChargingSession
    from apps.circuits.models import Circuit
    from apps.organizations.models import Membership, Organization
    from apps.sites.models import Site
    from apps.stations.models import ChargingStation
    from apps.users.models import IdTag, User, Vehicle

    org = Organization.objects.create(name=f"Bench {slug}", slug=slug, kind="fleet_company", country="PT")
    site = Site.objects.create(organization=org, name=f"Depot {slug}", address="Rua 1", city="Lisboa", country="PT",
                               latitude=Decimal("38.7"), longitude=Decimal("-9.1"), time_zone="Europe/Lisbon",
                               currency="EUR")
    circuit = Circuit.objects.create(site=site, name="Feed", phases=3, max_current_a=400)
    station_rows = ChargingStation.objects.bulk_create([
        ChargingStation(ocpp_id=f"{slug}-{i:03d}", site=site, circuit=circuit, parking_spot=f"Lugar {i}")
        for i in range(stations)])
    users = User.objects.bulk_create([User(username=f"{slug}.driver{i}", first_name="Driver", last_name=str(i))
                                      for i in range(drivers)])
    Membership.objects.bulk_create([Membership(user=u, organization=org, role="driver") for u in users])
    cards = IdTag.objects.bulk_create([IdTag(uid=f"{slug}-{i:06d}".upper(), organization=org, owner=u)
                                       for i, u in enumerate(users)])
    Vehicle.objects.bulk_create([Vehicle(organization=org, owner=u, id_tag=c, make="BYD", model="Dolphin",
                                         license_plate=f"{i:06d}") for i, (u, c) in enumerate(zip(users, cards))])
    month = datetime(2026, 10, 1, tzinfo=UTC)
    rows = []
    for n in range(sessions):
        card = cards[n % drivers]
        start = month + timedelta(seconds=rng.randrange(30 * 86400 - 7200))
        energy = rng.randrange(1_000, 40_000)
        rows.append(ChargingSession(
            station=station_rows[rng.randrange(stations)], connector_number=1, id_tag=card, id_tag_uid=card.uid,
            user_id=card.owner_id, state="completed", started_at=start,
            stopped_at=start + timedelta(seconds=rng.randrange(600, 7200)), meter_start_wh=0, meter_stop_wh=energy,
            energy_wh=energy))
    created = ChargingSession.objects.bulk_create(rows, batch_size=5_000)
    charges = []
    for s in created:
        if rng.random() >= 0.7:
            continue
        net = (Decimal(s.energy_wh) * Decimal("0.0002")).quantize(Decimal("0.0001"))
        vat = (net * Decimal("0.23")).quantize(Decimal("0.01"))
        charges.append(SessionCharge(
            session_id=s.pk, organization=org, id_tag_uid=s.id_tag_uid, started_at=s.started_at,
            period=date(2026, 10, 1), energy_wh=s.energy_wh, net=Money(net, "EUR"), vat_rate=Decimal("0.23"),
            vat=Money(vat, "EUR"), total=Money(net + vat, "EUR"), wallet_debited=Money(0, "EUR"),
            receivable=Money(0, "EUR"), status="to_invoice", settled_at=s.stopped_at))
    SessionCharge.objects.bulk_create(charges, batch_size=5_000)
    return org


def python_usage(*, fleet, group_by: str, date_from: date, date_to: date) -> dict:
    """The baseline: the same figures summed in a Python loop over every session row of the period."""
    from apps.fleets.selectors import fleet_sessions, period_bounds

    start, end = period_bounds(fleet=fleet, date_from=date_from, date_to=date_to)
    zone = start.tzinfo
    key_of = {"driver": lambda s: s["user_id"], "vehicle": lambda s: s["vehicle_id"],
              "card": lambda s: s["id_tag_id"], "station": lambda s: s["station_id"],
              "month": lambda s: s["started_at"].astimezone(zone).strftime("%Y-%m")}[group_by]
    rows: dict = {}
    for s in (fleet_sessions(fleet=fleet).filter(started_at__gte=start, started_at__lt=end)
              .values("user_id", "vehicle_id", "id_tag_id", "station_id", "started_at", "stopped_at", "energy_wh",
                      "cost_amount", "cost_currency").iterator(chunk_size=5_000)):
        row = rows.setdefault(key_of(s), {"sessions": 0, "energy_wh": 0, "duration_s": 0, "cost": {}})
        row["sessions"] += 1
        row["energy_wh"] += s["energy_wh"]
        row["duration_s"] += int((s["stopped_at"] - s["started_at"]).total_seconds())
        if s["cost_currency"]:
            row["cost"][s["cost_currency"]] = row["cost"].get(s["cost_currency"], Decimal(0)) + s["cost_amount"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--drivers", type=int, default=500)
    parser.add_argument("--requests", type=int, default=15, help="requests per group_by")
    args = parser.parse_args()
    recreate_database(os.environ["DATABASE_URL"], script="bench/fleet_usage.py")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/min", "user": "100000/min", "token": "100000/min"}}
    call_command("migrate", verbosity=0)

    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from apps.fleets.selectors import fleet_usage
    from apps.organizations.models import Membership
    from apps.users.models import User

    rng = random.Random(7)
    t0 = time.perf_counter()
    fleet = populate(slug="fleet-a", sessions=args.sessions, drivers=args.drivers, stations=40, rng=rng)
    populate(slug="fleet-b", sessions=args.sessions, drivers=args.drivers, stations=40, rng=rng)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"populated 2 fleets × {args.sessions:,} sessions in {time.perf_counter() - t0:.1f} s")
    manager = User.objects.create(username="bench.manager")
    Membership.objects.create(user=manager, organization=fleet, role="fleet_manager")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=manager).key}")
    query = {"from": "2026-10-01", "to": "2026-10-31"}

    figures = {}
    for group_by in GROUPS:
        expected = python_usage(fleet=fleet, group_by=group_by, date_from=date(2026, 10, 1),
                                date_to=date(2026, 10, 31))
        usage = fleet_usage(fleet=fleet, group_by=group_by, date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
        # Same figures both ways (the report is only fast if it is also right).
        assert usage.totals.sessions == sum(r["sessions"] for r in expected.values()) == args.sessions
        assert usage.totals.energy_wh == sum(r["energy_wh"] for r in expected.values())
        assert usage.totals.cost == {"EUR": sum(r["cost"].get("EUR", Decimal(0)) for r in expected.values())}
        walls, cpus = [], []
        for _ in range(args.requests):
            w, c = time.perf_counter(), time.process_time()
            response = client.get(f"/api/v1/fleets/{fleet.pk}/usage/", {**query, "group_by": group_by})
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            assert response.status_code == 200, response.content[:200]
        base_walls, base_cpus = [], []
        for _ in range(max(3, args.requests // 5)):
            w, c = time.perf_counter(), time.process_time()
            python_usage(fleet=fleet, group_by=group_by, date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
            base_walls.append(time.perf_counter() - w)
            base_cpus.append(time.process_time() - c)
        figures[group_by] = (statistics.median(walls), percentile(walls, 0.99), statistics.median(cpus),
                             statistics.median(base_walls), statistics.median(base_cpus), len(response.json()["rows"]))
        print(f"group_by={group_by:8} rows={figures[group_by][5]:4}  API p50 {figures[group_by][0] * 1000:7.1f} ms "
              f"p99 {figures[group_by][1] * 1000:7.1f} ms cpu {figures[group_by][2] * 1000:6.1f} ms | "
              f"Python-loop baseline p50 {figures[group_by][3] * 1000:7.1f} ms cpu {figures[group_by][4] * 1000:6.1f} ms")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    for group_by, (p50, p99, cpu, base, base_cpu, _) in figures.items():
        print(f"bench: fleet_usage_{group_by}_p99 {p99 * 1000:.1f} ms (target < {TARGET_P99_S * 1000:.0f})")
        print(f"bench: fleet_usage_{group_by}_cpu_p50 {cpu * 1000:.1f} ms (target none; baseline Python loop "
              f"{base_cpu * 1000:.1f} ms cpu, {base * 1000:.1f} ms wall)")


if __name__ == "__main__":
    main()
