"""The consumer's side of contract 1, played on the real channel layer: joins a station's group, records every
message and answers each `ocpp.command` the way the OCPP consumer does after talking to its charger. This is the
contract between engineers, not a mock of evnet code; the two-process test uses the real consumer."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from channels.layers import get_channel_layer

from apps.stations.selectors import station_group_name

CANCEL_GRACE_S = 10


def accepted(message: dict) -> dict:
    return {"ok": True, "payload": {"status": "Accepted"}, "error": None}


class ConsumerSide:
    def __init__(self, ocpp_id: str, answer: Callable[[dict], dict | None] = accepted):
        self.ocpp_id = ocpp_id
        self.answer = answer
        self.received: list[dict] = []

    async def __aenter__(self) -> "ConsumerSide":
        self.layer = get_channel_layer()
        self.channel = await self.layer.new_channel("test.consumer.")
        await self.layer.group_add(station_group_name(ocpp_id=self.ocpp_id), self.channel)
        self.task = asyncio.create_task(self._serve())
        return self

    async def _serve(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            self.received.append(message)
            if message.get("type") != "ocpp.command":
                continue
            reply = self.answer(message)
            if reply is None:
                continue  # a consumer that has gone away
            await self.layer.send(message["reply_channel"], {
                "type": "ocpp.command.reply", "request_id": message["request_id"], **reply})

    async def __aexit__(self, *exc) -> None:
        self.task.cancel()
        try:
            # A cancelled receive() must end; one that does not (a lost cancellation, see CHANNEL_LAYERS in
            # evnet/settings/base.py) fails here at once instead of hanging the suite.
            async with asyncio.timeout(CANCEL_GRACE_S):
                await self.task
        except asyncio.CancelledError:
            pass
        except TimeoutError:
            raise AssertionError(f"the receive loop of {self.ocpp_id} ignored its cancellation") from None
        await self.layer.group_discard(station_group_name(ocpp_id=self.ocpp_id), self.channel)

    @property
    def commands(self) -> list[dict]:
        return [m for m in self.received if m.get("type") == "ocpp.command"]
