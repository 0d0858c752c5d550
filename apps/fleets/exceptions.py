"""Fleet errors, in the API's one error format (evnet/exceptions.py)."""
from evnet.exceptions import DomainError


class FleetNotFound(DomainError):
    """No such fleet, or you do not manage it."""

    code = "not_found"
    http_status = 404


class FleetObjectNotFound(DomainError):
    """No such object in this fleet."""

    code = "not_found"
    http_status = 404


class InvalidPeriod(DomainError):
    """The period is not valid."""

    code = "invalid_period"
    http_status = 400


class CardInUse(DomainError):
    """The card already belongs to another driver of this organization."""

    code = "card_in_use"
    http_status = 409
