from django.apps import AppConfig


class DrivingConfig(AppConfig):
    """The driver's flows that span several apps (find a station with its prices, start and stop a charge, follow
    it): the top layer, above charging, operations, billing, rating and pricing, so none of them imports it."""

    name = "apps.driving"
    label = "driving"
    verbose_name = "Driver app flows"
