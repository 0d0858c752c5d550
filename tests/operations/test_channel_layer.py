"""A receive() on the Redis channel layer ends when it is cancelled, whenever the cancellation lands.

Every consumer that closes and every command_send that reaches its deadline cancels a receive. With a redis-py
socket_timeout, each Redis write went through asyncio.wait_for, which on Python 3.11 loses a cancellation that
lands while the write completes: the receive then blocked in BZPOPMIN forever, and so did whoever awaited it (the
intermittent CI hang of test_command_send.py). The cancellation is sent at varying moments just after a
command/reply round trip, where it most often met a write in flight; before the fix one of the first few rounds
hung."""
from __future__ import annotations

import asyncio

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers

pytestmark = pytest.mark.redis

ROUNDS = 60
# Delays after the reply before the cancel, in seconds: at once, and within the few loop turns a write takes.
DELAYS = (0, 0, 0.0005, 0.001, 0.003)


async def test_a_cancelled_receive_always_ends(redis_url):
    consumer_layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    caller_layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    group = "test.cancel-receive"
    try:
        for round_number in range(ROUNDS):
            channel = await consumer_layer.new_channel("test.consumer.")
            await consumer_layer.group_add(group, channel)

            async def serve():
                while True:
                    message = await consumer_layer.receive(channel)
                    await consumer_layer.send(message["reply_channel"], {"type": "test.reply"})

            task = asyncio.create_task(serve())
            reply_channel = await caller_layer.new_channel("test.reply.")
            await caller_layer.group_send(group, {"type": "test.command", "reply_channel": reply_channel})
            assert (await asyncio.wait_for(caller_layer.receive(reply_channel), 10))["type"] == "test.reply"
            await asyncio.sleep(DELAYS[round_number % len(DELAYS)])
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=10)
            assert done, f"round {round_number}: the cancelled receive is still running"
            assert task.cancelled()
            await consumer_layer.group_discard(group, channel)
    finally:
        await consumer_layer.close_pools()
        await caller_layer.close_pools()
