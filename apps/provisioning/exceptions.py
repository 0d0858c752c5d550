from evnet.exceptions import DomainError


class ProvisioningError(DomainError):
    """A station or card cannot be registered as asked."""

    code = "provisioning_error"
    http_status = 400


class UnknownReference(ProvisioningError):
    """A site, circuit, organization, person or station named in the request does not exist (or is not yours)."""

    code = "unknown_reference"
    http_status = 404


class ImportRejected(ProvisioningError):
    """A CSV import has bad rows: nothing was saved. `errors` lists (line, column, message)."""

    code = "import_rejected"

    def __init__(self, errors: list["RowError"]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the file; nothing was saved.",
                         extra={"errors": [e.as_dict() for e in errors]})


class RowError:
    __slots__ = ("line", "column", "message")

    def __init__(self, line: int, column: str, message: str):
        self.line, self.column, self.message = line, column, message

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"

    def __eq__(self, other) -> bool:
        return isinstance(other, RowError) and self.as_dict() == other.as_dict()

    __hash__ = None
