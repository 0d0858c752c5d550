from django.apps import AppConfig


class StationsConfig(AppConfig):
    name = "apps.stations"
    label = "stations"
    verbose_name = "Charging stations"
