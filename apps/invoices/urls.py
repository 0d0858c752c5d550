from django.urls import path

from . import views

app_name = "invoices"
urlpatterns = [
    path("<int:pk>/pdf/", views.invoice_pdf_view, name="pdf"),
]
