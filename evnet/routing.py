"""WebSocket routes. Each app that speaks WebSocket contributes its patterns here."""
from apps.ocpp.routing import websocket_urlpatterns as ocpp_websocket_urlpatterns

websocket_urlpatterns: list = [*ocpp_websocket_urlpatterns]
