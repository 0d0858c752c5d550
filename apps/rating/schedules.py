"""Periodic jobs of the rating app, kept in django-celery-beat's tables (the DatabaseScheduler reads them)."""
from __future__ import annotations

from django.db import transaction

SWEEP_TASK = "apps.rating.tasks.session_price_sweep"
REPORTS_TASK = "apps.rating.tasks.cost_recovery_reports_due"

# (name, task, crontab fields). Both jobs are sweeps: a missed run is caught up by the next one.
PERIODIC_TASKS = [
    ("rating: price completed sessions", SWEEP_TASK, {"minute": "*/5"}),
    # Hourly, because each site's month starts at its own local midnight; the job itself decides which sites are due.
    ("rating: monthly cost-recovery reports", REPORTS_TASK, {"minute": "7"}),
]


def periodic_tasks_ensure() -> None:
    """Create or update the periodic tasks by name; running it again changes nothing."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    with transaction.atomic():
        for name, task, fields in PERIODIC_TASKS:
            cron = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
            cron.update(fields)
            schedule, _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **cron)
            PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "crontab": schedule, "interval": None, "enabled": True},
            )
