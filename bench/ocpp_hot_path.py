"""Is the OCPP hot path batched? MeterValues round trips against evnet's daphne (apps.ocpp.server) on PostgreSQL,
counting database commits while many chargers send MeterValues in a closed loop (each charger sends the next
message when the previous one is answered — an answer means its rows are committed).

    .venv/bin/python bench/ocpp_hot_path.py --stations 200 --seconds 20

It creates (or reuses) the PostgreSQL database of --database-url, migrates it, registers the stations, starts the
server with the Redis channel layer of --redis-url, and prints throughput, latency and commits per second (from
pg_stat_database.xact_commit). This is a check of the group-commit design, not the issue's load benchmark
(bench/ocpp_load.py)."""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import websockets

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-station-secret"

SETUP = """
import django, sys
django.setup()
from decimal import Decimal
from django.core.management import call_command
call_command("migrate", verbosity=0)
from apps.organizations.services import organization_ensure
from apps.sites.models import Site
from apps.stations.services import station_register
org = organization_ensure(slug="bench", name="Bench", kind="cpo", country="PT")
site = Site.objects.filter(organization=org).first() or Site.objects.create(
    organization=org, name="Bench garage", address="Rua 1", city="Lisboa", country="PT", latitude=Decimal("38.7"),
    longitude=Decimal("-9.1"), time_zone="Europe/Lisbon", currency="EUR")
from apps.stations.models import ChargingStation
n = int(sys.argv[1])
existing = set(ChargingStation.objects.filter(ocpp_id__startswith="BENCH-").values_list("ocpp_id", flat=True))
for i in range(n):
    ocpp_id = f"BENCH-{i:05d}"
    if ocpp_id not in existing:
        station_register(ocpp_id=ocpp_id, site=site, max_power_w=22000,
                         connectors=[{"connector_id": 1, "max_power_w": 22000}])
# This measures the message hot path, not a reconnect storm: store the bench password as PBKDF2 with 1,000
# iterations (the hash carries its count) so connecting does not cost ~0.5 CPU-s per station.
from django.contrib.auth.hashers import PBKDF2PasswordHasher
hasher = PBKDF2PasswordHasher()
ChargingStation.objects.filter(ocpp_id__startswith="BENCH-").update(
    password_hash=hasher.encode(sys.argv[2], hasher.salt(), iterations=1000))
"""


def _ensure_database(url: str) -> None:
    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        name = parsed.path.lstrip("/")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _commits(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                            ).fetchone()[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


async def _charger(index: int, port: int, start_at: float, stop_at: float, latencies: list[float],
                   counts: list[int]) -> None:
    ocpp_id = f"BENCH-{index:05d}"
    token = base64.b64encode(f"{ocpp_id}:{PASSWORD}".encode()).decode()
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{ocpp_id}", subprotocols=["ocpp1.6"],
                                  additional_headers={"Authorization": f"Basic {token}"}, open_timeout=60,
                                  ping_interval=None) as ws:
        await ws.send(json.dumps([2, "b", "BootNotification", {"chargePointVendor": "Bench",
                                                               "chargePointModel": "B1"}]))
        await ws.recv()
        await ws.send(json.dumps([2, "s", "StartTransaction", {"connectorId": 1, "idTag": "BENCHCARD",
                                                               "meterStart": 0, "timestamp": _now()}]))
        tx = json.loads(await ws.recv())[2]["transactionId"]
        while time.perf_counter() < start_at:
            await asyncio.sleep(0.05)
        wh, n = 0, 0
        while time.perf_counter() < stop_at:
            wh += 5
            n += 1
            frame = json.dumps([2, f"m{n}", "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
                {"timestamp": _now(), "sampledValue": [
                    {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}]}]}])
            sent = time.perf_counter()
            await ws.send(frame)
            answer = json.loads(await ws.recv())
            latencies.append(time.perf_counter() - sent)
            assert answer[0] == 3, answer
            counts[0] += 1


async def _run(args, port: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    counts = [0]
    warmup = 3.0
    start_at = time.perf_counter() + warmup + args.stations * args.ramp_s * 2
    stop_at = start_at + args.seconds
    tasks = []
    for i in range(args.stations):
        tasks.append(asyncio.create_task(_charger(i, port, start_at, stop_at, latencies, counts)))
        await asyncio.sleep(args.ramp_s)
    while time.perf_counter() < start_at:
        await asyncio.sleep(0.01)
    commits_before = await asyncio.to_thread(_commits, args.database_url)
    latencies.clear()
    counts[0] = 0
    await asyncio.gather(*tasks)
    commits_after = await asyncio.to_thread(_commits, args.database_url)
    return latencies, counts[0], commits_after - commits_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--ramp-s", type=float, default=0.03, help="pause between two connections")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evnet_ocpp_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"))
    args = parser.parse_args()
    _ensure_database(args.database_url)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evnet.settings.prod", "SECRET_KEY": "bench-only-secret-key",
           "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "EVNET_LOG_LEVEL": "WARNING",
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    subprocess.run([sys.executable, "-c", SETUP, str(args.stations), PASSWORD], cwd=ROOT, env=env, check=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "apps.ocpp.server", "-b", "127.0.0.1", "-p", str(port),
                               "--websocket_connect_timeout", "60", "--access-log", os.devnull,
                               "evnet.asgi:application"], cwd=ROOT, env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        latencies, messages, commits = asyncio.run(_run(args, port))
    finally:
        server.terminate()
        server.wait(timeout=30)
    rate = messages / args.seconds
    latencies.sort()
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    print(f"{args.stations} chargers, {args.seconds:.0f} s closed loop: {messages} MeterValues answered, "
          f"{commits} PostgreSQL commits")
    print(f"bench: ocpp_meter_values_rate {rate:.0f} msg/s (target 4000)")
    print(f"bench: ocpp_meter_values_p50 {p50:.1f} ms (target <100)")
    print(f"bench: ocpp_meter_values_p99 {p99:.1f} ms (target <100)")
    print(f"bench: ocpp_commits_per_second {commits / args.seconds:.0f} commits/s (target far below msg/s)")
    print(f"bench: ocpp_messages_per_commit {messages / max(commits, 1):.1f} msg/commit (target >1)")


if __name__ == "__main__":
    main()
