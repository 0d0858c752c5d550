"""The receipt of one session (issue 5 §4): HTML for staff, PDF for the driver API (same function)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string

from ..formatting import kwh, money, unit_price
from ..selectors import session_get
from .prices import session_price_final

DIMENSION_LABELS = {"ENERGY": "Energy", "TIME": "Charging time", "PARKING_TIME": "Parking after charging",
                    "FLAT": "Session fee"}
FLAG_LABELS = {"min_price": "Minimum price adjustment", "max_price": "Maximum price adjustment"}


def _local(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return "—"
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} ({local.tzname()})"


def receipt_line(*, line: dict, currency: str) -> dict:
    """One stored price line as the receipt shows it: "6.867 kWh × €0.227756/kWh = €1.56"."""
    dimension = line.get("dimension", "")
    flags = line.get("flags") or []
    label = next((FLAG_LABELS[f] for f in flags if f in FLAG_LABELS), DIMENSION_LABELS.get(dimension, dimension))
    quantity = Decimal(line["quantity"])
    amount = money(line["amount_rounded"], currency)
    price = unit_price(line["unit_price"], currency)
    if dimension == "ENERGY":
        calculation = f"{kwh(quantity * 1000)} kWh × {price}/kWh = {amount}"
    elif dimension in ("TIME", "PARKING_TIME"):
        calculation = f"{quantity.quantize(Decimal('0.001'))} h × {price}/h = {amount}"
    else:
        calculation = f"{quantity.normalize():f} × {price} = {amount}"
    period = " · ".join(p for p in (line.get("season"), line.get("day_type"), line.get("period")) if p)
    return {"label": label, "period": period, "calculation": calculation, "amount": amount}


def receipt_context(*, session_id: int) -> dict:
    """Everything on the receipt. Prices the session first if it is closed but not priced yet (idempotent);
    raises SessionNotClosed for a session still charging."""
    session = session_get(session_id=session_id)
    price = session_price_final(session_id=session.pk)
    site = session.station.site
    zone = ZoneInfo(site.time_zone)
    currency = price.currency
    return {
        "session_id": session.pk,
        "site": site.name,
        "address": f"{site.address}, {site.city}",
        "station": session.station.ocpp_id,
        "parking_spot": session.station.parking_spot,
        "connector": session.connector_number,
        "id_tag": session.id_tag_uid,
        "user": session.user.get_full_name() if session.user_id else "",
        "started_local": _local(session.started_at, zone),
        "stopped_local": _local(session.stopped_at, zone),
        "charging_ended_local": _local(session.charging_ended_at, zone) if session.charging_ended_at else "",
        "energy_kwh": kwh(price.energy_wh),
        "tariff_label": price.tariff_label,
        "user_group": price.user_group,
        "lines": [receipt_line(line=line, currency=currency) for line in price.lines],
        "total_excl_vat": money(price.total_excl_vat.amount, currency),
        "total_vat": money(price.total_vat.amount, currency),
        "total_incl_vat": money(price.total_incl_vat.amount, currency),
        "currency": currency,
        "time_zone": site.time_zone,
        "rated_local": _local(price.rated_at, zone),
    }


def receipt_html(*, session_id: int) -> str:
    return render_to_string("rating/receipt.html", {"r": receipt_context(session_id=session_id)})


def receipt_pdf(*, session_id: int) -> bytes:
    """The receipt as a PDF (WeasyPrint), for staff and for the driver API."""
    from weasyprint import HTML

    return HTML(string=receipt_html(session_id=session_id)).write_pdf()
