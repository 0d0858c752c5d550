from django.urls import path

from . import views
from .api.views import StationCommandView

app_name = "operations"
urlpatterns = [
    path("diagnostics/<str:token>/", views.diagnostics_upload, name="diagnostics-upload"),
    path("diagnostics/<str:token>/<str:file_name>", views.diagnostics_upload, name="diagnostics-upload-named"),
    path("api/stations/<str:ocpp_id>/commands", StationCommandView.as_view(), name="station-commands"),
    path("firmware/<str:token>/<str:file_name>", views.firmware_download, name="firmware-download"),
]
