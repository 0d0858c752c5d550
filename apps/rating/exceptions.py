"""Why pricing, a receipt, a quote or a cost-recovery report could not be produced."""
from evnet.exceptions import DomainError


class RatingError(DomainError):
    """The session could not be priced."""

    code = "rating_error"
    http_status = 409


class SessionNotFound(RatingError):
    """No such charging session."""

    code = "session_not_found"
    http_status = 404


class SessionNotClosed(RatingError):
    """The session is still charging: it has a running cost, not a final price."""

    code = "session_not_closed"


class TariffMissing(RatingError):
    """No tariff applies to this station and price group at that time."""

    code = "tariff_missing"


class PriceNotFinal(RatingError):
    """The session has no final price yet, so there is no receipt."""

    code = "price_not_final"


class QuoteInvalid(RatingError):
    """The quote request is not valid."""

    code = "quote_invalid"
    http_status = 400


class ReportInvalid(RatingError):
    """The cost-recovery report cannot be made for this site or month."""

    code = "report_invalid"
    http_status = 400
