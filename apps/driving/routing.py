"""Driver WebSocket routes: ws://HOST/ws/sessions/<id> (cookie auth through AuthMiddlewareStack, or ?token=)."""
from channels.auth import AuthMiddlewareStack
from django.urls import re_path

from .consumers import SessionStreamConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/sessions/(?P<session_id>[0-9]{1,18})/?$", AuthMiddlewareStack(SessionStreamConsumer.as_asgi())),
]
