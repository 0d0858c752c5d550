from django.urls import path

from . import views

app_name = "pricing"
urlpatterns = [
    path("stations/<str:ocpp_id>/forecast.json", views.station_forecast, name="station_forecast"),
]
