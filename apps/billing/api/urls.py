from django.urls import path

from .views import PaymentMethodsView, TopUpListCreateView, WalletView

urlpatterns = [
    path("wallet/", WalletView.as_view(), name="api-wallet"),
    path("wallet/top-ups/", TopUpListCreateView.as_view(), name="api-wallet-top-ups"),
    path("payment-methods/", PaymentMethodsView.as_view(), name="api-payment-methods"),
]
