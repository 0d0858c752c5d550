"""Periodic jobs of billing, kept in django-celery-beat's tables (registered by name after every migrate)."""
from __future__ import annotations

from django.db import transaction

PERIODIC_TASKS = [
    ("billing: settle rated sessions", "apps.billing.tasks.session_charges_settle", {"minute": "*/5"}),
]


def periodic_tasks_ensure(tasks=PERIODIC_TASKS) -> None:
    """Create or update the periodic tasks by name; running it again changes nothing."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    with transaction.atomic():
        for name, task, fields in tasks:
            cron = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
            cron.update(fields)
            schedule, _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **cron)
            PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "crontab": schedule, "interval": None, "enabled": True},
            )
