from django.apps import AppConfig


class FleetsConfig(AppConfig):
    name = "apps.fleets"
    label = "fleets"
    verbose_name = "Fleets: the fleet managers' and organizations' side of the API"
