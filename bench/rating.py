"""Benchmark of the tariff engine (apps/tariffs/engine): sessions rated per second for a 3-period TOU tariff with
5-minute meter values, on one core, and a month of 100,000 sessions rated and totalled per period.

    .venv/bin/python bench/rating.py [--sessions 20000] [--month 100000]

Pure engine: no database. Ends with one `bench:` line per figure."""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.dev")
import django  # noqa: E402

django.setup()

from apps.tariffs.engine.ocpi import tariff_spec_from_ocpi  # noqa: E402
from apps.tariffs.engine.rating import Reading, rate  # noqa: E402

CALENDARS = {c["code"]: c for c in json.loads((ROOT / "apps/tariffs/data/calendars.json").read_text())["calendars"]}
TARIFF = {
    "id": "bench-tri", "currency": "EUR", "evnet_vat_rate": 23,
    "evnet_tou_calendar": CALENDARS["erse-btn-weekly-tri"],
    "elements": [
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.2451"), "step_size": 1}],
         "restrictions": {"evnet_tou_periods": ["Ponta"]}},
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.2278"), "step_size": 1}],
         "restrictions": {"evnet_tou_periods": ["Cheias"]}},
        {"price_components": [{"type": "ENERGY", "price": Decimal("0.1984"), "step_size": 1}]},
    ],
}


def make_sessions(count: int, seed: int = 7):
    """Sessions over June 2026 in Lisbon: start anywhere, 1–8 h, 3.7–11 kW, a reading every 5 minutes."""
    rng = random.Random(seed)
    month = datetime(2026, 6, 1, tzinfo=timezone.utc)
    sessions = []
    for _ in range(count):
        start = month + timedelta(seconds=rng.randrange(0, 29 * 86400))
        duration = rng.randrange(3600, 8 * 3600)
        power = rng.choice((3700, 7400, 11000))
        readings = [Reading(start + timedelta(seconds=t), 100_000 + power * t // 3600)
                    for t in range(0, duration, 300)]
        stop = start + timedelta(seconds=duration)
        readings.append(Reading(stop, 100_000 + power * duration // 3600))
        sessions.append((start, stop, readings))
    return sessions


def run(spec, sessions):
    totals: dict[str, Decimal] = {}
    for start, stop, readings in sessions:
        result = rate(tariff=spec, readings=readings, started_at=start, stopped_at=stop, time_zone="Europe/Lisbon")
        for line in result.lines:
            totals[line.period] = totals.get(line.period, Decimal(0)) + line.amount_rounded
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--month", type=int, default=100000)
    args = parser.parse_args()
    spec = tariff_spec_from_ocpi(TARIFF)

    sessions = make_sessions(args.sessions)
    readings = sum(len(s[2]) for s in sessions)
    run(spec, sessions[:200])  # warm the per-day caches like a running worker would
    # "On one core": CPU time of this (single-threaded) process, so other load on a shared machine does not
    # count; wall-clock time is printed next to it.
    cpu, wall = time.process_time(), time.perf_counter()
    run(spec, sessions)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    per_second = args.sessions / cpu
    print(f"{args.sessions} sessions, {readings} readings ({readings / args.sessions:.1f} per session): "
          f"{cpu:.2f} s CPU ({per_second:,.0f} sessions/s), {wall:.2f} s wall ({args.sessions / wall:,.0f}/s)")

    month = make_sessions(args.month, seed=11)
    cpu, wall = time.process_time(), time.perf_counter()
    totals = run(spec, month)
    month_s, month_wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"month of {args.month} sessions rated and totalled per period in {month_s:.1f} s CPU "
          f"({month_wall:.1f} s wall): " + ", ".join(f"{k} €{v}" for k, v in sorted(totals.items())))
    print(f"bench: rating_sessions_per_second {per_second:.0f} sessions/s (target >= 5000)")
    print(f"bench: rating_month_{args.month}_sessions {month_s:.1f} s (target < 60)")


if __name__ == "__main__":
    main()
