"""Reconciliation lists every mismatch of a month; the ERP export and SAF-T (PT) carry the month's documents."""
import csv
import io
import json
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from djmoney.money import Money

from apps.billing.gateways import SimulatedGateway
from apps.billing.models import Customer, WebhookEvent
from apps.billing.services.settlement import session_prices_settle
from apps.billing.services.wallets import payment_webhook_handle
from apps.charging.models import ChargingSession
from apps.invoices.exceptions import ExportError
from apps.invoices.services.closing import month_close
from apps.invoices.services.documents import invoice_credit, invoice_payment_record
from apps.invoices.services.exports import JOURNAL_COLUMNS, erp_export, saft_pt_export
from apps.invoices.services.reconciliation import reconciliation_report
from apps.rating.models import SessionPrice
from tests.billing.factories import CustomerFactory
from tests.factories import IdTagFactory, SiteFactory, StationFactory

pytestmark = pytest.mark.django_db
OCTOBER = date(2026, 10, 1)
ISSUED = datetime(2026, 10, 31, 23, 30, tzinfo=dt_timezone.utc)  # still October in UTC: exported with the month
NS = {"s": "urn:OECD:StandardAuditFile-Tax:PT_1.04_01"}


def session(station, id_tag, *, day: int, energy_wh=10_000, price: str | None = "3.00", attention=False):
    started = datetime(2026, 10, day, 20, tzinfo=dt_timezone.utc)
    row = ChargingSession.objects.create(
        station=station, connector_number=1, id_tag=id_tag, id_tag_uid=id_tag.uid, user=id_tag.owner,
        started_at=started, stopped_at=started.replace(hour=22), meter_start_wh=day * 100_000,
        meter_stop_wh=day * 100_000 + energy_wh, energy_wh=energy_wh, state=ChargingSession.State.COMPLETED,
        needs_attention=attention)
    if price is not None:
        SessionPrice.objects.create(session=row, currency="EUR", total_excl_vat=Money(Decimal(price), "EUR"),
                                    total_vat=Money(Decimal(price) * Decimal("0.23"), "EUR"),
                                    total_incl_vat=Money(Decimal(price) * Decimal("1.23"), "EUR"),
                                    energy_wh=energy_wh, rated_at=started.replace(hour=23))
    return row


@pytest.fixture
def month():
    site = SiteFactory(organization__tax_id="501234567")
    org = site.organization
    station = StationFactory(site=site)
    customer = CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID, name="Fração 3B",
                               tax_id="123456789")
    id_tag = IdTagFactory(organization=org, owner=customer.user)
    sessions = [session(station, id_tag, day=d) for d in (3, 4)]
    month_close(organization=org, period=OCTOBER, issued_at=ISSUED, rate=False)
    return {"org": org, "customer": customer, "station": station, "id_tag": id_tag, "sessions": sessions}


def test_a_clean_paid_month_has_no_mismatches_and_correct_totals(month):
    invoice = month["customer"].invoices.get()
    invoice_payment_record(invoice=invoice, amount=invoice.total.amount, reference="TRF-77")
    report = reconciliation_report(organization=month["org"], period=OCTOBER)
    assert report["mismatches"] == []
    assert report["totals"]["sessions"] == 2
    assert report["totals"]["energy_wh"] == 20_000
    assert report["totals"]["rated_excl_vat"] == "6.00"
    assert report["totals"]["invoices"]["invoice"] == {"count": 1, "net": "6.00", "vat": "1.38", "total": "7.38",
                                                       "paid": "7.38"}


def test_every_kind_of_mismatch_is_listed(month, client):
    org, station, id_tag = month["org"], month["station"], month["id_tag"]
    unrated = session(station, id_tag, day=10, price=None)
    flagged = session(station, id_tag, day=11, attention=True)
    stranger = IdTagFactory(organization=org)
    orphan = session(station, stranger, day=12)
    session_prices_settle()
    body, headers = SimulatedGateway().payment_succeeded_webhook(intent_id="sim_pi_unknown", amount=Decimal("5"),
                                                                 currency="EUR")
    event = payment_webhook_handle(gateway_name="simulated", body=body, headers=headers)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=datetime(2026, 10, 20, tzinfo=dt_timezone.utc))
    report = reconciliation_report(organization=org, period=OCTOBER)
    found = {(m["kind"], m["reference"]) for m in report["mismatches"]}
    invoice = month["customer"].invoices.get()
    assert found == {
        ("unrated_session", f"session #{unrated.pk}"),
        ("session_in_error", f"session #{flagged.pk}"),
        ("session_not_invoiced", f"session #{flagged.pk}"),
        ("session_without_customer", f"session #{orphan.pk}"),
        ("unpaid_invoice", invoice.document_number),
        ("webhook_without_payment", f"event {json.loads(body)['id']}"),
    }


def test_reconcile_command_prints_the_mismatches(month, capsys):
    call_command("billing_reconcile", "--organization", month["org"].slug, "--month", "2026-10")
    out = capsys.readouterr().out
    assert "mismatches: 1 {'unpaid_invoice': 1}" in out
    assert "Fração 3B: 7.38 EUR due" in out


def test_erp_csv_and_json_exports(month):
    files = erp_export(organization=month["org"], period=OCTOBER, fmt="csv")
    stem = f"{month['org'].slug}-2026-10"
    journal = list(csv.DictReader(io.StringIO(files[f"{stem}-journal.csv"])))
    assert list(journal[0].keys()) == JOURNAL_COLUMNS
    assert sum(Decimal(r["debit"]) for r in journal) == sum(Decimal(r["credit"]) for r in journal) == Decimal("7.38")
    invoices = list(csv.DictReader(io.StringIO(files[f"{stem}-invoices.csv"])))
    assert [(r["document_number"], r["total"], r["customer_tax_id"]) for r in invoices] == [
        ("FT2026/000001", "7.3800", "123456789")]
    lines = list(csv.DictReader(io.StringIO(files[f"{stem}-invoice-lines.csv"])))
    assert [int(r["session_id"]) for r in lines] == [s.pk for s in month["sessions"]]
    data = json.loads(erp_export(organization=month["org"], period=OCTOBER, fmt="json")[f"{stem}.json"])
    assert data["format"] == "evnet-erp/1" and len(data["invoices"][0]["lines"]) == 2
    with pytest.raises(ExportError, match="Unknown export format"):
        erp_export(organization=month["org"], period=OCTOBER, fmt="xlsx")


def test_saft_pt_lists_invoices_and_credit_notes(month):
    invoice = month["customer"].invoices.get()
    invoice_credit(invoice=invoice, reason="Erro de contagem", issued_at=ISSUED)
    root = ET.fromstring(saft_pt_export(organization=month["org"], period=OCTOBER))
    assert root.find("s:Header/s:TaxRegistrationNumber", NS).text == "501234567"
    sales = root.find("s:SourceDocuments/s:SalesInvoices", NS)
    assert sales.find("s:NumberOfEntries", NS).text == "2"
    assert (sales.find("s:TotalCredit", NS).text, sales.find("s:TotalDebit", NS).text) == ("6.00", "6.00")
    documents = sales.findall("s:Invoice", NS)
    assert [d.find("s:InvoiceNo", NS).text for d in documents] == ["FT FT2026/1", "NC NC2026/1"]
    note_line = documents[1].find("s:Line", NS)
    assert note_line.find("s:References/s:Reference", NS).text == "FT FT2026/1"
    assert note_line.find("s:DebitAmount", NS).text == "3.00"
    assert documents[0].find("s:DocumentTotals/s:GrossTotal", NS).text == "7.38"
    assert root.find("s:MasterFiles/s:TaxTable/s:TaxTableEntry/s:TaxCode", NS).text == "NOR"


def test_saft_pt_is_refused_for_a_brazilian_organization():
    site = SiteFactory(organization__country="BR", country="BR", time_zone="America/Sao_Paulo", currency="BRL")
    with pytest.raises(ExportError, match="Portuguese organizations only"):
        saft_pt_export(organization=site.organization, period=OCTOBER)
