"""Property: whatever sequence of top-ups, sessions, refunds, plan fees, invoices and credit notes happens, every
journal entry balances, every account's balance equals the sum of its lines, and no wallet goes negative."""
from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from itertools import count

import pytest
from djmoney.money import Money
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from apps.billing.exceptions import InsufficientBalance, InvalidAmount
from apps.billing.gateways import SimulatedGateway
from apps.billing.models import Account, Customer, JournalEntry, Payment
from apps.billing.selectors import account_balance, journal_unbalanced_entries, wallet_balance
from apps.billing.services.plans import subscription_start
from apps.billing.services.settlement import RatedSession, session_charge_settle
from apps.billing.services.wallets import payment_refund, payment_succeed, wallet_top_up_start
from apps.invoices.exceptions import InvoiceError
from apps.invoices.models import Invoice
from apps.invoices.services.documents import invoice_credit, invoice_issue_monthly
from tests.billing.factories import CustomerFactory, PlanFactory
from tests.factories import OrganizationFactory

cents = st.integers(min_value=1, max_value=20_000).map(lambda c: Decimal(c) / 100)
operation = st.one_of(
    st.tuples(st.just("top_up"), st.integers(0, 1), cents),
    st.tuples(st.just("session"), st.integers(0, 1), cents),
    st.tuples(st.just("refund"), st.integers(0, 1), cents),
    st.tuples(st.just("postpaid_session"), st.just(0), cents),
    st.tuples(st.just("close_month"), st.just(0), st.just(Decimal(0))),
    st.tuples(st.just("credit_note"), st.just(0), st.just(Decimal(0))),
)
_ids = count(1)


@pytest.mark.django_db
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=20))
def test_any_sequence_keeps_the_books_balanced(operations):
    org = OrganizationFactory()
    prepaid = [CustomerFactory(organization=org) for _ in range(2)]
    fleet = CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID, kind=Customer.Kind.FLEET_COMPANY)
    subscription_start(customer=fleet, plan=PlanFactory(organization=org, monthly_fee=Money(Decimal("19.99"), "EUR"),
                                                        included_wh=5_000), starts_on=date(2026, 1, 9))
    month = date(2026, 1, 1)
    gateway = SimulatedGateway()
    started = datetime(2026, 1, 2, tzinfo=dt_timezone.utc)
    for kind, who, amount in operations:
        if kind == "top_up":
            payment = wallet_top_up_start(customer=prepaid[who], amount=amount, gateway=gateway)
            payment_succeed(payment=payment, amount=amount, currency="EUR")
        elif kind in ("session", "postpaid_session"):
            customer = prepaid[who] if kind == "session" else fleet
            session_charge_settle(rated=RatedSession(
                session_id=next(_ids) + 10_000_000, organization=org, customer=customer, currency="EUR", net=amount,
                energy_wh=int(amount * 1000), started_at=started, time_zone="Europe/Lisbon", country="PT"))
        elif kind == "refund":
            payment = Payment.objects.filter(customer=prepaid[who], status="succeeded").first()
            if payment is not None:
                try:
                    payment_refund(payment=payment, amount=amount)
                except (InsufficientBalance, InvalidAmount):
                    pass  # refused: must change nothing, which the invariants below check
        elif kind == "close_month":
            invoice_issue_monthly(customer=fleet, period=month)
            month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
            started = datetime(month.year, month.month, 2, tzinfo=dt_timezone.utc)
        elif kind == "credit_note":
            invoice = Invoice.objects.filter(customer=fleet, kind="invoice", status="issued").first()
            if invoice is not None:
                try:
                    invoice_credit(invoice=invoice, reason="property test")
                except InvoiceError:
                    pass
    assert journal_unbalanced_entries() == []
    for account in Account.objects.filter(organization=org):
        assert account.balance == account_balance(account=account), account.code
    assert sum(a.balance for a in Account.objects.filter(organization=org)) == 0
    for customer in prepaid:
        assert wallet_balance(customer=customer) >= 0
    assert JournalEntry.objects.filter(organization=org, reference__startswith="session:").count() == sum(
        1 for kind, _, _ in operations if kind == "session")
