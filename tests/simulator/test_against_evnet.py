"""The simulator against evnet's real server: a live daphne (`python -m apps.ocpp.server`, as run_evnet and
production start it) with stations and a card registered by the provisioning commands. A simulated charger boots,
charges and stops, and the session row shows the energy it reported. The server runs on its own SQLite file (the
suite's test database is not visible to another process on SQLite); the rows are read back through Django in a
subprocess on that file."""
from __future__ import annotations

import asyncio
import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.simulator.charger import CarModel, ChargerConfig, SimulatedCharger
from tests.live_daphne import LiveDaphne, live_daphne, python_run, server_env

PASSWORD = "sim-live-secret"

SETUP = f"""
import django
django.setup()
from decimal import Decimal
from django.core.management import call_command
call_command("migrate", verbosity=0)
from apps.organizations.models import Organization
from apps.sites.models import Site
org = Organization.objects.create(name="Sim garage", slug="sim-garage", kind="condominium", country="PT")
Site.objects.create(organization=org, name="Garagem Sim", address="Rua 1", city="Lisboa", country="PT",
                    latitude=Decimal("38.7"), longitude=Decimal("-9.1"), time_zone="Europe/Lisbon", currency="EUR")
for ocpp_id in ("SIM-LIVE-1", "SIM-LIVE-2", "SIM-LIVE-3"):
    call_command("register_station", ocpp_id, "--site", "Garagem Sim", "--password", "{PASSWORD}",
                 "--connectors", "1", "--max-power-w", "11000")
call_command("register_card", "SIMCARD01", "--organization", "sim-garage")
"""

READ_SESSIONS = """
import json, django
django.setup()
from apps.charging.models import ChargingSession, MeterValue
out = []
for s in ChargingSession.objects.select_related("station").order_by("pk"):
    out.append({"id": s.pk, "station": s.station.ocpp_id, "state": s.state, "id_tag_uid": s.id_tag_uid,
                "meter_start_wh": s.meter_start_wh, "meter_stop_wh": s.meter_stop_wh, "energy_wh": s.energy_wh,
                "stop_reason": s.stop_reason,
                "meter_values": MeterValue.objects.filter(session=s).count()})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def evnet_server(tmp_path_factory):
    var = tmp_path_factory.mktemp("sim-live")
    env = server_env(var=var)
    python_run(env=env, script=SETUP)
    with live_daphne(env=env, log=var / "daphne.log") as server:
        yield server


def sessions(server: LiveDaphne) -> list[dict]:
    return json.loads(python_run(env=server.env, script=READ_SESSIONS, timeout=120).strip().splitlines()[-1])


async def test_simulated_charger_boots_charges_and_stops_and_the_session_has_its_energy(evnet_server):
    charger = SimulatedCharger(ChargerConfig(ocpp_id="SIM-LIVE-1", url=evnet_server.ocpp_url, password=PASSWORD,
                                             meter_interval_s=0.3, max_power_w=11_000))
    stop = asyncio.Event()
    runner = asyncio.create_task(charger.run(stop))
    try:
        await charger.wait_booted(timeout=20)
        assert charger.registration_status == "Accepted"
        transaction_id = await charger.plug_in(id_tag="SIMCARD01", car=CarModel(max_power_w=11_000))
        assert transaction_id is not None
        await asyncio.sleep(1.5)
        stopped = await charger.unplug()
        meter_stop = charger.connectors[1].register_int_wh
    finally:
        stop.set()
        await asyncio.wait_for(runner, 20)
    assert stopped is not None and charger.errors == []
    rows = [s for s in sessions(evnet_server) if s["id"] == transaction_id]
    assert rows, f"no session {transaction_id}"
    row = rows[0]
    assert row["station"] == "SIM-LIVE-1" and row["id_tag_uid"] == "SIMCARD01"
    assert row["state"] == "completed" and row["stop_reason"] == "EVDisconnected"
    assert (row["meter_start_wh"], row["meter_stop_wh"]) == (0, meter_stop)
    assert row["energy_wh"] == meter_stop > 0  # 11 kW for ~1.5 s ≈ 4-5 Wh
    assert row["meter_values"] >= 3 * 6  # ≥ 3 MeterValues of 6 samples (energy, power, 3 currents, voltage)


async def test_unknown_card_is_refused_by_evnet_and_no_session_is_opened(evnet_server):
    charger = SimulatedCharger(ChargerConfig(ocpp_id="SIM-LIVE-2", url=evnet_server.ocpp_url, password=PASSWORD))
    stop = asyncio.Event()
    runner = asyncio.create_task(charger.run(stop))
    try:
        await charger.wait_booted(timeout=20)
        assert await charger.plug_in(id_tag="NOSUCHCARD") is None
    finally:
        stop.set()
        await asyncio.wait_for(runner, 20)
    assert not [s for s in sessions(evnet_server) if s["station"] == "SIM-LIVE-2"]


async def test_wrong_password_never_boots_against_evnet(evnet_server):
    charger = SimulatedCharger(ChargerConfig(ocpp_id="SIM-LIVE-2", url=evnet_server.ocpp_url, password="wrong",
                                             reconnect_min_s=0.2, reconnect_max_s=0.4))
    stop = asyncio.Event()
    runner = asyncio.create_task(charger.run(stop))
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.wait_for(runner, 20)
    assert not charger.is_booted and charger.connects == 0
    assert any("HTTP 401" in error for error in charger.errors)


def test_simulate_chargers_command_charges_and_stops_cleanly_at_the_end(evnet_server):
    out = StringIO()
    call_command("simulate_chargers", url=evnet_server.ocpp_url, ids="SIM-LIVE-3", password=PASSWORD,
                 id_tag="SIMCARD01", meter_interval=0.3, duration=3, stdout=out)
    text = out.getvalue()
    assert "1/1 connected, 1 accepted at boot" in text
    assert "SIM-LIVE-3#1: charging, transaction" in text
    stopped = [line for line in text.splitlines() if "stopped transaction" in line]
    assert len(stopped) == 1
    energy = int(stopped[0].split(" at ")[1].split(" Wh")[0])
    row = [s for s in sessions(evnet_server) if s["station"] == "SIM-LIVE-3"][-1]
    assert row["state"] == "completed" and row["energy_wh"] == energy and row["stop_reason"] == "Local"


def test_simulate_chargers_refuses_bad_arguments():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Invalid station id 'bad id'"):
        call_command("simulate_chargers", ids="bad id", duration=1)
    with pytest.raises(CommandError, match="--url must start with ws:// or wss://"):
        call_command("simulate_chargers", url="http://127.0.0.1:8000/ocpp", duration=1)
    with pytest.raises(CommandError, match="--ids names 2 stations but --count is 3"):
        call_command("simulate_chargers", ids="A,B", count=3, duration=1)
