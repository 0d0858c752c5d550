"""Getting paid: the double-entry ledger, customers and their cards, prepaid wallets, payments through a gateway,
settled session charges and fleet plans. Money is Decimal with 4 places (django-money); every movement of money is
a balanced JournalEntry, and entries are never edited or deleted (corrections are new entries)."""
from decimal import Decimal

from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField

from apps.organizations.models import Organization
from apps.users.models import IdTag

MONEY = {"max_digits": 19, "decimal_places": 4}


class BillingSettings(models.Model):
    """Per-organization billing rules."""

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT, related_name="billing_settings")
    min_balance_to_start = models.DecimalField(
        max_digits=19, decimal_places=4, default=Decimal("5.0000"),
        help_text="A prepaid driver whose wallet holds less than this (in the wallet's currency) is refused at "
                  "Authorize / StartTransaction.",
    )
    invoice_series = models.CharField(max_length=12, default="FT", help_text="Series of postpaid invoices.")
    credit_note_series = models.CharField(max_length=12, default="NC", help_text="Series of credit notes.")
    payment_terms_days = models.PositiveSmallIntegerField(default=30, help_text="Invoice due date = issue + days.")

    class Meta:
        verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return f"Billing settings of {self.organization}"


class Customer(models.Model):
    """Who pays an organization for charging: a driver, a fleet company or a condominium unit."""

    class Kind(models.TextChoices):
        DRIVER = "driver", "Driver"
        FLEET_COMPANY = "fleet_company", "Fleet company"
        CONDOMINIUM_UNIT = "condominium_unit", "Condominium unit"

    class Regime(models.TextChoices):
        PREPAID = "prepaid", "Prepaid (wallet)"
        POSTPAID = "postpaid", "Postpaid (monthly invoice)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="customers",
                                     help_text="The organization that sells the charging.")
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.DRIVER)
    regime = models.CharField(max_length=16, choices=Regime.choices, default=Regime.POSTPAID)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    tax_id = models.CharField("tax id (NIF / CPF / CNPJ)", max_length=32, blank=True)
    address = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=2, choices=Organization.Country.choices, default="PT")
    currency = models.CharField(max_length=3, choices=settings.CURRENCY_CHOICES, default="EUR")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="billing_customers",
                             help_text="The driver, when the customer is one person.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], condition=models.Q(user__isnull=False),
                                    name="customer_one_per_user_and_org"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerCard(models.Model):
    """An RFID card billed to a customer (a fleet company pays for its drivers' cards), with an optional
    monthly energy cap."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="cards")
    id_tag = models.OneToOneField(IdTag, on_delete=models.CASCADE, related_name="billing_card")
    monthly_cap_wh = models.PositiveBigIntegerField(null=True, blank=True,
                                                    help_text="Refuse new sessions once the card used this many Wh "
                                                              "in the calendar month (site time zone).")

    def __str__(self) -> str:
        return f"{self.id_tag} → {self.customer}"


class Account(models.Model):
    """A ledger account, in one currency. `balance` is debit-positive and always equals the sum of its lines
    (kept by the posting service under a row lock)."""

    class Kind(models.TextChoices):
        WALLET = "wallet", "Customer wallet (liability)"
        RECEIVABLE = "receivable", "Customer receivable (asset)"
        REVENUE = "revenue", "Charging revenue"
        PLAN_REVENUE = "plan_revenue", "Plan fee revenue"
        VAT = "vat", "VAT payable"
        GATEWAY_CLEARING = "gateway_clearing", "Payment gateway clearing"
        BANK = "bank", "Bank"

    CUSTOMER_KINDS = (Kind.WALLET, Kind.RECEIVABLE)

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="ledger_accounts")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="accounts")
    currency = models.CharField(max_length=3, choices=settings.CURRENCY_CHOICES)
    code = models.CharField(max_length=64, help_text="Stable code for ERP export, e.g. 2110-C42-EUR.")
    balance = models.DecimalField(max_digits=19, decimal_places=4, default=Decimal("0"),
                                  help_text="Debit-positive sum of this account's journal lines.")

    class Meta:
        ordering = ["organization", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "customer", "currency"],
                                    condition=models.Q(customer__isnull=False), name="account_unique_customer"),
            models.UniqueConstraint(fields=["organization", "kind", "currency"],
                                    condition=models.Q(customer__isnull=True), name="account_unique_org"),
            models.UniqueConstraint(fields=["organization", "code"], name="account_unique_code"),
            models.CheckConstraint(
                condition=(models.Q(kind__in=["wallet", "receivable"], customer__isnull=False)
                           | (~models.Q(kind__in=["wallet", "receivable"]) & models.Q(customer__isnull=True))),
                name="account_customer_iff_customer_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.get_kind_display()}"


class JournalEntry(models.Model):
    """One balanced movement of money. Append-only: never updated or deleted (PostgreSQL triggers refuse it);
    a correction is a new entry that `reverses` the old one. `reference` makes posting idempotent."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", "Wallet top-up"
        REFUND = "refund", "Refund to the payment method"
        SESSION = "session", "Prepaid session"
        RECEIVABLE_OFFSET = "receivable_offset", "Wallet applied to receivable"
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"
        PAYMENT = "payment", "Invoice payment"
        REVERSAL = "reversal", "Reversal"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="journal_entries")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    currency = models.CharField(max_length=3, choices=settings.CURRENCY_CHOICES)
    reference = models.CharField(max_length=120, help_text="Idempotency key: what this entry books.")
    memo = models.CharField(max_length=255, blank=True)
    posted_at = models.DateTimeField(db_index=True)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reversed_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "journal entries"
        ordering = ["-posted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "reference"], name="journal_entry_reference_unique"),
        ]

    def __str__(self) -> str:
        return f"JE{self.pk} {self.get_kind_display()} {self.reference}"


class JournalLine(models.Model):
    """A debit (positive amount) or credit (negative amount) on one account. The lines of an entry sum to zero."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    amount = MoneyField(**MONEY, default_currency=None)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="journal_line_not_zero"),
        ]
        indexes = [models.Index(fields=["account", "entry"])]

    @property
    def debit(self) -> Decimal:
        return self.amount.amount if self.amount.amount > 0 else Decimal("0")

    @property
    def credit(self) -> Decimal:
        return -self.amount.amount if self.amount.amount < 0 else Decimal("0")

    def __str__(self) -> str:
        return f"{self.account.code} {self.amount}"


class Payment(models.Model):
    """Money a customer pays through a payment gateway (a wallet top-up)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the provider"
        SUCCEEDED = "succeeded", "Paid"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="payments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=32)
    provider_intent_id = models.CharField(max_length=120)
    amount = MoneyField(**MONEY, default_currency=None)
    refunded = MoneyField(**MONEY, default_currency=None)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "provider_intent_id"], name="payment_intent_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.provider_intent_id} {self.amount}"


class WebhookEvent(models.Model):
    """A verified webhook from a payment gateway. The unique event id makes delivery idempotent."""

    gateway = models.CharField(max_length=32)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="webhook_events")
    outcome = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="webhook_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.event_id} {self.event_type}"


class SessionCharge(models.Model):
    """What one rated charging session costs its customer, settled once: from the wallet (prepaid, any shortfall
    left as a receivable) or waiting for the monthly invoice (postpaid)."""

    class Status(models.TextChoices):
        WALLET = "wallet", "Paid from the wallet"
        RECEIVABLE = "receivable", "Partly or wholly owed (wallet short)"
        TO_INVOICE = "to_invoice", "Waiting for the monthly invoice"
        INVOICED = "invoiced", "Invoiced"
        NO_CUSTOMER = "no_customer", "No customer to bill"

    session_id = models.BigIntegerField(unique=True, help_text="The ChargingSession (OCPP transactionId).")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="session_charges")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="session_charges")
    id_tag_uid = models.CharField(max_length=20, blank=True)
    station_label = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    period = models.DateField(help_text="First day of the month (site time zone) the session belongs to.")
    energy_wh = models.BigIntegerField()
    net = MoneyField("amount excl. VAT", **MONEY, default_currency=None)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=4)
    vat = MoneyField("VAT", **MONEY, default_currency=None)
    total = MoneyField("amount incl. VAT", **MONEY, default_currency=None)
    wallet_debited = MoneyField(**MONEY, default_currency=None)
    receivable = MoneyField(**MONEY, default_currency=None)
    lines = models.JSONField(default=list, blank=True, help_text="Rated lines (TOU periods) as priced.")
    price_id = models.BigIntegerField(null=True, blank=True, help_text="The rating SessionPrice it settles.")
    status = models.CharField(max_length=16, choices=Status.choices)
    journal_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")
    invoice_id = models.BigIntegerField(null=True, blank=True, db_index=True,
                                        help_text="The postpaid invoice (apps.invoices) that bills it.")
    settled_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["organization", "period", "status"]),
                   models.Index(fields=["customer", "period"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(status="invoiced", invoice_id__isnull=False)
                                   | (~models.Q(status="invoiced") & models.Q(invoice_id__isnull=True)),
                                   name="session_charge_invoiced_iff_invoice"),
        ]

    def __str__(self) -> str:
        return f"session #{self.session_id} {self.total}"


class Plan(models.Model):
    """A fleet plan: monthly fee, included energy, plan prices (the tariff's `user_group` prices) and a per-card
    monthly cap."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, choices=settings.CURRENCY_CHOICES)
    monthly_fee = MoneyField(**MONEY, default_currency=None, help_text="Excl. VAT.")
    included_wh = models.PositiveBigIntegerField(default=0, help_text="Energy included in the fee each month.")
    user_group = models.SlugField(max_length=40, default="fleet",
                                  help_text="Price group whose tariff prices the plan's cards get.")
    card_monthly_cap_wh = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A customer on a plan from `starts_on` (inclusive) to `ends_on` (inclusive, open when empty)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                                   name="subscription_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} on {self.plan}"
