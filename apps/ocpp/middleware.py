"""ASGI admission for OCPP sockets: subprotocol, station identity and HTTP Basic auth, before any WebSocket exists.

A refusal must be an HTTP answer (401 for bad credentials), not a WebSocket: Channels turns a close before accept
into 403. The ASGI "WebSocket Denial Response" extension (`websocket.http.response.start/body`) lets an application
answer with any HTTP response; daphne 4.2.3 does not implement it, so evnet serves through
`apps.ocpp.server` (a small daphne subclass that does — see that module). When the server offers the extension
(scope["extensions"]["websocket.http.response"]) the middleware answers 401/400 with a body; otherwise it can only
close, which the server turns into 403."""
from __future__ import annotations

import logging

from channels.db import database_sync_to_async

from .services.admission import Admission, basic_credentials, station_admit

logger = logging.getLogger("apps.ocpp")

SUBPROTOCOL = "ocpp1.6"


async def deny(scope, receive, send, *, status: int, reason: str, headers: list | None = None) -> None:
    """Refuse a WebSocket handshake with an HTTP response when the server supports it."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = (reason + "\n").encode()
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), *(headers or [])]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


class OcppAdmissionMiddleware:
    """Wraps the OCPP connection application (apps/ocpp/connection.py). Puts the admitted station into
    scope["evnet_station"]."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        kwargs = scope.get("url_route", {}).get("kwargs", {})
        ocpp_id = kwargs.get("station_id", "")
        if SUBPROTOCOL not in (scope.get("subprotocols") or []):
            logger.info("refused %s: subprotocol %s is not %s", ocpp_id, scope.get("subprotocols"), SUBPROTOCOL)
            return await deny(scope, receive, send, status=400,
                              reason=f"This endpoint speaks OCPP 1.6J only: request subprotocol {SUBPROTOCOL}.")
        credentials = basic_credentials(scope.get("headers") or [])
        # Off the thread-sensitive executor: admissions of a reconnect storm run in parallel threads instead of
        # queueing behind each other (and behind every other sync call of the process).
        admission: Admission = await database_sync_to_async(station_admit, thread_sensitive=False)(
            ocpp_id=ocpp_id, organization_slug=kwargs.get("organization_slug"), credentials=credentials)
        if not admission.ok:
            logger.warning("refused OCPP connection %s from %s: %s", ocpp_id, scope.get("client"), admission.reason)
            headers = [(b"www-authenticate", b'Basic realm="evnet OCPP", charset="UTF-8"')] \
                if admission.status == 401 else []
            text = "Unknown station or wrong credentials." if admission.status == 401 else admission.reason
            return await deny(scope, receive, send, status=admission.status, reason=text, headers=headers)
        scope = {**scope, "evnet_station": admission}
        return await self.app(scope, receive, send)
