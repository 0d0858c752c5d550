"""The monthly close of an organization: price anything unpriced (rating's sweep), settle prices (billing's sweep),
then per batch of customers, each batch in its own transaction: issue the postpaid invoices with plan fees, post
their journal entries and record each customer's step in the same transaction. A crash loses at most the batch in
flight; a rerun (or a second run) skips every recorded step, so nothing is issued twice and the month ends
complete."""
from __future__ import annotations

import logging
import time
from datetime import date, datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.billing.models import Customer, SessionCharge, Subscription
from apps.billing.services.ledger import account_cache
from apps.billing.services.settlement import session_prices_settle
from apps.organizations.models import Organization

from ..exceptions import InvalidPeriod
from ..models import BillingRun, BillingRunStep
from .documents import invoices_issue_monthly

logger = logging.getLogger(__name__)


def month_parse(value: str | date) -> date:
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        year, month = (int(part) for part in str(value).strip().split("-")[:2])
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise InvalidPeriod(f"“{value}” is not a month: write it as YYYY-MM, e.g. 2026-10.") from None


def previous_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def _rate_unrated() -> None:
    """Price every closed, unpriced session (rating's own sweep, until nothing more can be priced)."""
    from apps.rating.services.prices import session_price_sweep

    while True:
        result = session_price_sweep(limit=2000)
        if not result["priced"]:
            return


def _customers_to_bill(*, organization: Organization, period: date) -> list[int]:
    last_day = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    with_charges = SessionCharge.objects.filter(organization=organization, period__lte=period,
                                                status=SessionCharge.Status.TO_INVOICE).values("customer_id")
    with_plans = Subscription.objects.filter(customer__organization=organization, starts_on__lt=last_day).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=period)).values("customer_id")
    return list(Customer.objects.filter(organization=organization, regime=Customer.Regime.POSTPAID)
                .filter(Q(pk__in=with_charges) | Q(pk__in=with_plans)).order_by("pk").values_list("pk", flat=True))


def month_close(*, organization: Organization, period: date, issued_at: datetime | None = None,
                pause_s: float = 0.0, rate: bool = True, batch: int = 100) -> BillingRun:
    """Close `period` (first day of a month) for `organization`; resumable and idempotent (see module doc).
    Customers are invoiced `batch` at a time, each batch one transaction (a crash loses at most the batch in
    flight, which the rerun does again); `pause_s` waits between batches, to spread the load of a large close."""
    period = month_parse(period)
    run, _ = BillingRun.objects.get_or_create(organization=organization, period=period,
                                              defaults={"started_at": timezone.now()})
    BillingRun.objects.filter(pk=run.pk).update(status=BillingRun.Status.RUNNING, attempts=run.attempts + 1,
                                                heartbeat_at=timezone.now(), last_error="", finished_at=None)
    try:
        if rate:
            _phase(run, "pricing unpriced sessions")
            _rate_unrated()
        _phase(run, "settling session prices")
        session_prices_settle()
        _phase(run, "issuing invoices")
        done = set(BillingRunStep.objects.filter(run=run).values_list("customer_id", flat=True))
        customer_ids = sorted(set(_customers_to_bill(organization=organization, period=period)) | done)
        BillingRun.objects.filter(pk=run.pk).update(customers_total=len(customer_ids), customers_done=len(done))
        todo = [pk for pk in customer_ids if pk not in done]
        with account_cache():
            for start in range(0, len(todo), batch):
                customers = Customer.objects.in_bulk(todo[start:start + batch])
                group = [customers[pk] for pk in todo[start:start + batch]]
                for customer in group:
                    customer.organization = organization
                _close_customers(run=run, customers=group, period=period, issued_at=issued_at)
                if pause_s:
                    time.sleep(pause_s)
        BillingRun.objects.filter(pk=run.pk).update(status=BillingRun.Status.COMPLETED, phase="done",
                                                    finished_at=timezone.now(), heartbeat_at=timezone.now())
    except Exception as error:  # noqa: BLE001 - recorded on the run for the clerk, then re-raised
        BillingRun.objects.filter(pk=run.pk).update(status=BillingRun.Status.FAILED,
                                                    last_error=f"{type(error).__name__}: {error}"[:2000])
        raise
    run.refresh_from_db()
    return run


def _phase(run: BillingRun, phase: str) -> None:
    BillingRun.objects.filter(pk=run.pk).update(phase=phase, heartbeat_at=timezone.now())


@transaction.atomic
def _close_customers(*, run: BillingRun, customers: list[Customer], period: date,
                     issued_at: datetime | None) -> None:
    """One batch: the customers' invoices and their recorded steps commit together or not at all."""
    invoices = invoices_issue_monthly(customers=customers, period=period, issued_at=issued_at, billing_run=run)
    now = timezone.now()
    steps = []
    for customer in customers:
        invoice = invoices[customer.pk]
        outcome = (BillingRunStep.Outcome.NOTHING if invoice is None else BillingRunStep.Outcome.ISSUED
                   if invoice.billing_run_id == run.pk else BillingRunStep.Outcome.ALREADY)
        steps.append(BillingRunStep(run=run, customer=customer, outcome=outcome, invoice=invoice, done_at=now))
    BillingRunStep.objects.bulk_create(steps)
    issued = sum(1 for step in steps if step.outcome == BillingRunStep.Outcome.ISSUED)
    BillingRun.objects.filter(pk=run.pk).update(customers_done=F("customers_done") + len(steps), heartbeat_at=now,
                                                invoices_issued=F("invoices_issued") + issued)


def month_close_due(*, today: date | None = None) -> list[int]:
    """The beat job: close last month for every organization that has postpaid customers and no completed run."""
    period = previous_month(today or timezone.localdate())
    run_ids = []
    completed = BillingRun.objects.filter(period=period, status=BillingRun.Status.COMPLETED).values("organization_id")
    for organization in Organization.objects.filter(customers__regime=Customer.Regime.POSTPAID).exclude(
            pk__in=completed).distinct():
        run_ids.append(month_close(organization=organization, period=period).pk)
    return run_ids
