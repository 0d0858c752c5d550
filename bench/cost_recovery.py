"""Benchmark of the condominium cost-recovery report (apps/rating): one site, one month of 100,000 closed and
priced sessions (40 chargers, 80 residents — a large condominium garage —, sessions of 1–4 h at 3.7/7.4 kW on the
ChaZeMo retailer calendar), reported in one run: energy per charger and per user and period, priced lines, CSV,
PDF and the stored row. The tables (and the CSV) grow with the sessions; the PDF grows with chargers × users.

    .venv/bin/python bench/cost_recovery.py [--sessions 100000] [--chargers 40] [--users 80]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/evnet_reports .venv/bin/python bench/cost_recovery.py

Runs in a throw-away test database (Django's test-database creation). The report reads each session's frozen
SessionPrice lines. The session-pricing target (≥ 10 sessions/s through the database) is a network-wide peak of
stops, which the task and the sweep must keep up with. The baseline is the naive path — pricing each session from its stored 5-minute meter values
when the report is made (session_price_final: load readings, find the tariff, rate, store) — measured on 300
sessions and extrapolated to the month. Ends with one `bench:` line per figure."""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.test")
import django  # noqa: E402

django.setup()

import logging  # noqa: E402

from django.db import connection  # noqa: E402

logging.getLogger("weasyprint").setLevel(logging.WARNING)

TARGET_S = 60.0
JUNE = date(2026, 6, 1)
AFTER = datetime(2026, 7, 1, 9, tzinfo=dt_timezone.utc)
BATCH = 5000


def build(sessions: int, baseline_sessions: int, chargers: int, residents: int):
    from djmoney.money import Money

    from apps.charging.models import ChargingSession, MeterValue
    from apps.organizations.models import Organization
    from apps.rating.models import SessionPrice
    from apps.rating.services.prices import price_lines_json
    from apps.sites.models import Site
    from apps.stations.models import ChargingStation, Connector
    from apps.tariffs.engine.rating import Reading, rate
    from apps.tariffs.selectors import tariff_version_spec
    from apps.tariffs.services import tariff_assign, tariff_import_ocpi
    from apps.users.models import IdTag, User
    from tests.rating.seed_chazemo import ocpi_tariff

    org = Organization.objects.create(name="Condomínio Bench", slug="bench", kind="condominium", country="PT",
                                      email="gestao@bench.example")
    site = Site.objects.create(organization=org, name="Garagem Bench", address="Rua 1", city="Lisboa", country="PT",
                               latitude=38.7, longitude=-9.1, time_zone="Europe/Lisbon", currency="EUR")
    version = tariff_import_ocpi(organization=org, data=ocpi_tariff(calendar="chazemo-tejo-weekly"),
                                 valid_from_at=datetime(2026, 1, 1, tzinfo=dt_timezone.utc))
    tariff_assign(tariff=version.tariff, site=site)
    spec = tariff_version_spec(version=version)
    stations = ChargingStation.objects.bulk_create(
        [ChargingStation(ocpp_id=f"ZCS{n:06d}", site=site, parking_spot=f"Lugar n°{3000 + n}", max_power_w=7400)
         for n in range(chargers)])
    connectors = Connector.objects.bulk_create([Connector(station=s, connector_id=1, max_power_w=7400)
                                                for s in stations])
    users = User.objects.bulk_create([User(username=f"resident{n}", first_name="Resident", last_name=str(n))
                                      for n in range(residents)])
    tags = IdTag.objects.bulk_create([IdTag(uid=f"BENCH{n:05d}", organization=org, owner=u, user_group="resident")
                                      for n, u in enumerate(users)])
    rng = random.Random(2026)
    month_start = datetime(2026, 5, 31, 23, 0, tzinfo=dt_timezone.utc)
    total = sessions + baseline_sessions
    made = 0
    t0 = time.perf_counter()
    while made < total:
        rows, plans = [], []
        for _ in range(min(BATCH, total - made)):
            k = rng.randrange(chargers)
            tag = tags[rng.randrange(residents)]
            start = month_start + timedelta(seconds=rng.randrange(29 * 86400))
            power = rng.choice((3700, 7400))
            duration = rng.randrange(3600, 4 * 3600)
            energy = power * duration // 3600
            rows.append(ChargingSession(
                station=stations[k], connector=connectors[k], connector_number=1, id_tag=tag, id_tag_uid=tag.uid,
                user_id=tag.owner_id, state="completed", started_at=start,
                stopped_at=start + timedelta(seconds=duration), meter_start_wh=100_000,
                meter_stop_wh=100_000 + energy, energy_wh=energy))
            plans.append((start, duration, power, energy))
            made += 1
        created = ChargingSession.objects.bulk_create(rows)
        priced_rows, meter_rows = [], []
        for index, (session, (start, duration, power, energy)) in enumerate(zip(created, plans)):
            readings = [Reading(start + timedelta(seconds=t), power * t // 3600) for t in range(0, duration, 300)]
            readings.append(Reading(start + timedelta(seconds=duration), energy))
            if made - len(created) + index >= sessions:
                # Baseline sessions: stored meter values, priced later by session_price_final.
                meter_rows += [MeterValue(session=session, station_id=session.station_id, connector_number=1,
                                          sampled_at=r.at, value=100_000 + r.energy_wh, unit="Wh")
                               for r in readings[1:-1]]
                continue
            result = rate(tariff=spec, readings=readings, started_at=start, stopped_at=readings[-1].at,
                          time_zone="Europe/Lisbon", user_group="resident")
            priced_rows.append(SessionPrice(
                session=session, tariff_version=version, tariff_label=str(version), user_group="resident",
                lines=price_lines_json(result=result), cdr_totals={}, currency="EUR",
                total_excl_vat=Money(result.total_excl_vat, "EUR"), total_vat=Money(result.total_vat, "EUR"),
                total_incl_vat=Money(result.total_incl_vat, "EUR"), energy_wh=result.total_energy_wh,
                rated_at=AFTER, is_final=True))
        SessionPrice.objects.bulk_create(priced_rows, batch_size=2000)
        MeterValue.objects.bulk_create(meter_rows, batch_size=5000)
    print(f"setup: {total} sessions in {time.perf_counter() - t0:.1f} s", flush=True)
    return site, [s.pk for s in ChargingSession.objects.filter(price__isnull=True)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=300)
    parser.add_argument("--chargers", type=int, default=40)
    parser.add_argument("--users", type=int, default=80)
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from apps.rating.models import SessionPrice
        from apps.rating.services.prices import session_price_final
        from apps.rating.services.reports import (
            cost_recovery_csv, cost_recovery_data, cost_recovery_pdf, cost_recovery_report_generate,
        )
        from apps.sites.models import Site

        site, baseline_ids = build(args.sessions, args.baseline, args.chargers, args.users)
        t0, c0 = time.perf_counter(), time.process_time()
        for session_id in baseline_ids:
            session_price_final(session_id=session_id)
        per_session = (time.perf_counter() - t0) / max(1, len(baseline_ids))
        per_session_cpu = (time.process_time() - c0) / max(1, len(baseline_ids))
        # The baseline sessions are priced now; drop them so the report covers exactly --sessions sessions.
        SessionPrice.objects.filter(session_id__in=baseline_ids).delete()
        from apps.charging.models import ChargingSession
        ChargingSession.objects.filter(pk__in=baseline_ids).delete()
        t0, c0 = time.perf_counter(), time.process_time()
        report = cost_recovery_report_generate(site_id=site.pk, month=JUNE, send=False, now=AFTER)
        elapsed, elapsed_cpu = time.perf_counter() - t0, time.process_time() - c0
        # The same work in its parts: the tables and CSV (grow with sessions), the PDF (grows with the tables).
        t0, c0 = time.perf_counter(), time.process_time()
        tables = cost_recovery_data(site=Site.objects.get(pk=site.pk), month=JUNE, now=AFTER)
        cost_recovery_csv(data=tables)
        tables_s, tables_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        cost_recovery_pdf(data=tables)
        pdf_s, pdf_cpu = time.perf_counter() - t0, time.process_time() - c0
        data = report.data
        print(f"report: {data['sessions']} sessions, {len(data['chargers'])} chargers, {len(data['users'])} users, "
              f"{data['kwh']} kWh, {data['total_text']}; PDF {report.pdf.size // 1024} KiB, "
              f"CSV {report.csv.size // 1024} KiB; database {connection.vendor}")
        baseline_s = per_session * args.sessions
        print(f"baseline: pricing each session from its meter values at report time, {1 / per_session:.0f} "
              f"sessions/s on {len(baseline_ids)} sessions → {baseline_s:.0f} s for {args.sessions}")
        print(f"parts (wall / CPU of this process): whole report {elapsed:.1f} / {elapsed_cpu:.1f} s; tables + CSV "
              f"{tables_s:.1f} / {tables_cpu:.1f} s; PDF {pdf_s:.1f} / {pdf_cpu:.1f} s; pricing from meter values "
              f"{per_session * 1000:.0f} / {per_session_cpu * 1000:.0f} ms per session; machine load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (CPU time is what the code costs; wall time "
              f"includes waiting for a shared machine)")
        print(f"bench: cost_recovery_report_{args.sessions}_sessions {elapsed:.1f} s (target < {TARGET_S:.0f})")
        print(f"bench: cost_recovery_report_{args.sessions}_sessions_cpu {elapsed_cpu:.1f} s (target < {TARGET_S:.0f})")
        print(f"bench: cost_recovery_tables_{args.sessions}_sessions {tables_s:.1f} s (target < {TARGET_S:.0f})")
        print(f"bench: cost_recovery_report_baseline_{args.sessions}_sessions {baseline_s:.0f} s "
              f"(target < {TARGET_S:.0f})")
        print(f"bench: session_price_final_from_meter_values {1 / per_session:.0f} sessions/s "
              f"(target >= 10)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
