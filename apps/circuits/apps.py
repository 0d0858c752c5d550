from django.apps import AppConfig


class CircuitsConfig(AppConfig):
    name = "apps.circuits"
    label = "circuits"
    verbose_name = "Electrical circuits"
