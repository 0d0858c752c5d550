"""Postpaid invoices and credit notes, their gap-free numbering, and the monthly billing runs that issue them.
Documents are never edited once issued: a credit note is a new document."""
from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField

from apps.billing.models import Customer, JournalEntry
from apps.organizations.models import Organization

MONEY = {"max_digits": 19, "decimal_places": 4, "default_currency": None}


class DocumentCounter(models.Model):
    """The last number used in one series of one organization. Locked (SELECT … FOR UPDATE) in the transaction
    that issues the document, so numbers are consecutive with no gaps and no duplicates: a rolled-back issue
    rolls its number back too."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="document_counters")
    series = models.CharField(max_length=20)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "series"], name="document_counter_unique")]

    def __str__(self) -> str:
        return f"{self.organization} {self.series}: {self.last_number}"


class BillingRun(models.Model):
    """One monthly close of one organization. Each customer's step is recorded as it commits (BillingRunStep),
    so a crashed run resumes where it stopped and a second run issues nothing twice."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed (rerun to resume)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="billing_runs")
    period = models.DateField(help_text="First day of the closed month.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    phase = models.CharField(max_length=40, blank=True, help_text="What the run is doing now.")
    customers_total = models.PositiveIntegerField(default=0)
    customers_done = models.PositiveIntegerField(default=0)
    invoices_issued = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-period", "organization__name"]
        constraints = [models.UniqueConstraint(fields=["organization", "period"], name="billing_run_unique")]

    def __str__(self) -> str:
        return f"{self.organization} {self.period:%Y-%m}"

    @property
    def progress(self) -> str:
        return f"{self.customers_done}/{self.customers_total}"


class Invoice(models.Model):
    """An invoice or a credit note. Numbered per organization and series with no gaps ("FT2026/000042")."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        OVERDUE = "overdue", "Overdue"
        CREDITED = "credited", "Credited"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INVOICE)
    series = models.CharField(max_length=20)
    number = models.PositiveIntegerField()
    document_number = models.CharField(max_length=40)
    period = models.DateField(help_text="First day of the billed month.")
    issued_at = models.DateTimeField()
    due_on = models.DateField()
    currency = models.CharField(max_length=3, choices=settings.CURRENCY_CHOICES)
    net = MoneyField("total excl. VAT", **MONEY)
    vat = MoneyField("VAT", **MONEY)
    total = MoneyField("total incl. VAT", **MONEY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ISSUED)
    paid = MoneyField("paid so far", **MONEY)
    paid_at = models.DateTimeField(null=True, blank=True)
    credits = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="credit_notes", help_text="The invoice a credit note cancels.")
    reason = models.CharField(max_length=255, blank=True)
    customer_name = models.CharField(max_length=200, help_text="As on the document.")
    customer_tax_id = models.CharField(max_length=32, blank=True)
    customer_address = models.CharField(max_length=255, blank=True)
    journal_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")
    billing_run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="invoices")
    pdf = models.FileField(upload_to="invoices/%Y/%m/", blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-issued_at", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "series", "number"], name="invoice_number_unique"),
            models.UniqueConstraint(fields=["customer", "period"], condition=models.Q(kind="invoice"),
                                    name="invoice_one_per_customer_month"),
            models.UniqueConstraint(fields=["credits"], condition=models.Q(kind="credit_note"),
                                    name="credit_note_one_per_invoice"),
            models.CheckConstraint(condition=models.Q(kind="invoice", credits__isnull=True)
                                   | models.Q(kind="credit_note", credits__isnull=False),
                                   name="credit_note_credits_an_invoice"),
        ]
        indexes = [models.Index(fields=["organization", "period"]), models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return self.document_number


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        SESSION = "session", "Charging session"
        TOU_PERIOD = "tou_period", "Energy in a tariff period"
        PLAN_FEE = "plan_fee", "Plan fee"
        INCLUDED_ENERGY = "included_energy", "Energy included in the plan"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.CharField(max_length=255)
    session_id = models.BigIntegerField(null=True, blank=True, help_text="The charging session it bills.")
    quantity = models.DecimalField(max_digits=19, decimal_places=4)
    unit = models.CharField(max_length=12)
    unit_price = models.DecimalField(max_digits=19, decimal_places=6)
    net = MoneyField("amount excl. VAT", **MONEY)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=4)
    vat = MoneyField("VAT", **MONEY)
    total = MoneyField("amount incl. VAT", **MONEY)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position")]

    def __str__(self) -> str:
        return f"{self.invoice} #{self.position} {self.description}"


class BillingRunStep(models.Model):
    """One customer's step of a billing run, written in the same transaction as that customer's invoice."""

    class Outcome(models.TextChoices):
        ISSUED = "issued", "Invoice issued"
        NOTHING = "nothing", "Nothing to bill"
        ALREADY = "already", "Already invoiced"

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="steps")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    done_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "customer"], name="billing_run_step_unique")]

    def __str__(self) -> str:
        return f"{self.run}: {self.customer} {self.outcome}"
