"""Receipts (HTML, PDF) and quotes, through the services and the staff pages."""
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.rating.exceptions import QuoteInvalid, SessionNotClosed, TariffMissing
from apps.rating.models import SessionPrice
from apps.rating.services.quotes import quote
from apps.rating.services.receipts import receipt_html, receipt_pdf
from tests.factories import OrganizationFactory, StationFactory, clerk_for

from .factories import session_with_readings
from .pdf_text import pdf_text
from .seed_chazemo import local

MON = date(2026, 6, 1)


def _session(condo, closed=True):
    readings = [(local(MON, "08:00"), 0), (local(MON, "09:05"), 5867), (local(MON, "09:25"), 7867),
                (local(MON, "12:15"), 26867)]
    return session_with_readings(station=condo["station"], readings=readings, id_tag=condo["tags"]["rui"],
                                 closed=closed)


@pytest.mark.django_db
def test_receipt_shows_where_when_and_each_priced_line(condo):
    session = _session(condo)
    html = receipt_html(session_id=session.pk)
    for needle in ["zcs031903", "Lugar n°3012", "Garagem Edifício Tejo", "TEJO0002", "Rui Matos",
                   "2026-06-01 08:00:00 (WEST)", "2026-06-01 12:15:00 (WEST)", "26.867 kWh",
                   "6.867 kWh × €0.227756/kWh = €1.56", "20.000 kWh × €0.245102/kWh = €4.90",
                   "€6.46", "€1.49", "€7.95", "Tarifário do comercializador · chazemo-tejo-residents v1", "Europe/Lisbon"]:
        assert needle in html, needle
    # The receipt priced the session (idempotently): one SessionPrice row.
    assert SessionPrice.objects.filter(session=session).count() == 1


@pytest.mark.django_db
def test_receipt_pdf_carries_the_same_text(condo):
    session = _session(condo)
    text = pdf_text(pdf=receipt_pdf(session_id=session.pk), html=receipt_html(session_id=session.pk))
    assert "6.867 kWh × €0.227756/kWh = €1.56" in text and "Total €7.95" in text


@pytest.mark.django_db
def test_no_receipt_while_charging(condo):
    with pytest.raises(SessionNotClosed):
        receipt_pdf(session_id=_session(condo, closed=False).pk)


@pytest.mark.django_db
def test_staff_receipt_pages_are_scoped_like_the_admin(client, condo):
    session = _session(condo)
    client.force_login(clerk_for(condo["organization"], username="ana.bpo"))
    page = client.get(reverse("rating:receipt", args=[session.pk]))
    assert page.status_code == 200 and "€7.95" in page.content.decode()
    pdf = client.get(reverse("rating:receipt-pdf", args=[session.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    client.force_login(clerk_for(OrganizationFactory(slug="fleet-co"), username="bruno.bpo"))
    assert client.get(reverse("rating:receipt", args=[session.pk])).status_code == 404
    assert client.get(reverse("rating:receipt-pdf", args=[session.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("rating:receipt", args=[session.pk])).status_code == 302  # to the admin login


@pytest.mark.django_db
def test_staff_receipt_of_a_running_session_says_why_not(client, condo):
    session = _session(condo, closed=False)
    client.force_login(clerk_for(condo["organization"], username="ana.bpo"))
    page = client.get(reverse("rating:receipt", args=[session.pk]))
    assert page.status_code == 409 and "still charging" in page.content.decode()


@pytest.mark.django_db
def test_quote_prices_a_session_across_the_ponta_boundary(condo):
    # 10 kWh from Wed 3 June 08:00 at 7.4 kW: 75 min of Cheia 1 until 09:15 = 9 250 Wh, then 750 Wh of Ponta.
    # 9.250 × 0.227756 = 2.10674 → 2.11; 0.750 × 0.245102 = 0.18383 → 0.18; excl. VAT 2.29;
    # VAT 23 %: 0.4853 → 0.49 and 0.0414 → 0.04; total 2.82.
    result = quote(station=condo["station"], energy_wh=10_000, start_at_local=datetime(2026, 6, 3, 8, 0),
                   user_group="resident", power_w=7400)
    assert {ln.period: ln.quantity_raw for ln in result.lines} == {"Cheia 1": 9250, "Ponta": 750}
    assert (result.total_excl_vat, result.total_incl_vat) == (Decimal("2.29"), Decimal("2.82"))


@pytest.mark.django_db
@pytest.mark.parametrize("energy_wh, start, message", [
    (0, datetime(2026, 6, 3, 8, 0), "positive whole number of Wh"),
    (-5, datetime(2026, 6, 3, 8, 0), "positive whole number of Wh"),
    (2_000_000, datetime(2026, 6, 3, 8, 0), "more than any single session"),
    (10_000, datetime(2026, 3, 29, 1, 30), "does not exist in Europe/Lisbon"),  # the spring-forward gap
])
def test_quote_refuses_bad_input(condo, energy_wh, start, message):
    with pytest.raises(QuoteInvalid, match=message):
        quote(station=condo["station"], energy_wh=energy_wh, start_at_local=start, user_group="resident")


@pytest.mark.django_db
def test_quote_without_a_tariff_says_so(condo):
    with pytest.raises(TariffMissing):
        quote(station=StationFactory(ocpp_id="NOTARIFF3"), energy_wh=1000, start_at_local=datetime(2026, 6, 3, 8, 0))


@pytest.mark.django_db
def test_quote_page(client, condo):
    client.force_login(clerk_for(condo["organization"], username="ana.bpo"))
    page = client.get(reverse("rating:quote"), {"station": condo["station"].pk, "energy_kwh": "10",
                                                "start_at_local": "2026-06-03 08:00", "user_group": "resident",
                                                "power_kw": "7.4"})
    body = page.content.decode()
    assert page.status_code == 200 and "€2.82" in body and "9.250 kWh × €0.227756/kWh = €2.11" in body
    bad = client.get(reverse("rating:quote"), {"station": condo["station"].pk, "energy_kwh": "10",
                                               "start_at_local": "tomorrow", "user_group": "resident"})
    assert bad.status_code == 400 and "YYYY-MM-DD HH:MM" in bad.content.decode()
    # A station of another organization is not a choice for this clerk.
    foreign = StationFactory(ocpp_id="FOREIGN01")
    page = client.get(reverse("rating:quote"), {"station": foreign.pk, "energy_kwh": "10",
                                                "start_at_local": "2026-06-03 08:00", "user_group": "public"})
    assert page.status_code == 400 and "Select a valid choice" in page.content.decode()
