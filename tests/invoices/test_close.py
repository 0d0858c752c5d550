"""The monthly close: idempotent (twice → same invoices), resumable after the process is killed mid-run."""
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection
from djmoney.money import Money

from apps.billing.models import Account, Customer, SessionCharge
from apps.billing.selectors import journal_unbalanced_entries, receivable_balance
from apps.billing.services.plans import subscription_start
from apps.invoices.models import BillingRun, BillingRunStep, Invoice
from apps.invoices.services.closing import month_close
from tests.billing.factories import CustomerFactory, PlanFactory
from tests.factories import OrganizationFactory
from tests.invoices.factories import charge_for

OCTOBER = date(2026, 10, 1)
ISSUED = datetime(2026, 11, 1, 6, 15, tzinfo=dt_timezone.utc)


def month_of(org, customers=6, sessions=3):
    result = []
    for i in range(customers):
        customer = CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID)
        for _ in range(sessions):
            charge_for(customer, net="2.00", energy_wh=8_000)
        result.append(customer)
    return result


def assert_complete_month(org, customers):
    invoices = list(Invoice.objects.filter(organization=org, period=OCTOBER).order_by("number"))
    assert [i.number for i in invoices] == list(range(1, len(customers) + 1))
    assert sorted(i.customer_id for i in invoices) == sorted(c.pk for c in customers)
    for invoice in invoices:
        assert invoice.total.amount == Decimal("7.38")  # 3 × 2.00 + 23 % VAT
        assert invoice.lines.count() == 3
    charges = SessionCharge.objects.filter(organization=org)
    assert set(charges.values_list("status", flat=True)) == {"invoiced"}
    assert charges.values("invoice_id").distinct().count() == len(customers)
    assert sum((receivable_balance(customer=c) for c in customers), Decimal("0")) == Decimal("7.38") * len(customers)
    assert journal_unbalanced_entries() == []


@pytest.mark.django_db
def test_closing_a_month_twice_issues_the_same_invoices():
    org = OrganizationFactory()
    customers = month_of(org)
    first = month_close(organization=org, period=OCTOBER, issued_at=ISSUED)
    assert (first.status, first.progress, first.invoices_issued) == ("completed", "6/6", 6)
    second = month_close(organization=org, period=OCTOBER, issued_at=ISSUED)
    assert second.pk == first.pk and second.invoices_issued == 6 and second.attempts == 2
    assert_complete_month(org, customers)
    assert BillingRunStep.objects.filter(run=first).count() == 6


@pytest.mark.django_db
def test_close_charges_plan_fees_of_customers_without_sessions():
    org = OrganizationFactory()
    fleet = CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID, kind=Customer.Kind.FLEET_COMPANY)
    subscription_start(customer=fleet, plan=PlanFactory(organization=org, monthly_fee=Money(Decimal("40"), "EUR")),
                       starts_on=date(2026, 9, 1))
    CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID)  # nothing to bill
    run = month_close(organization=org, period=OCTOBER, issued_at=ISSUED)
    assert run.progress == "1/1"
    assert Invoice.objects.get(customer=fleet).total.amount == Decimal("49.20")


@pytest.mark.django_db
def test_close_command_refuses_a_bad_month_and_an_unknown_organization():
    with pytest.raises(CommandError, match="not a month"):
        call_command("billing_close", "--month", "October")
    with pytest.raises(CommandError, match="No organization"):
        call_command("billing_close", "--month", "2026-10", "--organization", "nope")
    assert not BillingRun.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs a database a second process can open (the SQLite test database is in memory)")
def test_killed_close_resumes_without_duplicates():
    org = OrganizationFactory()
    customers = month_of(org)
    db = settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evnet.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
                           f"{db['PORT'] or 5432}/{db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "billing_close", "--organization", org.slug, "--month", "2026-10",
         "--pause", "0.4", "--batch", "1"], cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = BillingRun.objects.filter(organization=org).first()
            if run and run.customers_done >= 2:
                break
            assert worker.poll() is None, worker.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("the close never got going")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    run = BillingRun.objects.get(organization=org)
    assert run.status == BillingRun.Status.RUNNING  # died without finishing
    partial = Invoice.objects.filter(organization=org).count()
    assert 2 <= partial < 6
    resumed = month_close(organization=org, period=OCTOBER)
    assert (resumed.status, resumed.progress, resumed.attempts) == ("completed", "6/6", 2)
    assert_complete_month(org, customers)


@pytest.mark.django_db
def test_a_close_failing_in_the_middle_of_a_batch_keeps_none_of_it_and_the_rerun_completes():
    org = OrganizationFactory()
    customers = month_of(org, customers=7)
    broken = customers[4]  # second batch of three, in its middle
    # The code of the receivable account the broken customer needs is already taken (a clerk's mistake), so its
    # batch fails after the batch's numbers were drawn and its other invoices were built.
    blocker = Account.objects.create(organization=org, kind=Account.Kind.RECEIVABLE, customer=broken,
                                     currency="BRL", code=f"1300-C{broken.pk}-EUR")
    with pytest.raises(IntegrityError):
        month_close(organization=org, period=OCTOBER, issued_at=ISSUED, batch=3)
    run = BillingRun.objects.get(organization=org)
    assert run.status == BillingRun.Status.FAILED and "IntegrityError" in run.last_error
    assert run.progress == "3/7"
    # The first batch stands, numbered 1–3; nothing of the second batch was kept, not even a number.
    assert sorted(Invoice.objects.filter(organization=org).values_list("number", flat=True)) == [1, 2, 3]
    assert SessionCharge.objects.filter(organization=org, status="to_invoice").count() == 4 * 3
    assert journal_unbalanced_entries() == []
    blocker.delete()  # the clerk fixes the account (it has no journal lines)
    resumed = month_close(organization=org, period=OCTOBER, issued_at=ISSUED, batch=3)
    assert (resumed.status, resumed.progress, resumed.attempts, resumed.invoices_issued) == ("completed", "7/7", 2, 7)
    assert_complete_month(org, customers)
    vat = Account.objects.get(organization=org, kind=Account.Kind.VAT, currency="EUR")
    assert vat.balance == Decimal("-1.38") * 7  # 3 × 0.46 per invoice, credited once each
