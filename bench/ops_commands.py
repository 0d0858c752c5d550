"""Benchmark of commands from any process (apps/operations): a real daphne holds N chargers' WebSockets; this
process sends commands with command_send_async through the Redis channel layer, as an admin process or a worker
would, and measures the round trip (publish → consumer → CALL → charger's CALLRESULT → reply → CommandRecord).

    createdb -U postgres evnet_ops_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/evnet_ops_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/ops_commands.py [--chargers 10] [--sequential 200] [--per-charger 25]

Baseline: the bare channel-layer round trip (group_send to a listener in this process that replies at once: no
daphne, no WebSocket, no database). Ends with one `bench:` line per figure."""
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.dev")
if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
    sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: commands cross processes through Redis.")
import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels import DEFAULT_CHANNEL_LAYER  # noqa: E402
from channels.layers import channel_layers, get_channel_layer  # noqa: E402
from django.core.management import call_command  # noqa: E402

from apps.operations.exceptions import StationOffline  # noqa: E402
from apps.operations.services import command_send_async  # noqa: E402
from apps.stations.models import ChargingStation  # noqa: E402
from apps.stations.selectors import station_group_name  # noqa: E402
from tests.factories import OrganizationFactory, SiteFactory, StationFactory  # noqa: E402

PASSWORD = "bench-ops-secret"
TARGET_P99_MS = 250
TARGET_RATE = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _setup(count: int) -> list[ChargingStation]:
    call_command("migrate", verbosity=0)
    ChargingStation.objects.filter(ocpp_id__startswith="BENCH-OPS-").delete()
    site = SiteFactory(organization=OrganizationFactory(slug="bench-ops", name="Bench ops"))
    stations = [StationFactory(site=site, ocpp_id=f"BENCH-OPS-{n:03d}", password=PASSWORD) for n in range(count)]
    ChargingStation.objects.filter(ocpp_id="BENCH-OPS-OFFLINE").delete()
    stations.append(StationFactory(site=site, ocpp_id="BENCH-OPS-OFFLINE", password=PASSWORD))
    return stations


async def _charger(port: int, ocpp_id: str, ready: asyncio.Event):
    auth = "Basic " + base64.b64encode(f"{ocpp_id}:{PASSWORD}".encode()).decode()
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{ocpp_id}", subprotocols=["ocpp1.6"],
                                  additional_headers={"Authorization": auth}, open_timeout=30) as ws:
        await ws.send(json.dumps([2, "b", "BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "B"}]))
        json.loads(await ws.recv())
        ready.set()
        async for text in ws:
            frame = json.loads(text)
            if frame[0] == 2:
                await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))


async def _baseline(rounds: int) -> list[float]:
    layer = get_channel_layer()
    group = station_group_name(ocpp_id="bench-ops-baseline")
    listener = await layer.new_channel("bench.listener.")
    await layer.group_add(group, listener)

    async def serve():
        while True:
            message = await layer.receive(listener)
            await layer.send(message["reply_channel"], {"type": "ocpp.command.reply", "ok": True})

    server = asyncio.create_task(serve())
    caller = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        reply = await caller.new_channel("bench.reply.")
        await caller.group_send(group, {"type": "ocpp.command", "reply_channel": reply})
        await caller.receive(reply)
        times.append((time.perf_counter() - started) * 1000)
    server.cancel()
    await layer.group_discard(group, listener)
    return times


async def main(args) -> None:
    stations = await database_sync_to_async(_setup)(args.chargers)
    online, offline = stations[:-1], stations[-1]
    port = _free_port()
    log = open(ROOT / "var" / "bench-ops-daphne.log", "wb")
    # Admission hashes each station's password (PBKDF2 in these settings): allow a slow handshake on a busy box.
    daphne = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "--websocket_connect_timeout", "120", "evnet.asgi:application"], cwd=ROOT, env=os.environ.copy(), stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                await asyncio.sleep(0.2)
        chargers = []
        for station in online:  # one handshake at a time: the connection ramp is not what is measured here
            ready = asyncio.Event()
            chargers.append(asyncio.create_task(_charger(port, station.ocpp_id, ready)))
            await asyncio.wait_for(ready.wait(), 120)
        for _ in range(100):  # the consumer marks the station connected through its group-commit writer
            if await database_sync_to_async(ChargingStation.objects.filter(
                    pk__in=[s.pk for s in online], is_connected=True).count)() == len(online):
                break
            await asyncio.sleep(0.1)

        for _ in range(10):  # warm-up
            await command_send_async(station=online[0], action="ClearCache", payload={}, timeout=10)
        sequential = []
        for _ in range(args.sequential):
            started = time.perf_counter()
            await command_send_async(station=online[0], action="ClearCache", payload={}, timeout=10)
            sequential.append((time.perf_counter() - started) * 1000)

        # The same round trip without evnet's CommandRecord writes: where the time goes.
        from apps.operations.services.commands import _exchange
        exchange_only = []
        for n in range(args.sequential):
            started = time.perf_counter()
            reply = await _exchange(ocpp_id=online[0].ocpp_id, request_id=f"bench-{n}", action="ClearCache",
                                    payload={}, timeout=10)
            assert reply and reply["ok"], reply
            exchange_only.append((time.perf_counter() - started) * 1000)

        async def burst(station):
            for _ in range(args.per_charger):
                await command_send_async(station=station, action="Reset", payload={"type": "Soft"}, timeout=30)

        started = time.perf_counter()
        await asyncio.gather(*(burst(s) for s in online))
        rate = len(online) * args.per_charger / (time.perf_counter() - started)

        offline_ms = []
        for _ in range(50):
            started = time.perf_counter()
            try:
                await command_send_async(station=offline, action="ClearCache", payload={})
            except StationOffline:
                offline_ms.append((time.perf_counter() - started) * 1000)
        baseline = await _baseline(args.sequential)
        for task in chargers:
            task.cancel()
    finally:
        daphne.terminate()
        daphne.wait(timeout=30)

    p50, p99 = statistics.median(sequential), _pct(sequential, 0.99)
    print(f"command round trip through daphne + charger, {args.sequential} sequential: p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms")
    print(f"of which the channel layer + daphne consumer + charger (no CommandRecord): p50 "
          f"{statistics.median(exchange_only):.1f} ms, p99 {_pct(exchange_only, 0.99):.1f} ms")
    print(f"{len(online)} chargers x {args.per_charger} commands concurrently: {rate:.0f} commands/s")
    print(f"offline station answered in p50 {statistics.median(offline_ms):.1f} ms")
    print(f"baseline bare channel-layer round trip: p50 {statistics.median(baseline):.2f} ms, "
          f"p99 {_pct(baseline, 0.99):.2f} ms")
    print(f"bench: ops_command_round_trip_p50 {p50:.1f} ms (target p99 < {TARGET_P99_MS})")
    print(f"bench: ops_command_round_trip_p99 {p99:.1f} ms (target < {TARGET_P99_MS})")
    print(f"bench: ops_exchange_without_record_p50 {statistics.median(exchange_only):.1f} ms "
          f"(target none: breakdown)")
    print(f"bench: ops_commands_per_s_{len(online)}_chargers {rate:.0f} commands/s (target > {TARGET_RATE})")
    print(f"bench: ops_offline_answer_p50 {statistics.median(offline_ms):.1f} ms (target < 50)")
    print(f"bench: ops_baseline_channel_layer_round_trip_p50 {statistics.median(baseline):.2f} ms "
          "(target none: baseline)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chargers", type=int, default=10)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--per-charger", type=int, default=25)
    asyncio.run(main(parser.parse_args()))
