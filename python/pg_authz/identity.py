"""Who is asking, carried to PostgreSQL for every statement the ORM runs for a request.

The middleware puts the request in a context variable; an ``execute_wrapper`` on every
connection reads it when a statement is about to run and makes sure the statement's transaction
acts for that user, through ``authz.set_user(id)``, which is transaction-local:

* inside an atomic block (``ATOMIC_REQUESTS``, ``transaction.atomic()``): once per transaction,
  again only if the user changes within it (a DRF view that authenticates inside the view);
* outside one (autocommit): the statement and ``set_user`` run in one short
  ``transaction.atomic()``, so the setting dies with the statement's transaction.

So nothing outlives a transaction: persistent connections (``CONN_MAX_AGE``) and poolers in
transaction mode never carry a user to the next request, and ``executemany`` and server-side
binding are untouched (no statement is rewritten). Anonymous users and code outside a request
(management commands, other threads) act as nobody, unless wrapped in :func:`acting_as`.
"""

import contextvars
from contextlib import contextmanager

from django.db import transaction
from django.utils.functional import SimpleLazyObject, empty

_request = contextvars.ContextVar("pg_authz_request", default=None)
_explicit = contextvars.ContextVar("pg_authz_user", default=None)
# Set while the user is being resolved: the session and user queries run as nobody.
_resolving = contextvars.ContextVar("pg_authz_resolving", default=False)

_NOBODY = object()


def user_id_of(user):
    """The app user id (text) of a Django user, or None for an anonymous or unsaved one."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    return str(user.pk)


def current_user_id():
    """The app user id (text) the current statement acts for, or None for nobody."""
    explicit = _explicit.get()
    if explicit is not None:
        return None if explicit is _NOBODY else explicit
    request = _request.get()
    if request is None:
        return None
    token = _resolving.set(True)
    try:
        # request.user is lazy: the first access loads the session and the user.
        return user_id_of(getattr(request, "user", None))
    finally:
        _resolving.reset(token)


def _load_as_nobody(lazy_user):
    token = _resolving.set(True)
    try:
        if lazy_user._wrapped is empty:
            lazy_user._setup()
        return lazy_user._wrapped
    finally:
        _resolving.reset(token)


def load_user_as_nobody(request):
    """Make the loading of a lazy ``request.user`` (AuthenticationMiddleware's session and user
    queries) run as nobody whoever triggers it. Otherwise its first query, which needs the user it
    is loading, loads it a second time (session and user twice, the outer pair in set_user
    transactions of their own)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        request.user = SimpleLazyObject(lambda: _load_as_nobody(user))


@contextmanager
def for_request(request):
    """Statements run inside act for ``request.user`` (read when each statement runs)."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@contextmanager
def acting_as(user):
    """Act for ``user`` (a user object, a primary key, or None for nobody) inside the block:
    for background jobs and management commands."""
    if user is None:
        value = _NOBODY
    elif hasattr(user, "pk"):
        value = user_id_of(user) or _NOBODY
    else:
        value = str(user)
    token = _explicit.set(value)
    try:
        yield
    finally:
        _explicit.reset(token)


IDLE, IN_TRANSACTION, FAILED = "idle", "in_transaction", "failed"


def _transaction_state(connection):
    """The server connection's transaction state: idle (the next statement starts a
    transaction), in_transaction, or failed (aborted, waiting for a rollback)."""
    raw = connection.connection
    info = getattr(raw, "info", None)
    if info is not None:  # psycopg 3
        from psycopg import pq

        status = info.transaction_status
        idle, failed = pq.TransactionStatus.IDLE, pq.TransactionStatus.INERROR
    else:  # psycopg2
        from psycopg2 import extensions

        status = raw.get_transaction_status()
        idle, failed = extensions.TRANSACTION_STATUS_IDLE, extensions.TRANSACTION_STATUS_INERROR
    return IDLE if status == idle else FAILED if status == failed else IN_TRANSACTION


def _set_user(connection, user_id):
    # The raw driver cursor: not through the execute wrappers, not logged as the app's query.
    with connection.connection.cursor() as cursor:
        cursor.execute("SELECT authz.set_user(%s)", [user_id])


# set_in_transaction after a ROLLBACK TO SAVEPOINT: the server is back to whatever was set when
# the savepoint was made, which the wrapper does not track; the next statement sets the user again.
_UNKNOWN = object()


def _rolls_back_to_savepoint(sql):
    return isinstance(sql, str) and sql.lstrip()[:20].upper().startswith("ROLLBACK TO")


class IdentityWrapper:
    """The ``execute_wrapper`` installed on every PostgreSQL connection."""

    def __init__(self, connection):
        self.connection = connection
        # The user set in the open transaction (None: nobody was set; _UNKNOWN: not known).
        self.set_in_transaction = None

    def __call__(self, execute, sql, params, many, context):
        if _resolving.get():
            return execute(sql, params, many, context)
        connection = self.connection
        # A transaction that outlives the statement: an atomic block, or Django's transaction
        # management turned off (AUTOCOMMIT False, set_autocommit(False)), where the server
        # transaction stays open across atomic blocks, statements and even requests.
        if connection.in_atomic_block or not connection.get_autocommit():
            state = _transaction_state(connection)
            if state == FAILED:  # the statement fails anyway, with Django's own error
                result = execute(sql, params, many, context)
            else:
                if state == IDLE:
                    self.set_in_transaction = None
                user_id = current_user_id()
                if user_id != self.set_in_transaction:
                    _set_user(connection, user_id)
                    self.set_in_transaction = user_id
                result = execute(sql, params, many, context)
            if _rolls_back_to_savepoint(sql):
                self.set_in_transaction = _UNKNOWN
            return result
        user_id = current_user_id()
        if user_id is None:
            # Autocommit: this statement is its own transaction, where nobody is set.
            return execute(sql, params, many, context)
        # Its own transaction, ended with the block: nothing to remember for the next statement.
        with transaction.atomic(using=connection.alias):
            _set_user(connection, user_id)
            return execute(sql, params, many, context)


def install_on_connection(sender, connection, **kwargs):
    """``connection_created`` receiver: add the wrapper once per PostgreSQL connection object."""
    if connection.vendor != "postgresql":
        return
    if any(isinstance(w, IdentityWrapper) for w in connection.execute_wrappers):
        return
    connection.execute_wrappers.append(IdentityWrapper(connection))
