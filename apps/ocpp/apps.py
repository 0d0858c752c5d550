from django.apps import AppConfig


class OcppConfig(AppConfig):
    name = "apps.ocpp"
    label = "ocpp"
