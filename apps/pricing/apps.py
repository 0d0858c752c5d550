from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PricingConfig(AppConfig):
    name = "apps.pricing"
    label = "pricing"
    verbose_name = "Dynamic pricing (ANEEL formula)"

    def ready(self) -> None:
        # The day-ahead forecast and the live-hour jobs must exist after every migrate: registered by name.
        from .schedules import periodic_tasks_ensure

        post_migrate.connect(lambda **kwargs: periodic_tasks_ensure(), dispatch_uid="evnet.pricing.periodic_tasks",
                             weak=False)
