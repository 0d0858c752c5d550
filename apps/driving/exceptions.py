"""Why a driver's request about stations or charges was refused."""
from evnet.exceptions import DomainError


class StationNotFound(DomainError):
    """No such station, or not one you may charge at."""

    code = "station_not_found"
    http_status = 404


class ConnectorNotFound(DomainError):
    """The station has no connector with this number."""

    code = "connector_not_found"
    http_status = 404


class CardNotFound(DomainError):
    """No such card among yours."""

    code = "card_not_found"
    http_status = 404


class NoUsableCard(DomainError):
    """You have no card that can charge now (active and not expired)."""

    code = "no_card"
    http_status = 409


class ChargeRefused(DomainError):
    """evnet would not accept this card at this station now (blocked, expired, not allowed, already charging)."""

    code = "charge_refused"
    http_status = 409


class FundsProblem(DomainError):
    """The prepaid check failed: top up the wallet first."""

    code = "insufficient_funds"
    http_status = 409


class ConnectorBusy(DomainError):
    """Somebody is already charging on this connector."""

    code = "connector_busy"
    http_status = 409


class ChargerRejected(DomainError):
    """The charger answered Rejected."""

    code = "charger_rejected"
    http_status = 502


class SessionNotFound(DomainError):
    """No such charging session among yours."""

    code = "session_not_found"
    http_status = 404


class SessionNotActive(DomainError):
    """The session is not charging any more."""

    code = "session_not_active"
    http_status = 409


class StartNotFound(DomainError):
    """No such start request among yours."""

    code = "start_not_found"
    http_status = 404


class ReceiptNotReady(DomainError):
    """The session has no final price yet: the receipt exists once it is closed and priced."""

    code = "receipt_not_ready"
    http_status = 404


class SearchInvalid(DomainError):
    """The search parameters are not usable."""

    code = "invalid"
    http_status = 400
