from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RatingConfig(AppConfig):
    name = "apps.rating"
    label = "rating"
    verbose_name = "Session prices and cost-recovery reports"

    def ready(self) -> None:
        # The periodic jobs (final-price sweep, monthly cost-recovery reports) must exist after every migrate,
        # whatever was deleted by hand in the admin: registered idempotently by name.
        from .schedules import periodic_tasks_ensure

        post_migrate.connect(lambda **kwargs: periodic_tasks_ensure(), dispatch_uid="evnet.rating.periodic_tasks",
                             weak=False)
