"""The benchmark's baseline: a plain Channels `AsyncWebsocketConsumer` driving the `ocpp` library's `ChargePoint`
(the library's own routing and schema validation), answering from memory — no database, no channel layer.

    daphne -b 127.0.0.1 -p 8100 bench.baseline_asgi:application

This is how most OCPP servers on Django start (the `ocpp` examples adapted to Channels); bench/ocpp_load.py runs it
next to evnet in the same run so the figures compare like with like on the same (shared) machine."""
from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone

import django
from django.conf import settings

if not settings.configured:
    settings.configure(DEBUG=False, CHANNEL_LAYERS={}, INSTALLED_APPS=["channels"], USE_TZ=True)
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402
from ocpp.routing import on  # noqa: E402
from ocpp.v16 import ChargePoint, call_result  # noqa: E402
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus  # noqa: E402

_transaction_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class MemoryChargePoint(ChargePoint):
    @on(Action.boot_notification)
    def on_boot(self, **payload):
        return call_result.BootNotification(current_time=_now(), interval=300, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self, **payload):
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status(self, **payload):
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag, **payload):
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.start_transaction)
    def on_start(self, **payload):
        return call_result.StartTransaction(transaction_id=next(_transaction_ids),
                                            id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.stop_transaction)
    def on_stop(self, **payload):
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def on_meter_values(self, **payload):
        return call_result.MeterValues()


class _Connection:
    """What ChargePoint expects of a websocket (recv/send), fed by the consumer."""

    def __init__(self, consumer: "BaselineConsumer"):
        self.consumer = consumer
        self.inbox: asyncio.Queue[str] = asyncio.Queue()

    async def recv(self) -> str:
        return await self.inbox.get()

    async def send(self, text: str) -> None:
        await self.consumer.send(text_data=text)


class BaselineConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        if "ocpp1.6" not in self.scope.get("subprotocols", []):
            await self.close()
            return
        self.connection = _Connection(self)
        station_id = self.scope["url_route"]["kwargs"]["station_id"]
        self.point = MemoryChargePoint(station_id, self.connection)
        self.runner = asyncio.ensure_future(self.point.start())
        await self.accept(subprotocol="ocpp1.6")

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is not None:
            self.connection.inbox.put_nowait(text_data)

    async def disconnect(self, code):
        runner = getattr(self, "runner", None)
        if runner is not None:
            runner.cancel()


application = ProtocolTypeRouter({
    "websocket": URLRouter([re_path(r"^ocpp/(?P<station_id>[^/]+)/?$", BaselineConsumer.as_asgi())]),
})
