"""WebSocket routes. Each app that speaks WebSocket contributes its patterns here."""
websocket_urlpatterns: list = []
