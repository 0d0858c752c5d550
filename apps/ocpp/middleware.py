"""ASGI admission for OCPP sockets: subprotocol, station identity and HTTP Basic auth, before any WebSocket exists.

A refusal must be an HTTP answer (401 for bad credentials), not a WebSocket: Channels turns a close before accept
into 403. The ASGI "WebSocket Denial Response" extension (`websocket.http.response.start/body`) lets an application
answer with any HTTP response; daphne 4.2.3 does not implement it, so evnet serves through
`apps.ocpp.server` (a small daphne subclass that does — see that module). When the server offers the extension
(scope["extensions"]["websocket.http.response"]) the middleware answers 401/400 with a body; otherwise it can only
close, which the server turns into 403."""
from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async

from .connection import client_gone
from .services.admission import Admission, AdmissionRequest, PasswordCheckNeeded, basic_credentials, \
    password_check_slow, station_admit
from .writer import writer_get

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
        if client_gone(scope):
            return None  # gave up while its handshake queued: nobody to answer
        try:
            admission = await station_admit_async(AdmissionRequest(
                ocpp_id, kwargs.get("organization_slug"), basic_credentials(scope.get("headers") or [])))
        except Exception:  # noqa: BLE001 - the database is unreachable: the charger retries later
            logger.exception("could not decide the OCPP connection of %s", ocpp_id)
            return await deny(scope, receive, send, status=503, reason="Try again later.",
                              headers=[(b"retry-after", b"30")])
        if not admission.ok:
            logger.warning("refused OCPP connection %s from %s: %s", ocpp_id, scope.get("client"), admission.reason)
            headers = [(b"www-authenticate", b'Basic realm="evnet OCPP", charset="UTF-8"')] \
                if admission.status == 401 else []
            text = "Unknown station or wrong credentials." if admission.status == 401 else admission.reason
            return await deny(scope, receive, send, status=admission.status, reason=text, headers=headers)
        scope = {**scope, "evnet_station": admission}
        return await self.app(scope, receive, send)


async def station_admit_async(request: AdmissionRequest) -> Admission:
    """`station_admit` for the event loop, cheap in a reconnect herd: the decision is a read batched with every
    other attempt of the moment by the writer (one query and one thread hop for hundreds of handshakes, instead of
    a thread each: those threads' Python work held the GIL against the event loop and admissions collapsed, see
    bench/README.md). Only a password without a verifier pays the slow hash check, in a worker thread, and the
    verifier it earns is written in a later batch. An unknown station on an organization's path goes the single
    way (it may be created Pending)."""
    writer = writer_get()
    decided = await writer.run("admit", request, droppable=True)
    if isinstance(decided, Admission):
        return decided
    if isinstance(decided, PasswordCheckNeeded):
        admission = await asyncio.get_running_loop().run_in_executor(
            None, lambda: password_check_slow(check=decided))
        if admission.ok:
            writer.submit("password_verified", decided, wait=False)
        return admission
    return await database_sync_to_async(station_admit, thread_sensitive=False)(
        ocpp_id=request.ocpp_id, organization_slug=request.organization_slug, credentials=request.credentials)
