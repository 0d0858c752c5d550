from django.urls import path  # noqa: F401

app_name = "tariffs"
urlpatterns: list = []
