"""Celery tasks of invoices: ids in, one service call (STYLE.md)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.invoices.tasks.month_close_due")
def month_close_due() -> list[int]:
    """Daily: close last month for every organization that has not closed it yet (idempotent, resumable)."""
    from .services.closing import month_close_due as due

    return due()


@shared_task(name="apps.invoices.tasks.month_close", acks_late=True)
def month_close(organization_id: int, period: str) -> int:
    """On demand (admin action): close one organization's month; returns the BillingRun id."""
    from apps.organizations.models import Organization

    from .services.closing import month_close as close, month_parse

    return close(organization=Organization.objects.get(pk=organization_id), period=month_parse(period)).pk


@shared_task(name="apps.invoices.tasks.invoices_send_pending")
def invoices_send_pending() -> int:
    from .services.delivery import invoices_send_pending as send

    return send()


@shared_task(name="apps.invoices.tasks.invoices_mark_overdue")
def invoices_mark_overdue() -> int:
    from .services.documents import invoices_mark_overdue as mark

    return mark()
