from django.apps import apps
from django.urls import path

from tests import views

urlpatterns = [
    path("whoami/", views.whoami),
    path("template/", views.orders_template),
    path("stream/", views.orders_stream),
    path("async/", views.orders_async),
    path("late/", views.late_auth),
    path("create/", views.create_order),
    path("executemany/", views.executemany),
]

if apps.is_installed("django.contrib.admin"):
    from django.contrib import admin

    urlpatterns.append(path("admin/", admin.site.urls))
