"""Read-only JSON of a station's published prices, for back-office staff of the station's organization (the
driver API will publish the same document later)."""
from __future__ import annotations

from datetime import date

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .selectors import forecast_as_json, forecast_rows, station_for_staff


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


@require_GET
def station_forecast(request, ocpp_id: str):
    """GET /pricing/stations/<ocpp_id>/forecast.json[?date=YYYY-MM-DD]: the hours of that site-local day, or of
    the next 24 hours from the current one."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in to the back-office first.")
    if not request.user.is_staff:
        return _error(403, "permission_denied", "Only back-office staff see forecasts here.")
    station = station_for_staff(user=request.user, ocpp_id=ocpp_id)
    if station is None:
        return _error(404, "not_found", f"No station “{ocpp_id}” among the organizations you serve.")
    day = None
    if request.GET.get("date"):
        try:
            day = date.fromisoformat(request.GET["date"])
        except ValueError:
            return _error(400, "invalid", f"“{request.GET['date']}” is not a date (YYYY-MM-DD).")
    return JsonResponse(forecast_as_json(station=station, rows=forecast_rows(station=station, day=day)))
