from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing: ledger, wallets, payments, plans"

    def ready(self) -> None:
        from .schedules import periodic_tasks_ensure

        post_migrate.connect(lambda **kwargs: periodic_tasks_ensure(), dispatch_uid="evnet.billing.periodic_tasks",
                             weak=False)
