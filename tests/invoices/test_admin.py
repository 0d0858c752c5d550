"""Back-office: a clerk sees only the invoices, runs and journal of the organizations they serve; the PDF of
another tenant's invoice is 404; the close and the reconciliation pages only offer their organizations."""
from datetime import date, datetime, timezone as dt_timezone

import pytest

from apps.billing.models import Customer
from apps.invoices.services.closing import month_close
from tests.billing.factories import CustomerFactory
from tests.factories import OrganizationFactory, clerk_for
from tests.invoices.factories import charge_for

pytestmark = pytest.mark.django_db
OCTOBER = date(2026, 10, 1)


@pytest.fixture
def world():
    mine, theirs = OrganizationFactory(name="Condomínio Tejo"), OrganizationFactory(name="Other Org")
    for org in (mine, theirs):
        customer = CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID, name=f"Client of {org.name}")
        charge_for(customer, net="3")
        month_close(organization=org, period=OCTOBER, rate=False,
                    issued_at=datetime(2026, 11, 1, 6, tzinfo=dt_timezone.utc))
    return {"mine": mine, "theirs": theirs, "clerk": clerk_for(mine)}


def test_clerk_sees_own_invoices_runs_and_journal_only(client, world):
    client.force_login(world["clerk"])
    invoices = client.get("/admin/invoices/invoice/").content.decode()
    assert "Client of Condomínio Tejo" in invoices and "Client of Other Org" not in invoices
    runs = client.get("/admin/invoices/billingrun/").content.decode()
    assert "Condomínio Tejo" in runs and "Other Org" not in runs
    journal = client.get("/admin/billing/journalentry/")
    assert journal.status_code == 200 and "Client of Other Org" not in journal.content.decode()


def test_other_tenants_invoice_and_pdf_are_404(client, world):
    client.force_login(world["clerk"])
    theirs = world["theirs"].invoices.get()
    mine = world["mine"].invoices.get()
    assert client.get(f"/admin/invoices/invoice/{theirs.pk}/change/").status_code == 404
    assert client.get(f"/invoices/{theirs.pk}/pdf/").status_code == 404
    response = client.get(f"/invoices/{mine.pk}/pdf/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_reconciliation_page_offers_only_served_organizations(client, world):
    client.force_login(world["clerk"])
    page = client.get("/admin/invoices/billingrun/reconciliation/").content.decode()
    assert "Condomínio Tejo" in page and "Other Org" not in page
    report = client.get("/admin/invoices/billingrun/reconciliation/",
                        {"organization": world["mine"].pk, "month": "2026-10"}).content.decode()
    assert "unpaid_invoice" in report
    refused = client.get("/admin/invoices/billingrun/reconciliation/",
                         {"organization": world["theirs"].pk, "month": "2026-10"}).content.decode()
    assert "Select a valid choice" in refused
    assert client.get(f"/admin/invoices/billingrun/export/{world['theirs'].pk}/2026-10/json/").status_code == 404
    # Documents are exported by issue date: October's invoices were issued on 1 November.
    export = client.get(f"/admin/invoices/billingrun/export/{world['mine'].pk}/2026-11/invoices.csv/")
    assert export.status_code == 200 and b"Client of Condom" in export.content


def test_simulated_top_up_action_credits_a_prepaid_wallet(client, world):
    customer = CustomerFactory(organization=world["mine"], name="Resident 3B")
    client.force_login(world["clerk"])
    response = client.post("/admin/billing/customer/", {"action": "simulated_top_up",
                                                        "_selected_action": [customer.pk]}, follow=True)
    assert "wallet now 20.00 EUR" in response.content.decode()
