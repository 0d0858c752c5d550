"""Errors of dynamic pricing (issue 8)."""
from __future__ import annotations

from evnet.exceptions import DomainError


class PricingImportError(DomainError):
    """The file was refused; nothing of it was saved. `errors` name the line and column of each problem."""

    code = "pricing_import_invalid"
    http_status = 400

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:20]
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__("The file was not imported: " + "; ".join(shown) + more, extra={"errors": errors})


class DynamicPricingNotConfigured(DomainError):
    """The station has no dynamic pricing (no StationPricing row, or it is disabled)."""

    code = "dynamic_pricing_not_configured"
    http_status = 404


class ForecastInputsMissing(DomainError):
    """A station's forecast needs data that was never imported (energy tariff or load curve)."""

    code = "forecast_inputs_missing"
    http_status = 409
