"""The journal: balanced, idempotent, append-only, one currency per account."""
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from djmoney.money import Money

from apps.billing.exceptions import InvalidAmount, LedgerCurrencyMismatch, UnbalancedEntry
from apps.billing.models import Account, JournalEntry, JournalLine
from apps.billing.selectors import account_balance, journal_unbalanced_entries
from apps.billing.services.ledger import account_get, journal_post, journal_reverse
from apps.core.bulk import rows_insert
from tests.billing.factories import CustomerFactory
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    customer = CustomerFactory()
    org = customer.organization
    return {
        "org": org,
        "customer": customer,
        "clearing": account_get(organization=org, kind=Account.Kind.GATEWAY_CLEARING, currency="EUR"),
        "wallet": account_get(organization=org, kind=Account.Kind.WALLET, currency="EUR", customer=customer),
        "revenue": account_get(organization=org, kind=Account.Kind.REVENUE, currency="EUR"),
    }


def test_balanced_entry_is_posted_and_balances_follow(books):
    entry = journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="t1",
                         lines=[(books["clearing"], Decimal("20.00")), (books["wallet"], Decimal("-20.00"))])
    assert sorted(line.amount.amount for line in entry.lines.all()) == [Decimal("-20.00"), Decimal("20.00")]
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == Decimal("-20.0000") == account_balance(account=books["wallet"])
    assert books["wallet"].code == f"2100-C{books['customer'].pk}-EUR"


def test_unbalanced_entry_is_refused_and_nothing_is_written(books):
    with pytest.raises(UnbalancedEntry, match="differ by 0.0100 EUR"):
        journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="bad",
                     lines=[(books["clearing"], Decimal("20.01")), (books["wallet"], Decimal("-20.00"))])
    assert not JournalEntry.objects.exists()
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == 0


def test_entry_with_a_single_account_is_refused(books):
    with pytest.raises(UnbalancedEntry, match="moves no money"):
        journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="one",
                     lines=[(books["wallet"], Decimal("5")), (books["wallet"], Decimal("-5"))])


def test_wrong_currency_and_too_many_decimals_are_refused(books):
    with pytest.raises(LedgerCurrencyMismatch, match="kept in EUR"):
        journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="BRL", reference="brl",
                     lines=[(books["clearing"], Decimal("1")), (books["wallet"], Decimal("-1"))])
    with pytest.raises(InvalidAmount, match="more than 4 decimal places"):
        journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="dec",
                     lines=[(books["clearing"], Decimal("1.00001")), (books["wallet"], Decimal("-1.00001"))])


def test_account_of_another_organization_is_refused(books):
    other = account_get(organization=OrganizationFactory(), kind=Account.Kind.REVENUE, currency="EUR")
    with pytest.raises(UnbalancedEntry, match="another organization"):
        journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="x",
                     lines=[(books["clearing"], Decimal("1")), (other, Decimal("-1"))])


def test_posting_the_same_reference_twice_posts_once(books):
    lines = [(books["clearing"], Decimal("7.50")), (books["wallet"], Decimal("-7.50"))]
    first = journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="r",
                         lines=lines)
    second = journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="r",
                          lines=lines)
    assert first.pk == second.pk
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == Decimal("-7.50")


def test_reversal_cancels_the_entry_without_editing_it(books):
    entry = journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="r",
                         lines=[(books["clearing"], Decimal("9")), (books["wallet"], Decimal("-9"))])
    reversal = journal_reverse(entry=entry)
    assert journal_reverse(entry=entry).pk == reversal.pk
    assert reversal.reverses_id == entry.pk
    assert JournalLine.objects.filter(entry=entry).count() == 2
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == 0 == account_balance(account=books["wallet"])
    assert journal_unbalanced_entries() == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database triggers are PostgreSQL-only")
def test_database_refuses_edits_and_unbalanced_lines(books):
    entry = journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="r",
                         lines=[(books["clearing"], Decimal("9")), (books["wallet"], Decimal("-9"))])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        JournalLine.objects.filter(entry=entry).update(amount=Decimal("10"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_journalline WHERE entry_id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="unbalanced"), transaction.atomic():
        JournalLine.objects.create(entry=entry, account=books["revenue"], amount=Money(Decimal("1"), "EUR"))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database triggers are PostgreSQL-only")
def test_database_checks_journal_lines_written_by_copy_too(books):
    """The monthly close writes journal lines with COPY (`rows_insert`): the balance and currency triggers fire."""
    entry = journal_post(organization=books["org"], kind=JournalEntry.Kind.TOP_UP, currency="EUR", reference="c",
                         lines=[(books["clearing"], Decimal("9")), (books["wallet"], Decimal("-9"))])
    fields = ["entry_id", "account_id", "amount", "amount_currency"]
    for rows, error in [([(entry.pk, books["revenue"].pk, Decimal("1"), "EUR")], "unbalanced"),
                        ([(entry.pk, books["revenue"].pk, Decimal("1"), "BRL"),
                          (entry.pk, books["clearing"].pk, Decimal("-1"), "BRL")], "is kept in EUR")]:
        with pytest.raises(DatabaseError, match=error), transaction.atomic():
            rows_insert(model=JournalLine, fields=fields, rows=rows)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert sorted(line.amount.amount for line in entry.lines.all()) == [Decimal("-9"), Decimal("9")]
