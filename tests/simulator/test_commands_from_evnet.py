"""The simulator obeys commands that evnet sends from another process: a live daphne holds the simulated charger's
socket, and `apps.operations.services.commands.command_send` runs in a separate Python process (as an admin action
or a Celery task would), reaching the socket through the Redis channel layer (contract 1). A charging profile
limits the power the charger then reports; a remote stop ends the session with reason Remote. Needs Redis (CI)."""
from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from apps.simulator.charger import CarModel, ChargerConfig, SimulatedCharger
from tests.live_daphne import ROOT, LiveDaphne, live_daphne, python_run, server_env
from tests.simulator.test_against_evnet import SETUP, sessions

PASSWORD = "sim-live-secret"

SEND = """
import json, sys, django
django.setup()
from apps.operations.services.commands import command_send
from apps.stations.models import ChargingStation
station = ChargingStation.objects.get(ocpp_id=sys.argv[1])
print(json.dumps(command_send(station=station, action=sys.argv[2], payload=json.loads(sys.argv[3]), timeout=20)))
"""


@pytest.fixture(scope="module")
def evnet_on_redis(tmp_path_factory):
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        if os.environ.get("EVNET_REQUIRE_SERVICES"):
            pytest.fail("REDIS_URL is not set but this run requires Redis")
        pytest.skip("REDIS_URL not set: commands across processes need the Redis channel layer (CI runs it)")
    var = tmp_path_factory.mktemp("sim-redis")
    env = server_env(var=var, redis_url=redis_url)
    python_run(env=env, script=SETUP)
    with live_daphne(env=env, log=var / "daphne.log") as server:
        yield server


async def send_from_another_process(server: LiveDaphne, ocpp_id: str, action: str, payload: dict) -> dict:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SEND, ocpp_id, action, json.dumps(payload), cwd=ROOT, env=server.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])


def last_power(charger: SimulatedCharger) -> int:
    return charger.connectors[1].power_w


async def test_profile_and_remote_stop_sent_from_another_process_reach_the_simulated_charger(evnet_on_redis):
    charger = SimulatedCharger(ChargerConfig(ocpp_id="SIM-LIVE-1", url=evnet_on_redis.ocpp_url, password=PASSWORD,
                                             meter_interval_s=0.3, max_power_w=11_000))
    stop = asyncio.Event()
    runner = asyncio.create_task(charger.run(stop))
    try:
        await charger.wait_booted(timeout=20)
        transaction_id = await charger.plug_in(id_tag="SIMCARD01", car=CarModel(max_power_w=11_000))
        assert transaction_id is not None
        await asyncio.sleep(0.7)
        assert last_power(charger) == 11_000
        profile = {"chargingProfileId": 7, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                   "chargingProfileKind": "Relative", "transactionId": transaction_id,
                   "chargingSchedule": {"chargingRateUnit": "W",
                                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3680.0}]}}
        answer = await send_from_another_process(evnet_on_redis, "SIM-LIVE-1", "SetChargingProfile",
                                                 {"connectorId": 1, "csChargingProfiles": profile})
        assert answer == {"status": "Accepted"}
        await asyncio.sleep(0.7)
        assert last_power(charger) == 3680
        refused = await send_from_another_process(evnet_on_redis, "SIM-LIVE-1", "RemoteStopTransaction",
                                                  {"transactionId": transaction_id + 1000})
        assert refused == {"status": "Rejected"}
        stopped = await send_from_another_process(evnet_on_redis, "SIM-LIVE-1", "RemoteStopTransaction",
                                                  {"transactionId": transaction_id})
        assert stopped == {"status": "Accepted"}
        for _ in range(100):
            if charger.connectors[1].transaction_id is None and charger.connectors[1].status == "Available":
                break
            await asyncio.sleep(0.05)
        meter_stop = charger.connectors[1].register_int_wh
    finally:
        stop.set()
        await asyncio.wait_for(runner, 20)
    assert ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}) in charger.received_calls
    row = [s for s in sessions(evnet_on_redis) if s["id"] == transaction_id][0]
    assert row["state"] == "completed" and row["stop_reason"] == "Remote"
    assert row["energy_wh"] == meter_stop > 0
