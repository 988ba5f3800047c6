from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from shopsite import dashboard

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/")),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/events", dashboard.events, name="dashboard-events"),
    path("admin/", admin.site.urls),
]
