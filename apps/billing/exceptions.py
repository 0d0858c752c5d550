"""Billing errors: each says what went wrong in words a clerk or driver understands."""
from evnet.exceptions import DomainError


class UnbalancedEntry(DomainError):
    """A journal entry's debits and credits differ."""

    code = "unbalanced_entry"
    http_status = 400


class LedgerCurrencyMismatch(DomainError):
    """An account was used in a currency other than its own."""

    code = "currency_mismatch"
    http_status = 400


class InvalidAmount(DomainError):
    """The amount must be positive and have at most 4 decimal places."""

    code = "invalid_amount"
    http_status = 400


class InsufficientBalance(DomainError):
    """The wallet does not hold enough money."""

    code = "insufficient_balance"
    http_status = 409


class WebhookSignatureInvalid(DomainError):
    """The webhook signature does not match its body."""

    code = "webhook_signature_invalid"
    http_status = 400


class WebhookMalformed(DomainError):
    """The webhook body is not an event we understand."""

    code = "webhook_malformed"
    http_status = 400


class UnknownGateway(DomainError):
    """No payment gateway with this name is configured."""

    code = "unknown_gateway"
    http_status = 404


class WrongRegime(DomainError):
    """The customer's billing regime does not allow this."""

    code = "wrong_regime"
    http_status = 409
