"""Views for the identity tests: each reports what the database saw for this request."""

import json

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.response import TemplateResponse

from tests.shop.models import Order


def _db_user():
    with connection.cursor() as cursor:
        cursor.execute("SELECT authz.current_user_id(), pg_backend_pid()")
        user, pid = cursor.fetchone()
    return user, pid


def _titles():
    return sorted(Order.objects.values_list("title", flat=True))


def whoami(request):
    user, pid = _db_user()
    return JsonResponse({"user": user, "pid": pid, "titles": _titles()})


def orders_template(request):
    # The queryset is evaluated while the template renders, after the view returned.
    return TemplateResponse(request, "orders.html", {"orders": Order.objects.order_by("title")})


def orders_stream(request):
    def rows():
        # Runs while the response is sent, after every middleware returned.
        yield json.dumps(_db_user()[0]) + "\n"
        for title in _titles():
            yield title + "\n"

    return StreamingHttpResponse(rows())


async def orders_async(request):
    titles = sorted([o.title async for o in Order.objects.all()])
    return JsonResponse({"titles": titles})


def late_auth(request):
    """What DRF's token authentication does inside the view: request.user is set only now."""
    token = request.headers.get("X-Token")
    before = _db_user()[0]
    if token:
        request.user = get_user_model()._default_manager.get(pk=token)
    return JsonResponse({"before": before, "after": _db_user()[0], "titles": _titles()})


def create_order(request):
    # Row-level security checks the owner; the database's 42501 becomes a 403.
    owner = get_user_model()._default_manager.get(pk=request.GET["owner"])
    Order.objects.create(owner=owner, title=request.GET["title"])
    return HttpResponse("created")


def executemany(request):
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO shop_order (owner_id, title) VALUES (%s, %s)",
            [(str(request.user.pk), f"bulk{i}") for i in range(3)],
        )
    return JsonResponse({"titles": _titles()})
