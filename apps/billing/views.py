"""Payment provider webhooks. The provider signs the raw body; we verify before reading anything. A bad signature
is answered 400 and logged, and nothing is recorded or credited."""
from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from evnet.exceptions import DomainError

from .services.wallets import payment_webhook_handle

logger = logging.getLogger("evnet.billing.webhooks")


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, gateway: str) -> JsonResponse:
    try:
        event = payment_webhook_handle(gateway_name=gateway, body=request.body, headers=dict(request.headers))
    except DomainError as error:
        logger.warning("payment webhook rejected: gateway=%s code=%s reason=%s remote=%s", gateway, error.code,
                       error.message, request.META.get("REMOTE_ADDR"))
        return JsonResponse({"error": {"code": error.code, "message": error.message}}, status=error.http_status)
    return JsonResponse({"event": event.event_id, "outcome": event.outcome})
