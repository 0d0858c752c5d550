"""Run N simulated OCPP 1.6J chargers against a central system (evnet or any other) on one asyncio event loop."""
from __future__ import annotations

import asyncio
import logging
import random
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.simulator.charger import CarModel, ChargerConfig, SimulatedCharger, run_chargers
from apps.stations.models import ocpp_id_validator


class Command(BaseCommand):
    help = ("Simulate OCPP 1.6J chargers: each boots, reports its connectors, heartbeats, and — with --id-tag — "
            "authorizes the card, charges a car with realistic meter values and stops. They obey remote "
            "start/stop, reset, unlock, availability, charging profiles, trigger and configuration commands, and "
            "reconnect with backoff. Ctrl-C (or --duration) stops open transactions and disconnects.")

    def add_arguments(self, parser):
        parser.add_argument("--url", default="ws://127.0.0.1:8000/ocpp",
                            help="Base URL; each charger connects to <url>/<station id>.")
        parser.add_argument("--count", type=int, default=1, help="Number of chargers (default 1).")
        parser.add_argument("--ids", default="",
                            help="Comma-separated station ids (e.g. ZCS031974,ZPR150666); the count defaults to "
                                 "their number. Without it: SIM00001, SIM00002, …")
        parser.add_argument("--prefix", default="SIM", help="Prefix of generated ids when --ids is not given.")
        parser.add_argument("--password", default=None,
                            help="HTTP Basic password (default: EVNET_DEMO_STATION_PASSWORD, the demo stations').")
        parser.add_argument("--no-password", action="store_true", help="Connect without HTTP Basic auth.")
        parser.add_argument("--meter-interval", type=float, default=60.0,
                            help="Seconds between MeterValues while charging (default 60).")
        parser.add_argument("--heartbeat-interval", type=float, default=None,
                            help="Override the heartbeat interval the server gives at boot (seconds).")
        parser.add_argument("--duration", type=float, default=None,
                            help="Stop after this many seconds (default: run until Ctrl-C).")
        parser.add_argument("--id-tag", default=None,
                            help="Card uid each charger presents after booting to start charging. Without it the "
                                 "chargers wait for RemoteStartTransaction.")
        parser.add_argument("--session-seconds", type=float, default=None,
                            help="Unplug after this many seconds of charging (default: charge until the end).")
        parser.add_argument("--connectors", type=int, default=1)
        parser.add_argument("--current-type", choices=["AC", "DC", "HPC"], default="AC")
        parser.add_argument("--max-power-w", type=int, default=None,
                            help="Charger power (default 11000 W for AC, 50000 W for DC, 150000 W for HPC).")
        parser.add_argument("--battery-wh", type=int, default=52_000, help="Battery of the simulated car.")
        parser.add_argument("--soc", type=float, default=35.0, help="State of charge (%%) of the car at plug-in.")
        parser.add_argument("--ramp", type=float, default=200.0, help="New connections per second.")

    def handle(self, *args, **options):
        ids = [part.strip() for part in options["ids"].split(",") if part.strip()]
        count = options["count"] if not ids or options["count"] != 1 else len(ids)
        if count < 1:
            raise CommandError("--count must be at least 1.")
        if ids and len(ids) != count:
            raise CommandError(f"--ids names {len(ids)} stations but --count is {count}.")
        if not ids:
            ids = [f"{options['prefix']}{n:05d}" for n in range(1, count + 1)]
        for station_id in ids:
            try:
                ocpp_id_validator(station_id)
            except Exception as exc:  # noqa: BLE001 - Django's ValidationError; report it as a command error
                raise CommandError(f"Invalid station id {station_id!r}: {' '.join(exc.messages)}") from exc
        if not options["url"].startswith(("ws://", "wss://")):
            raise CommandError(f"--url must start with ws:// or wss:// (got {options['url']!r}).")
        if options["meter_interval"] <= 0:
            raise CommandError("--meter-interval must be positive.")
        if options["connectors"] < 1:
            raise CommandError("--connectors must be at least 1.")
        if not 0 <= options["soc"] <= 100:
            raise CommandError("--soc is a percentage between 0 and 100.")
        password = None if options["no_password"] else (options["password"] or settings.EVNET_DEMO_STATION_PASSWORD)
        default_power = {"AC": 11_000, "DC": 50_000, "HPC": 150_000}[options["current_type"]]
        max_power_w = options["max_power_w"] or default_power
        if max_power_w <= 0:
            raise CommandError("--max-power-w must be a positive number of watts.")
        chargers = [
            SimulatedCharger(ChargerConfig(
                ocpp_id=station_id, url=options["url"], password=password, connectors=options["connectors"],
                current_type=options["current_type"], max_power_w=max_power_w,
                meter_interval_s=options["meter_interval"], heartbeat_interval_s=options["heartbeat_interval"],
            ))
            for station_id in ids
        ]
        if options["verbosity"] >= 2:
            logging.getLogger("evnet.simulator").setLevel(logging.INFO)
        self.stdout.write(f"Simulating {len(chargers)} charger(s) against {options['url']}/<id>"
                          + (f" for {options['duration']:.0f} s" if options["duration"] else " (Ctrl-C stops)"))
        asyncio.run(self._run(chargers, options))

    async def _run(self, chargers: list[SimulatedCharger], options) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = asyncio.create_task(run_chargers(chargers, stop=stop, ramp_per_s=options["ramp"]))
        drivers = [asyncio.create_task(self._drive(charger, options, stop)) for charger in chargers]
        if options["duration"]:
            try:
                await asyncio.wait_for(stop.wait(), options["duration"])
            except asyncio.TimeoutError:
                pass
        else:
            await stop.wait()
        for driver in drivers:
            driver.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        # A clean end: close open transactions before disconnecting, so the server's sessions end with the energy.
        await asyncio.gather(*(self._finish(charger) for charger in chargers), return_exceptions=True)
        stop.set()
        await runner
        self._summary(chargers)

    async def _drive(self, charger: SimulatedCharger, options, stop: asyncio.Event) -> None:
        if not options["id_tag"]:
            return
        while not charger.is_booted:
            await asyncio.sleep(0.2)
        await asyncio.sleep(random.uniform(0, min(5.0, options["meter_interval"])))
        for connector_id in charger.connectors:
            car = CarModel(battery_wh=options["battery_wh"], soc_percent=options["soc"],
                           max_power_w=charger.config.max_power_w)
            transaction_id = await charger.plug_in(connector_id=connector_id, id_tag=options["id_tag"], car=car)
            if transaction_id is None:
                self.stdout.write(self.style.WARNING(
                    f"{charger.config.ocpp_id}#{connector_id}: card {options['id_tag']} was refused"))
            else:
                self.stdout.write(f"{charger.config.ocpp_id}#{connector_id}: charging, transaction {transaction_id}")
        if options["session_seconds"]:
            await asyncio.sleep(options["session_seconds"])
            for connector_id, state in charger.connectors.items():
                if state.transaction_id is not None:
                    transaction_id = state.transaction_id
                    await charger.unplug(connector_id=connector_id)
                    self.stdout.write(f"{charger.config.ocpp_id}#{connector_id}: stopped transaction "
                                      f"{transaction_id} at {state.register_int_wh} Wh")

    async def _finish(self, charger: SimulatedCharger) -> None:
        if not charger.is_booted:
            return
        for connector_id, state in charger.connectors.items():
            if state.transaction_id is not None:
                transaction_id = state.transaction_id
                await asyncio.wait_for(charger.unplug(connector_id=connector_id, reason="Local"), 10)
                self.stdout.write(f"{charger.config.ocpp_id}#{connector_id}: stopped transaction {transaction_id} "
                                  f"at {state.register_int_wh} Wh")

    def _summary(self, chargers: list[SimulatedCharger]) -> None:
        connected = sum(1 for c in chargers if c.connects)
        booted = sum(1 for c in chargers if c.registration_status == "Accepted")
        heartbeats = sum(c.heartbeats_answered for c in chargers)
        self.stdout.write(f"{connected}/{len(chargers)} connected, {booted} accepted at boot, "
                          f"{heartbeats} heartbeats answered")
        for charger in chargers:
            for error in charger.errors[-3:]:
                self.stdout.write(self.style.WARNING(f"{charger.config.ocpp_id}: {error}"))
