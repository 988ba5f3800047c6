"""The orders dashboard: a plain Django view, and server-sent events fed by ``LISTEN orders``.

Who: staff holding ``order.view_order`` (what the admin asks before it shows the order list),
answered by the database (``user.has_perm``, pg_authz's DatabaseBackend: ``authz.has_perm``); anyone
else gets 403, on the page and on its stream. What: the orders by status, counted by the ORM acting
for that user (pg_authz's identity), so the counts are the rows that user may read (all orders while
the order table has no row policies).

The order table is audited (order/migrations/0003): every statement that changes orders, a bulk
admin action of 10 000 rows included, is one NOTIFY on commit. The event stream waits on its own
connection for those and then counts orders by status once; it never polls the table.

A stream does not outlive what allowed it:

* before every event, and at its first write once ``RECHECK_SECONDS`` have passed without a check
  (so at least every 7 s), it loads its user from the session again, as a new request would
  (logged out, expired, password changed, user deactivated: no user), and asks the database for
  the permission again; when either fails, the stream ends, and the browser's reconnection gets 403;
* it ends after ``STREAM_SECONDS`` anyway; EventSource reconnects by itself (after ``retry``),
  through the checks of a new request.

Connections: a stream holds its LISTEN connection for its life, and Django's connection only while
it checks and counts (closed before each event is sent): one connection while it waits, two for a
few milliseconds per check. Both are closed when the stream ends, and when the client goes away:
the stream writes at least every ``KEEPALIVE_SECONDS`` (an event or a keep-alive comment); the
first write after the client left is accepted by the kernel, the second fails, and the server
closes the response (within about 4 s).
"""

import json
import time
from importlib import import_module

import psycopg
from django.conf import settings
from django.contrib import auth
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import render

from order.models import Order
from pg_authz.identity import acting_as

PERMISSION = "order.view_order"
RECHECK_SECONDS = 5
KEEPALIVE_SECONDS = 2  # a write at least this often: a gone client is noticed at the second one
STREAM_SECONDS = 600
RETRY_MILLISECONDS = 1000
LISTENER_NAME = "shopsite dashboard LISTEN"  # application_name, seen in pg_stat_activity


def _may_view(user):
    if not (user.is_active and user.is_staff):
        return False
    with acting_as(user):
        return user.has_perm(PERMISSION)


def _counts(user):
    with acting_as(user):
        return {row["status"]: row["n"] for row in Order.objects.values("status").annotate(n=Count("id")).order_by()}


@staff_member_required
@permission_required(PERMISSION, raise_exception=True)
def dashboard(request):
    return render(request, "dashboard.html", {"counts": sorted(_counts(request.user).items())})


def _session_user(session_key):
    """The user of session ``session_key`` as AuthenticationMiddleware would load it now (an
    AnonymousUser once the session is gone or expired, the password changed or the user inactive);
    read as nobody, as the middleware reads it."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    with acting_as(None):
        return auth.get_user(request)


def _allowed_user(session_key, user_pk):
    """The stream's user, loaded again, if it may still view the dashboard; else None."""
    user = _session_user(session_key)
    if user.pk != user_pk or not _may_view(user):
        return None
    return user


def _listener():
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
        params.pop(key, None)
    params["application_name"] = LISTENER_NAME
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute("LISTEN orders")
    return listener


def _notified(listener, seconds):
    """Whether ``orders`` was notified within ``seconds``."""
    notified = None
    for notified in listener.notifies(timeout=seconds, stop_after=1):
        pass
    return notified is not None


def _events(session_key, user_pk):
    deadline = time.monotonic() + STREAM_SECONDS
    listener = _listener()
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        notified, checked = True, None  # the first event: the counts as the stream starts
        while True:
            message = ": keep-alive\n\n"
            if notified or time.monotonic() - checked >= RECHECK_SECONDS:
                user = _allowed_user(session_key, user_pk)
                if user is None:
                    return
                checked = time.monotonic()
                if notified:
                    message = f"data: {json.dumps(_counts(user))}\n\n"
                connection.close()  # Django's connection is held only while checking and counting
            yield message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            notified = _notified(listener, min(KEEPALIVE_SECONDS, remaining))
    finally:
        listener.close()
        connection.close()


def events(request):
    if not _may_view(request.user):
        raise PermissionDenied
    response = StreamingHttpResponse(_events(request.session.session_key, request.user.pk),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response
