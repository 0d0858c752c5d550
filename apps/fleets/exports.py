"""CSV and XLSX exports of a fleet's usage and sessions. Amounts are written as exact decimals (text in CSV,
Decimal cells in XLSX, never floats), energy as integer Wh plus kWh with 3 places, timestamps as ISO 8601 UTC."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

from openpyxl import Workbook

from apps.rating.formatting import kwh_amount, round_cents

from .selectors import Usage, UsageRow

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def usage_table(*, usage: Usage) -> tuple[list[str], list[list]]:
    """The usage report as a header and rows (the rows, then the totals): one cost column per currency present."""
    currencies = sorted(usage.totals.cost)
    header = [usage.group_by, "label", "sessions", "energy_wh", "energy_kwh", "duration_s", "unpriced_sessions",
              *[f"cost_{currency}" for currency in currencies]]

    def line(row: UsageRow, key: str) -> list:
        return [key, row.label, row.sessions, row.energy_wh, kwh_amount(row.energy_wh), row.duration_s,
                row.unpriced_sessions, *[round_cents(row.cost.get(currency, Decimal("0"))) for currency in currencies]]

    body = [line(row, row.key or "") for row in usage.rows]
    body.append(line(usage.totals, "total"))
    return header, body


SESSION_HEADER = ["session_id", "started_at", "stopped_at", "state", "station", "site", "connector", "card_uid",
                  "driver_id", "driver", "vehicle_id", "energy_wh", "energy_kwh", "duration_s", "cost", "currency"]


def session_rows(*, sessions: Iterable, now: datetime) -> Iterable[list]:
    for s in sessions:
        end = s.stopped_at or now
        driver = s.user.get_full_name() or s.user.username if s.user else ""
        cost = round_cents(Decimal(s.cost_amount)) if s.cost_amount is not None else ""
        yield [s.pk, iso_utc(s.started_at), iso_utc(s.stopped_at), s.state, s.station.ocpp_id, s.station.site.name,
               s.connector_number, s.id_tag_uid, s.user_id or "", driver, s.vehicle_id or "", s.energy_wh,
               kwh_amount(s.energy_wh), max(0, int((end - s.started_at).total_seconds())), cost, s.cost_currency or ""]


def to_csv(*, header: list[str], rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else str(value) for value in row])
    # A BOM so that spreadsheet programs read the names' accents as UTF-8.
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(*, header: list[str], rows: Iterable[list], title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
