"""evnet's real server in a process of its own, for the end-to-end tests (tests/ocpp, tests/operations,
tests/simulator): started the way run_evnet and production start it (`python -m apps.ocpp.server`, daphne plus the
denial extension and the writer flush on shutdown), ready once /healthz answers, and always stopped (SIGTERM, then
SIGKILL) when the block ends, so no server outlives its test and keeps a database connection open."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20


@dataclass
class LiveDaphne:
    port: int
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(*, var: Path, database_url: str | None = None, redis_url: str = "", **extra: str) -> dict[str, str]:
    """The environment of a server process: test settings, its own var/ directory, and by default its own SQLite
    file (the suite's test database is not visible to another process on SQLite) and the in-memory channel layer."""
    var.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "evnet.settings.test", "EVNET_VAR_DIR": str(var),
            "DATABASE_URL": database_url or f"sqlite:///{var / 'live.sqlite3'}", "REDIS_URL": redis_url,
            "EVNET_LOG_LEVEL": "WARNING", **extra}


def python_run(*, env: dict[str, str], script: str, args: tuple[str, ...] = (), timeout: float = 300) -> str:
    """Run a Python snippet in a process of its own with `env` (set up or read back a server's database) and return
    its standard output; a failure raises with the snippet's standard error."""
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"python snippet failed ({done.returncode}): {done.stderr[-3000:]}")
    return done.stdout


def station_setup_script(*, ocpp_id: str, password: str, name: str) -> str:
    """A Python snippet for `python_run` that migrates a server's database and registers one AC station
    (connector 1, 7.4 kW) with `password`, in an organization and garage called `name`."""
    return f"""
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from decimal import Decimal
from apps.organizations.models import Organization
from apps.sites.models import Site
from apps.stations.services import station_register
org = Organization.objects.create(name="{name}", slug="{name.lower()}", kind="condominium", country="PT")
site = Site.objects.create(organization=org, name="{name} garage", address="Rua 1", city="Lisboa", country="PT",
                           latitude=Decimal("38.7"), longitude=Decimal("-9.1"), time_zone="Europe/Lisbon",
                           currency="EUR")
station_register(ocpp_id="{ocpp_id}", site=site, password="{password}", max_power_w=7400,
                 connectors=[{{"connector_id": 1, "max_power_w": 7400}}])
"""


def _wait_healthy(server: LiveDaphne) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"daphne on {server.port} exited with {server.process.returncode}: "
                               f"{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.http_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"daphne on {server.port} did not answer /healthz in {START_TIMEOUT_S} s: {server.log_tail()}")


def daphne_stop(server: LiveDaphne) -> int:
    """SIGTERM (a clean shutdown flushes the OCPP writer), SIGKILL if it does not end in time; the exit code."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    return server.process.returncode


@contextmanager
def live_daphne(*, env: dict[str, str], log: Path) -> Iterator[LiveDaphne]:
    """evnet's server on a free port of 127.0.0.1 with `env`, its output in `log`; stopped when the block ends."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "apps.ocpp.server", "-b", "127.0.0.1", "-p", str(port),
                                    "evnet.asgi:application"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = LiveDaphne(port=port, env=env, process=process, log=log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        daphne_stop(server)
