"""Benchmark of the monthly close (apps/invoices/services/closing.py) on PostgreSQL: a month of 100,000 priced
sessions for 5,000 postpaid customers (one card each, 20 sessions per card), closed in one run: settle every price
(bulk), then per customer one invoice with a line per session, its gap-free number, its journal entry and its
recorded step. The second close of the same month must issue nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/evnet_bench_billing .venv/bin/python bench/monthly_close.py \
        [--sessions 100000] [--customers 5000]

The database named in DATABASE_URL is DROPPED and recreated. Baseline: the same settlement done one session at a
time (the per-session path, as a naive close would), measured on 2,000 sessions and scaled to the month.
Ends with one `bench:` line per figure."""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import recreate_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.dev")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evnet_bench_billing")
# As the close runs in production (Celery worker, prod settings): DEBUG off, so no query log is kept.
os.environ.setdefault("DJANGO_DEBUG", "0")


def backend_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the PostgreSQL backend serving this process (same machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    args = parser.parse_args()
    recreate_database(os.environ["DATABASE_URL"], script="bench/monthly_close.py")

    import django

    django.setup()
    from django.core.management import call_command
    from djmoney.money import Money

    call_command("migrate", verbosity=0)

    from apps.billing.models import Customer, CustomerCard, SessionCharge
    from apps.billing.selectors import journal_unbalanced_entries
    from apps.billing.services.settlement import RatedSession, session_charge_settle
    from apps.charging.models import ChargingSession
    from apps.circuits.models import Circuit
    from apps.invoices.models import Invoice, InvoiceLine
    from apps.invoices.services.closing import month_close
    from apps.organizations.models import Organization
    from apps.rating.models import SessionPrice
    from apps.sites.models import Site
    from apps.stations.models import ChargingStation
    from apps.users.models import IdTag

    rng = random.Random(11)
    t0 = time.perf_counter()
    org = Organization.objects.create(name="Bench parking", slug="bench-parking", kind="parking_operator",
                                      country="PT")
    site = Site.objects.create(organization=org, name="Bench garage", address="Rua 1", city="Lisboa", country="PT",
                               latitude=Decimal("38.7"), longitude=Decimal("-9.1"), time_zone="Europe/Lisbon",
                               currency="EUR")
    circuit = Circuit.objects.create(site=site, name="Feed", phases=3, max_current_a=400)
    stations = ChargingStation.objects.bulk_create([
        ChargingStation(ocpp_id=f"BENCH{i:04d}", site=site, circuit=circuit, parking_spot=f"Lugar {i}",
                        max_power_w=22_000) for i in range(50)])
    customers = Customer.objects.bulk_create([
        Customer(organization=org, kind="driver", regime="postpaid", name=f"Customer {i}",
                 email=f"c{i}@bench.test", country="PT", currency="EUR") for i in range(args.customers)])
    tags = IdTag.objects.bulk_create([IdTag(uid=f"B{i:07d}", organization=org) for i in range(args.customers)])
    CustomerCard.objects.bulk_create([CustomerCard(customer=c, id_tag=t) for c, t in zip(customers, tags)])
    month = datetime(2026, 10, 1, tzinfo=timezone.utc)
    sessions = []
    for i in range(args.sessions + 2_000):  # 2,000 extra for the baseline
        tag = tags[i % len(tags)]
        start = month + timedelta(seconds=rng.randrange(86400, 29 * 86400))
        energy = rng.randrange(2_000, 40_000)
        sessions.append(ChargingSession(
            station=stations[i % len(stations)], connector_number=1, id_tag=tag, id_tag_uid=tag.uid,
            started_at=start, stopped_at=start + timedelta(hours=2), meter_start_wh=i * 50_000,
            meter_stop_wh=i * 50_000 + energy, energy_wh=energy, state="completed"))
    sessions = ChargingSession.objects.bulk_create(sessions, batch_size=5000)
    prices = []
    for s in sessions:
        net = (Decimal(s.energy_wh) * Decimal("0.00025")).quantize(Decimal("0.0001"))
        prices.append(SessionPrice(session=s, currency="EUR", total_excl_vat=Money(net, "EUR"),
                                   total_vat=Money((net * Decimal("0.23")).quantize(Decimal("0.01")), "EUR"),
                                   total_incl_vat=Money(net * Decimal("1.23"), "EUR"), energy_wh=s.energy_wh,
                                   rated_at=s.stopped_at))
    SessionPrice.objects.bulk_create(prices, batch_size=5000)
    # Fresh statistics for the seeded tables, as a production database has them (autovacuum would analyze them a
    # minute later). Not the empty ones: statistics saying "empty" make PostgreSQL plan the foreign-key and journal
    # trigger checks as sequential scans, quadratic over the close (a database in use never says that).
    from django.db import connection

    with connection.cursor() as cursor:
        for model in (ChargingSession, SessionPrice, SessionCharge, Customer, CustomerCard, IdTag):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    print(f"seeded {len(sessions)} priced sessions, {len(customers)} customers in {time.perf_counter() - t0:.1f} s")

    # Baseline: the per-session path on 2,000 sessions (settled now, so the close below sees the other 100,000).
    sample = sessions[-2_000:]
    card_of = {c.id_tag_id: c for c in CustomerCard.objects.select_related("customer")}
    t_base = time.perf_counter()
    for s, p in zip(sample, prices[-2_000:]):
        session_charge_settle(rated=RatedSession(
            session_id=s.pk, organization=org, customer=card_of[s.id_tag_id].customer, currency="EUR",
            net=p.total_excl_vat.amount, energy_wh=s.energy_wh, started_at=s.started_at, time_zone="Europe/Lisbon",
            country="PT", id_tag_uid=s.id_tag_uid, price_id=p.pk))
    baseline_settle_s = (time.perf_counter() - t_base) * args.sessions / len(sample)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    load_before = os.getloadavg()[0]
    cpu0, db0 = time.process_time(), backend_cpu_s(backend)
    t1 = time.perf_counter()
    run = month_close(organization=org, period=date(2026, 10, 1), rate=True)
    close_s = time.perf_counter() - t1
    close_cpu_s, close_db_cpu_s = time.process_time() - cpu0, backend_cpu_s(backend) - db0
    load_after = os.getloadavg()[0]
    t2 = time.perf_counter()
    again = month_close(organization=org, period=date(2026, 10, 1), rate=True)
    rerun_s = time.perf_counter() - t2

    invoices = Invoice.objects.filter(organization=org).count()
    lines = InvoiceLine.objects.filter(invoice__organization=org).count()
    invoiced = SessionCharge.objects.filter(organization=org, status="invoiced").count()
    numbers = list(Invoice.objects.filter(organization=org).order_by("number").values_list("number", flat=True))
    assert run.status == "completed" and again.invoices_issued == run.invoices_issued
    assert invoices == args.customers and lines == invoiced == args.sessions + 2_000
    assert numbers == list(range(1, invoices + 1)), "numbering has gaps"
    assert journal_unbalanced_entries() == []
    print(f"close: {invoices} invoices, {lines} lines, run {run.progress}; rerun issued nothing new "
          f"({again.invoices_issued} total)")
    print(f"close: wall {close_s:.1f} s, CPU {close_cpu_s:.1f} s in Python + {close_db_cpu_s:.1f} s in the PostgreSQL "
          f"backend; load average {load_before:.2f} before, {load_after:.2f} after (2 cores)")
    print(f"bench: monthly_close_100k_sessions {close_s:.1f} s (target < 60 s)")
    print(f"bench: monthly_close_100k_sessions_cpu {close_cpu_s + close_db_cpu_s:.1f} s (Python + PostgreSQL backend "
          f"CPU; target < 60 s)")
    print(f"bench: monthly_close_sessions_per_s {args.sessions / close_s:.0f} sessions/s (target > 1667 sessions/s)")
    print(f"bench: monthly_close_rerun {rerun_s:.1f} s (target < 60 s, issues nothing)")
    print(f"bench: baseline_per_session_settle_100k {baseline_settle_s:.1f} s (settlement alone, one at a time; "
          f"target none, for comparison)")


if __name__ == "__main__":
    main()
