from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "apps.charging"
    label = "charging"
    verbose_name = "Charging sessions"
