"""The benchmark's floor: a bare ASGI application under plain daphne that parses each frame with ujson and answers
from memory — no Django, no Channels, no validation, no database, no channel layer.

    daphne -b 127.0.0.1 -p 8100 bench.floor_asgi:application

Issue 4 quotes such an app ("a bare ASGI app under daphne (json only)") as the ceiling of a daphne-based design on
this kind of machine. bench/ocpp_load.py runs it with `--floor` in the same run as evnet: what daphne, Twisted and
autobahn cost per message here, and so how far any work evnet adds (validation, group commit, PostgreSQL) can go."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import ujson

_transaction_ids = itertools.count(1)
_ACCEPTED = {"status": "Accepted"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _answer(action: str, payload: dict) -> dict:
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": _now(), "interval": 300}
    if action == "Heartbeat":
        return {"currentTime": _now()}
    if action == "Authorize":
        return {"idTagInfo": _ACCEPTED}
    if action == "StartTransaction":
        return {"transactionId": next(_transaction_ids), "idTagInfo": _ACCEPTED}
    return {}


async def application(scope, receive, send) -> None:
    if scope["type"] != "websocket":
        return
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept", "subprotocol": "ocpp1.6"})
        elif kind == "websocket.receive":
            frame = ujson.loads(message.get("text") or "[]")
            if len(frame) == 4 and frame[0] == 2:
                await send({"type": "websocket.send", "text": ujson.dumps([3, frame[1], _answer(frame[2], frame[3])])})
        elif kind == "websocket.disconnect":
            return
