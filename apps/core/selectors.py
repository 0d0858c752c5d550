"""Readiness checks: can this process reach what it needs to serve?"""
from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection


def database_problem() -> str | None:
    """None when a query round-trips to the database, else the reason."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any driver error means "not ready"; we report it, not raise it
        return f"database: {exc.__class__.__name__}: {exc}".strip()
    return None


async def _channel_layer_round_trip(timeout_s: float) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # The whole round trip is bounded, not only the receive: the Redis connection has no socket timeout (see
    # CHANNEL_LAYERS in settings), so a Redis that accepts the connection but never answers would block the send.
    async with asyncio.timeout(timeout_s):
        channel = await layer.new_channel("readyz.")
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "readyz.ping", "token": token})
        message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned a different message")


def channel_layer_problem(timeout_s: float = 2.0) -> str | None:
    """None when a message sent on the channel layer comes back, else the reason."""
    try:
        async_to_sync(_channel_layer_round_trip)(timeout_s)
    except Exception as exc:  # noqa: BLE001 - connection refused, timeout, auth: all mean "not ready"
        return f"channel layer: {exc.__class__.__name__}: {exc}".strip()
    return None
