"""The channel-layer side of every OCPP socket a process holds: one receiver per process, not one per socket.

Each station has a channel-layer group (`apps.stations.selectors.station_group_name`) that commands and "close
your socket" requests are published to (contract 1, apps/operations/services/commands.py). The process holding
a station's socket is a member of that group with ONE channel of its own, its hub's, rather than one channel per
socket; every event names its station (`ocpp_id`) and the hub hands it to the connection holding that station.

Why not Channels' consumer model (a channel and a `channel_layer.receive()` per socket): with channels_redis all
those receivers of one process contend for one lock and re-arm two tasks each every time a message arrives, and
with thousands of chargers connecting that bookkeeping alone saturated the event loop (bench/README.md: 464 of
10,000 chargers booted in 150 s, 100 % of the loop in `RedisChannelLayer.receive`). One receiver costs the same
whatever the number of sockets.

Groups expire in the channel layer (`group_expiry`, one day by default) while chargers stay connected for weeks,
so the hub renews its memberships every quarter of that."""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from channels.layers import get_channel_layer

from apps.stations.selectors import station_group_name

logger = logging.getLogger("apps.ocpp")

RETRY_AFTER_ERROR_S = 1.0


class HubConnection(Protocol):
    """What the hub needs of a connection (apps.ocpp.connection.OcppConnection)."""

    ocpp_id: str
    name: str

    def command_enqueue(self, event: dict) -> None: ...

    def close_requested(self, reason: str) -> None: ...


class StationHub:
    """One per event loop. `attach()` a connection once its handshake is admitted, `detach()` it when it closes."""

    def __init__(self, layer):
        self.layer = layer
        self.channel = ""
        self.connections: dict[str, HubConnection] = {}
        self._loop = asyncio.get_running_loop()
        self._start_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    async def ready(self) -> str:
        """The hub's channel name, once its receiver runs."""
        if self.channel:
            return self.channel
        async with self._start_lock:
            if not self.channel:
                # The layer's default prefix on purpose: channels_redis serves every process-local channel of a
                # layer (this one and the reply channels of commands sent from this process) from one Redis list
                # under one receive lock; a channel with another prefix would hold that lock on a list of its own
                # and starve the others' receive() for up to 5 s per round.
                channel = await self.layer.new_channel()
                self._tasks = [self._loop.create_task(self._receive_forever(channel), name="evnet-ocpp-hub"),
                               self._loop.create_task(self._renew_forever(), name="evnet-ocpp-hub-renew")]
                self.channel = channel
        return self.channel

    async def attach(self, connection: HubConnection, *, reason: str) -> None:
        """Make `connection` the station's socket: close an older socket of the station on this process at once and
        ask every other process to close theirs, then join the station's group."""
        channel = await self.ready()
        previous = self.connections.get(connection.ocpp_id)
        self.connections[connection.ocpp_id] = connection
        if previous is not None and previous is not connection:
            previous.close_requested(reason)
        group = station_group_name(ocpp_id=connection.ocpp_id)
        await self.layer.group_send(group, {"type": "ocpp.disconnect", "ocpp_id": connection.ocpp_id,
                                            "except_connection": connection.name, "reason": reason})
        await self.layer.group_add(group, channel)

    async def detach(self, connection: HubConnection) -> None:
        """`connection` closed. Leave the station's group unless a newer socket of the station is here."""
        if self.connections.get(connection.ocpp_id) is not connection:
            return
        del self.connections[connection.ocpp_id]
        await self.layer.group_discard(station_group_name(ocpp_id=connection.ocpp_id), self.channel)

    def dispatch(self, message: dict) -> None:
        connection = self.connections.get(message.get("ocpp_id") or "")
        if connection is None:
            # The station's socket is on another process (this one's membership is stale) or gone: whoever holds
            # it answers; a caller of a station nobody holds gets its timeout.
            return
        kind = message.get("type")
        if kind == "ocpp.command":
            connection.command_enqueue(message)
        elif kind == "ocpp.disconnect":
            if message.get("except_connection") != connection.name:
                connection.close_requested(str(message.get("reason") or "asked to close"))
        else:
            logger.warning("OCPP hub: unknown message type %r for %s", kind, connection.ocpp_id)

    async def _receive_forever(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a channel-layer outage must not end command delivery for good
                logger.exception("OCPP hub: receiving from the channel layer failed; retrying")
                await asyncio.sleep(RETRY_AFTER_ERROR_S)
                continue
            try:
                self.dispatch(message)
            except Exception:  # noqa: BLE001 - one bad event must not stop the others
                logger.exception("OCPP hub: could not dispatch %.200r", message)

    async def _renew_forever(self) -> None:
        interval = max(60.0, float(getattr(self.layer, "group_expiry", 86400)) / 4)
        while True:
            await asyncio.sleep(interval)
            await self.renew()

    async def renew(self) -> int:
        """Re-join the group of every station held here (resets the layer's group expiry). Returns how many."""
        renewed = 0
        for ocpp_id in list(self.connections):
            try:
                await self.layer.group_add(station_group_name(ocpp_id=ocpp_id), self.channel)
                renewed += 1
            except Exception:  # noqa: BLE001 - try the others; the next round retries this one
                logger.exception("OCPP hub: could not renew the group of %s", ocpp_id)
        return renewed

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass
        self._tasks = []


_hubs: dict[asyncio.AbstractEventLoop, StationHub] = {}


def hub_get() -> StationHub:
    """The hub of the running event loop (created on first use, on the default channel layer)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for other in [other for other in _hubs if other.is_closed()]:  # loops of finished tests
            del _hubs[other]
        hub = _hubs[loop] = StationHub(get_channel_layer())
    return hub


async def hubs_stop() -> None:
    """Stop the hub of the running loop (tests, shutdown)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.stop()
