"""Payment provider webhooks (the provider signs the raw body; we verify before reading anything; a bad signature
is answered 400 and logged, and nothing is recorded or credited), and the simulated provider's checkout page."""
from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from evnet.exceptions import DomainError

from .gateways import SimulatedGateway
from .models import Payment
from .services.wallets import payment_webhook_handle, simulated_checkout_complete

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


@require_http_methods(["GET", "POST"])
def simulated_checkout(request: HttpRequest, intent_id: str) -> HttpResponse:
    """The simulated payment provider's checkout page, where the driver app sends the payer to pay a top-up
    (`checkout_url` of the intent). Pay or Decline makes the provider send its signed webhook. Only where the
    simulated provider is enabled (development, tests, the demo): in production this page does not exist."""
    if not settings.EVNET_SIMULATED_CHECKOUT:
        raise Http404("The simulated payment provider is not enabled here.")
    payment = get_object_or_404(Payment.objects.select_related("organization", "customer"),
                                gateway=SimulatedGateway.name, provider_intent_id=intent_id)
    if request.method == "POST":
        choice = request.POST.get("choice")
        if choice not in ("pay", "decline"):
            return render(request, "billing/simulated_checkout.html",
                          {"payment": payment, "error": "Choose Pay or Decline."}, status=400)
        if payment.status == Payment.Status.PENDING:
            simulated_checkout_complete(payment=payment, paid=choice == "pay")
        return redirect(request.path)
    return render(request, "billing/simulated_checkout.html", {"payment": payment})
