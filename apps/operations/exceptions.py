"""Why a command to a station did not get an answer, or why an operation was refused."""
from evnet.exceptions import DomainError


class InvalidCommand(DomainError):
    """The command does not match the OCPP 1.6 schema of its action."""

    code = "invalid_command"
    http_status = 400


class StationOffline(DomainError):
    """The station is not connected to evnet, so the command was not sent."""

    code = "station_offline"
    http_status = 409


class CommandTimeout(DomainError):
    """The station did not answer in time."""

    code = "command_timeout"
    http_status = 504


class CommandRejected(DomainError):
    """The station answered the command with a CALLERROR."""

    code = "command_rejected"
    http_status = 502

    def __init__(self, message: str = "", *, error_code: str = "", extra: dict | None = None):
        super().__init__(message, extra=extra)
        self.error_code = error_code


class NoActiveSession(DomainError):
    """There is no charging session in progress on this station."""

    code = "no_active_session"
    http_status = 409


class UploadRefused(DomainError):
    """The upload link is unknown, already used or expired."""

    code = "upload_refused"
    http_status = 403
