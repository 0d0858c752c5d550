"""OCPP WebSocket routes: ws://HOST/ocpp/<station_id>, and ws://HOST/ocpp/<organization-slug>/<station_id> for an
organization that accepts unknown stations (see apps/ocpp/services/admission.py)."""
from django.urls import re_path

from .connection import ocpp_application
from .middleware import OcppAdmissionMiddleware

_ocpp_app = OcppAdmissionMiddleware(ocpp_application)

websocket_urlpatterns: list = [
    re_path(r"^ocpp/(?P<organization_slug>[-a-zA-Z0-9_]+)/(?P<station_id>[^/]+)/?$", _ocpp_app),
    re_path(r"^ocpp/(?P<station_id>[^/]+)/?$", _ocpp_app),
]
