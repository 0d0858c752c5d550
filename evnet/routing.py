"""WebSocket routes. Each app that speaks WebSocket contributes its patterns here."""
from apps.driving.routing import websocket_urlpatterns as driving_websocket_urlpatterns
from apps.ocpp.routing import websocket_urlpatterns as ocpp_websocket_urlpatterns

websocket_urlpatterns: list = [*ocpp_websocket_urlpatterns, *driving_websocket_urlpatterns]
