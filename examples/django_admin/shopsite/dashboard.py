"""The orders dashboard: a plain Django view, and server-sent events fed by ``LISTEN orders``.

The order table is audited (order/migrations/0003): every statement that changes orders, a bulk
admin action of 10 000 rows included, is one NOTIFY on commit. The event stream waits on its own
connection for those and then counts orders by status once; it never polls the table.
"""

import json

import psycopg
from django.contrib.admin.views.decorators import staff_member_required
from django.db import connection
from django.db.models import Count
from django.http import StreamingHttpResponse
from django.shortcuts import render

from order.models import Order

KEEPALIVE_SECONDS = 15


def _counts():
    return {row["status"]: row["n"] for row in Order.objects.values("status").annotate(n=Count("id")).order_by()}


@staff_member_required
def dashboard(request):
    return render(request, "dashboard.html", {"counts": sorted(_counts().items())})


def _listener():
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
        params.pop(key, None)
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute("LISTEN orders")
    return listener


def _events():
    with _listener() as listener:
        yield f"data: {json.dumps(_counts())}\n\n"
        while True:
            notified = None
            for notified in listener.notifies(timeout=KEEPALIVE_SECONDS, stop_after=1):
                pass
            if notified is None:
                yield ": keep-alive\n\n"
                continue
            yield f"data: {json.dumps(_counts())}\n\n"


@staff_member_required
def events(request):
    response = StreamingHttpResponse(_events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response
