"""The driver's wallet: balances per organization, top-ups through the organization's payment gateway, payments
and the payment methods on offer."""
from __future__ import annotations

from djmoney.money import Money
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.fields import MoneyField
from apps.core.api.pagination import PagePagination
from apps.core.api.schema import error_responses
from evnet.exceptions import DomainError, NotFound

from ..exceptions import InvalidAmount
from ..gateways import gateway_get
from ..models import Customer
from ..selectors import DEFAULT_GATEWAY, customer_list_for_user, payment_list_for_user, wallet_summaries
from ..services.wallets import MAX_TOP_UP, wallet_top_up_start



class WalletChoiceNeeded(DomainError):
    """You have wallets with several organizations: say which one to top up."""

    code = "organization_required"
    http_status = 400


def _payment_body(payment, gateway) -> dict:
    return {"id": payment.pk, "status": payment.status, "amount": payment.amount,
            "organization_id": payment.organization_id, "organization_name": payment.organization.name,
            "gateway": payment.gateway, "intent_id": payment.provider_intent_id,
            "checkout_url": gateway.checkout_url(intent_id=payment.provider_intent_id),
            "created_at": payment.created_at, "succeeded_at": payment.succeeded_at}


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    amount = MoneyField(decimal_places=2)
    organization_id = serializers.IntegerField()
    organization_name = serializers.CharField()
    gateway = serializers.CharField()
    intent_id = serializers.CharField(help_text="The provider's payment intent.")
    checkout_url = serializers.CharField(help_text="Open it to pay; the wallet is credited when the provider "
                                                   "confirms (signed webhook).")
    created_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)


class WalletView(APIView):
    class OutputSerializer(serializers.Serializer):
        organization_id = serializers.IntegerField(source="organization.pk")
        organization_name = serializers.CharField(source="organization.name")
        regime = serializers.CharField(help_text="prepaid (wallet) or postpaid (monthly invoice).")
        balance = MoneyField(decimal_places=2, help_text="What the wallet holds.")
        owed = MoneyField(decimal_places=2, help_text="What you owe from sessions not yet paid.")
        min_balance_to_start = MoneyField(decimal_places=2, help_text="Prepaid: needed to start charging.")

        def to_representation(self, row):
            currency = row["currency"]
            return super().to_representation({
                **row, "balance": Money(row["balance"], currency), "owed": Money(row["owed"], currency),
                "min_balance_to_start": Money(row["min_balance_to_start"], currency)})

    @extend_schema(summary="Your wallet balance and what you owe, per organization",
                   responses={200: OutputSerializer(many=True), **error_responses(401, 429)})
    def get(self, request):
        return Response(self.OutputSerializer(wallet_summaries(user=request.user), many=True).data)


class TopUpListCreateView(APIView):
    pagination_class = PagePagination  # documents ?page=&page_size= and the paginated body
    class InputSerializer(serializers.Serializer):
        amount = MoneyField(decimal_places=2, allow_negative=False,
                            help_text=f"Positive, at most 2 decimals and {MAX_TOP_UP}, in the wallet's currency.")
        organization_id = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                                   help_text="Which organization's wallet (needed when you have "
                                                             "several).")

    @extend_schema(summary="Your top-ups and their status",
                   responses={200: PaymentSerializer(many=True), **error_responses(400, 401, 404, 429)})
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(payment_list_for_user(user=request.user), request, view=self)
        gateways = {}
        body = []
        for payment in page:
            if payment.gateway not in gateways:
                gateways[payment.gateway] = gateway_get(payment.gateway)
            body.append(_payment_body(payment, gateways[payment.gateway]))
        return paginator.get_paginated_response(PaymentSerializer(body, many=True).data)

    @extend_schema(summary="Top up your prepaid wallet: creates a payment intent to pay", request=InputSerializer,
                   responses={201: PaymentSerializer, **error_responses(400, 401, 404, 409, 429)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        amount = data.validated_data["amount"]
        customers = [c for c in customer_list_for_user(user=request.user)
                     if c.regime == Customer.Regime.PREPAID]
        organization_id = data.validated_data.get("organization_id")
        if organization_id is not None:
            customers = [c for c in customers if c.organization_id == organization_id]
        if not customers:
            raise NotFound("You have no prepaid wallet" + (f" with organization #{organization_id}."
                                                            if organization_id is not None else "."))
        if len(customers) > 1:
            raise WalletChoiceNeeded(extra={"organization_id": ["Required: you have several wallets."]})
        customer = customers[0]
        if str(amount.currency) != customer.currency:
            raise InvalidAmount(f"Your wallet with {customer.organization.name} is in {customer.currency}, not "
                                f"{amount.currency}.", extra={"amount": [f"Use {customer.currency}."]})
        gateway = gateway_get(DEFAULT_GATEWAY)
        payment = wallet_top_up_start(customer=customer, amount=amount.amount, gateway=gateway)
        return Response(PaymentSerializer(_payment_body(payment, gateway)).data, status=status.HTTP_201_CREATED)


class PaymentMethodsView(APIView):
    class OutputSerializer(serializers.Serializer):
        gateway = serializers.CharField()
        type = serializers.CharField()
        label = serializers.CharField()

    @extend_schema(summary="The payment methods top-ups can use",
                   responses={200: OutputSerializer(many=True), **error_responses(401, 429)})
    def get(self, request):
        gateway = gateway_get(DEFAULT_GATEWAY)
        methods = [{"gateway": gateway.name, **m} for m in gateway.payment_methods()]
        return Response(self.OutputSerializer(methods, many=True).data)
