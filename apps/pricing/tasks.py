"""Celery jobs of dynamic pricing: thin wrappers over one service each (scheduled in schedules.py)."""
from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from .services.forecast import forecast_compute, forecast_live_hour as forecast_live_hour_service
from .services.occupancy import station_occupancy_learn

logger = logging.getLogger(__name__)


@shared_task(name="apps.pricing.tasks.forecast_daily", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def forecast_daily() -> dict:
    """Learn occupancy from the last 28 days of sessions, then publish today's and tomorrow's prices."""
    now = timezone.now()
    learned = station_occupancy_learn(now=now)
    run = forecast_compute(now=now)
    for ocpp_id, problem in sorted(run.skipped.items()):
        logger.warning("pricing forecast skipped %s: %s", ocpp_id, problem)
    return {"learned": learned, "stations": run.stations, "rows": run.rows, "skipped": run.skipped}


@shared_task(name="apps.pricing.tasks.forecast_live_hour", autoretry_for=(OSError,), retry_backoff=True,
             max_retries=3)
def forecast_live_hour() -> dict:
    run = forecast_live_hour_service(now=timezone.now())
    return {"stations": run.stations, "rows": run.rows, "skipped": run.skipped}
