from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "apps.operations"
    label = "operations"
    verbose_name = "Station operations"

    def ready(self) -> None:
        # The periodic jobs (offline detection, message-log retention) must be scheduled after every migrate.
        from .services import schedules_ensure

        post_migrate.connect(lambda sender, **kwargs: schedules_ensure() if sender.name == self.name else None,
                             dispatch_uid="evnet.operations.schedules_ensure", weak=False)
