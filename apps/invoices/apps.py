from django.apps import AppConfig
from django.db.models.signals import post_migrate

PERIODIC_TASKS = [
    # Daily: the job closes the previous month wherever it is not closed yet (a missed day is caught up).
    ("invoices: monthly close", "apps.invoices.tasks.month_close_due", {"minute": "15", "hour": "6"}),
    ("invoices: e-mail issued documents", "apps.invoices.tasks.invoices_send_pending", {"minute": "*/10"}),
    ("invoices: mark overdue", "apps.invoices.tasks.invoices_mark_overdue", {"minute": "30", "hour": "6"}),
]


class InvoicesConfig(AppConfig):
    name = "apps.invoices"
    label = "invoices"
    verbose_name = "Invoices and monthly close"

    def ready(self) -> None:
        from apps.billing.schedules import periodic_tasks_ensure

        post_migrate.connect(lambda **kwargs: periodic_tasks_ensure(PERIODIC_TASKS),
                             dispatch_uid="evnet.invoices.periodic_tasks", weak=False)
