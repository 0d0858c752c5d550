"""Periodic jobs of dynamic pricing, kept in django-celery-beat's tables (the DatabaseScheduler reads them)."""
from __future__ import annotations

from django.db import transaction

DAILY_TASK = "apps.pricing.tasks.forecast_daily"
LIVE_TASK = "apps.pricing.tasks.forecast_live_hour"

# (name, task, crontab fields, UTC). The daily run publishes each site's local today and tomorrow: at 02:15 UTC it is
# already the new day in Lisbon and still the evening before in São Paulo, so the next 24 hours are always covered.
PERIODIC_TASKS = [
    ("pricing: day-ahead price forecast", DAILY_TASK, {"minute": "15", "hour": "2"}),
    ("pricing: live occupancy of the current hour", LIVE_TASK, {"minute": "0"}),
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
