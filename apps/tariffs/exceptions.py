"""Errors of the tariff engine and of tariff administration. The engine raises them on bad input (the command maps
them to exit code 2, the API to a 400/409)."""
from __future__ import annotations

from evnet.exceptions import DomainError


class TariffError(DomainError):
    """The tariff or the session data cannot be priced."""

    code = "tariff_error"
    http_status = 400


class InvalidTariff(TariffError):
    """The tariff is not a valid OCPI 2.2.1 Tariff object."""

    code = "invalid_tariff"


class UnknownCurrency(InvalidTariff):
    """The currency is not an ISO 4217 code evnet knows."""

    code = "unknown_currency"


class OverlappingRestrictions(InvalidTariff):
    """Two elements price the same dimension under identical restrictions: the second could never apply."""

    code = "overlapping_restrictions"


class InvalidCalendar(TariffError):
    """The time-of-use calendar has gaps, overlaps or unknown day types."""

    code = "invalid_calendar"


class InvalidSession(TariffError):
    """The session data (times, meter readings) cannot be priced."""

    code = "invalid_session"


class CurrencyMismatch(TariffError):
    """The tariff's currency differs from the site's: evnet never converts currencies."""

    code = "currency_mismatch"
    http_status = 409


class TariffVersionLocked(TariffError):
    """A tariff version that priced a session is immutable; publish a new version instead."""

    code = "tariff_version_locked"
    http_status = 409


class NoTariff(TariffError):
    """No tariff applies to this station and price group at that moment."""

    code = "no_tariff"
    http_status = 404
