"""The condominium cost-recovery report (ChaZeMo Report): the seed's June table for zcs031903, exactly."""
import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from django.core import mail

from apps.rating.exceptions import ReportInvalid
from apps.rating.models import CostRecoveryReport
from apps.rating.services.reports import cost_recovery_html, cost_recovery_report_generate, cost_recovery_reports_due, month_parse

from .conftest import tariff_publish
from .factories import session_with_readings
from .pdf_text import pdf_text
from .seed_chazemo import EXPECTED_LINES, SESSIONS, local, ocpi_tariff

JUNE = date(2026, 6, 1)
AFTER_JUNE = datetime(2026, 7, 1, 9, 0, tzinfo=timezone.utc)


def _seed_month(condo):
    for user, day, readings in SESSIONS:
        session_with_readings(station=condo["station"], id_tag=condo["tags"][user],
                              readings=[(local(day, hhmm), wh) for hhmm, wh in readings])
    # Another charger of the garage: Ana, Tue 9 June 19:00–21:00, 10 kWh of Cheia 2 (10 × 0.227756 = 2.27756 → 2.28).
    session_with_readings(station=condo["other"], id_tag=condo["tags"]["ana"],
                          readings=[(local(date(2026, 6, 9), "19:00"), 0), (local(date(2026, 6, 9), "20:00"), 5000),
                                    (local(date(2026, 6, 9), "21:00"), 10000)])


def _block(blocks, title):
    return next(b for b in blocks if b["title"] == title)


def _lines(block):
    return [(g["name"], ln["period"], ln["hours"], f"{ln['kwh']} kWh x {ln['unit_price_text']} {ln['amount_text']}")
            for g in block["groups"] for ln in g["lines"]]


@pytest.mark.django_db
def test_the_seed_june_table_for_zcs031903_comes_out_exactly(condo):
    _seed_month(condo)
    report = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=False, now=AFTER_JUNE)
    charger = _block(report.data["chargers"], "Total para 3012 (zcs031903)")
    assert _lines(charger) == EXPECTED_LINES
    assert (charger["total_text"], charger["kwh"], charger["kwh_2"]) == ("€80.38", "360.018", "360.02")
    # The condominium: 80.38 + 2.28 (the other charger) = 82.66 for 370.018 kWh.
    assert _block(report.data["chargers"], "Total para 3049 (ZCS031974)")["total_text"] == "€2.28"
    assert (report.total.amount, report.energy_wh) == (Decimal("82.66"), 370018)
    # Per user, each table rounded line by line (seed_chazemo's sessions by hand):
    # Ana: Vazio 1 19.029 → 3.78, Super Vazio 1.257 → 0.25, Ponta 20.000 × 0.245102 → 4.90,
    #      Cheia 2 73.000 + 70.536 + 10.000 = 153.536 × 0.227756 = 34.9687 → 34.97, Sunday Vazio 1 14.000 → 2.78
    #      = €46.68 for 207.822 kWh
    # Rui: Cheia 1 6.867 → 1.56, Ponta 20.000 + 5.730 = 25.730 → 6.31, Cheia 2 3.500 + 75.000 = 78.500 → 17.88,
    #      Saturday Cheia 1 3.140 → 0.72, Sunday Vazio 1 5.412 → 1.07, Vazio 2 42.547 → 8.44 = €35.98, 162.196 kWh
    ana, rui = _block(report.data["users"], "Total para Ana Lopes"), _block(report.data["users"], "Total para Rui Matos")
    assert (ana["total_text"], ana["kwh"]) == ("€46.68", "207.822")
    assert (rui["total_text"], rui["kwh"]) == ("€35.98", "162.196")


@pytest.mark.django_db
def test_the_pdf_reads_like_the_seed(condo):
    _seed_month(condo)
    report = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=False, now=AFTER_JUNE)
    report.pdf.open("rb")
    pdf = report.pdf.read()
    report.pdf.close()
    text = pdf_text(pdf=pdf, html=cost_recovery_html(data=report.data))
    for needle in ["Total para 3012 (zcs031903)", "Verão/Semana", "Verão/Sabado", "Verão/Domingo",
                   "Cheia 1", "07.00-09.15", "6.867 kWh x €0.227756 €1.56", "222.036 kWh x €0.227756 €50.57",
                   "45.730 kWh x €0.245102 €11.21", "1.257 kWh x €0.197780 €0.25", "19.029 kWh x €0.198418 €3.78",
                   "3.140 kWh x €0.227756 €0.72", "19.412 kWh x €0.198418 €3.85", "42.547 kWh x €0.198418 €8.44",
                   "€80.38 total (360.018kWh)", "Total carregado 1 Junho Até 30 Junho: 360.02kWh",
                   "Total para Ana Lopes", "€82.66 total (370.018kWh)"]:
        assert needle in text, needle


@pytest.mark.django_db
def test_the_csv_has_one_row_per_line_and_the_totals(condo):
    _seed_month(condo)
    report = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=False, now=AFTER_JUNE)
    report.csv.open("rb")
    rows = list(csv.DictReader(io.StringIO(report.csv.read().decode("utf-8"))))
    report.csv.close()
    charger = [r for r in rows if r["subject"] == "Total para 3012 (zcs031903)"]
    assert len(charger) == 9  # 8 lines + its total
    assert charger[0] == {"table": "charger", "subject": "Total para 3012 (zcs031903)", "season": "SUMMER",
                          "day_type": "WEEKDAY", "period": "Cheia 1", "hours": "07.00-09.15", "energy_kwh": "6.867",
                          "unit_price": "0.227756", "amount": "1.56", "currency": "EUR"}
    assert (charger[-1]["period"], charger[-1]["energy_kwh"], charger[-1]["amount"]) == ("total", "360.018", "80.38")
    assert rows[-1]["table"] == "condominium" and rows[-1]["amount"] == "82.66"


@pytest.mark.django_db
def test_the_report_is_emailed_to_the_manager_and_rebuilt_in_place(condo):
    _seed_month(condo)
    first = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=True, now=AFTER_JUNE)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["gestao@tejo.example"]
    assert "Junho 2026" in message.subject and "€82.66" in message.body
    assert sorted(name for name, _, _ in message.attachments) == [
        f"cost-recovery-{condo['site'].pk}-2026-06.csv", f"cost-recovery-{condo['site'].pk}-2026-06.pdf"]
    first.refresh_from_db()
    assert first.emailed_to == "gestao@tejo.example" and first.emailed_at is not None
    again = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=True, now=AFTER_JUNE)
    assert again.pk == first.pk and CostRecoveryReport.objects.count() == 1 and len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_tariff_change_after_the_month_does_not_change_its_report(condo):
    _seed_month(condo)
    cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=False, now=AFTER_JUNE)
    dearer = ocpi_tariff(calendar="chazemo-tejo-weekly")
    for element in dearer["elements"]:
        element["price_components"][0]["price"] = "0.50"
    tariff_publish(organization=condo["organization"], site=condo["site"], ocpi=dearer,
                   valid_from_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    report = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=False, now=AFTER_JUNE)
    assert report.total.amount == Decimal("82.66")


@pytest.mark.django_db
def test_sessions_still_charging_are_listed_not_counted(condo):
    _seed_month(condo)
    session_with_readings(station=condo["other"], id_tag=condo["tags"]["rui"], closed=False,
                          readings=[(local(date(2026, 6, 30), "22:00"), 0), (local(date(2026, 6, 30), "23:00"), 7000)])
    report = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=False, now=AFTER_JUNE)
    assert len(report.data["in_progress"]) == 1
    assert report.total.amount == Decimal("82.66")


@pytest.mark.django_db
def test_a_month_not_over_or_an_unknown_site_is_refused(condo):
    with pytest.raises(ReportInvalid, match="has not ended yet in Europe/Lisbon"):
        # 30 June 23:30 UTC is already July in Lisbon, but 22:30 UTC is still June.
        cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=False,
                                      now=datetime(2026, 6, 30, 22, 30, tzinfo=timezone.utc))
    with pytest.raises(ReportInvalid, match="no site #0"):
        cost_recovery_report_generate(site_id=0, month=JUNE, send=False, now=AFTER_JUNE)
    with pytest.raises(ReportInvalid, match="YYYY-MM"):
        cost_recovery_report_generate(site_id=condo["site"].pk, month=month_parse(value="June"), send=False)
    assert not CostRecoveryReport.objects.exists() and not mail.outbox


@pytest.mark.django_db
def test_the_monthly_job_runs_at_the_sites_midnight_once(condo):
    _seed_month(condo)
    # 22:30 UTC on 30 June is 23:30 in Lisbon: June is not over, so only May (nothing charged) is due.
    made = cost_recovery_reports_due(now=datetime(2026, 6, 30, 22, 30, tzinfo=timezone.utc))
    assert [r.month for r in CostRecoveryReport.objects.filter(pk__in=made)] == [date(2026, 5, 1)]
    # 23:30 UTC is 00:30 on 1 July in Lisbon: June is made and sent.
    made = cost_recovery_reports_due(now=datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc))
    june = CostRecoveryReport.objects.get(pk__in=made)
    assert june.month == JUNE and june.total.amount == Decimal("82.66") and june.emailed_at is not None
    assert cost_recovery_reports_due(now=datetime(2026, 7, 1, 5, 7, tzinfo=timezone.utc)) == []
    assert CostRecoveryReport.objects.count() == 2


@pytest.mark.django_db
def test_without_a_manager_address_the_report_is_kept_but_not_sent(condo):
    condo["organization"].email = ""
    condo["organization"].save()
    report = cost_recovery_report_generate(site_id=condo["site"].pk, month=JUNE, send=True, now=AFTER_JUNE)
    assert report.emailed_to == "" and report.emailed_at is None and not mail.outbox
    assert report.total.amount == Decimal("0") and report.pdf.name.endswith(".pdf")
