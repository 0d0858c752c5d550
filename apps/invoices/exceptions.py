"""Invoice errors."""
from evnet.exceptions import DomainError


class InvoiceError(DomainError):
    """The invoice operation is not possible."""

    code = "invoice_error"
    http_status = 409


class AlreadyCredited(InvoiceError):
    """This invoice already has a credit note."""

    code = "already_credited"


class InvalidPeriod(DomainError):
    """The month is not valid."""

    code = "invalid_period"
    http_status = 400


class InvalidPayment(DomainError):
    """The payment does not fit the invoice."""

    code = "invalid_payment"
    http_status = 400


class ExportError(DomainError):
    """The export cannot be produced."""

    code = "export_error"
    http_status = 400
