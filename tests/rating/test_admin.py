"""The back-office: session prices (read-only, scoped) and cost-recovery reports made on demand."""
from datetime import date

import pytest
from django.core import mail
from django.urls import reverse

from apps.rating.models import CostRecoveryReport, SessionPrice
from apps.rating.services.prices import session_price_final
from tests.factories import OrganizationFactory, SiteFactory, clerk_for

from .factories import session_with_readings
from .seed_chazemo import local

MON = date(2026, 6, 1)


def _priced(condo) -> SessionPrice:
    session = session_with_readings(station=condo["station"], id_tag=condo["tags"]["ana"],
                                    readings=[(local(MON, "08:00"), 0), (local(MON, "09:00"), 5000)])
    return session_price_final(session_id=session.pk)


@pytest.mark.django_db
def test_clerk_sees_the_price_lines_of_their_sessions_only(client, condo):
    price = _priced(condo)
    client.force_login(clerk_for(condo["organization"], username="ana.bpo"))
    listing = client.get(reverse("admin:rating_sessionprice_changelist"))
    assert listing.status_code == 200 and "zcs031903" in listing.content.decode()
    page = client.get(reverse("admin:rating_sessionprice_change", args=[price.pk]))
    body = page.content.decode()
    # 5.000 kWh of Cheia 1 × 0.227756 = 1.13878 → 1.14
    assert page.status_code == 200 and "5.000 kWh × €0.227756/kWh = €1.14" in body
    assert reverse("rating:receipt-pdf", args=[price.session_id]) in body
    client.force_login(clerk_for(OrganizationFactory(slug="other-org"), username="bruno.bpo"))
    assert "zcs031903" not in client.get(reverse("admin:rating_sessionprice_changelist")).content.decode()
    assert client.get(reverse("admin:rating_sessionprice_change", args=[price.pk])).status_code == 404


@pytest.mark.django_db
def test_prices_cannot_be_edited_or_deleted_in_the_admin(client, condo):
    price = _priced(condo)
    client.force_login(clerk_for(condo["organization"], username="ana.bpo"))
    response = client.post(reverse("admin:rating_sessionprice_change", args=[price.pk]), {"user_group": "x"})
    assert response.status_code == 403
    assert client.get(reverse("admin:rating_sessionprice_delete", args=[price.pk])).status_code == 403
    price.refresh_from_db()
    assert price.user_group == "resident"


@pytest.mark.django_db
def test_clerk_makes_a_report_on_demand_and_downloads_it(client, condo):
    _priced(condo)
    client.force_login(clerk_for(condo["organization"], username="ana.bpo"))
    response = client.post(reverse("admin:rating_costrecoveryreport_add"),
                           {"site": condo["site"].pk, "month": "2026-06", "send": "on"})
    report = CostRecoveryReport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{report.pk}/change/")
    assert report.month == date(2026, 6, 1) and str(report.total.amount) == "1.1400"
    assert mail.outbox[0].to == ["gestao@tejo.example"]
    pdf = client.get(reverse("rating:report-pdf", args=[report.pk]))
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    csv_file = client.get(reverse("rating:report-csv", args=[report.pk]))
    assert csv_file.status_code == 200 and b"Total para 3012 (zcs031903)" in b"".join(csv_file.streaming_content)
    client.force_login(clerk_for(OrganizationFactory(slug="other-org"), username="bruno.bpo"))
    assert client.get(reverse("rating:report-pdf", args=[report.pk])).status_code == 404
    assert client.get(reverse("admin:rating_costrecoveryreport_change", args=[report.pk])).status_code == 404


@pytest.mark.django_db
def test_report_form_refuses_a_bad_month_and_a_foreign_site(client, condo):
    client.force_login(clerk_for(condo["organization"], username="ana.bpo"))
    url = reverse("admin:rating_costrecoveryreport_add")
    bad = client.post(url, {"site": condo["site"].pk, "month": "junho"})
    assert bad.status_code == 400 and "YYYY-MM" in bad.content.decode()
    future = client.post(url, {"site": condo["site"].pk, "month": "2099-01"})
    assert future.status_code == 400 and "has not ended yet" in future.content.decode()
    foreign = client.post(url, {"site": SiteFactory().pk, "month": "2026-06"})
    assert foreign.status_code == 400 and "Select a valid choice" in foreign.content.decode()
    assert not CostRecoveryReport.objects.exists() and not mail.outbox
