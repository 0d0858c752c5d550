"""The condominium cost-recovery report (ChaZeMo Report, seed 003; issue 5 §6).

Per month, per charger and per user: the energy of each session split into the retailer's periods by season and
day type (the tariff engine's split of the meter readings, by linear interpolation in real elapsed time), each line
"kWh x €/kWh €" rounded to the cent, then totals per charger, per user and for the condominium.

Rules (README "Cost-recovery report"):
- A session belongs to the month (in the site's time zone) in which it started, like its receipt; sessions still
  charging when the report is made are listed as not included.
- Its energy per period is the ENERGY lines of its frozen SessionPrice (priced first if needed): the retailer's
  tariff version in force at the session start, so a later tariff change never changes a past report.
- Lines with the same season, day type, period and unit price are added up in Wh first; the line's kWh (exact,
  3 decimals) times the unit price is then rounded to the cent, ROUND_HALF_UP; each total is the sum of its rounded
  lines. Charger and user tables are rounded independently, so they can differ by a cent from each other.
- Other dimensions (time, parking, session fees) are not electricity costs and are not in this report.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from djmoney.money import Money

from apps.charging.models import ChargingSession
from apps.organizations.models import Organization
from apps.sites.models import Site
from apps.stations.models import ChargingStation
from apps.tariffs.exceptions import TariffError
from apps.users.models import User

from ..exceptions import RatingError, ReportInvalid
from ..formatting import kwh, money, round_cents, unit_price
from ..models import CostRecoveryReport, SessionPrice
from .prices import session_price_final

logger = logging.getLogger(__name__)

MONTHS_PT = ["Janeiro", "Fevereiro", "Março", "Abril", "Maio", "Junho", "Julho", "Agosto", "Setembro", "Outubro",
             "Novembro", "Dezembro"]

# The engine's season and day-type codes as the seed prints them ("Verão/Semana", "Verão/Sabado" — the seed's
# spelling, kept so the report reads like the one the condominium knows).
SEASON_LABELS = {"SUMMER": "Verão", "WINTER": "Inverno", "ALL": ""}
DAY_TYPE_LABELS = {"WEEKDAY": "Semana", "SATURDAY": "Sabado", "SUNDAY": "Domingo", "HOLIDAY": "Feriado", "ALL": ""}
_SEASON_ORDER = {"SUMMER": 0, "WINTER": 1, "ALL": 2}
_DAY_TYPE_ORDER = {"WEEKDAY": 0, "SATURDAY": 1, "SUNDAY": 2, "HOLIDAY": 3, "ALL": 4}


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(c)).lower()


def month_parse(*, value: str | date) -> date:
    """"2026-06" (or any date in it) → date(2026, 6, 1)."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})(?:-\d{1,2})?\s*", value or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReportInvalid(f"“{value}” is not a month: write it as YYYY-MM, e.g. 2026-06.")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_next(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_bounds(*, month: date, time_zone: str) -> tuple[datetime, datetime]:
    """The month as [start, end) UTC instants: local midnights of its first day and of the next month's."""
    zone = ZoneInfo(time_zone)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    nxt = month_next(month)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


class _Table:
    """Energy (Wh) per (season, day type, period, unit price) for one charger or one user."""

    def __init__(self, key: str, title: str):
        self.key, self.title, self.wh = key, title, defaultdict(int)
        self.station_id: int | None = None


def _spot_number(parking_spot: str) -> str:
    digits = re.findall(r"\d+", parking_spot or "")
    return digits[-1] if digits else (parking_spot or "")


def _charger_title(station) -> str:
    spot = _spot_number(station.parking_spot)
    return f"Total para {spot} ({station.ocpp_id})" if spot else f"Total para {station.ocpp_id}"


@lru_cache(maxsize=1024)
def _price_key(value: str) -> str:
    """One key per unit price whatever its written precision ("0.19778" and "0.197780")."""
    return format(Decimal(value).normalize(), "f")


def _period_hours(*, calendars: dict, station_id: int, season: str, day_type: str, period: str) -> str:
    """"07.00-09.15" for a period of the station's tariff calendar, as the seed prints it; several ranges are
    joined with ", "."""
    hours_of = calendars.get(station_id)
    if hours_of is None:
        return ""
    return hours_of(season=season, day_type=day_type, period=period)


def _group_sort_key(group: tuple[str, str]) -> tuple:
    season, day_type = group
    return (_SEASON_ORDER.get(season, 9), season, _DAY_TYPE_ORDER.get(day_type, 9), day_type)


def group_label(*, season: str, day_type: str) -> str:
    parts = [SEASON_LABELS.get(season, season), DAY_TYPE_LABELS.get(day_type, day_type)]
    return "/".join(p for p in parts if p) or "Todos os dias"


def _table_render(*, table: _Table, currency: str, hours) -> dict:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for (season, day_type, period, price), wh in table.wh.items():
        if wh == 0:
            continue
        energy_kwh = Decimal(wh) / 1000
        amount = round_cents(energy_kwh * Decimal(price))
        groups[(season, day_type)].append({
            "season": season, "day_type": day_type, "period": period, "hours": hours(season, day_type, period),
            "energy_wh": wh, "kwh": kwh(wh), "unit_price": price, "unit_price_text": unit_price(price, currency),
            "amount": str(amount), "amount_text": money(amount, currency),
        })
    rendered_groups, total, total_wh = [], Decimal("0"), 0
    for group in sorted(groups, key=_group_sort_key):
        lines = sorted(groups[group], key=lambda ln: (_plain(ln["period"]), Decimal(ln["unit_price"])))
        total += sum(Decimal(ln["amount"]) for ln in lines)
        total_wh += sum(ln["energy_wh"] for ln in lines)
        rendered_groups.append({"name": group_label(season=group[0], day_type=group[1]), "lines": lines})
    return {"key": table.key, "title": table.title, "groups": rendered_groups, "total": str(total),
            "total_text": money(total, currency), "energy_wh": total_wh, "kwh": kwh(total_wh),
            "kwh_2": str((Decimal(total_wh) / 1000).quantize(Decimal("0.01")))}


def period_hours(*, calendar, season: str, day_type: str, period: str) -> str:
    """The local hours of a period on a season's day type, as the seed prints them: "07.00-09.15"; a window that
    runs to midnight ends at "23.59"; several windows are joined with ", "."""
    def hhmm(minute: int) -> str:
        return "23.59" if minute >= 1440 else f"{minute // 60:02d}.{minute % 60:02d}"

    windows = sorted(
        (w.start_minute, w.end_minute) for w in getattr(calendar, "windows", ())
        if w.period == period and w.season in (season, "ALL") and w.day_type in (day_type, "ALL")
    )
    return ", ".join(f"{hhmm(start)}-{hhmm(end)}" for start, end in windows)


def _calendar_hours_for(*, station, user_group: str, at: datetime):
    """A function (season, day_type, period) → "HH.MM-HH.MM" from the calendar of the station's tariff, or None."""
    from apps.tariffs.selectors import tariff_spec_for

    try:
        spec = tariff_spec_for(station=station, user_group=user_group, at=at)
    except TariffError:
        return None
    calendar = getattr(spec, "calendar", None) if spec is not None else None
    if calendar is None:
        return None

    def hours(*, season: str, day_type: str, period: str) -> str:
        return period_hours(calendar=calendar, season=season, day_type=day_type, period=period)

    return hours


def cost_recovery_data(*, site: Site, month: date, now: datetime | None = None) -> dict:
    """The report's tables for one site and month (see the module docstring for the rules). Reads plain values
    (no model instance per session) so a month of 100,000 sessions stays a few queries."""
    now = now or timezone.now()
    start, end = month_bounds(month=month, time_zone=site.time_zone)
    in_month = {"station__site": site, "started_at__gte": start, "started_at__lt": end}
    sessions = list(
        ChargingSession.objects.filter(**in_month).order_by("started_at", "id").values_list(
            "id", "state", "station_id", "user_id", "id_tag__owner_id", "id_tag_uid", "id_tag__user_group",
            "started_at")
    )
    prices: dict[int, tuple[str, list]] = {
        session_id: (price_currency, lines) for session_id, price_currency, lines in
        SessionPrice.objects.filter(**{f"session__{k}": v for k, v in in_month.items()})
        .values_list("session_id", "currency", "lines").iterator(chunk_size=5000)
    }
    stations = {s.pk: s for s in ChargingStation.objects.filter(site=site)}
    people = {u.pk: u for u in User.objects.filter(
        pk__in={uid for row in sessions for uid in (row[3] or row[4],) if uid})}
    in_progress, unpriced = [], []
    chargers: dict[int, _Table] = {}
    users: dict[str, _Table] = {}
    currency = site.currency
    calendars: dict[int, object] = {}
    for session_id, state, station_id, user_id, owner_id, uid, user_group, started_at in sessions:
        if state == ChargingSession.State.ACTIVE:
            in_progress.append(session_id)
            continue
        priced = prices.get(session_id)
        if priced is None:
            try:
                price = session_price_final(session_id=session_id)
            except (RatingError, TariffError) as exc:
                unpriced.append({"session_id": session_id, "reason": exc.message})
                continue
            priced = (price.currency, price.lines)
        price_currency, lines = priced
        if price_currency != currency:
            unpriced.append({"session_id": session_id,
                             "reason": f"priced in {price_currency}, the site uses {currency}"})
            continue
        station = stations[station_id]
        if station_id not in calendars:
            calendars[station_id] = _calendar_hours_for(station=station, user_group=user_group or "public",
                                                        at=started_at)
        charger = chargers.get(station_id)
        if charger is None:
            charger = chargers[station_id] = _Table(f"station:{station_id}", _charger_title(station))
        person = people.get(user_id or owner_id)
        if person is not None:
            user_key, user_title = f"user:{person.pk}", f"Total para {person.get_full_name() or person.username}"
        else:
            user_key, user_title = f"tag:{uid}", f"Total para cartão {uid or 'desconhecido'}"
        user = users.get(user_key)
        if user is None:
            user = users[user_key] = _Table(user_key, user_title)
        # Keep which station each user table drew on for the hours label.
        user.station_id = station_id
        for line in lines:
            if line.get("dimension") != "ENERGY":
                continue
            wh = int(line.get("quantity_raw") or 0)
            key = (line.get("season") or "", line.get("day_type") or "", line.get("period") or "",
                   _price_key(line["unit_price"]))
            charger.wh[key] += wh
            user.wh[key] += wh

    def hours_for(station_id):
        def hours(season, day_type, period):
            return _period_hours(calendars=calendars, station_id=station_id, season=season, day_type=day_type,
                                 period=period)
        return hours

    charger_blocks = [
        _table_render(table=table, currency=currency, hours=hours_for(station_id))
        for station_id, table in sorted(chargers.items(), key=lambda kv: kv[1].title)
    ]
    user_blocks = [
        _table_render(table=table, currency=currency, hours=hours_for(getattr(table, "station_id", None)))
        for _, table in sorted(users.items(), key=lambda kv: kv[1].title)
    ]
    total = sum((Decimal(b["total"]) for b in charger_blocks), Decimal("0"))
    total_wh = sum(b["energy_wh"] for b in charger_blocks)
    last_day = month_next(month) - timedelta(days=1)
    month_name = MONTHS_PT[month.month - 1]
    zone = ZoneInfo(site.time_zone)
    return {
        "title": f"Relatório de carregamentos — {month_name} {month.year}",
        "organization": site.organization.name,
        "site": site.name,
        "site_id": site.pk,
        "month": f"{month:%Y-%m}",
        "period_label": f"{month_name} {month.year}",
        "span_label": f"1 {month_name} Até {last_day.day} {month_name}",
        "time_zone": site.time_zone,
        "currency": currency,
        "chargers": charger_blocks,
        "users": user_blocks,
        "total": str(total),
        "total_text": money(total, currency),
        "energy_wh": total_wh,
        "kwh": kwh(total_wh),
        "kwh_2": str((Decimal(total_wh) / 1000).quantize(Decimal("0.01"))),
        "sessions": len(sessions) - len(in_progress) - len(unpriced),
        "in_progress": in_progress,
        "unpriced": unpriced,
        "generated_local": f"{now.astimezone(zone):%Y-%m-%d %H:%M} ({now.astimezone(zone).tzname()})",
    }


def cost_recovery_html(*, data: dict) -> str:
    context = dict(data, sections=[("Por carregador", data["chargers"]), ("Por utilizador", data["users"])])
    return render_to_string("rating/cost_recovery_report.html", {"d": context})


def cost_recovery_pdf(*, data: dict) -> bytes:
    """The report as a PDF (WeasyPrint), laid out like the seed's table."""
    from weasyprint import HTML

    return HTML(string=cost_recovery_html(data=data)).write_pdf()


CSV_HEADER = ["table", "subject", "season", "day_type", "period", "hours", "energy_kwh", "unit_price", "amount",
              "currency"]


def cost_recovery_csv(*, data: dict) -> str:
    """One row per priced line, then a total row per table and one for the condominium (amounts in the currency,
    dot decimals, so spreadsheets and ERPs read them the same way)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    currency = data["currency"]
    for table_name, blocks in (("charger", data["chargers"]), ("user", data["users"])):
        for block in blocks:
            for group in block["groups"]:
                for ln in group["lines"]:
                    writer.writerow([table_name, block["title"], ln["season"], ln["day_type"], ln["period"],
                                     ln["hours"], ln["kwh"], ln["unit_price"], ln["amount"], currency])
            writer.writerow([table_name, block["title"], "", "", "total", "", block["kwh"], "", block["total"],
                             currency])
    writer.writerow(["condominium", data["site"], "", "", "total", "", data["kwh"], "", data["total"], currency])
    return out.getvalue()


def cost_recovery_report_generate(*, site_id: int, month: date, send: bool = True,
                                  now: datetime | None = None) -> CostRecoveryReport:
    """Build (or rebuild) a site's report for a month: the row, its PDF and CSV; then e-mail it to the
    condominium manager when `send`. A month that has not ended yet in the site's time zone is refused."""
    now = now or timezone.now()
    try:
        site = Site.objects.select_related("organization").get(pk=site_id)
    except (Site.DoesNotExist, ValueError, TypeError):
        raise ReportInvalid(f"There is no site #{site_id}.") from None
    month = month_parse(value=month)
    _, end = month_bounds(month=month, time_zone=site.time_zone)
    if end > now:
        raise ReportInvalid(f"{month:%Y-%m} has not ended yet in {site.time_zone}: the report is made once the "
                            f"month is over.")
    data = cost_recovery_data(site=site, month=month, now=now)
    pdf = cost_recovery_pdf(data=data)
    csv_text = cost_recovery_csv(data=data)
    stem = f"cost-recovery-{site.pk}-{month:%Y-%m}"
    with transaction.atomic():
        report, _ = CostRecoveryReport.objects.select_for_update().get_or_create(
            site=site, month=month,
            defaults={"organization": site.organization, "currency": data["currency"],
                      "total": Money(Decimal(data["total"]), data["currency"]), "generated_at": now},
        )
        old_files = [f.name for f in (report.pdf, report.csv) if f]
        report.organization = site.organization
        report.currency = data["currency"]
        report.total = Money(Decimal(data["total"]), data["currency"])
        report.energy_wh = data["energy_wh"]
        report.data = data
        report.generated_at = now
        report.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
        report.csv.save(f"{stem}.csv", ContentFile(csv_text.encode("utf-8")), save=False)
        report.save()
    for name in old_files:
        if name not in (report.pdf.name, report.csv.name):
            report.pdf.storage.delete(name)
    if send:
        cost_recovery_report_send(report=report, now=now)
    return report


def cost_recovery_report_send(*, report: CostRecoveryReport, now: datetime | None = None) -> bool:
    """E-mail the report (PDF and CSV attached) to the organization's manager address. Without an address the
    report stays in the back-office and nothing is sent; returns whether a message went out."""
    organization: Organization = report.organization
    if not organization.email:
        logger.warning("cost-recovery report %s not e-mailed: %s has no e-mail address", report.pk, organization)
        return False
    data = report.data
    message = EmailMessage(
        subject=f"{data['title']} — {data['site']}",
        body=(f"Bom dia,\n\nSegue em anexo o relatório de carregamentos de {data['period_label']} de "
              f"{data['site']}: {data['kwh']} kWh, {data['total_text']} a imputar aos utilizadores "
              f"({data['sessions']} carregamentos).\n\nCada linha é kWh × preço do comercializador, arredondada ao "
              f"cêntimo.\n\nevnet\n"),
        to=[organization.email],
    )
    report.pdf.open("rb")
    try:
        message.attach(report.pdf.name.rsplit("/", 1)[-1], report.pdf.read(), "application/pdf")
    finally:
        report.pdf.close()
    report.csv.open("rb")
    try:
        message.attach(report.csv.name.rsplit("/", 1)[-1], report.csv.read().decode("utf-8"), "text/csv")
    finally:
        report.csv.close()
    message.send()
    CostRecoveryReport.objects.filter(pk=report.pk).update(emailed_to=organization.email,
                                                           emailed_at=now or timezone.now())
    report.emailed_to, report.emailed_at = organization.email, now or timezone.now()
    return True


def cost_recovery_reports_due(*, now: datetime | None = None) -> list[int]:
    """The monthly job: for each condominium site with chargers whose previous month (in its own time zone) has
    ended and has no report yet, make it and e-mail it. Running it again the same month changes nothing."""
    now = now or timezone.now()
    made = []
    sites = Site.objects.filter(organization__kind=Organization.Kind.CONDOMINIUM, stations__isnull=False).distinct()
    for site in sites:
        local_today = now.astimezone(ZoneInfo(site.time_zone)).date()
        previous = (local_today.replace(day=1) - timedelta(days=1)).replace(day=1)
        if CostRecoveryReport.objects.filter(site=site, month=previous).exists():
            continue
        try:
            made.append(cost_recovery_report_generate(site_id=site.pk, month=previous, send=True, now=now).pk)
        except ReportInvalid as exc:
            logger.warning("cost-recovery report for %s %s not made: %s", site, previous, exc.message)
    return made
