"""Errors that cross layers. Each app's exceptions.py subclasses DomainError; the API maps them to one JSON shape
and the OCPP consumer maps them to a CALLERROR or a status field."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A business rule said no. `code` is stable (clients switch on it); `message` is for people."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str = "", *, extra: dict[str, Any] | None = None):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.extra = extra or {}


class NotFound(DomainError):
    """The object does not exist or is not yours."""

    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    """The request conflicts with the current state."""

    code = "conflict"
    http_status = 409


def _error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """One error format for the whole API: {"error": {"code", "message", "fields"}}."""
    if isinstance(exc, DomainError):
        return Response(_error_body(exc.code, exc.message, exc.extra), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        return Response(_error_body("invalid", "; ".join(exc.messages), fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = "Invalid input: " + ", ".join(sorted(str(k) for k in fields))
        response.data = _error_body("invalid", message, fields)
    else:
        code = getattr(exc, "default_code", "error")
        detail = getattr(exc, "detail", str(exc))
        response.data = _error_body(str(code), str(detail))
    return response
