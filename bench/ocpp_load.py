"""OCPP load benchmark: evnet as in production against a plain Channels + `ocpp` library baseline, same run.

    .venv/bin/python bench/ocpp_load.py                       # full run (≈ 6-8 minutes)
    .venv/bin/python bench/ocpp_load.py --stations 500 --rates 500,1000 --step-seconds 5 --hold-seconds 5  # smoke

What it does (issue 4 "Speed"; figures and the reading of them in bench/README.md):
1. Prepares a PostgreSQL database (`--database`, created if missing, migrated) and registers `--stations`
   stations BENCH00001… with one connector each and a card, in one organization.
2. For each server — the baseline (`daphne bench.baseline_asgi:application`: Channels AsyncWebsocketConsumer +
   the `ocpp` library's ChargePoint, no database) and evnet (`python -m apps.ocpp.server evnet.asgi:application`,
   DJANGO_SETTINGS_MODULE=evnet.settings.prod, PostgreSQL, Redis channel layer: how run_evnet and production start
   it) — in its own process:
   a. throughput: `--chargers` simulated chargers (apps/simulator/charger.py, one event loop, ramped) boot,
      report status, authorize and start a transaction, then send MeterValues (energy register, power, current on
      3 phases, voltage — every sample persisted by evnet) at each fixed offered rate of `--rates` for
      `--step-seconds`, one outstanding CALL per charger as OCPP-J requires. Each CALL→CALLRESULT latency is
      measured; achieved msg/s counts answers inside the window;
   b. connections: more chargers connect (ramped at `--ramp` per second) until `--stations` are connected and
      booted, every one sends a Heartbeat (spread over `--heartbeat-spread` seconds), and after `--hold-seconds`
      the script counts the sockets still open and sends a second round of heartbeats.
With `--floor`, first the floor (`daphne bench.floor_asgi:application`: a bare ASGI app that parses each frame
with ujson and answers from memory) goes through the same steps: what daphne, Twisted and autobahn alone cost here.
3. Optionally (`--profile`) samples the evnet daphne with py-spy during the step at `--profile-rate` and prints
   where the time goes.
Ends with one `bench:` line per figure. Only loopback addresses; it stops by itself.

The stations' passwords are stored as PBKDF2 with 1,000 iterations (a stored hash carries its own iteration count,
so evnet's admission checks it unchanged): Django's default of 1,000,000 would make the benchmark a measurement
of 10,000 first-connection password checks (~0.5 CPU-s each on this machine). Reconnections of a station after
its first check are verified by the keyed verifier on its row and pay no hash (bench/README.md). Stations of an
earlier run keep their hash (and so their verifier): the first run against a database measures first
connections, every later run a restart herd of known stations.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.simulator.charger import (CallRefused, CarModel, ChargerConfig, SimulatedCharger,  # noqa: E402
                                    ocpp_time, utc_now, validate_call)

PASSWORD = "bench-station-secret"
CARD = "BENCHCARD"  # one card per charger: a card charges at one station at a time
TARGET_RATE = 4000
TARGET_P99_MS = 100
TARGET_CONNECTIONS = 10_000

SETUP = """
import sys, django
django.setup()
from decimal import Decimal
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import transaction
from apps.organizations.models import Organization
from apps.sites.models import Site
from apps.stations.models import ChargingStation, Connector
from apps.users.models import IdTag
n = int(sys.argv[1]); password = sys.argv[2]; card = sys.argv[3]
org, _ = Organization.objects.get_or_create(slug="bench", defaults=dict(name="Bench", kind="cpo", country="PT"))
site, _ = Site.objects.get_or_create(organization=org, name="Bench site", defaults=dict(
    address="Rua 1", city="Lisboa", country="PT", latitude=Decimal("38.7"), longitude=Decimal("-9.1"),
    time_zone="Europe/Lisbon", currency="EUR"))
have = set(IdTag.objects.filter(uid__startswith=card).values_list("uid", flat=True))
IdTag.objects.bulk_create([IdTag(uid=f"{card}{i:05d}", organization=org) for i in range(1, n + 1)
                           if f"{card}{i:05d}" not in have], batch_size=2000)
hasher = PBKDF2PasswordHasher()
encoded = hasher.encode(password, hasher.salt(), iterations=1000)
existing = set(ChargingStation.objects.filter(ocpp_id__startswith="BENCH").values_list("ocpp_id", flat=True))
wanted = [f"BENCH{i:05d}" for i in range(1, n + 1)]
missing = [i for i in wanted if i not in existing]
with transaction.atomic():
    # Stations of an earlier run keep their hash, so their verifiers hold: a later run's herd is a restart herd.
    ChargingStation.objects.filter(ocpp_id__startswith="BENCH").update(is_connected=False)
    ChargingStation.objects.filter(ocpp_id__startswith="BENCH").exclude(
        password_hash__startswith="pbkdf2_sha256$1000$").update(password_hash=encoded)
    ChargingStation.objects.bulk_create([ChargingStation(ocpp_id=i, site=site, max_power_w=11000,
                                                         password_hash=encoded) for i in missing], batch_size=2000)
    ids = dict(ChargingStation.objects.filter(ocpp_id__in=missing).values_list("ocpp_id", "pk"))
    Connector.objects.bulk_create([Connector(station_id=ids[i], connector_id=1, max_power_w=11000)
                                   for i in missing], batch_size=2000)
print(f"stations: {len(wanted)} ({len(missing)} new)")
"""


# ------------------------------------------------------------------------------------------------ measurement
@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    answered: int = 0

    def summary(self, seconds: float) -> dict:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return {"answered": self.answered, "msg_per_s": self.answered / seconds if seconds else 0.0,
                "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": lat[-1] * 1000 if lat else float("nan"),
                "errors": dict(self.errors)}


def meter_payload(transaction_id: int | None, register_wh: int, power_w: int) -> dict:
    amps = f"{power_w / (3 * 230):.1f}"
    values = [
        {"value": str(register_wh), "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register",
         "unit": "Wh"},
        {"value": str(power_w), "context": "Sample.Periodic", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": amps, "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
        {"value": amps, "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
        {"value": amps, "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
        {"value": "230", "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
    ]
    payload = {"connectorId": 1, "meterValue": [{"timestamp": ocpp_time(utc_now()), "sampledValue": values}]}
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload


class LoadCharger:
    """A SimulatedCharger plus the benchmark's MeterValues loop (validation off: the generator shares the CPU)."""

    def __init__(self, index: int, url: str, sources: int):
        source = f"127.0.0.{2 + index % sources}" if sources > 1 else None
        self.sim = SimulatedCharger(ChargerConfig(
            ocpp_id=f"BENCH{index:05d}", url=url, password=PASSWORD, validate=False, heartbeat_interval_s=86_400,
            meter_interval_s=86_400, call_timeout_s=30, reconnect_min_s=2, reconnect_max_s=10,
            local_addr=(source, 0) if source else None, open_timeout_s=60))
        self.index = index
        self.register_wh = 0
        self.transaction_id: int | None = None
        self.window: Window | None = None
        self.task: asyncio.Task | None = None

    async def timed_call(self, action: str, payload: dict) -> dict | None:
        window = self.window
        started = time.perf_counter()
        try:
            result = await self.sim.call(action, payload)
        except CallRefused as exc:
            if window is not None:
                window.errors[exc.error_code] += 1
            return None
        if window is not None:
            window.latencies.append(time.perf_counter() - started)
            window.answered += 1
        return result

    async def start_transaction(self) -> None:
        """Preparing, Authorize, StartTransaction, Charging — as a driver starting a session."""
        self.transaction_id = await self.sim.plug_in(connector_id=1, id_tag=f"{CARD}{self.index:05d}", car=CarModel())

    async def meter_loop(self, interval: float, offset: float, stop_at: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + offset
        while True:
            now = loop.time()
            if next_at > now:
                await asyncio.sleep(next_at - now)
            if loop.time() >= stop_at:
                return
            self.register_wh += max(1, int(11_000 * interval / 3600))
            await self.timed_call("MeterValues", meter_payload(self.transaction_id, self.register_wh, 11_000))
            next_at += interval
            if next_at < loop.time() - interval:  # saturated: do not queue a burst of catch-up messages
                next_at = loop.time()


async def connect_all(chargers: list[LoadCharger], stop: asyncio.Event, ramp: float, deadline_s: float) -> float:
    """Start chargers at `ramp` per second; wait until all booted or the deadline. Returns elapsed seconds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    batch = max(1, int(ramp / 20))
    for i, charger in enumerate(chargers):
        if loop.time() - started > deadline_s:
            break  # an overloaded machine cannot even start them all in time: the rest count as not connected
        charger.task = asyncio.create_task(charger.sim.run(stop))
        if (i + 1) % batch == 0:
            await asyncio.sleep(0.05)
    while loop.time() - started < deadline_s:
        if all(c.sim.is_booted for c in chargers):
            break
        await asyncio.sleep(0.25)
    return loop.time() - started


async def heartbeat_round(chargers: list[LoadCharger], spread_s: float) -> Window:
    window = Window()

    async def one(charger: LoadCharger, delay: float):
        await asyncio.sleep(delay)
        if not charger.sim.is_booted:
            window.errors["not_connected"] += 1
            return
        charger.window = window
        await charger.timed_call("Heartbeat", {})
        charger.window = None

    n = len(chargers)
    await asyncio.gather(*(one(c, spread_s * i / max(n, 1)) for i, c in enumerate(chargers)))
    return window


def process_cpu(pid: int) -> float:
    """CPU seconds a process has used so far (utime + stime from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(pids: list[int]) -> float:
    """CPU seconds the server processes have used so far."""
    try:
        return sum(process_cpu(pid) for pid in pids)
    except (OSError, IndexError, ValueError, TypeError):
        return float("nan")


def database_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL processes alive now (backends of this run included; on a shared
    box, other users' queries too)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                total += process_cpu(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return total


def open_sockets(chargers: list[LoadCharger]) -> int:
    from websockets.protocol import State

    return sum(1 for c in chargers if c.sim._ws is not None and c.sim._ws.state == State.OPEN and c.sim.is_booted)


async def drive(url: str, args, label: str, server_pids: list[int], profile_dir: Path) -> dict:
    results: dict = {"label": label, "steps": []}
    stop = asyncio.Event()
    chargers = [LoadCharger(i, url, args.sources) for i in range(1, args.chargers + 1)]
    elapsed = await connect_all(chargers, stop, args.ramp, deadline_s=120)
    booted = [c for c in chargers if c.sim.is_booted]
    print(f"[{label}] throughput set: {len(booted)}/{len(chargers)} chargers booted in {elapsed:.1f} s", flush=True)
    await asyncio.gather(*(c.start_transaction() for c in booted), return_exceptions=True)
    active = [c for c in booted if c.transaction_id is not None]
    print(f"[{label}] {len(active)} transactions started", flush=True)
    loop = asyncio.get_running_loop()
    if not active:
        print(f"[{label}] no charger could start a transaction: no throughput to measure", flush=True)
    for rate in args.rates if active else []:
        window = Window()
        for c in active:
            c.window = window
        interval = len(active) / rate
        stop_at = loop.time() + 1.0 + args.step_seconds
        profiler = None
        if args.profile and server_pids and rate == args.profile_rate:
            profiler = start_profiler(server_pids[0], profile_dir / f"{label}-{rate}.txt", args.step_seconds)
        t0 = loop.time() + 1.0
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        server0, database0 = server_cpu(server_pids), database_cpu()
        await asyncio.gather(*(c.meter_loop(interval, 1.0 * i / len(active), stop_at)
                               for i, c in enumerate(active)))
        seconds = loop.time() - t0
        for c in active:
            c.window = None
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        generator_cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / (seconds + 1.0)
        summary = {"offered": rate, **window.summary(seconds), "generator_cpu": generator_cpu,
                   "server_cpu": server_cpu(server_pids), "load_average": os.getloadavg()[0]}
        database_seconds = database_cpu() - database0
        # CPU the server process spent per answered message in this step: unlike wall-clock rates, this hardly
        # depends on what else the shared box runs.
        summary["server_cpu_ms_per_msg"] = ((summary["server_cpu"] - server0) * 1000 / summary["answered"]
                                            if summary["answered"] else float("nan"))
        summary["database_cpu_ms_per_msg"] = (database_seconds * 1000 / summary["answered"]
                                              if summary["answered"] else float("nan"))
        results["steps"].append(summary)
        print(f"[{label}] offered {rate:>5} msg/s: achieved {summary['msg_per_s']:7.0f} msg/s, "
              f"p50 {summary['p50_ms']:7.1f} ms, p99 {summary['p99_ms']:7.1f} ms, max {summary['max_ms']:7.0f} ms, "
              f"errors {summary['errors']}; CPU (cores, cumulative server) generator {generator_cpu:.2f}, "
              f"server {summary['server_cpu']:.0f} s ({summary['server_cpu_ms_per_msg']:.2f} ms per message), "
              f"PostgreSQL {summary['database_cpu_ms_per_msg']:.2f} ms per message; "
              f"load average {summary['load_average']:.1f}", flush=True)
        if profiler is not None:
            results["profile"] = finish_profiler(profiler)
        if summary["p99_ms"] > 2000 or summary["msg_per_s"] < 0.5 * rate:
            print(f"[{label}] saturated; not offering more", flush=True)
            break
    # Connections: everyone else connects and boots; heartbeats; hold; heartbeats again.
    more = [LoadCharger(i, url, args.sources) for i in range(args.chargers + 1, args.stations + 1)]
    elapsed = await connect_all(more, stop, args.ramp, deadline_s=args.connect_deadline)
    everyone = chargers + more
    held = open_sockets(everyone)
    print(f"[{label}] {held}/{len(everyone)} chargers connected and booted after {elapsed:.1f} s", flush=True)
    first = await heartbeat_round(everyone, args.heartbeat_spread)
    await asyncio.sleep(args.hold_seconds)
    held_after = open_sockets(everyone)
    second = await heartbeat_round(everyone, args.heartbeat_spread)
    hb1 = first.summary(args.heartbeat_spread)
    hb2 = second.summary(args.heartbeat_spread)
    results.update(connections=len(everyone), connected=held, held=held_after, ramp_seconds=elapsed,
                   heartbeats=[hb1, hb2],
                   reconnects=sum(max(0, c.sim.connects - 1) for c in everyone))
    print(f"[{label}] held {held_after}/{len(everyone)} after {args.hold_seconds:.0f} s; heartbeats answered "
          f"{hb1['answered']} then {hb2['answered']} (p99 {hb1['p99_ms']:.0f} / {hb2['p99_ms']:.0f} ms), "
          f"errors {hb1['errors']} / {hb2['errors']}, reconnects {results['reconnects']}", flush=True)
    stop.set()
    await asyncio.gather(*(c.task for c in everyone if c.task), return_exceptions=True)
    return results


# ------------------------------------------------------------------------------------------------ processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_profiler(pid: int, out: Path, seconds: float):
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        print("py-spy is not installed in the venv (pip install -r requirements/dev.txt); no profile", flush=True)
        return None
    return subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "200", "--gil", "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out


def finish_profiler(profiler) -> dict:
    """Aggregate py-spy's collapsed stacks: share of samples per innermost evnet/library frame group."""
    process, out = profiler
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
    if not out.exists():
        return {"error": (process.stderr.read() or b"").decode()[-500:]}
    inclusive: Counter = Counter()
    self_time: Counter = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        seen = set()
        for frame in frames:
            key = _frame_key(frame)
            if key not in seen:
                inclusive[key] += n
                seen.add(key)
        self_time[_frame_key(frames[-1])] += n
    return {"samples": total,
            "self": [(k, round(100 * v / total, 1)) for k, v in self_time.most_common(15)] if total else [],
            "inclusive": [(k, round(100 * v / total, 1)) for k, v in inclusive.most_common(40)] if total else []}


def _frame_key(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; keep function and file, drop the line.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


def prepare_database(env: dict, stations: int) -> None:
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "-c", SETUP, str(stations), PASSWORD, CARD], cwd=ROOT, env=env, check=True)
    database_vacuum(url)


# The tables a run rewrites: each run updates every station row several times (password, connect, boot, last seen,
# close) and every session row per MeterValues.
VACUUMED_TABLES = ["stations_chargingstation", "stations_connector", "charging_chargingsession", "users_idtag"]


def database_vacuum(url: str) -> None:
    """VACUUM ANALYZE the tables a run rewrites, as autovacuum keeps them in production. Without it, on a server
    with autovacuum off (this machine's CI configuration), dead row versions pile up run after run: after a few
    10,000-station runs the stations table held 91,000 dead rows for 10,000 live ones, which every admission and
    boot lookup walks, so later runs would measure the bloat of earlier ones."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone()[0] != "on":
            print("note: autovacuum is off on this PostgreSQL; the bench vacuums its tables before each run",
                  flush=True)
        for table in VACUUMED_TABLES:
            conn.execute(f'VACUUM (ANALYZE) "{table}"')


def database_counts(env: dict) -> dict:
    code = ("import json, django; django.setup()\n"
            "from apps.charging.models import MeterValue, ChargingSession\n"
            "print(json.dumps({'meter_values': MeterValue.objects.filter(session__station__ocpp_id__startswith="
            "'BENCH').count(), 'sessions': ChargingSession.objects.filter(station__ocpp_id__startswith='BENCH')"
            ".count()}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=TARGET_CONNECTIONS, help="connections to hold")
    parser.add_argument("--chargers", type=int, default=1000, help="chargers sending MeterValues")
    parser.add_argument("--rates", default="250,500,1000,2000,4000,6000", help="offered MeterValues msg/s, stepped")
    parser.add_argument("--step-seconds", type=float, default=15)
    parser.add_argument("--ramp", type=float, default=400, help="new connections per second")
    parser.add_argument("--connect-deadline", type=float, default=150)
    parser.add_argument("--heartbeat-spread", type=float, default=20)
    parser.add_argument("--hold-seconds", type=float, default=20)
    parser.add_argument("--sources", type=int, default=1, help="source addresses 127.0.0.2… to spread ports over")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/evnet_sim_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--processes", type=int, default=1,
                        help="server processes sharing one listening socket (daphne --fd), for both servers")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-evnet", action="store_true")
    parser.add_argument("--floor", action="store_true",
                        help="also run bench/floor_asgi.py (bare ASGI under daphne, json only: the ceiling of daphne)")
    parser.add_argument("--profile", action="store_true", help="py-spy the evnet daphne at --profile-rate")
    parser.add_argument("--profile-rate", type=int, default=TARGET_RATE)
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",") if r.strip()]
    args.chargers = min(args.chargers, args.stations)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, args.stations * 2 + 1000))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < args.stations + 200:
        print(f"warning: only {wanted} file descriptors allowed (hard limit {hard})", flush=True)

    # The generator's MeterValues are checked once against the ocpp package's 1.6 schema.
    validate_call("MeterValues", meter_payload(1, 1000, 11_000))

    out_dir = Path(tempfile.mkdtemp(prefix="evnet-bench-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evnet.settings.prod", "SECRET_KEY": "evnet-bench-secret-key",
           "DATABASE_URL": args.database, "REDIS_URL": args.redis, "EVNET_CELERY_BROKER_URL": args.redis,
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "EVNET_LOG_LEVEL": "WARNING", "EVNET_SECURE_COOKIES": "0",
           "EVNET_VAR_DIR": str(out_dir / "var"), "PYTHONUNBUFFERED": "1"}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; output in {out_dir}",
          flush=True)
    results = {}
    if args.floor:
        results["floor"] = run_floor(env, args, out_dir)
    if not args.skip_baseline:
        results["baseline"] = run_baseline(env, args, out_dir)
    if not args.skip_evnet:
        t = time.time()
        prepare_database(env, args.stations)
        print(f"[evnet] database ready in {time.time() - t:.0f} s", flush=True)
        before = database_counts(env)
        results["evnet"] = run_evnet(env, args, out_dir)
        after = database_counts(env)
        results["evnet"]["persisted_meter_samples"] = after["meter_values"] - before["meter_values"]
        results["evnet"]["sessions_opened"] = after["sessions"] - before["sessions"]
        sent = sum(s["answered"] for s in results["evnet"]["steps"])
        print(f"[evnet] {sent} MeterValues acknowledged, {results['evnet']['persisted_meter_samples']} samples "
              f"stored (6 per message expected: {6 * sent})", flush=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    report(results, args)


def listening_socket() -> socket.socket:
    """A listening socket on a free loopback port that every server process accepts from (daphne --fd), as
    several daphne processes share one port behind a process manager in production (README "Production")."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def start_servers(command: list[str], env: dict, args, out_dir: Path, label: str
                  ) -> tuple[int, list[subprocess.Popen], socket.socket | None]:
    """`args.processes` server processes: one on its own port, or several on one shared listening socket."""
    if args.processes <= 1:
        port = free_port()
        process = subprocess.Popen([*command[:3], "-b", "127.0.0.1", "-p", str(port), *command[3:]], cwd=ROOT,
                                   env=env, stdout=subprocess.DEVNULL, stderr=open(out_dir / f"{label}-server.log", "w"))
        wait_port(port, process)
        return port, [process], None
    sock = listening_socket()
    processes = [subprocess.Popen([*command[:3], "--fd", str(sock.fileno()), *command[3:]], cwd=ROOT, env=env,
                                  pass_fds=(sock.fileno(),), stdout=subprocess.DEVNULL,
                                  stderr=open(out_dir / f"{label}-server-{i}.log", "w"))
                 for i in range(args.processes)]
    port = sock.getsockname()[1]
    # The socket listens before any server does (connecting proves nothing): wait for an HTTP answer, then give
    # the other processes time to finish loading too.
    deadline = time.time() + 90
    while True:
        if any(process.poll() is not None for process in processes):
            raise SystemExit("a server process exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                probe.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if probe.recv(16):
                    break
        except OSError:
            pass
        if time.time() > deadline:
            raise SystemExit("servers did not start")
        time.sleep(0.3)
    time.sleep(5)
    return port, processes, sock


def run_server(command: list[str], env: dict, args, out_dir: Path, label: str) -> dict:
    port, processes, sock = start_servers(command, env, args, out_dir, label)
    try:
        return asyncio.run(drive(f"ws://127.0.0.1:{port}/ocpp", args, label, [p.pid for p in processes], out_dir))
    finally:
        for process in processes:
            stop_server(process)
        if sock is not None:
            sock.close()


def run_baseline(env: dict, args, out_dir: Path) -> dict:
    return run_server([sys.executable, "-m", "daphne", "--websocket_timeout", "-1", "bench.baseline_asgi:application"],
                      {**env, "DJANGO_SETTINGS_MODULE": ""}, args, out_dir, "baseline")


def run_floor(env: dict, args, out_dir: Path) -> dict:
    return run_server([sys.executable, "-m", "daphne", "--websocket_timeout", "-1", "bench.floor_asgi:application"],
                      {**env, "DJANGO_SETTINGS_MODULE": ""}, args, out_dir, "floor")


def run_evnet(env: dict, args, out_dir: Path) -> dict:
    return run_server([sys.executable, "-m", "apps.ocpp.server", "evnet.asgi:application"], env, args, out_dir,
                      "evnet")


def best_step(result: dict) -> dict | None:
    """The highest offered rate sustained (≥ 95 % achieved) at p99 < target."""
    good = [s for s in result["steps"] if s["msg_per_s"] >= 0.95 * s["offered"] and s["p99_ms"] < TARGET_P99_MS]
    return max(good, key=lambda s: s["msg_per_s"]) if good else None


def report(results: dict, args) -> None:
    print("\n=== summary ===")
    for label, result in results.items():
        best = best_step(result)
        top = max(result["steps"], key=lambda s: s["msg_per_s"]) if result["steps"] else None
        print(f"{label}: sustained {best['msg_per_s']:.0f} msg/s at p99 {best['p99_ms']:.1f} ms" if best else
              f"{label}: no offered rate sustained at p99 < {TARGET_P99_MS} ms")
        if top:
            print(f"{label}: peak {top['msg_per_s']:.0f} msg/s (offered {top['offered']}) at p50 "
                  f"{top['p50_ms']:.1f} ms, p99 {top['p99_ms']:.1f} ms")
        print(f"{label}: {result['held']}/{result['connections']} connections held, heartbeats answered "
              f"{result['heartbeats'][0]['answered']} + {result['heartbeats'][1]['answered']}")
        if "profile" in result and result["profile"].get("inclusive"):
            print(f"{label}: where the daphne process spends its time at {args.profile_rate} msg/s offered "
                  f"({result['profile']['samples']} samples), inclusive:")
            for key, share in result["profile"]["inclusive"]:
                print(f"    {share:5.1f}%  {key}")
            print(f"{label}: self time:")
            for key, share in result["profile"]["self"]:
                print(f"    {share:5.1f}%  {key}")
    for label, result in results.items():
        best = best_step(result)
        print(f"bench: {label}_meter_values_sustained {best['msg_per_s'] if best else 0:.0f} msg/s "
              f"(target {TARGET_RATE} at p99 < {TARGET_P99_MS} ms)")
        if best:
            print(f"bench: {label}_meter_values_p99_at_sustained {best['p99_ms']:.1f} ms (target < {TARGET_P99_MS})")
            print(f"bench: {label}_meter_values_p50_at_sustained {best['p50_ms']:.1f} ms (target < {TARGET_P99_MS})")
        top = max(result["steps"], key=lambda s: s["msg_per_s"]) if result["steps"] else None
        if top:
            print(f"bench: {label}_meter_values_peak {top['msg_per_s']:.0f} msg/s (target {TARGET_RATE})")
            print(f"bench: {label}_server_cpu_per_message_at_peak {top['server_cpu_ms_per_msg']:.2f} ms "
                  f"(target < {1000 / TARGET_RATE:.2f} for {TARGET_RATE} msg/s on one core)")
            print(f"bench: {label}_load_average_at_peak {top['load_average']:.1f} (2 cores)")
        print(f"bench: {label}_connections_held {result['held']} connections (target {TARGET_CONNECTIONS})")
        print(f"bench: {label}_heartbeats_answered {result['heartbeats'][1]['answered']} heartbeats "
              f"(target {TARGET_CONNECTIONS})")
        if "persisted_meter_samples" in result:
            print(f"bench: {label}_meter_samples_persisted {result['persisted_meter_samples']} rows "
                  f"(target {6 * sum(s['answered'] for s in result['steps'])})")


if __name__ == "__main__":
    main()
