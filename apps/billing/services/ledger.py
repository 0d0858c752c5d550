"""The double-entry journal. Every movement of money is one JournalEntry whose lines (debit positive, credit
negative, Decimal with 4 places) sum to zero, all in the entry's currency and the accounts' currency. Posting is
idempotent on (organization, reference). Entries are never edited: `journal_reverse` posts the mirror entry."""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.bulk import rows_insert
from apps.organizations.models import Organization

from ..exceptions import InvalidAmount, LedgerCurrencyMismatch, UnbalancedEntry
from ..models import Account, Customer, JournalEntry, JournalLine

FOUR_PLACES = Decimal("0.0001")

# Chart of accounts: the number prefix of each kind's code in the ERP export.
ACCOUNT_NUMBERS = {
    Account.Kind.BANK: "1200",
    Account.Kind.GATEWAY_CLEARING: "1250",
    Account.Kind.RECEIVABLE: "1300",
    Account.Kind.WALLET: "2100",
    Account.Kind.VAT: "2430",
    Account.Kind.REVENUE: "7100",
    Account.Kind.PLAN_REVENUE: "7110",
}


# Within a batch job (the monthly close) the same few accounts are looked up thousands of times; `account_cache()`
# remembers them for the duration of the job. The cached rows are used for their id, code and currency only
# (balances are always read under a row lock), and the cache ends with the job.
_account_cache: ContextVar[dict | None] = ContextVar("evnet_account_cache", default=None)


@contextmanager
def account_cache():
    token = _account_cache.set({})
    try:
        yield
    finally:
        _account_cache.reset(token)


def account_get(*, organization: Organization, kind: str, currency: str, customer: Customer | None = None) -> Account:
    """The account of this kind (per customer for wallet and receivable), created on first use."""
    if (kind in Account.CUSTOMER_KINDS) != (customer is not None):
        raise ValueError(f"account kind {kind} {'needs' if customer is None else 'takes no'} customer")
    cache = _account_cache.get()
    key = (organization.pk, kind, customer.pk if customer else None, currency)
    if cache is not None and key in cache:
        return cache[key]
    code = ACCOUNT_NUMBERS[kind] + (f"-C{customer.pk}" if customer else "") + f"-{currency}"
    account, _ = Account.objects.get_or_create(
        organization=organization, kind=kind, customer=customer, currency=currency, defaults={"code": code},
    )
    if cache is not None:
        cache[key] = account
    return account


def customer_accounts_get(*, organization: Organization, kind: str, currency: str,
                          customers: list[Customer]) -> dict[int, Account]:
    """`account_get` for many customers at once ({customer id: account}): one query for the accounts that exist,
    one insert for the missing ones (a concurrent creator wins and its row is read back). Inside `account_cache()`
    the accounts are remembered like `account_get`'s. Why: the monthly close needs 5,000 receivables, and one
    get_or_create (with its savepoint) each was a sixth of the close."""
    if kind not in Account.CUSTOMER_KINDS:
        raise ValueError(f"account kind {kind} takes no customer")
    cache = _account_cache.get()

    def key(customer: Customer) -> tuple:
        return organization.pk, kind, customer.pk, currency

    found = {c.pk: cache[key(c)] for c in customers if cache is not None and key(c) in cache}
    wanted = [c for c in customers if c.pk not in found]

    def read() -> None:
        pending = [c.pk for c in wanted if c.pk not in found]
        if pending:
            for account in Account.objects.filter(organization=organization, kind=kind, currency=currency,
                                                  customer_id__in=pending):
                found[account.customer_id] = account

    if wanted:
        read()
        missing = [c for c in wanted if c.pk not in found]
        if missing:
            try:
                with transaction.atomic():
                    created = Account.objects.bulk_create([
                        Account(organization=organization, kind=kind, customer=c, currency=currency,
                                code=f"{ACCOUNT_NUMBERS[kind]}-C{c.pk}-{currency}") for c in missing])
                found.update({account.customer_id: account for account in created if account.pk is not None})
            except IntegrityError:
                # A concurrent creator, or a code already taken: one by one, so the first is read back and the
                # second raises as it does in `account_get`.
                for customer in missing:
                    found[customer.pk] = account_get(organization=organization, kind=kind, currency=currency,
                                                     customer=customer)
            read()
    if cache is not None:
        for customer in customers:
            cache[key(customer)] = found[customer.pk]
    return {c.pk: found[c.pk] for c in customers}


def _amount(value) -> Decimal:
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if amount != amount.quantize(FOUR_PLACES):
        raise InvalidAmount(f"{amount} has more than 4 decimal places; round it before posting.")
    return amount.quantize(FOUR_PLACES)


@dataclass
class Posting:
    """One entry to post: `lines` are (account, amount), debits positive and credits negative."""

    organization: Organization
    kind: str
    currency: str
    reference: str
    lines: list[tuple[Account, Decimal]]
    memo: str = ""
    posted_at: datetime | None = None
    reverses: JournalEntry | None = None


def _validated(posting: Posting) -> dict[int, tuple[Account, Decimal]]:
    merged: dict[int, Decimal] = defaultdict(Decimal)
    accounts: dict[int, Account] = {}
    for account, value in posting.lines:
        if account.organization_id != posting.organization.pk:
            raise UnbalancedEntry(f"Account {account.code} belongs to another organization.")
        if account.currency != posting.currency:
            raise LedgerCurrencyMismatch(
                f"Account {account.code} is kept in {account.currency}; this entry is in {posting.currency}.")
        merged[account.pk] += _amount(value)
        accounts[account.pk] = account
    merged = {pk: amount for pk, amount in merged.items() if amount}
    total = sum(merged.values(), Decimal("0"))
    if total != 0:
        raise UnbalancedEntry(f"Debits and credits differ by {total} {posting.currency} in “{posting.reference}”.",
                              extra={"difference": str(total)})
    if len(merged) < 2:
        raise UnbalancedEntry(f"“{posting.reference}” moves no money: an entry needs a debit and a credit.")
    return {pk: (accounts[pk], amount) for pk, amount in merged.items()}


def journal_post_many(*, postings: list[Posting]) -> list[JournalEntry]:
    """Post balanced entries in one go (same invariants as `journal_post`, checked for each before anything is
    written); returns the entries in order, the already-posted ones for references seen before."""
    if not postings:
        return []
    organization_ids = {p.organization.pk for p in postings}
    existing = {(e.organization_id, e.reference): e for e in JournalEntry.objects.filter(
        organization_id__in=organization_ids, reference__in=[p.reference for p in postings])}
    fresh = [(p, _validated(p)) for p in postings if (p.organization.pk, p.reference) not in existing]
    # Everything above only reads, so a refused entry leaves the caller's transaction usable; the writes below go
    # without a savepoint of their own (the monthly close posts thousands of entries).
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        entries = JournalEntry.objects.bulk_create([
            JournalEntry(organization=p.organization, kind=p.kind, currency=p.currency, reference=p.reference,
                         memo=p.memo[:255], reverses=p.reverses, posted_at=p.posted_at or now) for p, _ in fresh])
        deltas: dict[int, Decimal] = defaultdict(Decimal)
        lines = []
        for entry, (posting, merged) in zip(entries, fresh):
            existing[(posting.organization.pk, posting.reference)] = entry
            for pk, (account, amount) in sorted(merged.items()):
                lines.append((entry.pk, pk, amount, posting.currency))
                deltas[pk] += amount
        # Plain rows (COPY on PostgreSQL, where the deferred trigger still checks every entry at COMMIT).
        rows_insert(model=JournalLine, fields=["entry_id", "account_id", "amount", "amount_currency"], rows=lines)
        deltas = {pk: amount for pk, amount in deltas.items() if amount}
        if deltas:
            # Keep balance = sum of lines. Lock the rows in id order first (two postings touching the same accounts
            # cannot deadlock), then update them in one statement.
            list(Account.objects.select_for_update().filter(pk__in=deltas).order_by("pk")
                 .values_list("pk", flat=True))
            # One UPDATE … FROM a list of (account, delta) pairs (PostgreSQL and SQLite ≥ 3.33 alike): a CASE WHEN
            # per account, as Django's expressions build it, cost a tenth of the monthly close (100 receivables a
            # batch).
            table = Account._meta.db_table
            items = sorted(deltas.items())
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET balance = {table}.balance + v.delta "
                    f"FROM (SELECT column1 AS account_id, column2 AS delta "
                    f"FROM (VALUES {', '.join(['(%s, %s)'] * len(items))}) AS pairs) AS v "
                    f"WHERE {table}.id = v.account_id",
                    [value for pair in items for value in pair])
    return [existing[(p.organization.pk, p.reference)] for p in postings]


def journal_post(*, organization: Organization, kind: str, currency: str, reference: str,
                 lines: list[tuple[Account, Decimal]], memo: str = "", posted_at: datetime | None = None,
                 reverses: JournalEntry | None = None) -> JournalEntry:
    """Post one balanced entry: `lines` are (account, amount) with debits positive and credits negative; lines on
    the same account are merged and zero lines dropped. Invariants: at least two accounts, sum exactly zero, every
    account in `organization` and `currency`. Posting the same `reference` again returns the first entry and
    changes nothing."""
    return journal_post_many(postings=[Posting(organization=organization, kind=kind, currency=currency,
                                               reference=reference, lines=lines, memo=memo, posted_at=posted_at,
                                               reverses=reverses)])[0]


@transaction.atomic
def journal_reverse(*, entry: JournalEntry, memo: str = "", posted_at: datetime | None = None) -> JournalEntry:
    """Cancel an entry with its mirror (every line negated). Reversing twice returns the same reversal."""
    lines = [(line.account, -line.amount.amount) for line in entry.lines.select_related("account")]
    return journal_post(organization=entry.organization, kind=JournalEntry.Kind.REVERSAL, currency=entry.currency,
                        reference=f"reversal:{entry.reference}"[:120], lines=lines,
                        memo=memo or f"Reversal of {entry.reference}", posted_at=posted_at, reverses=entry)
