"""Final session prices (contract 4)."""
from __future__ import annotations

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from apps.charging.models import ChargingSession
from apps.tariffs.engine.rating import RatingResult
from apps.tariffs.exceptions import TariffError
from apps.tariffs.services import tariff_version_lock

from ..exceptions import RatingError, SessionNotClosed, SessionNotFound
from ..models import SessionPrice
from ..selectors import session_energy_points, session_is_closed, session_rate, session_user_group

logger = logging.getLogger(__name__)

CLOSED_STATES = (ChargingSession.State.COMPLETED, ChargingSession.State.INTERRUPTED)


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def price_lines_json(*, result: RatingResult) -> list[dict]:
    """The engine's lines as stored: Decimals as strings, plus the raw quantity (Wh or seconds)."""
    return [dict(line.as_dict(), quantity_raw=line.quantity_raw) for line in result.lines]


def session_price_final(*, session_id: int) -> SessionPrice:
    """The final price of a closed session, rated once with the tariff version in force at its start and then
    frozen: calling it again (a retried task, the sweep, a receipt) returns the same row, and a later tariff change
    never re-prices it. Raises SessionNotFound, SessionNotClosed, TariffMissing or the engine's TariffError."""
    existing = SessionPrice.objects.filter(session_id=session_id).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            try:
                session = (ChargingSession.objects.select_for_update(of=("self",))
                           .select_related("station__site", "connector", "id_tag").get(pk=session_id))
            except (ChargingSession.DoesNotExist, ValueError, TypeError):
                raise SessionNotFound(f"There is no charging session #{session_id}.") from None
            existing = SessionPrice.objects.filter(session_id=session_id).first()
            if existing is not None:
                return existing
            if not session_is_closed(session=session):
                raise SessionNotClosed(f"Session #{session_id} is still charging: it has a running cost, "
                                       f"not a final price yet.")
            points = session_energy_points(session=session)
            stopped_at = session.stopped_at or points[-1][0]
            result = session_rate(session=session, points=points, stopped_at=stopped_at)
            currency = result.currency
            label = result.tariff_id or ""
            if result.version_id is not None:
                # The version priced a session: from now on it is immutable (tariffs publish a new one instead).
                version = tariff_version_lock(version_id=result.version_id)
                label = f"{version.tariff.name} · {version}"
            return SessionPrice.objects.create(
                session=session,
                tariff_version_id=result.version_id,
                tariff_label=label[:200],
                user_group=session_user_group(session=session),
                lines=price_lines_json(result=result),
                cdr_totals=_jsonable(result.cdr_totals()),
                currency=currency,
                total_excl_vat=Money(result.total_excl_vat, currency),
                total_vat=Money(result.total_vat, currency),
                total_incl_vat=Money(result.total_incl_vat, currency),
                energy_wh=result.total_energy_wh,
                rated_at=timezone.now(),
                is_final=True,
            )
    except IntegrityError:
        # Another worker priced it between our check and our insert (the one-to-one key held): theirs stands.
        existing = SessionPrice.objects.filter(session_id=session_id).first()
        if existing is None:
            raise
        return existing


def session_price_sweep(*, limit: int = 500) -> dict:
    """Price every closed session that has no price yet (oldest first), so a lost task costs nothing. Sessions that
    cannot be priced (no tariff, bad data) are logged and left for the next run; returns the counts."""
    pending = list(
        ChargingSession.objects.filter(state__in=CLOSED_STATES, price__isnull=True)
        .order_by("stopped_at", "id").values_list("id", flat=True)[:limit]
    )
    priced, failed = 0, 0
    for session_id in pending:
        try:
            session_price_final(session_id=session_id)
            priced += 1
        except (RatingError, TariffError) as exc:
            failed += 1
            logger.warning("session #%s not priced: %s", session_id, exc.message)
    return {"pending": len(pending), "priced": priced, "failed": failed}
