"""Celery tasks of billing: ids in, one service call (STYLE.md)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.billing.tasks.session_charges_settle")
def session_charges_settle() -> dict:
    """Every few minutes: settle every final session price that has not been settled (wallet debit or waiting for
    the invoice). A lost run is caught up by the next."""
    from .services.settlement import session_prices_settle

    return session_prices_settle(limit=20_000)
