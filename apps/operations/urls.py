from django.urls import path

from . import views

app_name = "operations"
urlpatterns = [
    path("diagnostics/<str:token>/", views.diagnostics_upload, name="diagnostics-upload"),
    path("diagnostics/<str:token>/<str:file_name>", views.diagnostics_upload, name="diagnostics-upload-named"),
    path("firmware/<str:token>/<str:file_name>", views.firmware_download, name="firmware-download"),
]
