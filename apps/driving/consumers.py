"""ws://HOST/ws/sessions/<id>: a driver follows one of their sessions live. Authenticated by ?token=<API token>
or the session cookie. Closes 4401 without credentials and 4404 for a session that is not theirs (or does not
exist: the same answer, no leak). Sends the session (the body of GET /api/v1/sessions/<id>/) at once and again
whenever its row changes; closes normally after the closed session's final snapshot."""
from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

from apps.charging.models import ChargingSession

from .api.serializers import SessionSerializer
from .exceptions import SessionNotFound
from .selectors import session_get_for_driver, session_live

# A cheap indexed read of two columns per second per follower; meter values arrive every 10-60 s.
POLL_S = 1.0
# After the stop, the final price comes from the rating task: wait this long for it before the last snapshot.
PRICE_WAIT_S = 10.0


def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None and token.user.is_active else None


def _snapshot(user, session_id: int) -> tuple[dict, tuple]:
    session = session_get_for_driver(user=user, session_id=session_id)
    live = session_live(session=session)
    body = SessionSerializer(live).data
    return body, (session.updated_at, session.state, live["price"] is not None)


def _version(session_id: int) -> tuple | None:
    row = ChargingSession.objects.filter(pk=session_id).values_list("updated_at", "state").first()
    if row is None:
        return None
    from apps.rating.models import SessionPrice

    priced = row[1] != ChargingSession.State.ACTIVE and SessionPrice.objects.filter(session_id=session_id).exists()
    return (*row, priced)


class SessionStreamConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user") or AnonymousUser()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        key = (query.get("token") or [""])[0]
        if key:
            user = await database_sync_to_async(_user_for_token)(key[:64]) or AnonymousUser()
        if not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        try:
            body, self.version = await database_sync_to_async(_snapshot)(user, self.session_id)
        except SessionNotFound:
            await self.close(code=4404)
            return
        await self.accept()
        await self.send_json({"type": "session", "session": body})
        self.follower = asyncio.create_task(self._follow(closed=body["state"] != ChargingSession.State.ACTIVE))

    async def _follow(self, *, closed: bool) -> None:
        waited = 0.0
        try:
            while True:
                if closed and (self.version[2] or waited >= PRICE_WAIT_S):
                    await self.close(code=1000)
                    return
                await asyncio.sleep(POLL_S)
                if closed:
                    waited += POLL_S
                version = await database_sync_to_async(_version)(self.session_id)
                if version is None:
                    await self.close(code=4404)
                    return
                if version != self.version:
                    body, self.version = await database_sync_to_async(_snapshot)(self.user, self.session_id)
                    await self.send_json({"type": "session", "session": body})
                    closed = body["state"] != ChargingSession.State.ACTIVE
        except asyncio.CancelledError:
            raise

    async def receive_json(self, content, **kwargs):
        # The stream is one-way; anything the app sends is ignored.
        return

    async def disconnect(self, code):
        follower = getattr(self, "follower", None)
        if follower is not None:
            follower.cancel()
