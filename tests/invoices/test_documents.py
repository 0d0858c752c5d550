"""Postpaid invoices: lines, VAT, gap-free numbering, credit notes, payments, overdue, PDF and e-mail."""
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError
from djmoney.money import Money

from apps.billing.models import Account, Customer, SessionCharge
from apps.billing.selectors import account_balance, journal_unbalanced_entries, receivable_balance
from apps.billing.services.plans import subscription_start
from apps.invoices.exceptions import AlreadyCredited, InvalidPayment, InvoiceError
from apps.invoices.models import Invoice, InvoiceLine
from apps.invoices.services.delivery import invoice_pdf, invoice_send, invoices_send_pending
from apps.invoices.services.documents import (
    invoice_credit, invoice_issue_monthly, invoice_payment_record, invoices_mark_overdue,
)
from tests.billing.factories import BillingSettingsFactory, CustomerCardFactory, CustomerFactory, PlanFactory
from tests.invoices.factories import charge_for

pytestmark = pytest.mark.django_db
OCTOBER = date(2026, 10, 1)
ISSUED = datetime(2026, 11, 1, 6, 15, tzinfo=dt_timezone.utc)


@pytest.fixture
def postpaid():
    return CustomerFactory(regime=Customer.Regime.POSTPAID, name="Frota Lda", tax_id="509999990")


def test_invoice_has_one_line_per_session_with_vat_and_posts_the_receivable(postpaid):
    charge_for(postpaid, net="4.125", energy_wh=15_000)
    charge_for(postpaid, net="10.00", energy_wh=40_000)
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    lines = list(invoice.lines.all())
    assert [(line.kind, line.quantity, line.net.amount, line.vat.amount) for line in lines] == [
        ("session", Decimal("15.0000"), Decimal("4.13"), Decimal("0.95")),
        ("session", Decimal("40.0000"), Decimal("10.00"), Decimal("2.30")),
    ]
    assert (invoice.net.amount, invoice.vat.amount, invoice.total.amount) == (
        Decimal("14.13"), Decimal("3.25"), Decimal("17.38"))
    assert invoice.document_number == "FT2026/000001"
    assert invoice.due_on == date(2026, 12, 1)
    assert receivable_balance(customer=postpaid) == Decimal("17.38")
    assert set(SessionCharge.objects.values_list("status", flat=True)) == {"invoiced"}
    assert journal_unbalanced_entries() == []


def test_issuing_twice_returns_the_same_invoice_and_nothing_to_bill_gives_none(postpaid):
    charge_for(postpaid, net="5")
    first = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    assert invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED).pk == first.pk
    assert Invoice.objects.count() == 1
    assert invoice_issue_monthly(customer=CustomerFactory(regime=Customer.Regime.POSTPAID), period=OCTOBER) is None


def test_numbers_are_consecutive_per_organization_and_series(postpaid):
    other_org_customer = CustomerFactory(regime=Customer.Regime.POSTPAID)
    same_org = [CustomerFactory(regime=Customer.Regime.POSTPAID, organization=postpaid.organization)
                for _ in range(3)]
    for customer in [postpaid, *same_org, other_org_customer]:
        charge_for(customer, net="1")
        invoice_issue_monthly(customer=customer, period=OCTOBER, issued_at=ISSUED)
    numbers = list(Invoice.objects.filter(organization=postpaid.organization).order_by("number")
                   .values_list("document_number", flat=True))
    assert numbers == ["FT2026/000001", "FT2026/000002", "FT2026/000003", "FT2026/000004"]
    assert Invoice.objects.get(customer=other_org_customer).document_number == "FT2026/000001"


def test_a_failed_issue_consumes_no_number(postpaid):
    BillingSettingsFactory(organization=postpaid.organization)
    broken = CustomerFactory(regime=Customer.Regime.POSTPAID, organization=postpaid.organization, currency="BRL")
    charge_for(broken, net="3")
    charge_for(postpaid, net="2")
    # Make the broken customer's invoice fail after its number was drawn: the code of the BRL receivable account
    # it needs is already taken, so posting the journal entry fails.
    Account.objects.create(organization=postpaid.organization, kind=Account.Kind.RECEIVABLE, customer=broken,
                           currency="EUR", code=f"1300-C{broken.pk}-BRL")
    with pytest.raises(IntegrityError):
        invoice_issue_monthly(customer=broken, period=OCTOBER, issued_at=ISSUED)
    assert not Invoice.objects.exists()
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    assert invoice.document_number == "FT2026/000001"


def test_late_sessions_of_an_earlier_month_roll_into_the_next_invoice(postpaid):
    charge_for(postpaid, net="2", at=datetime(2026, 9, 30, 20, tzinfo=dt_timezone.utc))
    charge_for(postpaid, net="3")
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    assert invoice.net.amount == Decimal("5.00")


def test_condominium_unit_gets_one_line_per_tou_period(postpaid):
    unit = CustomerFactory(regime=Customer.Regime.POSTPAID, kind=Customer.Kind.CONDOMINIUM_UNIT)
    vazio = {"dimension": "ENERGY", "period": "Vazio", "season": "WINTER", "day_type": "WEEKDAY",
             "quantity": "6.000", "unit_price": "0.1052", "amount": "0.6312"}
    ponta = {"dimension": "ENERGY", "period": "Ponta", "season": "WINTER", "day_type": "WEEKDAY",
             "quantity": "1.500", "unit_price": "0.2921", "amount": "0.43815"}
    charge_for(unit, net="1.07", energy_wh=7_500, lines=[vazio, ponta])
    charge_for(unit, net="0.63", energy_wh=6_000, lines=[vazio])
    invoice = invoice_issue_monthly(customer=unit, period=OCTOBER, issued_at=ISSUED)
    assert [(line.kind, line.description, line.quantity, line.net.amount) for line in invoice.lines.all()] == [
        ("tou_period", "Energy Vazio Winter Weekday", Decimal("12.0000"), Decimal("1.26")),
        ("tou_period", "Energy Ponta Winter Weekday", Decimal("1.5000"), Decimal("0.44")),
    ]


def test_plan_fee_is_prorated_and_included_energy_is_deducted():
    fleet = CustomerFactory(regime=Customer.Regime.POSTPAID, kind=Customer.Kind.FLEET_COMPANY)
    card = CustomerCardFactory(customer=fleet)
    plan = PlanFactory(organization=fleet.organization, monthly_fee=Money(Decimal("31.00"), "EUR"),
                       included_wh=62_000, user_group="fleet-gold")
    subscription_start(customer=fleet, plan=plan, starts_on=date(2026, 10, 17))  # 15 of 31 days
    card.id_tag.refresh_from_db()
    assert card.id_tag.user_group == "fleet-gold"
    charge_for(fleet, net="12.00", energy_wh=40_000)
    invoice = invoice_issue_monthly(customer=fleet, period=OCTOBER, issued_at=ISSUED)
    lines = {line.kind: line for line in invoice.lines.all()}
    assert lines["plan_fee"].net.amount == Decimal("15.00")
    assert "(15/31 days)" in lines["plan_fee"].description
    # 62 kWh × 15/31 = 30 kWh included, at the month's average 0.30 €/kWh.
    assert lines["included_energy"].quantity == Decimal("30.0000")
    assert lines["included_energy"].net.amount == Decimal("-9.00")
    assert invoice.net.amount == Decimal("18.00")
    plan_revenue = Account.objects.get(organization=fleet.organization, kind=Account.Kind.PLAN_REVENUE)
    assert account_balance(account=plan_revenue) == Decimal("-15.00")


def test_plan_of_another_organization_is_refused():
    fleet = CustomerFactory(regime=Customer.Regime.POSTPAID)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="another organization"):
        subscription_start(customer=fleet, plan=PlanFactory(), starts_on=date(2026, 10, 1))


def test_credit_note_is_a_new_document_that_reverses_the_invoice(postpaid):
    charge_for(postpaid, net="10")
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    note = invoice_credit(invoice=invoice, reason="Charger fault, session refunded", issued_at=ISSUED)
    assert note.document_number == "NC2026/000001"
    assert note.total.amount == Decimal("-12.30")
    assert [line.net.amount for line in note.lines.all()] == [Decimal("-10.00")]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CREDITED
    assert invoice.total.amount == Decimal("12.30")  # the invoice itself is unchanged
    assert receivable_balance(customer=postpaid) == 0
    assert journal_unbalanced_entries() == []
    with pytest.raises(AlreadyCredited, match="NC2026/000001"):
        invoice_credit(invoice=invoice, reason="again")
    with pytest.raises(InvoiceError, match="Only an invoice"):
        invoice_credit(invoice=note, reason="credit the credit")


def test_credit_without_reason_is_refused(postpaid):
    charge_for(postpaid, net="10")
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    with pytest.raises(InvoiceError, match="Say why"):
        invoice_credit(invoice=invoice, reason="  ")
    assert Invoice.objects.count() == 1


def test_payment_marks_the_invoice_paid_once(postpaid):
    charge_for(postpaid, net="10")
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    invoice_payment_record(invoice=invoice, amount=Decimal("5.00"), reference="TRF-1")
    invoice_payment_record(invoice=invoice, amount=Decimal("5.00"), reference="TRF-1")  # same transfer again
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid.amount) == ("issued", Decimal("5.00"))
    invoice = invoice_payment_record(invoice=invoice, amount=Decimal("7.30"), reference="TRF-2")
    assert (invoice.status, invoice.paid.amount) == ("paid", Decimal("12.30"))
    assert receivable_balance(customer=postpaid) == 0


def test_bad_payments_are_refused(postpaid):
    charge_for(postpaid, net="10")
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    with pytest.raises(InvalidPayment, match="Only 12.30 EUR is left"):
        invoice_payment_record(invoice=invoice, amount=Decimal("20"), reference="X")
    with pytest.raises(InvalidPayment, match="positive amount in cents"):
        invoice_payment_record(invoice=invoice, amount=Decimal("-1"), reference="Y")
    with pytest.raises(InvalidPayment, match="bank reference"):
        invoice_payment_record(invoice=invoice, amount=Decimal("1"), reference="")
    assert receivable_balance(customer=postpaid) == Decimal("12.30")


def test_unpaid_invoice_becomes_overdue_after_its_due_date(postpaid):
    charge_for(postpaid, net="10")
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    assert invoices_mark_overdue(today=date(2026, 12, 1)) == 0
    assert invoices_mark_overdue(today=date(2026, 12, 2)) == 1
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OVERDUE


def test_pdf_and_email(postpaid):
    charge_for(postpaid, net="10")
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    pdf = invoice_pdf(invoice=invoice)
    assert pdf.startswith(b"%PDF")
    assert invoice_send(invoice=invoice) is True
    assert invoice_send(invoice=invoice) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [postpaid.email]
    assert "FT2026/000001" in message.subject and "12.30 EUR, due on 2026-12-01" in message.body
    assert message.attachments[0][0] == "FT2026-000001.pdf"


def test_customer_without_email_is_recorded_not_retried(postpaid):
    postpaid.email = ""
    postpaid.save()
    charge_for(postpaid, net="10")
    invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    assert invoices_send_pending() == 0
    assert Invoice.objects.get().email_error == "The customer has no e-mail address."
    assert mail.outbox == []


def test_invoice_line_text_shows_the_session(postpaid):
    charge_for(postpaid, net="10", session_id=4242)
    invoice = invoice_issue_monthly(customer=postpaid, period=OCTOBER, issued_at=ISSUED)
    line = InvoiceLine.objects.get(invoice=invoice)
    assert line.session_id == 4242
    assert line.description.startswith("Charging #4242 2026-10-10") and "ZCS031974" in line.description
