"""Celery tasks of the rating app: ids in, one service call (STYLE.md). Charging sends `session_rate_final` by name
on commit of a StopTransaction; the sweeps catch up anything a lost task missed."""
from __future__ import annotations

import logging

from celery import shared_task

from apps.tariffs.exceptions import TariffError

from .exceptions import SessionNotClosed, SessionNotFound, TariffMissing

logger = logging.getLogger(__name__)


@shared_task(name="apps.rating.tasks.session_rate_final", bind=True, max_retries=5, default_retry_delay=30)
def session_rate_final(self, session_id: int) -> int | None:
    """Freeze the final price of a closed session; returns the SessionPrice id. Missing tariffs and bad data are
    not retried (the sweep tries again every few minutes and the session stays visible as unpriced)."""
    from .services.prices import session_price_final

    try:
        return session_price_final(session_id=session_id).pk
    except (SessionNotFound, SessionNotClosed, TariffMissing, TariffError) as exc:
        logger.warning("session #%s not priced: %s", session_id, exc.message)
        return None


@shared_task(name="apps.rating.tasks.session_price_sweep")
def session_price_sweep() -> dict:
    from .services.prices import session_price_sweep as sweep

    return sweep()


@shared_task(name="apps.rating.tasks.cost_recovery_reports_due")
def cost_recovery_reports_due() -> list[int]:
    """Every hour: make (and e-mail) last month's report for each condominium site whose month has turned in its
    own time zone and that has none yet."""
    from .services.reports import cost_recovery_reports_due as due

    return due()


@shared_task(name="apps.rating.tasks.cost_recovery_report_generate")
def cost_recovery_report_generate(site_id: int, month: str, send: bool = True) -> int:
    """On demand (admin page): build or rebuild one site's report for `month` ("YYYY-MM")."""
    from .services.reports import cost_recovery_report_generate as generate, month_parse

    return generate(site_id=site_id, month=month_parse(value=month), send=send).pk
