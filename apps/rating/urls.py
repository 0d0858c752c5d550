from django.urls import path

from . import views

app_name = "rating"

urlpatterns = [
    path("sessions/<int:session_id>/receipt/", views.receipt_view, name="receipt"),
    path("sessions/<int:session_id>/receipt.pdf", views.receipt_pdf_view, name="receipt-pdf"),
    path("quote/", views.quote_view, name="quote"),
    path("reports/<int:report_id>.pdf", views.report_pdf_view, name="report-pdf"),
    path("reports/<int:report_id>.csv", views.report_csv_view, name="report-csv"),
]
