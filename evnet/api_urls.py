"""/api/v1/: the REST API for drivers, fleet managers and integrators. Each app keeps its views in
apps/<app>/api/ and is mounted here."""
from django.urls import include, path

urlpatterns = [
    path("", include("apps.billing.api.urls")),
    path("", include("apps.core.api.urls")),
    path("", include("apps.driving.api.urls")),
    path("", include("apps.fleets.api.urls")),
    path("", include("apps.users.api.urls")),
]
