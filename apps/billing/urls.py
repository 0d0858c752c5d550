from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("webhooks/<slug:gateway>/", views.payment_webhook, name="payment-webhook"),
    path("simulated-checkout/<str:intent_id>", views.simulated_checkout, name="simulated-checkout"),
]
